//! Semi-implicit (linearly stabilised) time integration: the constant-coefficient
//! operators that both backends solve each step (`docs/model.md`, "Time integration").
//!
//! One Cahn–Hilliard step, per field i ∈ {P, N}:
//!
//! 1. μⁿ from the chemical-potential kernel;
//! 2. (I + Δt·P_i) (w_i − μ_ref,i) = μ_i − μ_ref,i with P_i = (S − κ_i L_μ)·A·(−L_f):
//!    −L_f acts first (on the potential) and (S − κ_i L_μ) second;
//! 3. φⁿ⁺¹ = φⁿ + Δt ∇_h·(M_face ∇_h w) + (filtered) noise: the explicit update kernel fed w.
//!
//! Every operator here has the form M = d0 I + (b0 I + b1 (−L_B)) (c0 I + c1 (−L_C)),
//! with L_B, L_C the 7-point Laplacian whose z boundary rows are given per face as the
//! face's contribution to the diagonal of −L·h² (mirror 0, fixed ghost 1, Newton β).
//! Along x and y (periodic or mirror at both faces) it is diagonalised by the FFT or the
//! DCT-II; along z by the FFT (periodic) or a pentadiagonal solve per transverse mode
//! whose first and last rows are the exact rows of each face. The heat equation and the
//! stabilised crystallinity of the thermal model use the same form.

use super::params::{Params, BC_NO_FLUX, BC_PERIODIC, BC_RESERVOIR, BC_VAPOR, MODEL_TERNARY};
use super::Totals;

/// How an axis is diagonalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AxisKind {
    /// Periodic: FFT, eigenvalues (4/h²) sin²(πk/N).
    Periodic,
    /// Mirror ghost at both faces: DCT-II, eigenvalues (4/h²) sin²(πk/(2N)).
    Cosine,
    /// z only: a banded solve with the exact boundary rows.
    Banded,
}

/// The transforms of a grid: x and y are Periodic or Cosine, z Periodic or Banded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub x: AxisKind,
    pub y: AxisKind,
    pub z: AxisKind,
}

fn mirror_like(code: u32) -> bool {
    code == BC_NO_FLUX || code == BC_VAPOR
}

/// The transforms for the boundary codes of `p`, or why the semi-implicit scheme
/// cannot run them.
pub fn layout(p: &Params) -> Result<Layout, String> {
    let names = ["x", "y"];
    let mut xy = [AxisKind::Periodic; 2];
    for a in 0..2 {
        let (lo, hi) = (p.bc0[2 * a], p.bc0[2 * a + 1]);
        xy[a] = if lo == BC_PERIODIC && hi == BC_PERIODIC {
            AxisKind::Periodic
        } else if mirror_like(lo) && mirror_like(hi) {
            AxisKind::Cosine
        } else {
            return Err(format!(
                "time.scheme = \"semi_implicit\" needs the {0} faces both periodic or both no_flux (a reservoir or a mixed pair on {0} is not diagonalised); use time.scheme = \"explicit\" for this stage",
                names[a]
            ));
        };
    }
    let (lo, hi) = (p.bc1[0], p.bc1[1]);
    let z = if lo == BC_PERIODIC && hi == BC_PERIODIC {
        AxisKind::Periodic
    } else if lo == BC_PERIODIC || hi == BC_PERIODIC {
        return Err("time.scheme = \"semi_implicit\": a periodic z face needs a periodic partner".into());
    } else {
        AxisKind::Banded
    };
    Ok(Layout { x: xy[0], y: xy[1], z })
}

/// M = d0 I + (b0 I + b1 (−L_B)) (c0 I + c1 (−L_C)); `rows_b`, `rows_c` are the
/// (top, back) z faces' contributions to the diagonal of −L·h².
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Op {
    pub d0: f64,
    pub b0: f64,
    pub b1: f64,
    pub c0: f64,
    pub c1: f64,
    pub rows_b: [f64; 2],
    pub rows_c: [f64; 2],
}

impl Op {
    /// The identity (a field that is not solved).
    pub fn identity() -> Self {
        Self { d0: 1.0, b0: 0.0, b1: 0.0, c0: 0.0, c1: 0.0, rows_b: [0.0; 2], rows_c: [0.0; 2] }
    }

