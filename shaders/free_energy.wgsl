// Free-energy model and mobility, shared by the kernels.
// CPU twin: src/solver/cpu/free_energy.rs.

fn guard(x: f32) -> f32 {
    return max(x, P.phi_min);
}

fn xlogx(x: f32) -> f32 {
    return x * log(guard(x));
}

// Bulk free-energy density f(phi) per site, in kT.
fn f_bulk(c: vec2<f32>) -> f32 {
    if (P.model == MODEL_DOUBLE_WELL) {
        let a = c.x - P.dw_alpha;
        let b = P.dw_beta - c.x;
        return P.dw_rho * a * a * b * b;
    }
    let p = c.x;
    let n = c.y;
    let s = 1.0 - p - n;
    return xlogx(p) / P.n_p + xlogx(s) + xlogx(n)
        + P.chi_ps * p * s + P.chi_pn * p * n + P.chi_sn * s * n;
}

// Exchange chemical potentials (df/dphi_p, df/dphi_n) with phi_s = 1 - phi_p - phi_n.
fn bulk_mu(c: vec2<f32>) -> vec2<f32> {
    if (P.model == MODEL_DOUBLE_WELL) {
        let a = c.x - P.dw_alpha;
        let b = P.dw_beta - c.x;
        return vec2<f32>(2.0 * P.dw_rho * a * b * (b - a), 0.0);
    }
    let p = c.x;
    let n = c.y;
    let s = 1.0 - p - n;
    let ls = log(guard(s)) + 1.0;
    let mp = (log(guard(p)) + 1.0) / P.n_p - ls + P.chi_ps * (s - p) + (P.chi_pn - P.chi_sn) * n;
    let mn = (log(guard(n)) + 1.0) - ls + (P.chi_pn - P.chi_ps) * p + P.chi_sn * (s - n);
    return vec2<f32>(mp, mn);
}

// ln of the non-solvent activity (Flory–Huggins, solvent and non-solvent of equal
// molar volume): ln a_N = mu_N(true) / kT.
fn ln_activity_n(c: vec2<f32>) -> f32 {
    let p = c.x;
    let n = c.y;
    let s = 1.0 - p - n;
    return log(guard(n)) + 1.0 - n - s - p / P.n_p
        + (P.chi_sn * s + P.chi_pn * p) * (s + p) - P.chi_ps * s * p;
}

// Hessian of f as (H_pp, H_nn, H_pn).
fn hessian(c: vec2<f32>) -> vec3<f32> {
    if (P.model == MODEL_DOUBLE_WELL) {
        let a = c.x - P.dw_alpha;
        let b = P.dw_beta - c.x;
        return vec3<f32>(2.0 * P.dw_rho * (a * a - 4.0 * a * b + b * b), 0.0, 0.0);
    }
    let p = c.x;
    let n = c.y;
    let s = 1.0 - p - n;
    let is = 1.0 / guard(s);
    return vec3<f32>(
        1.0 / (P.n_p * guard(p)) + is - 2.0 * P.chi_ps,
        1.0 / guard(n) + is - 2.0 * P.chi_sn,
        is - P.chi_ps + P.chi_pn - P.chi_sn,
    );
}

// Vitrification arrest: a smooth (C1) step from 1 down to vit_factor, centred on
// vit_phi and 4 vit_width wide (cubic smoothstep: no transcendental functions,
// as it is evaluated seven times per voxel and step).
fn arrest(p: f32) -> f32 {
    if (P.vit_factor >= 1.0) {
        return 1.0;
    }
    let u = clamp((p - P.vit_phi) / (4.0 * P.vit_width) + 0.5, 0.0, 1.0);
    let s = u * u * (3.0 - 2.0 * u);
    return mix(1.0, P.vit_factor, s);
}

// Symmetric mobility matrix as (M_pp, M_nn, M_pn).
fn mobility(c: vec2<f32>) -> vec3<f32> {
    if (P.model == MODEL_DOUBLE_WELL) {
        return vec3<f32>(P.d_p, 0.0, 0.0);
    }
    let p = clamp(c.x, 0.0, 1.0);
    let n = clamp(c.y, 0.0, 1.0);
    let s = clamp(1.0 - c.x - c.y, 0.0, 1.0);
    var m: vec3<f32>;
    if (P.mobility_model == MOBILITY_CONSTANT) {
        m = vec3<f32>(P.d_p, P.d_n, 0.0);
    } else {
        // Slow-mode (Onsager) mobility restricted to the two independent fields.
        let ap = p * P.d_p;
        let an = n * P.d_n;
        let total = ap + an + s * P.d_s + 1e-12;
        m = vec3<f32>(ap - ap * ap / total, an - an * an / total, -ap * an / total);
    }
    return m * arrest(p);
}

// Cholesky factor of a 2x2 SPD matrix (m_pp, m_nn, m_pn) as (l11, l22, l21).
fn chol2(m: vec3<f32>) -> vec3<f32> {
    let l11 = sqrt(max(m.x, 0.0));
    var l21 = 0.0;
    if (l11 > 0.0) {
        l21 = m.z / l11;
    }
    let l22 = sqrt(max(m.y - l21 * l21, 0.0));
    return vec3<f32>(l11, l22, l21);
}

// Largest eigenvalue of the product of two symmetric 2x2 matrices (a * b), clamped at 0.
fn max_eig_product(a: vec3<f32>, b: vec3<f32>) -> f32 {
    let m00 = a.x * b.x + a.z * b.z;
    let m01 = a.x * b.z + a.z * b.y;
    let m10 = a.z * b.x + a.y * b.z;
    let m11 = a.z * b.z + a.y * b.y;
    let tr = m00 + m11;
    let det = m00 * m11 - m01 * m10;
    let disc = max(0.25 * tr * tr - det, 0.0);
    return max(0.5 * tr + sqrt(disc), 0.0);
}

// Largest eigenvalue of a symmetric 2x2 matrix.
fn max_eig_sym(a: vec3<f32>) -> f32 {
    let tr = a.x + a.y;
    let d = 0.5 * (a.x - a.y);
    return 0.5 * tr + sqrt(d * d + a.z * a.z);
}
