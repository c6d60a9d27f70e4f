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
    return f_bulk_chi(c, P.chi_ps, P.chi_pn);
}

// The same with given polymer–solvent and polymer–non-solvent chi (the thermal
// model's chi(T); its non-solvent channel carries the cooling medium).
fn f_bulk_chi(c: vec2<f32>, chi_ps: f32, chi_pn: f32) -> f32 {
    if (P.model == MODEL_DOUBLE_WELL) {
        let a = c.x - P.dw_alpha;
        let b = P.dw_beta - c.x;
        return P.dw_rho * a * a * b * b;
    }
    let p = c.x;
    let n = c.y;
    let s = 1.0 - p - n;
    return xlogx(p) / P.n_p + xlogx(s) + xlogx(n)
        + chi_ps * p * s + chi_pn * p * n + P.chi_sn * s * n;
}

// Exchange chemical potentials (df/dphi_p, df/dphi_n) with phi_s = 1 - phi_p - phi_n.
fn bulk_mu(c: vec2<f32>) -> vec2<f32> {
    return bulk_mu_chi(c, P.chi_ps, P.chi_pn);
}

fn bulk_mu_chi(c: vec2<f32>, chi_ps: f32, chi_pn: f32) -> vec2<f32> {
    if (P.model == MODEL_DOUBLE_WELL) {
        let a = c.x - P.dw_alpha;
        let b = P.dw_beta - c.x;
        return vec2<f32>(2.0 * P.dw_rho * a * b * (b - a), 0.0);
    }
    let p = c.x;
    let n = c.y;
    let s = 1.0 - p - n;
    let ls = log(guard(s)) + 1.0;
    let mp = (log(guard(p)) + 1.0) / P.n_p - ls + chi_ps * (s - p) + (chi_pn - P.chi_sn) * n;
    let mn = (log(guard(n)) + 1.0) - ls + (chi_pn - chi_ps) * p + P.chi_sn * (s - n);
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
    return hessian_chi(c, P.chi_ps, P.chi_pn);
}

fn hessian_chi(c: vec2<f32>, chi_ps: f32, chi_pn: f32) -> vec3<f32> {
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
        1.0 / (P.n_p * guard(p)) + is - 2.0 * chi_ps,
        1.0 / guard(n) + is - 2.0 * P.chi_sn,
        is - chi_ps + chi_pn - P.chi_sn,
    );
}

// Vitrification arrest: a smooth (C1) step from 1 down to vit_factor, centred on
// vit_phi and 4 vit_width wide (cubic smoothstep: no transcendental functions,
// as it is evaluated seven times per voxel and step).
fn arrest(p: f32) -> f32 {
    return soft_step(p, P.vit_phi, P.vit_width, P.vit_factor);
}

// A C1 step from 1 down to `factor`, centred on `centre` and 4 `width` wide.
fn soft_step(x: f32, centre: f32, width: f32, factor: f32) -> f32 {
    if (factor >= 1.0) {
        return 1.0;
    }
    let u = clamp((x - centre) / (4.0 * width) + 0.5, 0.0, 1.0);
    let s = u * u * (3.0 - 2.0 * u);
    return mix(1.0, factor, s);
}

// ---- Thermal model (TIPS): temperature T (K) and crystallinity psi per voxel ----

fn thermal_on() -> bool {
    return P.thermal.x != 0u;
}

// chi_ps(T) = A + B / T.
fn chi_at(t: f32) -> f32 {
    return P.th_chi.x + P.th_chi.y / t;
}

// chi of the polymer with the cooling medium carried in the non-solvent channel
// (cooling.exchange): chi_ps(T) + db / T, db = th_surf.w (0 without exchange).
fn chi_pn_at(t: f32) -> f32 {
    return chi_at(t) + P.th_surf.w / t;
}

// The chi that puts a voxel's medium into Flory's melting point: with
// phi_1 = 1 - p = s + n, Flory–Huggins gives 1/Tm = 1/Tm0 + (phi_1 -
// (chi_ps s + chi_pn n) phi_1 + chi_sn s n) / L, i.e. the binary form with
// chi_eff = ((chi_ps s + chi_pn n) phi_1 - chi_sn s n) / phi_1^2 (= chi_ps at n = 0).
fn chi_tm(c: vec2<f32>, t: f32) -> f32 {
    let cps = chi_at(t);
    let n = clamp(c.y, 0.0, 1.0);
    if (n <= 0.0) {
        return cps;
    }
    let p = clamp(c.x, 0.0, 1.0);
    let s = max(1.0 - p - n, 0.0);
    let d = max(1.0 - p, 1e-6);
    return ((cps * s + chi_pn_at(t) * n) * d - P.chi_sn * s * n) / (d * d);
}

