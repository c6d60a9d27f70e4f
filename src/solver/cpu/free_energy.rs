//! Twin of `shaders/free_energy.wgsl`: the ternary Flory–Huggins and the
//! double-well free energies, their derivatives and the mobility.

use crate::solver::params::*;

#[inline]
fn guard(p: &Params, x: f32) -> f32 {
    x.max(p.phi_min)
}

#[inline]
fn xlogx(p: &Params, x: f32) -> f32 {
    x * guard(p, x).ln()
}

/// Bulk free-energy density per site, in kT.
pub fn f_bulk(p: &Params, c: [f32; 2]) -> f32 {
    f_bulk_chi(p, c, p.chi_ps, p.chi_pn)
}

/// The same with given polymer–solvent and polymer–non-solvent χ (the thermal
/// model's χ(T); its non-solvent channel carries the cooling medium).
pub fn f_bulk_chi(p: &Params, c: [f32; 2], chi_ps: f32, chi_pn: f32) -> f32 {
    if p.model == MODEL_DOUBLE_WELL {
        let a = c[0] - p.dw_alpha;
        let b = p.dw_beta - c[0];
        return p.dw_rho * a * a * b * b;
    }
    let (pp, n) = (c[0], c[1]);
    let s = 1.0 - pp - n;
    xlogx(p, pp) / p.n_p + xlogx(p, s) + xlogx(p, n) + chi_ps * pp * s + chi_pn * pp * n + p.chi_sn * s * n
}

/// Exchange chemical potentials (df/dphi_p, df/dphi_n).
pub fn bulk_mu(p: &Params, c: [f32; 2]) -> [f32; 2] {
    bulk_mu_chi(p, c, p.chi_ps, p.chi_pn)
}

pub fn bulk_mu_chi(p: &Params, c: [f32; 2], chi_ps: f32, chi_pn: f32) -> [f32; 2] {
    if p.model == MODEL_DOUBLE_WELL {
        let a = c[0] - p.dw_alpha;
        let b = p.dw_beta - c[0];
        return [2.0 * p.dw_rho * a * b * (b - a), 0.0];
    }
    let (pp, n) = (c[0], c[1]);
    let s = 1.0 - pp - n;
    let ls = guard(p, s).ln() + 1.0;
    let mp = (guard(p, pp).ln() + 1.0) / p.n_p - ls + chi_ps * (s - pp) + (chi_pn - p.chi_sn) * n;
    let mn = (guard(p, n).ln() + 1.0) - ls + (chi_pn - chi_ps) * pp + p.chi_sn * (s - n);
    [mp, mn]
}

/// ln of the non-solvent activity (Flory–Huggins, solvent and non-solvent of
/// equal molar volume).
pub fn ln_activity_n(p: &Params, c: [f32; 2]) -> f32 {
    let (pp, n) = (c[0], c[1]);
    let s = 1.0 - pp - n;
    guard(p, n).ln() + 1.0 - n - s - pp / p.n_p + (p.chi_sn * s + p.chi_pn * pp) * (s + pp) - p.chi_ps * s * pp
}

/// ln of the solvent activity (twin of the formula in docs/model.md; used by tests
/// and the host).
pub fn ln_activity_s(p: &Params, c: [f32; 2]) -> f32 {
    let (pp, n) = (c[0], c[1]);
    let s = 1.0 - pp - n;
    guard(p, s).ln() + 1.0 - s - n - pp / p.n_p + (p.chi_ps * pp + p.chi_sn * n) * (pp + n) - p.chi_pn * pp * n
}

/// Hessian of f as (H_pp, H_nn, H_pn).
pub fn hessian(p: &Params, c: [f32; 2]) -> [f32; 3] {
    hessian_chi(p, c, p.chi_ps, p.chi_pn)
}

pub fn hessian_chi(p: &Params, c: [f32; 2], chi_ps: f32, chi_pn: f32) -> [f32; 3] {
    if p.model == MODEL_DOUBLE_WELL {
        let a = c[0] - p.dw_alpha;
        let b = p.dw_beta - c[0];
        return [2.0 * p.dw_rho * (a * a - 4.0 * a * b + b * b), 0.0, 0.0];
    }
    let (pp, n) = (c[0], c[1]);
    let s = 1.0 - pp - n;
    let is = 1.0 / guard(p, s);
    [
        1.0 / (p.n_p * guard(p, pp)) + is - 2.0 * chi_ps,
        1.0 / guard(p, n) + is - 2.0 * p.chi_sn,
        is - chi_ps + chi_pn - p.chi_sn,
    ]
}

/// Vitrification arrest factor: a cubic smoothstep from 1 to vit_factor,
/// centred on vit_phi and 4 vit_width wide.
pub fn arrest(p: &Params, phi_p: f32) -> f32 {
    soft_step(phi_p, p.vit_phi, p.vit_width, p.vit_factor)
}

