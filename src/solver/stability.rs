//! The explicit time-step bound (derived in `docs/model.md`).
//!
//! For dphi/dt = div(M grad(H phi - kappa lap phi)) with frozen coefficients,
//! a Fourier mode with discrete Laplacian eigenvalue -L (0 <= L <= 4 d / h^2)
//! is amplified per forward-Euler step by the eigenvalues of
//! I - dt L M (H + kappa L). Stability needs dt L lambda <= 2 for every
//! eigenvalue lambda of M (H + kappa L); by Weyl's inequality
//! lambda <= lambda+(M H) + kappa L lambda_max(M), so
//!
//!   dt <= 2 / (L_max (s + kappa_max L_max m)),  L_max = 4 d / h^2,
//!
//! with s the largest positive eigenvalue of M·H and m the largest eigenvalue of
//! M over all voxels (both reduced on the device).

use super::params::Params;
use super::Totals;

/// Largest eigenvalue magnitude of the 7-point (or 5- / 3-point) Laplacian.
pub fn laplacian_max(p: &Params) -> f64 {
    4.0 * p.dim as f64 / (p.h as f64 * p.h as f64)
}

/// The stability bound on dt (model time units) for the current fields.
pub fn dt_bound(p: &Params, t: &Totals) -> f64 {
    let l = laplacian_max(p);
    let kappa = p.kappa_p.max(p.kappa_n) as f64;
    let rate = l * (t.stiffness.max(0.0) + kappa * l * t.max_mobility.max(0.0));
    let ch = if rate > 0.0 { 2.0 / rate } else { f64::INFINITY };
    if p.is_thermal() {
        ch.min(thermal_dt_bound(p, t))
    } else {
        ch
    }
}

/// Forward-Euler bounds of the thermal model:
/// - heat: dt α (L_max + 2 β_max / h²) ≤ 2 (the Newton face adds β/h² to the
///   diagonal of a boundary voxel);
/// - crystallinity: dt L_ψ (κ_ψ L_max + max |∂²f_c/∂ψ²|) ≤ 2, with
///   |∂²f_c/∂ψ²| ≤ φ_p (2 W + 5.78 |drive|) (the maxima of |g''| and |h''| on
///   [0, 1]) and |drive| bounded over the temperatures of the current field
///   and the media.
pub fn thermal_dt_bound(p: &Params, t: &Totals) -> f64 {
    let b = thermal_dt_bound_parts(p, t);
    let l = laplacian_max(p);
    let psi = p.th_cryst[3] as f64 * (p.th_cryst[2] as f64 * l + b.psi_curvature);
    let rate = b.heat.max(psi);
    if rate > 0.0 {
        2.0 / rate
    } else {
        f64::INFINITY
    }
}

/// The rates behind [`thermal_dt_bound`].
pub struct ThermalRates {
    /// α (L_max + 2 β_max / h²): the heat equation's largest rate.
    pub heat: f64,
    /// 2 W + 5.78 |drive|: the bound on |∂²f_c/∂ψ²| per unit polymer.
    pub psi_curvature: f64,
}

pub fn thermal_dt_bound_parts(p: &Params, t: &Totals) -> ThermalRates {
    let l = laplacian_max(p);
    let h2 = (p.h as f64).powi(2);
    let alpha = p.th_heat[0] as f64;
    let beta = (p.th_face[0].max(p.th_face[2])) as f64;
    let heat = alpha * (l + 2.0 * beta / h2);
    let mut t_lo = t.min_t;
    let mut t_hi = t.max_t;
    for (b, tf) in [(p.th_face[0], p.th_face[1]), (p.th_face[2], p.th_face[3])] {
        if b > 0.0 {
            t_lo = t_lo.min(tf as f64);
            t_hi = t_hi.max(tf as f64);
        }
    }
    let t_lo = t_lo.max(1.0);
    let lat = p.th_cryst[0] as f64;
    let inv_tm0 = p.th_chi[2] as f64;
    // 1/Tm ranges over 1/Tm0 ± (a few)/L and the media shifts.
    let shift = (p.th_surf[0].abs().max(p.th_surf[1].abs())) as f64;
    let spread = 2.0 * p.th_chi[3] as f64 * (1.0 + (p.th_chi[0] as f64 + p.th_chi[1] as f64 / t_lo).abs()) + shift;
    let drive = lat * ((1.0 / t_lo - inv_tm0).abs().max((inv_tm0 - 1.0 / t_hi.max(1.0)).abs()) + spread);
    ThermalRates { heat, psi_curvature: 2.0 * p.th_cryst[1] as f64 + 5.78 * drive }
}

/// noise_amp * sqrt(2 dt) / h^(1 + dim/2): the factor on the unit-normal face
/// fluxes of the conserved noise.
pub fn noise_scale(p: &Params, dt: f64) -> f32 {
    if p.noise_amp <= 0.0 {
        return 0.0;
    }
    let h = p.h as f64;
    (p.noise_amp as f64 * (2.0 * dt).sqrt() / h.powf(1.0 + p.dim as f64 / 2.0)) as f32
}