    /// The multiplier of a mode with −L eigenvalue `lam` when every axis is diagonal
    /// (periodic or mirror rows, which the FFT/DCT diagonalise exactly).
    pub fn symbol(&self, lam: f64) -> f64 {
        self.d0 + (self.b0 + self.b1 * lam) * (self.c0 + self.c1 * lam)
    }

    /// The pentadiagonal matrix along z for a transverse mode with −L eigenvalue
    /// `lam`: `nz` rows of 5 entries (j−2 … j+2); entries outside the grid are 0.
    pub fn band(&self, lam: f64, nz: usize, inv_h2: f64) -> Vec<[f64; 5]> {
        let mut out = vec![[0.0; 5]; nz];
        self.band_into(lam, inv_h2, &mut out);
        out
    }

    /// [`Op::band`] into `out` (one row per z layer), without allocating.
    pub fn band_into(&self, lam: f64, inv_h2: f64, out: &mut [[f64; 5]]) {
        let nz = out.len();
        let diag = |rows: [f64; 2], j: usize| -> f64 {
            let lo = if j == 0 { rows[0] } else { 1.0 };
            let hi = if j + 1 == nz { rows[1] } else { 1.0 };
            (lo + hi) * inv_h2
        };
        let beta = |j: usize| self.b0 + self.b1 * (lam + diag(self.rows_b, j));
        let gamma = |j: usize| self.c0 + self.c1 * (lam + diag(self.rows_c, j));
        let (bo, co) = (-self.b1 * inv_h2, -self.c1 * inv_h2);
        for (j, r) in out.iter_mut().enumerate() {
            *r = [0.0; 5];
            let bj = beta(j);
            r[2] = self.d0 + bj * gamma(j);
            if j >= 1 {
                r[1] = bj * co + bo * gamma(j - 1);
                r[2] += bo * co;
            }
            if j + 1 < nz {
                r[3] = bj * co + bo * gamma(j + 1);
                r[2] += bo * co;
            }
            if j >= 2 {
                r[0] = bo * co;
            }
            if j + 2 < nz {
                r[4] = bo * co;
            }
        }
    }
}

/// Factors a pentadiagonal band in place (LU without pivoting: the matrices here are
/// I plus a product of two commuting SPD tridiagonals away from the boundary rows).
/// Afterwards `a[j]` holds (l2, l1, u0, u1, u2): L has unit diagonal and subdiagonals
/// l1 (j, j−1), l2 (j, j−2); U has diagonal u0 and superdiagonals u1, u2.
pub fn factor_band(a: &mut [[f64; 5]]) {
    let n = a.len();
    for j in 0..n {
        // Eliminate entries (j, j-2) and (j, j-1) with the rows above.
        if j >= 2 {
            let l2 = a[j][0] / a[j - 2][2];
            a[j][0] = l2;
            a[j][1] -= l2 * a[j - 2][3];
            a[j][2] -= l2 * a[j - 2][4];
        }
        if j >= 1 {
            let l1 = a[j][1] / a[j - 1][2];
            a[j][1] = l1;
            a[j][2] -= l1 * a[j - 1][3];
            a[j][3] -= l1 * a[j - 1][4];
        }
    }
}

/// Solves with a band factored by [`factor_band`]; `x` holds the right-hand side
/// (complex, as (re, im)) and receives the solution.
pub fn solve_band(a: &[[f64; 5]], x: &mut [[f64; 2]]) {
    let n = a.len();
    for j in 0..n {
        for c in 0..2 {
            let mut v = x[j][c];
            if j >= 1 {
                v -= a[j][1] * x[j - 1][c];
            }
            if j >= 2 {
                v -= a[j][0] * x[j - 2][c];
            }
            x[j][c] = v;
        }
    }
    for j in (0..n).rev() {
        for c in 0..2 {
            let mut v = x[j][c];
            if j + 1 < n {
                v -= a[j][3] * x[j + 1][c];
            }
            if j + 2 < n {
                v -= a[j][4] * x[j + 2][c];
            }
            x[j][c] = v / a[j][2];
        }
    }
}

