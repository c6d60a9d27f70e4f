//! Liquid–liquid nucleation in the metastable gap: a host-side pass that
//! inserts resolved droplets of the coexisting phase where classical
//! nucleation theory (CNT) says one forms (docs/model.md §9, design in
//! docs/nucleation_design.md).
//!
//! Cahn–Hilliard demixes only inside the spinodal; thermal noise at its
//! physical amplitude cannot carry a voxel over the nucleation barrier. This
//! pass supplies the events the continuum model cannot make on its own:
//!
//! 1. **Eligible voxels**: outside the spinodal (the Hessian of f is positive
//!    definite), locally homogeneous (no neighbour differs by more than
//!    `homogeneity`), not crystallized (ψ < `site_psi`, by default `crystal_psi`,
//!    0.01) or vitrified.
//! 2. **Driving force**: the parallel-tangent construction. The composition
//!    c′ minimizing g(x) = f(x) − μ(c)·x away from c is the nucleus phase;
//!    Δg = g(c′) − g(c) < 0 (kT per site) when c is inside the binodal.
//! 3. **Rate**: J = J₀ exp(−ΔG*/kT), ΔG*/kT = (16π/3) σ̃³ / Δg², with
//!    σ̃ = σ v₀^{2/3}/(kT) the interfacial tension per site face (σ in mN/m,
//!    v₀ the site volume).
//! 4. **Sampling**: the number of events in the interval is Poisson with mean
//!    Σ J V_voxel Δt; sites are drawn in proportion to J. The random stream is
//!    keyed by (seed, step), so a run and its resume, or the GPU and CPU
//!    backends on the same fields, draw the same events.
//! 5. **Insertion**: a tanh ball of composition c′ whose radius is 1.5 times
//!    the model's own critical radius r* = 2σ_model/|Δg| (σ_model from the
//!    gradient energy along the straight path c → c′), at least
//!    `min_radius_voxels`. Each component's excess is taken evenly from a
//!    surrounding shell, so both totals are conserved to rounding. An event
//!    whose radius would exceed `max_radius_voxels` cannot be resolved on the
//!    grid and is counted, not inserted; so is one whose ball or shell is not
//!    homogeneous (an earlier droplet, a front) or would leave the simplex.

use super::cpu::free_energy::{arrest, bulk_mu_chi, chi_at, chi_pn_at, f_bulk_chi, hessian_chi};
use super::cpu::pcg;
use super::params::Params;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

const BOLTZMANN: f64 = 1.380649e-23;
const AVOGADRO: f64 = 6.02214076e23;
pub const KELVIN: f64 = 273.15;
/// Volume of the depletion shell over the nucleus volume: each shell voxel takes
/// 1/12 of the nucleus's contrast, so the shell is shifted only a little toward
/// the other phase (not checked against the binodal) and the nucleus can grow.
const SHELL: f64 = 12.0;
/// Most draws attempted in one pass.
const MAX_DRAWS: u64 = 10_000;
/// Radius of an inserted nucleus over the estimated critical radius.
pub const GROW: f32 = 1.5;

/// The scene's `[droplet_nucleation]` table, resolved.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Settings {
    /// CNT prefactor J₀ in nuclei per µm³ per s.
    pub rate_per_um3_s: f64,
    /// Interfacial tension between the coexisting liquids, mN/m.
    pub interfacial_tension_mn_m: f64,
    /// Volume of one lattice site (the solvent's molar volume), cm³/mol.
    pub site_volume_cm3_mol: f64,
    /// Temperature for kT where the scene has no temperature field, °C.
    pub temperature_c: f64,
    /// Steps between passes (rounded up to whole reductions).
    pub every_steps: u64,
    pub min_radius_voxels: f64,
    pub max_radius_voxels: f64,
    /// Largest composition difference to a neighbour for a voxel to count as
    /// homogeneous (and, doubled, anywhere in a new nucleus's ball and shell).
    pub homogeneity: f64,
    /// `footprint = "ball"`: only the ball must be homogeneous and free of
    /// crystals; the depletion shell passes over voxels that are not
    /// (default `"whole"`: ball and shell alike).
    pub footprint_ball_only: bool,
    /// Crystallinity from which a voxel counts as crystallized: not a site, and
    /// not allowed in a nucleus's ball (or, with the whole footprint, its shell).
    /// Default 0.01, which also counts a crystal's diffuse rim and subcritical
    /// embryos; 0.5 counts the crystal proper.
    pub crystal_psi: f64,
    /// Crystallinity from which a voxel is not a nucleation site (default
    /// `crystal_psi`). A lower value than `crystal_psi` keeps the draws out of
    /// the crystals' rims while a ball may still overlap a rim.
    pub site_psi: f64,
    pub seed: u32,
}

impl Settings {
    /// σ̃ = σ v₀^{2/3} / kT: the interfacial tension in kT per site face.
    pub fn reduced_tension(&self, t_k: f64) -> f64 {
        let v0 = self.site_volume_cm3_mol * 1e-6 / AVOGADRO;
        self.interfacial_tension_mn_m * 1e-3 * v0.powf(2.0 / 3.0) / (BOLTZMANN * t_k)
    }

    /// CNT barrier ΔG*/kT for a driving force `dg` (kT per site, < 0).
    pub fn barrier_kt(&self, dg: f64, t_k: f64) -> f64 {
        let s = self.reduced_tension(t_k);
        16.0 * std::f64::consts::PI / 3.0 * s * s * s / (dg * dg)
    }
}

/// The nucleus phase of a metastable composition.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tangent {
    /// Composition (φ_P, φ_N) of the nucleus phase.
    pub other: [f32; 2],
    /// g(c′) − g(c) in kT per site (< 0).
    pub dg: f32,
}