/// A C1 step from 1 down to `factor`, centred on `centre` and 4 `width` wide.
pub fn soft_step(x: f32, centre: f32, width: f32, factor: f32) -> f32 {
    if factor >= 1.0 {
        return 1.0;
    }
    let u = ((x - centre) / (4.0 * width) + 0.5).clamp(0.0, 1.0);
    let s = u * u * (3.0 - 2.0 * u);
    1.0 + (factor - 1.0) * s
}

// ---- Thermal model (TIPS): twins of the functions of the same name in free_energy.wgsl ----

/// χ_ps(T) = A + B / T.
pub fn chi_at(p: &Params, t: f32) -> f32 {
    p.th_chi[0] + p.th_chi[1] / t
}

/// χ of the polymer with the cooling medium in the non-solvent channel:
/// χ_ps(T) + Δb/T (Δb = th_surf[3]; 0 without `cooling.exchange`).
pub fn chi_pn_at(p: &Params, t: f32) -> f32 {
    chi_at(p, t) + p.th_surf[3] / t
}

/// The χ that puts a voxel's medium into Flory's melting point (twin of
/// `chi_tm` in free_energy.wgsl): χ_ps at φ_n = 0.
pub fn chi_tm(p: &Params, c: [f32; 2], t: f32) -> f32 {
    let cps = chi_at(p, t);
    let n = c[1].clamp(0.0, 1.0);
    if n <= 0.0 {
        return cps;
    }
    let q = c[0].clamp(0.0, 1.0);
    let s = (1.0 - q - n).max(0.0);
    let d = (1.0 - q).max(1e-6);
    ((cps * s + chi_pn_at(p, t) * n) * d - p.chi_sn * s * n) / (d * d)
}

/// 1/Tm at polymer fraction `q` (Flory), plus the cooling medium's shift.
pub fn inv_tm(p: &Params, q: f32, chi: f32, shift: f32) -> f32 {
    let d = 1.0 - q.clamp(0.0, 1.0);
    p.th_chi[2] + p.th_chi[3] * (d - chi * d * d) + shift
}

/// Free energy of crystallization per polymer site in kT, L (1/Tm − 1/T).
pub fn cryst_drive(p: &Params, q: f32, t: f32, chi: f32, shift: f32) -> f32 {
    p.th_cryst[0] * (inv_tm(p, q, chi, shift) - 1.0 / t)
}

pub fn interp5(psi: f32) -> f32 {
    psi * psi * psi * (10.0 - 15.0 * psi + 6.0 * psi * psi)
}
pub fn dinterp5(psi: f32) -> f32 {
    let q = psi * (1.0 - psi);
    30.0 * q * q
}
pub fn dwell(psi: f32) -> f32 {
    let q = psi * (1.0 - psi);
    q * q
}
pub fn ddwell(psi: f32) -> f32 {
    2.0 * psi * (1.0 - psi) * (1.0 - 2.0 * psi)
}

/// Crystal free energy per site, p [W g(ψ) + drive h(ψ)].
pub fn f_cryst(p: &Params, q: f32, psi: f32, t: f32, chi: f32, shift: f32) -> f32 {
    let q = q.clamp(0.0, 1.0);
    q * (p.th_cryst[1] * dwell(psi) + cryst_drive(p, q, t, chi, shift) * interp5(psi))
}

/// What crystallization adds to the polymer's exchange potential, W g + drive h
/// (the Tm(φ) dependence is not differentiated; see free_energy.wgsl).
pub fn dfc_dp(p: &Params, q: f32, psi: f32, t: f32, chi: f32, shift: f32) -> f32 {
    let q = q.clamp(0.0, 1.0);
    p.th_cryst[1] * dwell(psi) + cryst_drive(p, q, t, chi, shift) * interp5(psi)
}

/// ∂μ/∂T at fixed composition and crystallinity: what a temperature difference
/// alone adds to the exchange potentials (χ(T) and the crystal drive). Twin of
/// `dmu_dt` in free_energy.wgsl.
pub fn dmu_dt(p: &Params, c: [f32; 2], psi: f32, t: f32) -> [f32; 2] {
    let q = c[0].clamp(0.0, 1.0);
    let n = c[1].clamp(0.0, 1.0);
    let s = 1.0 - q - n;
    let it2 = 1.0 / (t * t);
    let dchi = -p.th_chi[1] * it2;
    let dchi_pn = dchi - p.th_surf[3] * it2;
    let d = (1.0 - q).max(1e-6);
    let dchi_tm = (dchi * s + dchi_pn * n) / d;
    let dcr = interp5(psi) * p.th_cryst[0] * (-p.th_chi[3] * d * d * dchi_tm + it2);
    [dchi * (s - q) + dchi_pn * n + dcr, (dchi_pn - dchi) * q]
}