/// −L eigenvalues of an axis of `n` voxels.
pub fn eigenvalues(kind: AxisKind, n: usize, inv_h2: f64) -> Vec<f64> {
    (0..n)
        .map(|k| {
            let s = match kind {
                AxisKind::Periodic => (std::f64::consts::PI * k as f64 / n as f64).sin(),
                // Banded z uses the DCT-II basis for the noise filter only.
                AxisKind::Cosine | AxisKind::Banded => (std::f64::consts::PI * k as f64 / (2.0 * n as f64)).sin(),
            };
            4.0 * inv_h2 * s * s
        })
        .collect()
}

/// The stabilisation constants of one Cahn–Hilliard step: A = m (largest eigenvalue of
/// the mobility), S = max(0, (s − √(8 κ m / Δt)) / 2) with s the largest positive
/// eigenvalue of M·H, both from the last reduction.
pub fn constants(t: &Totals, kappa: f64, dt: f64) -> (f64, f64) {
    let m = t.max_mobility.max(0.0);
    let s = t.stiffness.max(0.0);
    let stab = if dt > 0.0 { (s - (8.0 * kappa * m / dt).sqrt()).max(0.0) / 2.0 } else { 0.0 };
    (m, stab)
}

/// The boundary rows of field `f` (0 = P, 1 = N) in L_μ (the composition ghost of the
/// chemical potential) and L_f (the flux): a bath face is a fixed ghost in L_μ and
/// passes the non-solvent (fixed potential in L_f), while it holds the polymer back
/// in the ternary model (no flux); mirror and vapour faces are mirrors in both.
pub fn ch_rows(p: &Params, f: usize) -> ([f64; 2], [f64; 2]) {
    let mut mu = [0.0; 2];
    let mut flux = [0.0; 2];
    for face in 0..2 {
        if p.bc1[face] == BC_RESERVOIR {
            mu[face] = 1.0;
            flux[face] = if f == 0 && p.model == MODEL_TERNARY { 0.0 } else { 1.0 };
        }
    }
    (mu, flux)
}

/// The reference potential of field `f`: the reservoir's, where a z face is a bath.
pub fn mu_ref(p: &Params, f: usize) -> f32 {
    if p.bc1[0] == BC_RESERVOIR || p.bc1[1] == BC_RESERVOIR {
        p.res[2 + f]
    } else {
        0.0
    }
}

/// The Cahn–Hilliard operator of field `f` for a step of `dt` with constants (A, S).
pub fn ch_op(p: &Params, f: usize, dt: f64, a: f64, s: f64) -> Op {
    let (rows_b, rows_c) = ch_rows(p, f);
    let kappa = if f == 0 { p.kappa_p } else { p.kappa_n } as f64;
    Op { d0: 1.0, b0: s, b1: kappa, c0: 0.0, c1: dt * a, rows_b, rows_c }
}

/// Backward Euler for the heat equation of the thermal model:
/// (1 + Δt α σ) T − Δt α L_h T, with Newton face rows (conducting column) or the
/// faces' heat drawn evenly from every voxel (lumped column, σ = Σβ/(h² nz)).
pub fn heat_op(p: &Params, dt: f64) -> Op {
    let alpha = p.th_heat[0] as f64;
    let inv_h2 = p.inv_h2 as f64;
    let beta = [p.th_face[0] as f64, p.th_face[2] as f64];
    let open = [p.bc1[0] != BC_PERIODIC, p.bc1[1] != BC_PERIODIC];
    let (rows, sink) = if p.lumped_column() {
        let s: f64 = (0..2).filter(|&k| open[k]).map(|k| beta[k]).sum::<f64>() * inv_h2 / p.nz as f64;
        ([0.0; 2], s)
    } else {
        ([if open[0] { beta[0] } else { 0.0 }, if open[1] { beta[1] } else { 0.0 }], 0.0)
    };
    Op { d0: 1.0 + dt * alpha * sink, b0: 1.0, b1: 0.0, c0: 0.0, c1: dt * alpha, rows_b: [0.0; 2], rows_c: rows }
}