/// χ_PS and χ_PN at a voxel: the scene's constants, or χ(T) in the thermal model.
fn chis(p: &Params, t_k: f32) -> (f32, f32) {
    if p.is_thermal() {
        (chi_at(p, t_k), chi_pn_at(p, t_k))
    } else {
        (p.chi_ps, p.chi_pn)
    }
}

fn inside(x: [f32; 2], m: f32) -> bool {
    x[0] >= m && x[1] >= 0.0 && x[0] + x[1] <= 1.0 - m
}

/// The parallel-tangent composition of `c`: the minimum of
/// g(x) = f(x) − μ(c)·x at least 0.03 from `c`, if it lies below g(c). A grid
/// search (log-spaced near φ_P = 0, and along c's own φ_N so a binary
/// solution stays binary) followed by a damped Newton polish.
pub fn parallel_tangent(p: &Params, c: [f32; 2], chi_ps: f32, chi_pn: f32) -> Option<Tangent> {
    let mu = bulk_mu_chi(p, c, chi_ps, chi_pn);
    let g = |x: [f32; 2]| f_bulk_chi(p, x, chi_ps, chi_pn) - mu[0] * x[0] - mu[1] * x[1];
    let gc = g(c);
    let mut ps: Vec<f32> = vec![1e-4, 3e-4, 1e-3, 3e-3, 0.01];
    ps.extend((1..50).map(|k| 0.02 * k as f32));
    let mut ns: Vec<f32> = vec![c[1]];
    if c[1] > 1e-3 {
        ns.extend([1e-3, 3e-3, 0.01]);
        ns.extend((1..50).map(|k| 0.02 * k as f32));
    }
    let far = |x: [f32; 2]| (x[0] - c[0]).abs().max((x[1] - c[1]).abs()) > 0.03;
    let mut best: Option<([f32; 2], f32)> = None;
    for &xp in &ps {
        for &xn in &ns {
            let x = [xp, xn];
            if !inside(x, 1e-5) || !far(x) {
                continue;
            }
            let v = g(x);
            if best.is_none_or(|(_, b)| v < b) {
                best = Some((x, v));
            }
        }
    }
    let (mut x, _) = best?;
    let binary = c[1] <= 1e-3;
    // Newton on μ(x) = μ(c), a step accepted when the residual shrinks (g
    // itself is too flat in f32 to judge steps near a dilute phase).
    let residual = |x: [f32; 2]| {
        let m = bulk_mu_chi(p, x, chi_ps, chi_pn);
        [m[0] - mu[0], if binary { 0.0 } else { m[1] - mu[1] }]
    };
    let norm = |r: [f32; 2]| r[0].abs().max(r[1].abs());
    let mut gr = residual(x);
    for _ in 0..60 {
        if norm(gr) < 1e-6 {
            break;
        }
        let h = hessian_chi(p, x, chi_ps, chi_pn);
        let det = h[0] * h[1] - h[2] * h[2];
        let mut d = if binary {
            [if h[0] > 0.0 { -gr[0] / h[0] } else { -gr[0] * 1e-3 }, 0.0]
        } else if h[0] > 0.0 && det > 0.0 {
            [-(h[1] * gr[0] - h[2] * gr[1]) / det, -(h[0] * gr[1] - h[2] * gr[0]) / det]
        } else {
            [-gr[0] * 1e-3, -gr[1] * 1e-3]
        };
        // Keep each fraction above half its value and the step small.
        let mut lam = 1.0f32;
        for k in 0..2 {
            if x[k] + d[k] < 0.5 * x[k] {
                lam = lam.min(0.5 * x[k] / -d[k]);
            }
        }
        let s = 1.0 - x[0] - x[1];
        if d[0] + d[1] > 0.5 * s {
            lam = lam.min(0.5 * s / (d[0] + d[1]));
        }
        lam = lam.min(0.05 / d[0].abs().max(d[1].abs()).max(1e-12));
        d = [d[0] * lam, d[1] * lam];
        let mut accepted = false;
        for _ in 0..30 {
            let y = [x[0] + d[0], x[1] + d[1]];
            if inside(y, 1e-9) {
                let ry = residual(y);
                if norm(ry) < norm(gr) {
                    x = y;
                    gr = ry;
                    accepted = true;
                    break;
                }
            }
            d = [d[0] * 0.5, d[1] * 0.5];
        }
        if !accepted {
            break;
        }
    }
    let gx = g(x);
    let dg = gx - gc;
    (far(x) && dg < 0.0).then_some(Tangent { other: x, dg })
}

/// The model's interfacial tension between `c` and `t.other` (kT per site ×
/// model length): ∫₀¹ √(2 K W̃(s)) ds along the straight path, with
/// K = κ_P Δφ_P² + κ_N Δφ_N² and W̃ the excess of g over the chord.
pub fn model_tension(p: &Params, c: [f32; 2], t: Tangent, chi_ps: f32, chi_pn: f32) -> f32 {
    let mu = bulk_mu_chi(p, c, chi_ps, chi_pn);
    let g = |x: [f32; 2]| f_bulk_chi(p, x, chi_ps, chi_pn) - mu[0] * x[0] - mu[1] * x[1];
    let gc = g(c);
    let d = [t.other[0] - c[0], t.other[1] - c[1]];
    let k = p.kappa_p * d[0] * d[0] + p.kappa_n * d[1] * d[1];
    let n = 200;
    let mut sum = 0.0f32;
    for i in 0..n {
        let s = (i as f32 + 0.5) / n as f32;
        let w = g([c[0] + s * d[0], c[1] + s * d[1]]) - gc - s * t.dg;
        sum += (2.0 * k * w.max(0.0)).sqrt();
    }
    sum / n as f32
}

