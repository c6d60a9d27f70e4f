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
    if rate > 0.0 {
        2.0 / rate
    } else {
        f64::INFINITY
    }
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