/// ∂²f_c/∂φ_p².
pub fn d2fc_dp2(q: f32, psi: f32, chi: f32) -> f32 {
    let q = q.clamp(0.0, 1.0);
    let ddrive = -(1.0 - 2.0 * chi * (1.0 - q));
    interp5(psi) * (2.0 * ddrive - 2.0 * chi * q)
}

/// ∂f_c/∂ψ.
pub fn dfc_dpsi(p: &Params, q: f32, psi: f32, t: f32, chi: f32, shift: f32) -> f32 {
    let q = q.clamp(0.0, 1.0);
    q * (p.th_cryst[1] * ddwell(psi) + cryst_drive(p, q, t, chi, shift) * dinterp5(psi))
}

/// Soft floor on the volume fractions in the thermal model (twin of FLOOR in
/// free_energy.wgsl): FLOOR/2 min(x, 0)² on φ_p, φ_n and φ_s.
pub const FLOOR: f32 = 50.0;

pub fn floor_f(c: [f32; 2]) -> f32 {
    let s = 1.0 - c[0] - c[1];
    let m = [c[0].min(0.0), c[1].min(0.0), s.min(0.0)];
    0.5 * FLOOR * (m[0] * m[0] + m[1] * m[1] + m[2] * m[2])
}

pub fn floor_mu(c: [f32; 2]) -> [f32; 2] {
    let ms = (1.0 - c[0] - c[1]).min(0.0);
    [FLOOR * (c[0].min(0.0) - ms), FLOOR * (c[1].min(0.0) - ms)]
}

pub fn floor_h(c: [f32; 2]) -> [f32; 3] {
    let hp = if c[0] < 0.0 { FLOOR } else { 0.0 };
    let hn = if c[1] < 0.0 { FLOOR } else { 0.0 };
    let hs = if 1.0 - c[0] - c[1] < 0.0 { FLOOR } else { 0.0 };
    [hp + hs, hn + hs, hs]
}

/// Gelation factor on the mobility.
pub fn gel(p: &Params, psi: f32) -> f32 {
    soft_step(psi, p.th_heat[2], p.th_surf[2], p.th_heat[3])
}

/// Shift of 1/Tm in the voxel layers touching the cooling media.
pub fn medium_shift(p: &Params, z: u32) -> f32 {
    let mut s = 0.0;
    if z == 0 {
        s += p.th_surf[0];
    }
    if z == p.nz - 1 {
        s += p.th_surf[1];
    }
    s
}

/// Mobility matrix (M_pp, M_nn, M_pn).
pub fn mobility(p: &Params, c: [f32; 2]) -> [f32; 3] {
    if p.model == MODEL_DOUBLE_WELL {
        return [p.d_p, 0.0, 0.0];
    }
    let pp = c[0].clamp(0.0, 1.0);
    let n = c[1].clamp(0.0, 1.0);
    let s = (1.0 - c[0] - c[1]).clamp(0.0, 1.0);
    let m = mobility_of(p, pp, n, s);
    let a = arrest(p, pp);
    [m[0] * a, m[1] * a, m[2] * a]
}

/// Mobility matrix (before arrest) at fractions `pp`, `n`, `s`.
fn mobility_of(p: &Params, pp: f32, n: f32, s: f32) -> [f32; 3] {
    if p.mobility_model == MOBILITY_CONSTANT {
        [p.d_p, p.d_n, 0.0]
    } else {
        let ap = pp * p.d_p;
        let an = n * p.d_n;
        let total = ap + an + s * p.d_s + 1e-12;
        [ap - ap * ap / total, an - an * an / total, -ap * an / total]
    }
}

/// Harmonic mean of two fractions (0 where either is 0).
fn hmean(a: f32, b: f32) -> f32 {
    let (x, y) = (a.max(0.0), b.max(0.0));
    if x + y <= 0.0 {
        0.0
    } else {
        2.0 * x * y / (x + y)
    }
}

/// Face mobility for `mobility.face = "harmonic"`: the matrix at the harmonic-mean
/// composition of the two voxels times `g` (the mean of their arrest and gel factors).
pub fn face_mobility_harmonic(p: &Params, c: [f32; 2], cn: [f32; 2], g: f32) -> [f32; 3] {
    let m = mobility_of(p, hmean(c[0], cn[0]), hmean(c[1], cn[1]), hmean(1.0 - c[0] - c[1], 1.0 - cn[0] - cn[1]));
    [m[0] * g, m[1] * g, m[2] * g]
}

/// Cholesky factor (l11, l22, l21) of a 2x2 SPD matrix.
pub fn chol2(m: [f32; 3]) -> [f32; 3] {
    let l11 = m[0].max(0.0).sqrt();
    let l21 = if l11 > 0.0 { m[2] / l11 } else { 0.0 };
    let l22 = (m[1] - l21 * l21).max(0.0).sqrt();
    [l11, l22, l21]
}