// 1/Tm of the polymer at polymer fraction p (Flory's melting-point depression by
// the diluent, phi_1 = 1 - p), plus the cooling medium's shift at the faces.
fn inv_tm(p: f32, chi: f32, shift: f32) -> f32 {
    let d = 1.0 - clamp(p, 0.0, 1.0);
    return P.th_chi.z + P.th_chi.w * (d - chi * d * d) + shift;
}

// Free energy of crystallization per polymer site in kT: L (1/Tm - 1/T), < 0 below Tm.
fn cryst_drive(p: f32, t: f32, chi: f32, shift: f32) -> f32 {
    return P.th_cryst.x * (inv_tm(p, chi, shift) - 1.0 / t);
}

// Interpolation from melt (0) to crystal (1) with zero slope at both ends, and its derivative.
fn interp5(psi: f32) -> f32 {
    return psi * psi * psi * (10.0 - 15.0 * psi + 6.0 * psi * psi);
}
fn dinterp5(psi: f32) -> f32 {
    let q = psi * (1.0 - psi);
    return 30.0 * q * q;
}
// Double well psi^2 (1 - psi)^2 and its derivative.
fn dwell(psi: f32) -> f32 {
    let q = psi * (1.0 - psi);
    return q * q;
}
fn ddwell(psi: f32) -> f32 {
    return 2.0 * psi * (1.0 - psi) * (1.0 - 2.0 * psi);
}

// Crystal free energy per site: f_c = p [W g(psi) + drive(p, T) h(psi)].
fn f_cryst(p: f32, psi: f32, t: f32, chi: f32, shift: f32) -> f32 {
    let q = clamp(p, 0.0, 1.0);
    return q * (P.th_cryst.y * dwell(psi) + cryst_drive(q, t, chi, shift) * interp5(psi));
}

// What crystallization adds to the polymer's exchange potential: W g + drive h
// (crystals lower the polymer's potential, so they draw polymer and reject
// diluent). The composition dependence of Flory's Tm is not differentiated
// here: it is already the mixing entropy of the Flory–Huggins part, and
// counting it twice made crystals pull polymer out of the pore phase.
fn dfc_dp(p: f32, psi: f32, t: f32, chi: f32, shift: f32) -> f32 {
    let q = clamp(p, 0.0, 1.0);
    return P.th_cryst.y * dwell(psi) + cryst_drive(q, t, chi, shift) * interp5(psi);
}

// d mu / dT at fixed composition and crystallinity (thermal model): what a
// temperature difference alone adds to the exchange potentials, through
// chi_ps(T) and the crystal drive. The mass flux subtracts it across each face
// when thermodiffusion is off (crystallization.soret = false): with the capped
// Lewis number the column's temperature gradients are far steeper than real,
// and the chi(T) term would drive polymer away from a cooled face.
fn dmu_dt(c: vec2<f32>, psi: f32, t: f32) -> vec2<f32> {
    let p = clamp(c.x, 0.0, 1.0);
    let n = clamp(c.y, 0.0, 1.0);
    let s = 1.0 - p - n;
    let it2 = 1.0 / (t * t);
    let dchi = -P.th_chi.y * it2;
    let dchi_pn = dchi - P.th_surf.w * it2;
    let d = max(1.0 - p, 1e-6);
    // d chi_tm / dT, times -phi_1^2 (Flory's term) plus d(-1/T)/dT.
    let dchi_tm = (dchi * s + dchi_pn * n) / d;
    let dcr = interp5(psi) * P.th_cryst.x * (-P.th_chi.w * d * d * dchi_tm + it2);
    return vec2<f32>(dchi * (s - p) + dchi_pn * n + dcr, (dchi_pn - dchi) * p);
}

// d^2 f_c / d phi_p^2 (for the stiffness bound).
fn d2fc_dp2(p: f32, psi: f32, chi: f32) -> f32 {
    let q = clamp(p, 0.0, 1.0);
    let ddrive = -(1.0 - 2.0 * chi * (1.0 - q));
    return interp5(psi) * (2.0 * ddrive - 2.0 * chi * q);
}

// d f_c / d psi.
fn dfc_dpsi(p: f32, psi: f32, t: f32, chi: f32, shift: f32) -> f32 {
    let q = clamp(p, 0.0, 1.0);
    return q * (P.th_cryst.y * ddwell(psi) + cryst_drive(q, t, chi, shift) * dinterp5(psi));
}

// Soft floor on the volume fractions (thermal model): the guarded logarithms
// stop pushing back once a fraction reaches phi_min, and strong crystal sinks
// could then drain a voxel below zero. A quadratic penalty FLOOR/2 min(x, 0)^2
// on phi_p, phi_n and phi_s restores it; it is zero for physical states.
const FLOOR: f32 = 50.0;

