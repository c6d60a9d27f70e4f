//! Stokes flow on an extracted pore network ([`super::network`]): the fast
//! flow method of the porometer and the permeability (`--flow network`, the
//! default; the lattice-Boltzmann solve in [`super::flow`] is the reference).
//!
//! **Conduits.** Each throat joins two pore bodies (or a body and a reservoir)
//! by a conduit of two halves in series, body centre → throat centre →
//! body centre. A half is a conical frustum (Poiseuille flow with a slowly
//! varying radius, resistance 8L(R₁² + R₁R₂ + R₂²)/(3πR₁³R₂³)) from the body's
//! inscribed radius to the throat's Poiseuille-equivalent radius.
//! The throat's cross-section has area A (its face count) and inscribed
//! radius b; its conductance per unit length is taken as
//! A·b²/(3 + 5/e²), e = max(1, A/(πb²)) its elongation, which is exact for a
//! circle (πb⁴/8, e = 1) and for a slit (A·b²/3, e → ∞); the equivalent
//! radius R_t is the circle radius of the same conductance. Lengths are
//! Euclidean, minimum image across periodic sides; a half shorter than half a
//! voxel counts as half a voxel.
//!
//! **Solve.** Conservation of volume flux at each pore with the inlet
//! reservoir at pressure 1 and the outlet at 0 gives a symmetric
//! positive-definite system on the pores that connect inlet to outlet (found
//! by a breadth-first search over the open throats); it is solved by
//! conjugate gradients with a Jacobi preconditioner to a relative residual of
//! 1e-10. The permeability in voxel² is k = Q·nz/(ny·nx) for μ = 1 and
//! ΔP = 1, as the lattice-Boltzmann solve reports it. The flow tortuosity is
//! Σ|Q_c|·L_c / (Q·nz) over conduits, the network analogue of Σ|u|/Σu_z.
//!
//! **Wet network.** At squared drainage radius k (r² lattice index, the gas
//! space {r_inv² ≥ k} of the voxel drainage), a throat carries gas through
//! those of its faces whose two voxels are both invaded; its area and
//! inscribed radius are those of the gas-filled faces, and a body is open
//! once any of its voxels is invaded. So the wet network follows the voxel
//! drainage (bubble point and gas spaces are the same as for the
//! lattice-Boltzmann porometer); only the conductance of the gas space differs.

use super::flow::FlowResult;
use super::network::{Network, INLET, OUTLET};
use std::f64::consts::PI;

/// Conductance per unit length (μ = 1) of a cross-section of area `a` and
/// inscribed radius `b` (voxel units).
pub fn section_conductance(a: f64, b: f64) -> f64 {
    if a <= 0.0 || b <= 0.0 {
        return 0.0;
    }
    let e = (a / (PI * b * b)).max(1.0);
    a * b * b / (3.0 + 5.0 / (e * e))
}

/// Radius of the circle with the same conductance per unit length.
fn equivalent_radius(g_per_len: f64) -> f64 {
    (8.0 * g_per_len / PI).powf(0.25)
}

/// Resistance (μ = 1) of a conical frustum of length `l` between radii `r1`, `r2`.
pub fn frustum_resistance(l: f64, r1: f64, r2: f64) -> f64 {
    let l = l.max(0.5);
    8.0 * l * (r1 * r1 + r1 * r2 + r2 * r2) / (3.0 * PI * r1.powi(3) * r2.powi(3))
}

/// Radius of a pore body in its conduits: the larger of its inscribed radius
/// and the radius of the sphere of its volume. A body of a sponge is a
/// chamber shared by several conduits and wider than its inscribed sphere;
/// with the inscribed radius alone the network read 20–37 % below the
/// lattice-Boltzmann permeability of random sphere packs, with the volume
/// radius 11–25 % (docs/validation.md §5).
/// Largest body radius in inscribed radii (see [`body_radius`]).
pub const BODY_RADIUS_CAP: f64 = 1.25;

pub fn body_radius(p: &super::network::Pore) -> f64 {
    (3.0 * p.volume as f64 / (4.0 * PI)).cbrt().clamp(p.radius, BODY_RADIUS_CAP * p.radius)
}

/// Per-throat open area and inscribed radius² at one drainage state.
#[derive(Clone, Debug)]
pub struct Openings {
    pub area: Vec<f64>,
    pub radius: Vec<f32>,
    pub pore_open: Vec<bool>,
}