/// Radius (model length) of a supercritical nucleus: 1.5 r* (`GROW`), r* = 2σ/|Δg|.
pub fn nucleus_radius(p: &Params, c: [f32; 2], t: Tangent, chi_ps: f32, chi_pn: f32) -> f32 {
    GROW * 2.0 * model_tension(p, c, t, chi_ps, chi_pn) / t.dg.abs()
}

/// A counter-based random stream keyed by (seed, step) (the `pcg` hash of the
/// noise kernels).
struct Stream {
    key: u32,
    n: u32,
}

impl Stream {
    fn new(seed: u32, step: u64) -> Self {
        Self { key: pcg(seed ^ pcg(step as u32 ^ pcg((step >> 32) as u32 ^ 0x6a09e667))), n: 0 }
    }
    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        self.n += 1;
        let a = pcg(self.key ^ pcg(self.n));
        self.n += 1;
        let b = pcg(a ^ pcg(self.n ^ 0x9e3779b9));
        ((a as u64) << 21 ^ (b as u64 >> 11)) as f64 / (1u64 << 53) as f64
    }
    fn poisson(&mut self, mean: f64) -> u64 {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 50.0 {
            // Normal approximation (Box–Muller).
            let u1 = self.uniform().max(1e-300);
            let u2 = self.uniform();
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            return (mean + mean.sqrt() * z).round().max(0.0) as u64;
        }
        let l = (-mean).exp();
        let (mut k, mut prod) = (0u64, self.uniform());
        while prod > l {
            k += 1;
            prod *= self.uniform();
        }
        k
    }
}

/// One inserted nucleus.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub step: u64,
    pub time_s: f64,
    pub z: usize,
    pub y: usize,
    pub x: usize,
    pub radius_um: f64,
    /// Composition inside the nucleus (φ_P, φ_N) and of the host voxel.
    pub inside: [f32; 2],
    pub host: [f32; 2],
    /// Driving force (kT per site) and CNT barrier (kT).
    pub dg_kt: f64,
    pub barrier_kt: f64,
    pub temperature_c: f64,
}

/// What one pass found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PassReport {
    /// Voxels inside the binodal and outside the spinodal (eligible).
    pub metastable: usize,
    /// Σ J V Δt: the expected number of events.
    pub expected: f64,
    pub events: Vec<Event>,
    /// Drawn events whose nucleus would exceed `max_radius_voxels`.
    pub unresolved: usize,
    /// Drawn events whose ball or shell was not homogeneous or would leave the simplex.
    pub rejected: usize,
    /// `rejected` by reason, indexed by [`Reject`].
    pub rejected_by: [usize; Reject::COUNT],
}

/// Why a drawn nucleus was not inserted (see [`insert`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// A voxel of the ball or shell is crystallized (ψ ≥ 0.01).
    Crystal = 0,
    /// A voxel of the ball or shell differs from the centre by more than the tolerance.
    Inhomogeneous = 1,
    /// The grid (walls, or a periodic column too small) cannot hold the shell.
    NoRoom = 2,
    /// The depleted shell would leave the simplex.
    Simplex = 3,
    /// More draws in one pass than `MAX_DRAWS` (or than eligible voxels): not attempted.
    OverDrawCap = 4,
    /// The drawn site was changed by an earlier nucleus of the same pass (inside its
    /// ball or depletion shell), so its rate, drawn from the pass's starting fields,
    /// no longer holds.
    Stale = 5,
}