fn floor_f(c: vec2<f32>) -> f32 {
    let s = 1.0 - c.x - c.y;
    let m = min(vec3<f32>(c.x, c.y, s), vec3<f32>(0.0));
    return 0.5 * FLOOR * dot(m, m);
}

fn floor_mu(c: vec2<f32>) -> vec2<f32> {
    let ms = min(1.0 - c.x - c.y, 0.0);
    return FLOOR * vec2<f32>(min(c.x, 0.0) - ms, min(c.y, 0.0) - ms);
}

fn floor_h(c: vec2<f32>) -> vec3<f32> {
    let hp = select(0.0, FLOOR, c.x < 0.0);
    let hn = select(0.0, FLOOR, c.y < 0.0);
    let hs = select(0.0, FLOOR, 1.0 - c.x - c.y < 0.0);
    return vec3<f32>(hp + hs, hn + hs, hs);
}

// Gelation: crystallized voxels stop flowing.
fn gel(psi: f32) -> f32 {
    return soft_step(psi, P.th_heat.z, P.th_surf.z, P.th_heat.w);
}

// Shift of 1/Tm by the cooling medium in the voxel layer that touches it.
fn medium_shift(z: u32) -> f32 {
    var s = 0.0;
    if (z == 0u) {
        s = s + P.th_surf.x;
    }
    if (z == P.nz - 1u) {
        s = s + P.th_surf.y;
    }
    return s;
}

// Symmetric mobility matrix as (M_pp, M_nn, M_pn).
fn mobility(c: vec2<f32>) -> vec3<f32> {
    if (P.model == MODEL_DOUBLE_WELL) {
        return vec3<f32>(P.d_p, 0.0, 0.0);
    }
    let p = clamp(c.x, 0.0, 1.0);
    let n = clamp(c.y, 0.0, 1.0);
    let s = clamp(1.0 - c.x - c.y, 0.0, 1.0);
    return mobility_of(p, n, s) * arrest(p);
}

// Harmonic mean of two fractions (0 where either is 0).
fn hmean(a: f32, b: f32) -> f32 {
    let x = max(a, 0.0);
    let y = max(b, 0.0);
    if (x + y <= 0.0) {
        return 0.0;
    }
    return 2.0 * x * y / (x + y);
}

// Face mobility for mobility.face = "harmonic": the matrix at the harmonic-mean
// composition of the two voxels, times the mean of their arrest (and gel) factors.
fn face_mobility_harmonic(c: vec2<f32>, cn: vec2<f32>, g: f32) -> vec3<f32> {
    let p = hmean(c.x, cn.x);
    let n = hmean(c.y, cn.y);
    let s = hmean(1.0 - c.x - c.y, 1.0 - cn.x - cn.y);
    return mobility_of(p, n, s) * g;
}

// Mobility matrix (before arrest) at fractions p, n, s.
fn mobility_of(p: f32, n: f32, s: f32) -> vec3<f32> {
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
    return m;
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

// 1 - exp(-x): the probability of at least one nucleation event in a step whose
// expected count is x (CPU twin: nucleation_probability in src/solver/cpu/thermal.rs).
fn nucleation_probability(x: f32) -> f32 {
    if (x < 1e-3) {
        return x * (1.0 - 0.5 * x);
    }
    return 1.0 - exp(-x);
}

// Uniform number in [0, 1) from a hash.
fn unit01(h: u32) -> f32 {
    return f32(h >> 8u) * (1.0 / 16777216.0);
}

// Whether voxel i holds a residual crystal (a seed): fixed for the run.
fn is_seed(i: u32) -> bool {
    return unit01(pcg(i ^ pcg(P.bc1.z ^ 0x51ed2705u))) < P.th_nuc.x;
}

// Nucleation (CPU twin: nucleate in src/solver/cpu/thermal.rs): a seed (residual
// crystal) switches on where the melt is undercooled past its activation undercooling,
// and a thermal nucleus appears with probability 1 - exp(-I dt); otherwise psi.
fn nucleate(i: u32, step: u32, dt: f32, q: f32, t: f32, chi: f32, shift: f32, psi: f32) -> f32 {
    let undercool = 1.0 / inv_tm(q, chi, shift) - t;
    if (undercool > P.th_nuc.y && is_seed(i)) {
        return 1.0;
    }
    if (undercool > 0.0 && P.th_nuc.z > 0.0) {
        let prob = nucleation_probability(P.th_nuc.z * q * exp(-P.th_nuc.w / (t * undercool * undercool)) * dt);
        if (unit01(pcg(i ^ pcg(step ^ pcg(P.bc1.z ^ 0x7a3c1e5bu)))) < prob) {
            return 1.0;
        }
    }
    return psi;
}