/// The stabilised crystallinity step: (1 + Δt L_ψ S_ψ) ψ − Δt L_ψ κ_ψ ∇²ψ (mirror rows).
pub fn psi_op(p: &Params, dt: f64, s_psi: f64) -> Op {
    let l = p.th_cryst[3] as f64;
    Op { d0: 1.0 + dt * l * s_psi, b0: 1.0, b1: 0.0, c0: 0.0, c1: dt * l * p.th_cryst[2] as f64, rows_b: [0.0; 2], rows_c: [0.0; 2] }
}

/// S_ψ ≥ ½ max |∂²f_c/∂ψ²|, bounded as in `stability::thermal_dt_bound`.
pub fn psi_stabilisation(p: &Params, t: &Totals) -> f64 {
    let b = super::stability::thermal_dt_bound_parts(p, t);
    0.5 * b.psi_curvature
}

/// The per-step values of the semi-implicit scheme that the kernels read.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct OpCoeffs {
    /// (d0, b0, b1, c0)
    pub a: [f32; 4],
    /// (c1, rows_b top, rows_b back, rows_c top)
    pub b: [f32; 4],
    /// (rows_c back, 1/multiplier scale, mu_ref, unused)
    pub c: [f32; 4],
}

impl OpCoeffs {
    pub fn new(op: &Op, norm: f64, mu_ref: f32) -> Self {
        Self {
            a: [op.d0 as f32, op.b0 as f32, op.b1 as f32, op.c0 as f32],
            b: [op.c1 as f32, op.rows_b[0] as f32, op.rows_b[1] as f32, op.rows_c[0] as f32],
            c: [op.rows_c[1] as f32, norm as f32, mu_ref, 0.0],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The band of an operator equals the product of its two tridiagonals.
    #[test]
    fn band_is_the_product_of_the_two_tridiagonals() {
        let op = Op { d0: 1.0, b0: 0.3, b1: 2.0, c0: 0.1, c1: 7.0, rows_b: [1.0, 0.0], rows_c: [0.0, 0.4] };
        let (nz, lam, ih2) = (6usize, 0.7, 1.3);
        let tri = |rows: [f64; 2], x0: f64, x1: f64| -> Vec<Vec<f64>> {
            let mut m = vec![vec![0.0; nz]; nz];
            for j in 0..nz {
                let lo = if j == 0 { rows[0] } else { 1.0 };
                let hi = if j + 1 == nz { rows[1] } else { 1.0 };
                m[j][j] = x0 + x1 * (lam + (lo + hi) * ih2);
                if j > 0 {
                    m[j][j - 1] = -x1 * ih2;
                }
                if j + 1 < nz {
                    m[j][j + 1] = -x1 * ih2;
                }
            }
            m
        };
        let b = tri(op.rows_b, op.b0, op.b1);
        let c = tri(op.rows_c, op.c0, op.c1);
        let band = op.band(lam, nz, ih2);
        for j in 0..nz {
            for k in 0..nz {
                let mut v: f64 = (0..nz).map(|l| b[j][l] * c[l][k]).sum();
                if j == k {
                    v += op.d0;
                }
                let d = k as isize - j as isize;
                let got = if d.abs() <= 2 { band[j][(d + 2) as usize] } else { 0.0 };
                assert!((got - v).abs() < 1e-12, "({j},{k}): {got} vs {v}");
            }
        }
        // And the factored band solves it.
        let mut f = band.clone();
        factor_band(&mut f);
        let rhs: Vec<[f64; 2]> = (0..nz).map(|j| [j as f64 - 2.0, (j * j) as f64 * 0.1]).collect();
        let mut x = rhs.clone();
        solve_band(&f, &mut x);
        for j in 0..nz {
            for c in 0..2 {
                let ax: f64 = (0..nz)
                    .filter(|&k| (k as isize - j as isize).abs() <= 2)
                    .map(|k| band[j][(k as isize - j as isize + 2) as usize] * x[k][c])
                    .sum();
                assert!((ax - rhs[j][c]).abs() < 1e-9);
            }
        }
    }
}