impl Openings {
    /// The dry network: every throat fully open.
    pub fn dry(net: &Network) -> Self {
        Self {
            area: net.throats.iter().map(|t| t.area).collect(),
            radius: net.throats.iter().map(|t| t.radius as f32).collect(),
            pore_open: vec![true; net.pores.len()],
        }
    }

    /// The gas-filled network at squared radius index `k` (faces with
    /// min r_inv² ≥ k; see module docs). Needs the per-face data.
    pub fn wet(net: &Network, k: u64) -> Self {
        let mut area = vec![0.0; net.throats.len()];
        let mut radius = vec![0f32; net.throats.len()];
        for f in &net.faces {
            if f.rinv2 > 0 && f.rinv2 as u64 >= k {
                let t = &net.throats[f.throat as usize];
                area[f.throat as usize] += t.area / t.faces as f64;
                let e = &mut radius[f.throat as usize];
                *e = e.max(f.dist);
            }
        }
        let pore_open = net.pores.iter().map(|p| p.max_rinv2 > 0 && p.max_rinv2 as u64 >= k).collect();
        Self { area, radius, pore_open }
    }
}

/// Result of a network flow solve plus the per-pore pressures.
#[derive(Clone, Debug, Default)]
pub struct NetworkFlow {
    pub result: FlowResult,
    /// Pressure per pore (NaN: not on a spanning path).
    pub pressure: Vec<f64>,
    /// Total flux (μ = 1, ΔP = 1).
    pub flux: f64,
}

/// Conductance of each throat's conduit (0: closed).
pub fn conductances(net: &Network, open: &Openings) -> Vec<f64> {
    net.throats
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let a_open = open.area[i];
            if a_open <= 0.0 || !open.pore_open[t.a as usize] || (t.b < INLET && !open.pore_open[t.b as usize]) {
                return 0.0;
            }
            let b = (open.radius[i] as f64).max(0.5);
            let rt = equivalent_radius(section_conductance(a_open, b));
            let body = |p: u32| body_radius(&net.pores[p as usize]).max(rt).max(0.5);
            let half = |l: f64, r: f64| frustum_resistance(l, r, rt);
            let mut res = half(t.len_a, body(t.a));
            if t.b < INLET {
                res += half(t.len_b, body(t.b));
            } else {
                // Entrance (or exit) from an open reservoir: half of Sampson's
                // orifice resistance 3μ/a³ for the face's equivalent radius.
                let a = (a_open / PI).sqrt();
                res += 1.5 / a.powi(3);
            }
            1.0 / res
        })
        .collect()
}