/// Largest eigenvalue of a·b for symmetric 2x2 a, b, clamped at 0.
pub fn max_eig_product(a: [f32; 3], b: [f32; 3]) -> f32 {
    let m00 = a[0] * b[0] + a[2] * b[2];
    let m01 = a[0] * b[2] + a[2] * b[1];
    let m10 = a[2] * b[0] + a[1] * b[2];
    let m11 = a[2] * b[2] + a[1] * b[1];
    let tr = m00 + m11;
    let det = m00 * m11 - m01 * m10;
    let disc = (0.25 * tr * tr - det).max(0.0);
    (0.5 * tr + disc.sqrt()).max(0.0)
}

/// Largest eigenvalue of a symmetric 2x2 matrix.
pub fn max_eig_sym(a: [f32; 3]) -> f32 {
    let tr = a[0] + a[1];
    let d = 0.5 * (a[0] - a[1]);
    0.5 * tr + (d * d + a[2] * a[2]).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ternary() -> Params {
        let mut p: Params = bytemuck::Zeroable::zeroed();
        p.model = MODEL_TERNARY;
        p.mobility_model = MOBILITY_SLOW_MODE;
        p.n_p = 20.0;
        p.chi_ps = 0.4;
        p.chi_pn = 1.6;
        p.chi_sn = 0.6;
        p.phi_min = 1e-6;
        p.d_p = 0.05;
        p.d_s = 1.0;
        p.d_n = 1.0;
        p.vit_factor = 1.0;
        p
    }

    #[test]
    fn chemical_potentials_are_derivatives_of_f() {
        let p = ternary();
        for c in [[0.2f32, 0.1f32], [0.5, 0.3], [0.05, 0.6]] {
            let mu = bulk_mu(&p, c);
            let e = 1e-3f64;
            let f = |a: f32, b: f32| f_bulk(&p, [a, b]) as f64;
            let dp = (f(c[0] + e as f32, c[1]) - f(c[0] - e as f32, c[1])) / (2.0 * e);
            let dn = (f(c[0], c[1] + e as f32) - f(c[0], c[1] - e as f32)) / (2.0 * e);
            assert!((dp - mu[0] as f64).abs() < 2e-3, "{c:?}: {dp} vs {}", mu[0]);
            assert!((dn - mu[1] as f64).abs() < 2e-3, "{c:?}: {dn} vs {}", mu[1]);
            let h = hessian(&p, c);
            let m = |a: f32, b: f32| bulk_mu(&p, [a, b]);
            let hpp = (m(c[0] + 1e-3, c[1])[0] - m(c[0] - 1e-3, c[1])[0]) / 2e-3;
            let hpn = (m(c[0], c[1] + 1e-3)[0] - m(c[0], c[1] - 1e-3)[0]) / 2e-3;
            assert!((hpp - h[0]).abs() < 0.02 * h[0].abs().max(1.0));
            assert!((hpn - h[2]).abs() < 0.02 * h[2].abs().max(1.0));
        }
    }

    #[test]
    fn activities_are_consistent_with_the_exchange_potential() {
        let p = ternary();
        for c in [[0.2f32, 0.1f32], [0.3, 0.3], [0.1, 0.05]] {
            // The exchange potential df/dphi_N is mu_N - mu_S for equal molar volumes.
            let d = ln_activity_n(&p, c) - ln_activity_s(&p, c);
            assert!((d - bulk_mu(&p, c)[1]).abs() < 1e-5, "{c:?}: {d} vs {}", bulk_mu(&p, c)[1]);
        }
        // Pure non-solvent has activity 1.
        assert!(ln_activity_n(&p, [0.0, 1.0]).abs() < 1e-5);
    }

    #[test]
    fn slow_mode_mobility_is_symmetric_positive_semidefinite() {
        let p = ternary();
        for c in [[0.2f32, 0.1f32], [0.7, 0.2], [0.01, 0.9]] {
            let m = mobility(&p, c);
            assert!(m[0] >= 0.0 && m[1] >= 0.0);
            assert!(m[0] * m[1] - m[2] * m[2] >= -1e-7);
            let l = chol2(m);
            assert!((l[0] * l[0] - m[0]).abs() < 1e-6);
            assert!((l[2] * l[2] + l[1] * l[1] - m[1]).abs() < 1e-5);
        }
    }

    #[test]
    fn vitrification_arrests_mobility_above_threshold() {
        let mut p = ternary();
        p.vit_phi = 0.75;
        p.vit_width = 0.01;
        p.vit_factor = 1e-6;
        assert!((arrest(&p, 0.5) - 1.0).abs() < 1e-6);
        assert!(arrest(&p, 0.9) < 1e-5);
    }
}