impl Reject {
    /// How many reasons there are.
    pub const COUNT: usize = 6;
    /// Names of the reasons, in the order of the variants (`PassReport::rejected_by`).
    pub const NAMES: [&'static str; Self::COUNT] =
        ["crystal_in_footprint", "inhomogeneous_footprint", "no_room_for_shell", "leaves_simplex", "over_draw_cap", "site_changed_this_pass"];
}

/// Per-voxel nucleation rate J (per µm³ per s) of the current fields, with the
/// tangent and the temperature (K) used; None where a voxel is not eligible.
pub fn rates(s: &Settings, p: &Params, phi: &[[f32; 2]], aux: &[[f32; 2]]) -> Vec<Option<(f64, Tangent, f32)>> {
    let n = phi.len();
    let t_of = |i: usize| if p.is_thermal() { aux[i][0] } else { (s.temperature_c + KELVIN) as f32 };
    let key = |c: [f32; 2], t: f32| ((c[0] * 1000.0).round() as i32, (c[1] * 1000.0).round() as i32, (t * 20.0).round() as i32);
    let unkey = |k: (i32, i32, i32)| ([k.0 as f32 / 1000.0, k.1 as f32 / 1000.0], k.2 as f32 / 20.0);
    let tol = s.homogeneity as f32;
    let eligible: Vec<bool> = (0..n)
        .into_par_iter()
        .map(|i| {
            let c = phi[i];
            if !inside(c, 1e-4) {
                return false;
            }
            if p.is_thermal() && aux[i][1] >= s.site_psi as f32 {
                return false;
            }
            if p.vit_factor < 1.0 && arrest(p, c[0]) < 0.5 {
                return false;
            }
            let pos = super::cpu::coords(p, i as u32);
            for f in 0..6 {
                let j = super::cpu::neighbor(p, pos, f);
                if j >= 0 {
                    let d = phi[j as usize];
                    if (d[0] - c[0]).abs() > tol || (d[1] - c[1]).abs() > tol {
                        return false;
                    }
                }
            }
            let (a, b) = chis(p, t_of(i));
            let h = hessian_chi(p, c, a, b);
            h[0] > 0.0 && h[0] * h[1] - h[2] * h[2] > 0.0
        })
        .collect();
    let keys: HashSet<(i32, i32, i32)> = (0..n).filter(|&i| eligible[i]).map(|i| key(phi[i], t_of(i))).collect();
    let mut keys: Vec<_> = keys.into_iter().collect();
    keys.sort_unstable();
    let solved: HashMap<(i32, i32, i32), Option<Tangent>> = keys
        .par_iter()
        .map(|&k| {
            let (c, t) = unkey(k);
            let (a, b) = chis(p, t);
            (k, if inside(c, 1e-4) { parallel_tangent(p, c, a, b) } else { None })
        })
        .collect();
    (0..n)
        .map(|i| {
            if !eligible[i] {
                return None;
            }
            let t = t_of(i);
            let tan = solved[&key(phi[i], t)]?;
            // The nucleus phase comes from the cached (rounded) composition; the drive
            // is that of the voxel's own: g(c′) − g(c) with μ at c.
            let c = phi[i];
            let (a, b) = chis(p, t);
            let mu = bulk_mu_chi(p, c, a, b);
            let dg = f_bulk_chi(p, tan.other, a, b) - f_bulk_chi(p, c, a, b) - mu[0] * (tan.other[0] - c[0]) - mu[1] * (tan.other[1] - c[1]);
            if dg >= 0.0 {
                return None;
            }
            let tan = Tangent { other: tan.other, dg };
            let j = s.rate_per_um3_s * (-s.barrier_kt(dg as f64, t as f64)).exp();
            Some((j, tan, t))
        })
        .collect()
}

/// Runs one pass over `phi` (modified in place) for an interval of `dt_s`
/// seconds ending at `step`. `aux` is (T, ψ) per voxel in the thermal model,
/// empty otherwise.
pub fn pass(s: &Settings, p: &Params, phi: &mut [[f32; 2]], aux: &[[f32; 2]], voxel_um: f64, dt_s: f64, step: u64, time_s: f64) -> PassReport {
    let rates = rates(s, p, phi, aux);
    let start = phi.to_vec();
    let mut rep = PassReport { metastable: rates.iter().filter(|r| r.is_some()).count(), ..Default::default() };
    let weights: Vec<f64> = rates.iter().map(|r| r.map_or(0.0, |(j, _, _)| j * voxel_um.powi(3) * dt_s)).collect();
    let mut cum = Vec::with_capacity(weights.len());
    let mut acc = 0.0;
    for w in &weights {
        acc += w;
        cum.push(acc);
    }
    rep.expected = acc;
    let mut rng = Stream::new(s.seed, step);
    // More draws than eligible voxels cannot all be inserted; the cap keeps an
    // extreme rate from stalling the pass (the excess is counted as rejected).
    let drawn = rng.poisson(acc);
    let count = drawn.min(rep.metastable as u64).min(MAX_DRAWS);
    rep.rejected += (drawn - count) as usize;
    rep.rejected_by[Reject::OverDrawCap as usize] += (drawn - count) as usize;
    for _ in 0..count {
        let u = rng.uniform() * acc;
        let i = cum.partition_point(|&c| c <= u).min(cum.len() - 1);
        let Some((_, tan, t)) = rates[i] else { continue };
        let host = phi[i];
        // The rates are those of the pass's starting fields: a site that an earlier
        // nucleus of this pass has changed (its ball or shell) is not drawn again.
        if host != start[i] {
            rep.rejected += 1;
            rep.rejected_by[Reject::Stale as usize] += 1;
            continue;
        }
        let (a, b) = chis(p, t);
        let r = nucleus_radius(p, host, tan, a, b) as f64 / p.h as f64;
        let r = r.max(s.min_radius_voxels);
        if r > s.max_radius_voxels {
            rep.unresolved += 1;
            continue;
        }
        let pos = super::cpu::coords(p, i as u32);
        match insert_with(p, phi, aux, [pos[2] as usize, pos[1] as usize, pos[0] as usize], r, tan.other, 2.0 * s.homogeneity as f32, s.footprint_ball_only, s.crystal_psi as f32) {
            Ok(()) => rep.events.push(Event {
                step,
                time_s,
                z: pos[2] as usize,
                y: pos[1] as usize,
                x: pos[0] as usize,
                radius_um: r * voxel_um,
                inside: tan.other,
                host,
                dg_kt: tan.dg as f64,
                barrier_kt: s.barrier_kt(tan.dg as f64, t as f64),
                temperature_c: t as f64 - KELVIN,
            }),
            Err(why) => {
                rep.rejected += 1;
                rep.rejected_by[why as usize] += 1;
            }
        }
    }
    rep
}

/// Inserts a tanh ball of composition `other` and radius `r` voxels at
/// `centre` ([z, y, x]), taking the excess from a shell around it of `SHELL`
/// times the ball's volume. Returns why not (and changes nothing) if the grid
/// cannot hold the shell, or any voxel of ball or shell is crystallized,
/// differs from the centre by more than `tol`, or would leave the simplex.
/// With `ball_only` only the ball must be homogeneous and uncrystallized, and
/// the shell is made of the nearest voxels that are.
pub fn insert(p: &Params, phi: &mut [[f32; 2]], aux: &[[f32; 2]], centre: [usize; 3], r: f64, other: [f32; 2], tol: f32, ball_only: bool) -> Result<(), Reject> {
    insert_with(p, phi, aux, centre, r, other, tol, ball_only, 0.01)
}

/// [`insert`] with the crystallinity from which a voxel counts as crystallized.
#[allow(clippy::too_many_arguments)]
pub fn insert_with(p: &Params, phi: &mut [[f32; 2]], aux: &[[f32; 2]], centre: [usize; 3], r: f64, other: [f32; 2], tol: f32, ball_only: bool, crystal_psi: f32) -> Result<(), Reject> {
    let [nx, ny, nz] = [p.nx as i64, p.ny as i64, p.nz as i64];
    let per = [p.bc0[0] == super::params::BC_PERIODIC, p.bc0[2] == super::params::BC_PERIODIC, p.bc1[0] == super::params::BC_PERIODIC];
    let c0 = phi[(centre[0] * ny as usize + centre[1]) * nx as usize + centre[2]];
    let weight = |d: f64| 0.5 * (1.0 - ((d - r) / 0.75).tanh());
    // Ball (w > 1e-3) and shell radii; the shell holds at least SHELL times the ball's volume.
    let ball_out = r + 0.75 * 3.8;
    let reach = ((SHELL + 1.0).cbrt() * ball_out + 3.0).ceil() as i64;
    // A coordinate on the grid: wrapped across a periodic face, None past a wall.
    let wrap = |v: i64, n: i64, periodic: bool| {
        if (0..n).contains(&v) {
            Some(v)
        } else if periodic {
            Some(v.rem_euclid(n))
        } else {
            None
        }
    };
    let mut cells: Vec<(usize, f64)> = Vec::new();
    for dz in -reach..=reach {
        let Some(z) = wrap(centre[0] as i64 + dz, nz, per[2]) else { continue };
        for dy in -reach..=reach {
            let Some(y) = wrap(centre[1] as i64 + dy, ny, per[1]) else { continue };
            for dx in -reach..=reach {
                let Some(x) = wrap(centre[2] as i64 + dx, nx, per[0]) else { continue };
                let d = ((dx * dx + dy * dy + dz * dz) as f64).sqrt();
                cells.push((((z * ny + y) * nx + x) as usize, d));
            }
        }
    }
    // A periodic image can be reached twice on a small grid: keep the nearest.
    cells.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    cells.dedup_by_key(|c| c.0);
    let ball_w: f64 = cells.iter().filter(|c| c.1 <= ball_out).map(|c| weight(c.1)).sum();
    let crystal = |i: usize| p.is_thermal() && aux[i][1] >= crystal_psi;
    let off = |i: usize| {
        let c = phi[i];
        (c[0] - c0[0]).abs() > tol || (c[1] - c0[1]).abs() > tol
    };
    // With `ball_only` the shell is the nearest homogeneous liquid around the
    // ball: crystallized or inhomogeneous voxels are passed over, not refused.
    let in_shell = |i: usize| !ball_only || !(crystal(i) || off(i));
    let mut shell_out = ball_out + 1.0;
    loop {
        let n = cells.iter().filter(|c| c.1 > ball_out && c.1 <= shell_out && in_shell(c.0)).count();
        if n as f64 >= SHELL * ball_w {
            break;
        }
        shell_out += 1.0;
        if shell_out > reach as f64 {
            return Err(Reject::NoRoom);
        }
    }
    let used: Vec<(usize, f64)> = cells.into_iter().filter(|c| c.1 <= shell_out && (c.1 <= ball_out || in_shell(c.0))).collect();
    // A crystal anywhere in the footprint counts before an inhomogeneity (its
    // halo would otherwise hide it).
    if used.iter().any(|&(i, _)| crystal(i)) {
        return Err(Reject::Crystal);
    }
    if used.iter().any(|&(i, _)| off(i)) {
        return Err(Reject::Inhomogeneous);
    }
    let mut new: Vec<(usize, [f32; 2])> = Vec::with_capacity(used.len());
    let mut excess = [0.0f64; 2];
    let mut shell = Vec::new();
    for &(i, d) in &used {
        if d <= ball_out {
            let w = weight(d) as f32;
            let c = phi[i];
            let v = [c[0] + w * (other[0] - c[0]), c[1] + w * (other[1] - c[1])];
            excess[0] += (v[0] - c[0]) as f64;
            excess[1] += (v[1] - c[1]) as f64;
            new.push((i, v));
        } else {
            shell.push(i);
        }
    }
    let per_cell = [(excess[0] / shell.len() as f64) as f32, (excess[1] / shell.len() as f64) as f32];
    for &i in &shell {
        let c = phi[i];
        new.push((i, [c[0] - per_cell[0], c[1] - per_cell[1]]));
    }
    if new.iter().any(|(_, v)| !(v[0] > 0.0 && v[1] >= 0.0 && v[0] + v[1] < 1.0)) {
        return Err(Reject::Simplex);
    }
    for (i, v) in new {
        phi[i] = v;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::{Backend, CpuBackend};

    /// A periodic n³ box of the binary polymer solution (φ_N = 0) at χ_PS = `chi`, N = 100.
    fn binary(n: usize, chi: f64) -> Params {
        binary_k(n, chi, 1.0)
    }

    fn binary_k(n: usize, chi: f64, kappa: f64) -> Params {
        let text = format!(
            "[grid]\nnx = {n}\nny = {n}\nnz = {n}\nvoxel_um = 0.1\n[model]\nkind = \"ternary\"\nn_polymer = 100\nchi_ps = {chi}\nchi_pn = 1.0\nchi_sn = 0.5\nkappa_p = {kappa}\nkappa_n = {kappa}\n[initial]\nphi_p = 0.3\n[[stages]]\nkind = \"anneal\"\nduration_s = 1.0\nboundary = {{ x = \"periodic\", y = \"periodic\", z_min = \"periodic\", z_max = \"periodic\" }}\n"
        );
        let cfg = crate::scene::load_str("t.toml", &text, &[]).expect("valid");
        cfg.params(&cfg.stages[0])
    }

    fn settings() -> Settings {
        Settings {
            rate_per_um3_s: 1.0,
            interfacial_tension_mn_m: 0.1,
            site_volume_cm3_mol: 96.5,
            temperature_c: 25.0,
            every_steps: 1,
            min_radius_voxels: 1.5,
            max_radius_voxels: 6.0,
            homogeneity: 0.02,
            footprint_ball_only: false,
            crystal_psi: 0.01,
            site_psi: 0.01,
            seed: 1,
        }
    }

    #[test]
    fn the_tangent_at_the_binodal_is_the_common_tangent() {
        let (chi, n) = (0.75, 100.0);
        let p = binary(4, chi);
        let (lean, rich) = crate::thermo::binodal(chi, n).unwrap();
        let (_, s_hi) = crate::thermo::spinodal(chi, n).unwrap();
        // Just inside the rich branch of the binodal the nucleus is the lean branch, and
        // the driving force vanishes linearly at the binodal (≈ f''·δ·(rich − lean)).
        let t = parallel_tangent(&p, [(rich - 1e-3) as f32, 0.0], chi as f32, 1.0).expect("just inside the binodal");
        let t5 = parallel_tangent(&p, [(rich - 2e-4) as f32, 0.0], chi as f32, 1.0).expect("just inside the binodal");
        assert!(t.dg < 0.0 && t.dg.abs() < 2e-4, "{t:?}");
        assert!((t5.dg / t.dg - 0.2).abs() < 0.05, "Δg at δ = 2e-4 and 1e-3: {} and {}", t5.dg, t.dg);
        assert!((t.other[0] as f64 - lean).abs() < 0.2 * lean, "{t:?} vs lean {lean}");
        // Inside the gap (between binodal and spinodal): a parallel tangent with Δg < 0.
        let c = [(0.5 * (rich + s_hi)) as f32, 0.0];
        let t = parallel_tangent(&p, c, chi as f32, 1.0).expect("metastable");
        assert!(t.dg < 0.0);
        let (m0, m1) = (bulk_mu_chi(&p, c, chi as f32, 1.0), bulk_mu_chi(&p, t.other, chi as f32, 1.0));
        assert!((m0[0] - m1[0]).abs() < 1e-4, "{m0:?} {m1:?}");
        assert_eq!(t.other[1], 0.0, "a binary solution nucleates a binary droplet");
        assert!((t.other[0] as f64) < lean * 2.0, "{t:?}");
        // Outside the binodal: stable, no nucleus.
        let c = [(rich + 0.03) as f32, 0.0];
        assert_eq!(parallel_tangent(&p, c, chi as f32, 1.0), None);
    }

    #[test]
    fn a_ternary_dope_nucleates_a_polymer_lean_droplet_with_equal_potentials() {
        // The vips_psf dope's χ. At φ_P = 0.13 the spinodal lies at φ_N ≈ 0.081 and
        // the binodal between 0.070 and 0.075: the metastable gap is narrow.
        let text = "[grid]\nnx = 4\nny = 4\nnz = 4\nvoxel_um = 0.5\n[model]\nkind = \"ternary\"\nn_polymer = 100\nchi_ps = 0.24\nchi_pn = 3.0\nchi_sn = 0.785\n[initial]\nphi_p = 0.13\n[[stages]]\nkind = \"anneal\"\nduration_s = 1.0\n";
        let cfg = crate::scene::load_str("t.toml", text, &[]).unwrap();
        let p = cfg.params(&cfg.stages[0]);
        let c = [0.13, 0.078];
        let t = parallel_tangent(&p, c, p.chi_ps, p.chi_pn).expect("metastable");
        assert!(t.dg < 0.0 && t.other[0] < 0.05 && t.other[1] > c[1], "{t:?}");
        let (m0, m1) = (bulk_mu_chi(&p, c, p.chi_ps, p.chi_pn), bulk_mu_chi(&p, t.other, p.chi_ps, p.chi_pn));
        assert!((m0[0] - m1[0]).abs() < 1e-3 && (m0[1] - m1[1]).abs() < 1e-3, "{m0:?} {m1:?}");
        // The cast dope itself (φ_N = 0.02) is further from demixing: a smaller drive, or none.
        let t2 = parallel_tangent(&p, [0.13, 0.02], p.chi_ps, p.chi_pn);
        assert!(t2.is_none_or(|t2| t2.dg > t.dg), "{t2:?} vs {t:?}");
    }

    #[test]
    fn the_barrier_is_classical_nucleation_theory() {
        let s = settings();
        let t = 298.15;
        // σ̃ = σ v0^(2/3)/kT with v0 = 96.5 cm³/mol / N_A = 1.6024e-28 m³.
        let v0: f64 = 96.5e-6 / 6.02214076e23;
        let st = 1e-4 * v0.powf(2.0 / 3.0) / (1.380649e-23 * t);
        assert!((s.reduced_tension(t) / st - 1.0).abs() < 1e-12);
        let b = s.barrier_kt(-0.01, t);
        assert!((b - 16.0 * std::f64::consts::PI / 3.0 * st.powi(3) / 1e-4).abs() < 1e-9 * b);
        assert!((s.barrier_kt(-0.005, t) / b - 4.0).abs() < 1e-12, "ΔG* ∝ 1/Δg²");
    }

    /// A box 10 % of the way from the spinodal to the binodal, with a gradient
    /// energy small enough (κ = 0.25) for r* of about 2.4 voxels.
    fn metastable_box(n: usize) -> (Params, [f32; 2]) {
        let (chi, np) = (0.75, 100.0);
        let p = binary_k(n, chi, 0.25);
        let (_, rich) = crate::thermo::binodal(chi, np).unwrap();
        let (_, s_hi) = crate::thermo::spinodal(chi, np).unwrap();
        (p, [(s_hi + 0.1 * (rich - s_hi)) as f32, 0.0])
    }

    #[test]
    fn an_insertion_conserves_both_components() {
        let (p, c) = metastable_box(24);
        let mut phi = vec![c; p.n_total as usize];
        let before: f64 = phi.iter().map(|v| v[0] as f64).sum();
        let t = parallel_tangent(&p, c, p.chi_ps, p.chi_pn).unwrap();
        // Centre at a corner (z = 0, x = 23): the ball wraps around the periodic faces.
        assert_eq!(insert(&p, &mut phi, &[], [0, 1, 23], 2.5, t.other, 0.04, false), Ok(()));
        let after: f64 = phi.iter().map(|v| v[0] as f64).sum();
        assert!((after - before).abs() < 1e-4, "{before} → {after}");
        let centre = phi[(0 * 24 + 1) * 24 + 23];
        assert!((centre[0] - t.other[0]).abs() < 0.02, "{centre:?}");
        // A second nucleus overlapping the first is refused and changes nothing.
        let copy = phi.clone();
        assert_eq!(insert(&p, &mut phi, &[], [0, 2, 23], 2.5, t.other, 0.04, false), Err(Reject::Inhomogeneous));
        assert_eq!(phi, copy);
    }

    #[test]
    fn a_refused_nucleus_says_why() {
        let (mut p, c) = metastable_box(24);
        let t = parallel_tangent(&p, c, p.chi_ps, p.chi_pn).unwrap();
        let phi0 = vec![c; p.n_total as usize];
        // One crystallized voxel in the shell (6 voxels from the centre; the ball ends
        // at 5.35 and its shell of 12 times its volume at about 7).
        p.thermal[0] = 1;
        let mut aux = vec![[400.0f32, 0.0]; p.n_total as usize];
        aux[(12 * 24 + 12) * 24 + 18] = [400.0, 0.5];
        let mut phi = phi0.clone();
        assert_eq!(insert(&p, &mut phi, &aux, [12, 12, 12], 2.5, t.other, 0.04, false), Err(Reject::Crystal));
        assert_eq!(phi, phi0);
        // With the ball-only footprint the shell passes over the crystal: the
        // nucleus goes in, the crystal's voxel is untouched and the mass is kept.
        assert_eq!(insert(&p, &mut phi, &aux, [12, 12, 12], 2.5, t.other, 0.04, true), Ok(()));
        assert_eq!(phi[(12 * 24 + 12) * 24 + 18], c);
        let total = |v: &[[f32; 2]]| v.iter().map(|x| x[0] as f64).sum::<f64>();
        assert!((total(&phi) - total(&phi0)).abs() < 1e-4);
        // ... but not a crystal inside the ball (1 voxel from the centre).
        let mut phi = phi0.clone();
        aux[(12 * 24 + 12) * 24 + 13] = [400.0, 0.5];
        assert_eq!(insert(&p, &mut phi, &aux, [12, 12, 12], 2.5, t.other, 0.04, true), Err(Reject::Crystal));
        assert_eq!(phi, phi0);
        // A voxel of a crystal's diffuse rim (ψ = 0.3) counts as crystallized by
        // default, but not with crystal_psi = 0.5, which counts only the crystal proper.
        aux[(12 * 24 + 12) * 24 + 13] = [400.0, 0.3];
        assert_eq!(insert(&p, &mut phi, &aux, [12, 12, 12], 2.5, t.other, 0.04, true), Err(Reject::Crystal));
        assert_eq!(insert_with(&p, &mut phi, &aux, [12, 12, 12], 2.5, t.other, 0.04, true, 0.5), Ok(()));
        assert!((total(&phi) - total(&phi0)).abs() < 1e-4);
        let mut phi = phi0.clone();
        aux[(12 * 24 + 12) * 24 + 13] = [400.0, 0.0];
        // Without the crystal it goes in.
        aux[(12 * 24 + 12) * 24 + 18] = [400.0, 0.0];
        assert_eq!(insert(&p, &mut phi, &aux, [12, 12, 12], 2.5, t.other, 0.04, false), Ok(()));
        // A ball that with its shell needs more than the whole 24³ box has no room.
        let mut phi = phi0.clone();
        assert_eq!(insert(&p, &mut phi, &aux, [12, 12, 12], 9.0, t.other, 0.04, false), Err(Reject::NoRoom));
        assert_eq!(phi, phi0);
    }

    #[test]
    fn a_site_in_a_crystal_rim_is_eligible_only_below_site_psi() {
        let (mut p, c) = metastable_box(12);
        // The thermal model with a temperature-independent χ.
        p.thermal[0] = 1;
        p.th_chi[0] = p.chi_ps;
        p.th_chi[1] = 0.0;
        let phi = vec![c; p.n_total as usize];
        let mut aux = vec![[400.0f32, 0.0]; p.n_total as usize];
        let rim = (6 * 12 + 6) * 12 + 6;
        aux[rim] = [400.0, 0.05];
        let mut s = settings();
        // By default (site_psi = crystal_psi = 0.01) the rim voxel is not a site,
        // its uncrystallized neighbour is.
        let r = rates(&s, &p, &phi, &aux);
        assert!(r[rim].is_none());
        assert!(r[rim + 1].is_some());
        // Counting only the crystal proper as crystal makes it one ...
        s.crystal_psi = 0.5;
        s.site_psi = 0.5;
        assert!(rates(&s, &p, &phi, &aux)[rim].is_some());
        // ... unless the sites keep their own, lower threshold.
        s.site_psi = 0.01;
        let r = rates(&s, &p, &phi, &aux);
        assert!(r[rim].is_none());
        assert!(r[rim + 1].is_some());
    }

    /// Runs the CPU twins on `phi` for `steps` steps and returns the polymer-lean voxel count.
    fn lean_after(p: &Params, phi: &[[f32; 2]], steps: u32, threshold: f32) -> usize {
        let mut b = CpuBackend::new(p);
        b.set_params(p);
        b.upload(phi);
        let t = b.reduce();
        let dt = 0.3 * crate::solver::stability::dt_bound(p, &t);
        let info: Vec<_> = (0..steps).map(|k| crate::solver::params::StepInfo { step: k, dt: dt as f32, noise_scale: 0.0, dt_prev: 0.0 }).collect();
        b.advance(&info);
        b.download().iter().filter(|v| v[0] < threshold).count()
    }

    #[test]
    fn a_supercritical_nucleus_grows_and_a_subcritical_one_dissolves() {
        let (p, c) = metastable_box(24);
        let t = parallel_tangent(&p, c, p.chi_ps, p.chi_pn).unwrap();
        let r = nucleus_radius(&p, c, t, p.chi_ps, p.chi_pn) as f64 / GROW as f64;
        assert!(r > 1.0 && r < 5.0, "r* = {r} voxels");
        let mid = 0.5 * (c[0] + t.other[0]);
        let mut counts = Vec::new();
        for f in [0.6, 1.6] {
            let mut phi = vec![c; p.n_total as usize];
            assert_eq!(insert(&p, &mut phi, &[], [12, 12, 12], f * r, t.other, 0.04, false), Ok(()));
            let start = phi.iter().filter(|v| v[0] < mid).count();
            counts.push((start, lean_after(&p, &phi, 4000, mid)));
        }
        eprintln!("lean voxels (start, after): {counts:?}, r* = {r:.2} voxels");
        assert_eq!(counts[0].1, 0, "a 0.6 r* droplet dissolves: {counts:?}");
        assert!(counts[1].1 > counts[1].0, "a 1.6 r* droplet grows: {counts:?}");
    }

    #[test]
    fn events_follow_the_poisson_mean_and_repeat_with_the_seed() {
        let (p, c) = metastable_box(24);
        let mut s = settings();
        let t = parallel_tangent(&p, c, p.chi_ps, p.chi_pn).unwrap();
        // A prefactor that makes about two events per pass over the box.
        let j1 = (-s.barrier_kt(t.dg as f64, 298.15)).exp();
        let vox = 0.1f64.powi(3);
        s.rate_per_um3_s = 2.0 / (j1 * vox * p.n_total as f64);
        let phi0 = vec![c; p.n_total as usize];
        let (mut drawn, mut expected) = (0usize, 0.0);
        let passes = 200;
        for step in 0..passes {
            let mut phi = phi0.clone();
            let r = pass(&s, &p, &mut phi, &[], 0.1, 1.0, step, 0.0);
            assert_eq!(r.metastable, p.n_total as usize);
            drawn += r.events.len() + r.unresolved + r.rejected;
            expected += r.expected;
        }
        assert!((expected / passes as f64 - 2.0).abs() < 1e-3, "{expected}");
        let sd = expected.sqrt();
        assert!((drawn as f64 - expected).abs() < 4.0 * sd, "drawn {drawn}, expected {expected}");
        // Same seed and step: the same events; another seed: others.
        let (mut a, mut b, mut other) = (phi0.clone(), phi0.clone(), phi0.clone());
        let ra = pass(&s, &p, &mut a, &[], 0.1, 1.0, 7, 0.0);
        let rb = pass(&s, &p, &mut b, &[], 0.1, 1.0, 7, 0.0);
        assert_eq!(ra, rb);
        assert_eq!(a, b);
        s.seed = 2;
        let rc = pass(&s, &p, &mut other, &[], 0.1, 1.0, 7, 0.0);
        assert_ne!(ra.events, rc.events);
    }

    /// Many draws in one pass over a small box: a site that an earlier nucleus of the
    /// pass has changed (its ball or shell) is refused as stale, so every nucleus that
    /// goes in was drawn on the untouched host its rate was computed for.
    #[test]
    fn a_site_changed_earlier_in_the_pass_is_not_drawn() {
        let (p, c) = metastable_box(24);
        let mut s = settings();
        s.footprint_ball_only = true;
        let t = parallel_tangent(&p, c, p.chi_ps, p.chi_pn).unwrap();
        let j1 = (-s.barrier_kt(t.dg as f64, 298.15)).exp();
        s.rate_per_um3_s = 200.0 / (j1 * 0.1f64.powi(3) * p.n_total as f64);
        let mut phi = vec![c; p.n_total as usize];
        let r = pass(&s, &p, &mut phi, &[], 0.1, 1.0, 5, 0.0);
        assert!(!r.events.is_empty(), "{r:?}");
        assert!(r.rejected_by[Reject::Stale as usize] > 0, "no stale draws among {} rejected: {:?}", r.rejected, r.rejected_by);
        assert!(r.events.iter().all(|e| e.host == c), "a nucleus was drawn on a changed site");
        assert_eq!(r.rejected, r.rejected_by.iter().sum::<usize>());
    }

    #[test]
    fn nothing_nucleates_outside_the_metastable_gap() {
        let (chi, np) = (0.75, 100.0);
        let p = binary(8, chi);
        let (_, rich) = crate::thermo::binodal(chi, np).unwrap();
        let (s_lo, s_hi) = crate::thermo::spinodal(chi, np).unwrap();
        let mut s = settings();
        s.rate_per_um3_s = 1e30;
        for c in [rich + 0.02, 0.5 * (s_lo + s_hi)] {
            let mut phi = vec![[c as f32, 0.0]; p.n_total as usize];
            let r = pass(&s, &p, &mut phi, &[], 0.1, 1.0, 3, 0.0);
            assert_eq!((r.metastable, r.expected, r.events.len()), (0, 0.0, 0), "φ_P = {c}");
        }
    }
}