/// Solves the network flow for the given openings.
pub fn solve(net: &Network, open: &Openings) -> NetworkFlow {
    let np = net.pores.len();
    let [nz, ny, nx] = net.shape;
    let g = conductances(net, open);
    // Adjacency (CSR) over open internal throats; boundary conductances apart.
    let mut deg = vec![0u32; np + 1];
    let mut g_in = vec![0.0; np];
    let mut g_out = vec![0.0; np];
    for (t, &gt) in net.throats.iter().zip(&g) {
        if gt <= 0.0 {
            continue;
        }
        match t.b {
            INLET => g_in[t.a as usize] += gt,
            OUTLET => g_out[t.a as usize] += gt,
            b => {
                deg[t.a as usize + 1] += 1;
                deg[b as usize + 1] += 1;
            }
        }
    }
    for i in 0..np {
        deg[i + 1] += deg[i];
    }
    let mut fill = deg.clone();
    let nnz = deg[np] as usize;
    let mut nb = vec![0u32; nnz];
    let mut ng = vec![0.0; nnz];
    for (t, &gt) in net.throats.iter().zip(&g) {
        if gt <= 0.0 || t.b >= INLET {
            continue;
        }
        for (p, q) in [(t.a, t.b), (t.b, t.a)] {
            let s = fill[p as usize] as usize;
            nb[s] = q;
            ng[s] = gt;
            fill[p as usize] += 1;
        }
    }
    // Pores reachable from both reservoirs.
    let reach = |start: &dyn Fn(usize) -> bool| -> Vec<bool> {
        let mut seen = vec![false; np];
        let mut stack: Vec<u32> = (0..np).filter(|&i| start(i)).map(|i| i as u32).collect();
        for &s in &stack {
            seen[s as usize] = true;
        }
        while let Some(p) = stack.pop() {
            for s in deg[p as usize]..deg[p as usize + 1] {
                let q = nb[s as usize] as usize;
                if !seen[q] {
                    seen[q] = true;
                    stack.push(q as u32);
                }
            }
        }
        seen
    };
    let from_in = reach(&|i| g_in[i] > 0.0);
    let from_out = reach(&|i| g_out[i] > 0.0);
    let active: Vec<bool> = from_in.iter().zip(&from_out).map(|(&a, &b)| a && b).collect();
    let n_active = active.iter().filter(|&&a| a).count();
    let mut out = NetworkFlow { pressure: vec![f64::NAN; np], ..Default::default() };
    if n_active == 0 {
        return out;
    }
    // A x = b with x the pressures of active pores (inactive entries stay 0 and
    // are skipped): diag = Σ g over active neighbours + g_in + g_out, b = g_in.
    let diag: Vec<f64> = (0..np)
        .map(|i| {
            if !active[i] {
                return 1.0;
            }
            let mut d = g_in[i] + g_out[i];
            for s in deg[i]..deg[i + 1] {
                if active[nb[s as usize] as usize] {
                    d += ng[s as usize];
                }
            }
            d
        })
        .collect();
    let matvec = |x: &[f64], y: &mut [f64]| {
        for i in 0..np {
            if !active[i] {
                y[i] = 0.0;
                continue;
            }
            let mut s = diag[i] * x[i];
            for k in deg[i]..deg[i + 1] {
                let j = nb[k as usize] as usize;
                if active[j] {
                    s -= ng[k as usize] * x[j];
                }
            }
            y[i] = s;
        }
    };
    let b: Vec<f64> = (0..np).map(|i| if active[i] { g_in[i] } else { 0.0 }).collect();
    // Initial guess: linear in depth.
    let mut x: Vec<f64> = (0..np)
        .map(|i| if active[i] { 1.0 - (net.pores[i].center[0] + 0.5) / nz as f64 } else { 0.0 })
        .collect();
    let mut r = vec![0.0; np];
    matvec(&x, &mut r);
    for i in 0..np {
        r[i] = b[i] - r[i];
    }
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let bnorm = dot(&b, &b).sqrt().max(1e-300);
    let mut z: Vec<f64> = r.iter().zip(&diag).map(|(r, d)| r / d).collect();
    let mut p = z.clone();
    let mut rz = dot(&r, &z);
    let mut ap = vec![0.0; np];
    let tol = 1e-10;
    let max_iter = 20 * n_active + 1000;
    let mut iters = 0;
    let mut converged = dot(&r, &r).sqrt() <= tol * bnorm;
    while !converged && iters < max_iter {
        matvec(&p, &mut ap);
        let pap = dot(&p, &ap);
        if pap <= 0.0 {
            break;
        }
        let alpha = rz / pap;
        for i in 0..np {
            x[i] += alpha * p[i];
            r[i] -= alpha * ap[i];
        }
        iters += 1;
        if dot(&r, &r).sqrt() <= tol * bnorm {
            converged = true;
            break;
        }
        for i in 0..np {
            z[i] = r[i] / diag[i];
        }
        let rz_new = dot(&r, &z);
        let beta = rz_new / rz;
        rz = rz_new;
        for i in 0..np {
            p[i] = z[i] + beta * p[i];
        }
    }
    // Flux through the inlet; tortuosity from the conduit fluxes.
    let q_in: f64 = (0..np).filter(|&i| active[i]).map(|i| g_in[i] * (1.0 - x[i])).sum();
    let mut path = 0.0;
    for (t, &gt) in net.throats.iter().zip(&g) {
        if gt <= 0.0 || !active[t.a as usize] {
            continue;
        }
        let dp = match t.b {
            INLET => 1.0 - x[t.a as usize],
            OUTLET => x[t.a as usize],
            b if active[b as usize] => x[t.a as usize] - x[b as usize],
            _ => continue,
        };
        path += (gt * dp).abs() * (t.len_a + t.len_b);
    }
    for i in 0..np {
        if active[i] {
            out.pressure[i] = x[i];
        }
    }
    out.flux = q_in;
    out.result = FlowResult {
        k_vox2: q_in * nz as f64 / (ny * nx) as f64,
        tortuosity: if q_in > 0.0 { path / (q_in * nz as f64) } else { 0.0 },
        steps: iters,
        converged,
        fluid_nodes: n_active,
        tau_plus: 0.0,
    };
    out
}

/// Dry permeability solve on a network.
pub fn dry(net: &Network) -> FlowResult {
    solve(net, &Openings::dry(net)).result
}

/// Wet (gas-filled) solve at squared drainage radius index `k`.
pub fn wet(net: &Network, k: u64) -> FlowResult {
    solve(net, &Openings::wet(net, k)).result
}
