//! Capillary flow porometry as ASTM F316 runs it: bubble point, wet and dry
//! flow curves, mean-flow (half-dry) pore size, flow-weighted pore-size
//! distribution.
//!
//! **Drainage (which pores hold liquid at pressure P).** The sample is wetted;
//! gas at gauge pressure P on the top face (z = 0) can enter a throat only if
//! P exceeds the Laplace pressure 4γcosθ/d. On the voxel volume this is the
//! morphological (sphere-insertion) drainage of Hilpert & Miller (Adv. Water
//! Resour. 24, 2001), as PoreSpy's `drainage` does it: with r = 2γcosθ/P in
//! voxels, a sphere of radius r fits where the pore-phase distance transform
//! (EDT, `crate::analysis::distance::edt`) is ≥ r; those centres that are
//! connected to the inlet through other such centres are the seeds, and the
//! gas fills every pore voxel closer than r to a seed. Connection uses the
//! 6-neighbourhood. The diameter attached to r is d = 2r voxels (EDT measured
//! between voxel centres).
//!
//! Drainage is cumulative: gas that has displaced liquid at a lower pressure
//! stays (as in PoreSpy's invasion-pressure map). The module computes every
//! voxel's invasion radius once, with no per-pressure flood fill:
//! - the widest-path radius W of each pore voxel (the largest r at which it is
//!   a connected seed), by a bucket-queue priority flood over the integer
//!   squared EDT from the inlet face; seeds(r) = {W ≥ r};
//! - the invasion radius r_inv(v) = max{W(s) : |v − s| < W(s)}, the largest
//!   r at which some seed's sphere covers v. That is a local thickness with W
//!   in place of the EDT (`crate::analysis::thickness::local_thickness_from_edt2`).
//!   The gas space at radius r is exactly {r_inv ≥ r}, the union of the
//!   sphere-insertion sets at all lower pressures;
//! - the bubble point is the largest r_inv on the outlet face;
//! - every distance is the square root of an integer, so the gas space is
//!   constant for r² in (k−1, k]; the mean-flow point is located exactly on
//!   that lattice by bisection between the sampled pressures.
//!
//! **Flow.** At each pressure the gas-filled space that connects inlet to outlet
//! carries viscous, slip-free gas flow; its conductance comes from the
//! lattice-Boltzmann Stokes solve in [`super::flow`] (each solve warm-started
//! from the previous, smaller, gas space). The dry curve is the flow through the
//! whole spanning pore space. Fluxes are reported for the stated gas viscosity
//! as if the gas were incompressible (the pressure drop across a thin membrane
//! is small compared with the mean pressure in the porometer's low range; this
//! is the usual slip-free viscous assumption and is stated in the output).
//!
//! **Mean flow.** Wet flux G_wet(P)·P equals half the dry flux G_dry·P exactly
//! where G_wet(P) = G_dry/2; that crossing is found on the exact r lattice.

use super::flow::{self, FlowOptions, FlowResult, FlowState};
use super::{network, network_flow};
use crate::analysis::distance::edt_squared;
use crate::analysis::thickness::local_thickness_from_edt2;
use crate::volume::{Volume, PORE};
use serde::Serialize;

/// A wetting liquid of the porometer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fluid {
    /// Name as given on the command line.
    pub name: String,
    /// Surface tension γ in N/m.
    pub surface_tension_n_per_m: f64,
    /// Contact angle θ with the polymer in degrees (0: fully wetting).
    pub contact_angle_deg: f64,
}

impl Fluid {
    /// Ethanol, γ = 22.3 mN/m, θ = 0 (ASTM F316 as in seeds 000 and 002).
    pub fn ethanol() -> Self {
        Self {
            name: "ethanol".into(),
            surface_tension_n_per_m: 22.3e-3,
            contact_angle_deg: 0.0,
        }
    }
    /// Water at 25 °C, γ = 72.0 mN/m; θ = 0 assumes a hydrophilic membrane.
    pub fn water() -> Self {
        Self {
            name: "water".into(),
            surface_tension_n_per_m: 72.0e-3,
            contact_angle_deg: 0.0,
        }
    }
    /// Low-surface-tension porometry fluid (perfluoropolyether type,
    /// γ ≈ 16 mN/m, fully wetting).
    pub fn porometry_fluid() -> Self {
        Self {
            name: "porefluid".into(),
            surface_tension_n_per_m: 16.0e-3,
            contact_angle_deg: 0.0,
        }
    }
    /// Looks a fluid up by name: `ethanol`, `water`, `porefluid`.
    pub fn by_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "ethanol" => Some(Self::ethanol()),
            "water" => Some(Self::water()),
            "porefluid" | "porometry-fluid" | "galwick" | "porefil" => Some(Self::porometry_fluid()),
            _ => None,
        }
    }
    /// 4γcosθ in N/m: P = this / d.
    pub fn laplace_coefficient(&self) -> f64 {
        4.0 * self.surface_tension_n_per_m * self.contact_angle_deg.to_radians().cos()
    }
    /// Laplace pressure (Pa) of a pore of diameter `d_um`.
    pub fn pressure_pa(&self, d_um: f64) -> f64 {
        self.laplace_coefficient() / (d_um * 1e-6)
    }
    /// Laplace diameter (µm) at pressure `p_pa`.
    pub fn diameter_um(&self, p_pa: f64) -> f64 {
        self.laplace_coefficient() / p_pa * 1e6
    }
}

/// How the porometer and the permeability compute flow through a gas space.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FlowMethod {
    /// Stokes flow on the extracted pore network (`lab::network_flow`): seconds.
    #[default]
    Network,
    /// Lattice-Boltzmann Stokes solve on the voxels (`lab::flow`): the reference.
    Lbm,
}

impl FlowMethod {
    pub fn name(self) -> &'static str {
        match self {
            FlowMethod::Network => "network",
            FlowMethod::Lbm => "lbm",
        }
    }
}

/// Settings of a porometry run.
#[derive(Clone, Debug)]
pub struct PorometryOptions {
    pub fluid: Fluid,
    /// Number of pressures on the wet curve (log-spaced from 0.95× the bubble
    /// point to the pressure that fills 99.5 % of the spanning pore space with
    /// gas).
    pub n_pressures: usize,
    /// Dynamic viscosity of the test gas (air at 20 °C: 18.2 µPa·s).
    pub gas_viscosity_pa_s: f64,
    /// Periodic side faces.
    pub periodic_xy: bool,
    /// Flow-solver settings (lattice Boltzmann).
    pub flow: FlowOptions,
    /// Which flow solve gives the curves and the permeability.
    pub method: FlowMethod,
}

impl Default for PorometryOptions {
    fn default() -> Self {
        Self {
            fluid: Fluid::ethanol(),
            n_pressures: 24,
            gas_viscosity_pa_s: 18.2e-6,
            periodic_xy: true,
            flow: FlowOptions::default(),
            method: FlowMethod::default(),
        }
    }
}

/// The curves as a porometer report lists them. Fluxes are gas volume flow
/// per membrane area, L/(min·cm²).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Curves {
    pub pressure_kpa: Vec<f64>,
    /// Laplace diameter 4γcosθ/P at each pressure (µm).
    pub laplace_diameter_um: Vec<f64>,
    pub wet_flux: Vec<f64>,
    pub dry_flux: Vec<f64>,
    pub half_dry_flux: Vec<f64>,
    /// Wet/dry flow ratio (cumulative flow fraction through pores ≥ d).
    pub wet_fraction: Vec<f64>,
    pub flux_unit: String,
    /// Solver iterations of each wet solve: lattice-Boltzmann steps, or
    /// conjugate-gradient iterations on the network (0 where no gas path
    /// exists or the gas space did not change since the previous pressure).
    pub solver_steps: Vec<usize>,
    /// Whether each wet solve met the convergence criterion.
    pub solver_converged: Vec<bool>,
}

/// One bin of the flow-weighted pore-size distribution.
#[derive(Clone, Debug, Serialize)]
pub struct PsdBin {
    pub diameter_min_um: f64,
    pub diameter_max_um: f64,
    /// Share of the dry flow that passes through pores in this size range.
    pub flow_share: f64,
}

/// Porometry result (the `porometry` key of `analysis.json`, plus details).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Porometry {
    pub fluid: String,
    pub surface_tension_mn_per_m: f64,
    pub contact_angle_deg: f64,
    /// Maximum pore size (bubble point), µm; `None` when no gas path exists.
    pub bubble_point_diameter_um: Option<f64>,
    pub bubble_point_pressure_kpa: Option<f64>,
    /// Mean-flow (half-dry) pore size, µm.
    pub mean_flow_diameter_um: Option<f64>,
    pub mean_flow_pressure_kpa: Option<f64>,
    pub max_to_mean_ratio: Option<f64>,
    pub curves: Curves,
    pub flow_weighted_psd: Vec<PsdBin>,
    /// Assumptions behind the fluxes.
    pub assumptions: String,
    /// Lattice node updates (fluid nodes × steps) of all flow solves of the
    /// run (dry, wet curve and mean-flow bisection): the cost of the run; for
    /// the network method pores × conjugate-gradient iterations.
    pub solver_node_updates: u64,
    /// Flow method: "network" or "lbm".
    pub flow_method: String,
    /// The extracted network (network method): pores, throats, coordination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<network::NetworkStats>,
}

/// Precomputed drainage maps of one volume.
pub struct Drainage<'a> {
    seg: &'a Volume<u8>,
    /// Squared pore EDT (integers).
    edt2: Vec<u32>,
    /// Squared widest-path radius from the inlet (0: never a connected seed).
    w2: Vec<u32>,
    /// Squared invasion radius (0: never invaded).
    rinv2: Vec<u32>,
}

impl<'a> Drainage<'a> {
    /// Computes the EDT of the pore phase and the widest-path radii from the
    /// top face.
    pub fn new(seg: &'a Volume<u8>, periodic_xy: bool) -> Self {
        let big = {
            let s = seg.shape.iter().sum::<usize>() as u64;
            (s * s).min(u32::MAX as u64 / 2) as u32
        };
        let e = edt_squared(seg, PORE, periodic_xy);
        let edt2: Vec<u32> = e
            .data
            .iter()
            .map(|&d| {
                if d.is_finite() {
                    (d.round() as u64).min(big as u64) as u32
                } else {
                    big
                }
            })
            .collect();
        let w2 = widest_path(&edt2, seg.shape, periodic_xy);
        let wvol = Volume {
            data: w2.iter().map(|&w| w as f32).collect(),
            shape: seg.shape,
            voxel_um: seg.voxel_um,
        };
        // Local thickness returns diameters 2·W(s); back to the integer r².
        let lt = local_thickness_from_edt2(&wvol, periodic_xy);
        let rinv2 = lt
            .data
            .iter()
            .map(|&d| {
                if d > 0.0 && d.is_finite() {
                    ((d as f64 / 2.0).powi(2)).round() as u32
                } else {
                    0
                }
            })
            .collect();
        Self { seg, edt2, w2, rinv2 }
    }

    /// Squared widest-path radius per voxel (see module docs).
    pub fn widest_path_sq(&self) -> &[u32] {
        &self.w2
    }

    /// Squared EDT of the pore phase.
    pub fn edt_sq(&self) -> &[u32] {
        &self.edt2
    }

    /// Bubble-point radius in voxels: the largest r at which gas reaches the
    /// outlet face; `None` if the pore space does not span the sample.
    pub fn breakthrough_radius(&self) -> Option<f64> {
        let [nz, ny, nx] = self.seg.shape;
        let plane = ny * nx;
        if nz == 0 {
            return None;
        }
        let best = self.rinv2[(nz - 1) * plane..].iter().copied().max().unwrap_or(0);
        (best > 0).then(|| (best as f64).sqrt())
    }

    /// Gas-filled pore voxels once the pressure has risen to the Laplace
    /// pressure of sphere radius `r` (voxels).
    pub fn invaded(&self, r: f64) -> Vec<bool> {
        // r_inv² is an integer; compare with a hair of slack so that r = √k
        // computed in floating point still counts as k.
        let r2 = r * r * (1.0 - 1e-12);
        self.rinv2.iter().map(|&w| w > 0 && w as f64 >= r2).collect()
    }

    /// The gas space for r² in (k−1, k]: see module docs.
    pub fn invaded_k(&self, k: u64) -> Vec<bool> {
        self.rinv2.iter().map(|&w| w > 0 && w as u64 >= k).collect()
    }

    /// Squared invasion radius per voxel (0: never invaded).
    pub fn invasion_radius_sq(&self) -> &[u32] {
        &self.rinv2
    }
}

/// Widest-path (maximin) radius² from the top face through the pore phase:
/// for each voxel, the largest value of min(EDT²) along a 6-connected path
/// from a voxel of the top layer. Bucket queue over the integer keys: O(N + K).
fn widest_path(edt2: &[u32], shape: [usize; 3], periodic_xy: bool) -> Vec<u32> {
    let [nz, ny, nx] = shape;
    let plane = ny * nx;
    let kmax = edt2.iter().copied().max().unwrap_or(0) as usize;
    let mut w2 = vec![0u32; edt2.len()];
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); kmax + 1];
    let mut done = vec![false; edt2.len()];
    for (i, &e) in edt2.iter().enumerate().take(plane) {
        if e > 0 {
            w2[i] = e;
            buckets[e as usize].push(i as u32);
        }
    }
    let mut k = kmax;
    loop {
        let Some(v) = buckets[k].pop() else {
            if k == 0 {
                break;
            }
            k -= 1;
            continue;
        };
        let v = v as usize;
        if done[v] {
            continue;
        }
        done[v] = true;
        let (z, y, x) = (v / plane, (v / nx) % ny, v % nx);
        let mut nbs = [usize::MAX; 6];
        if z > 0 {
            nbs[0] = v - plane;
        }
        if z + 1 < nz {
            nbs[1] = v + plane;
        }
        if y > 0 {
            nbs[2] = v - nx;
        } else if periodic_xy {
            nbs[2] = v + (ny - 1) * nx;
        }
        if y + 1 < ny {
            nbs[3] = v + nx;
        } else if periodic_xy {
            nbs[3] = v - (ny - 1) * nx;
        }
        if x > 0 {
            nbs[4] = v - 1;
        } else if periodic_xy {
            nbs[4] = v + nx - 1;
        }
        if x + 1 < nx {
            nbs[5] = v + 1;
        } else if periodic_xy {
            nbs[5] = v + 1 - nx;
        }
        for &u in &nbs {
            if u == usize::MAX || done[u] || edt2[u] == 0 {
                continue;
            }
            let cand = edt2[u].min(k as u32);
            if cand > w2[u] {
                w2[u] = cand;
                buckets[cand as usize].push(u as u32);
            }
        }
    }
    w2
}

/// τ⁺ of a wet solve when the options leave it free (`FlowOptions::tau_plus`
/// is `None`): the steady TRT solution does not depend on it (Λ = 3/16 is
/// kept), only the number of steps does.
///
/// Two slow processes compete in a flow solve started away from steady state:
/// viscous relaxation across a pore, whose time grows as R²/ν, and the
/// relaxation of the pressure (density) field along the sample, a damped sound
/// wave along the porous path whose time grows as ν·L²/k (L the periodic
/// domain length, k the intrinsic permeability of the flowing space). In the
/// dry, well-connected space the first dominates and ν = 0.1 (τ⁺ = 0.8) is
/// near the fastest; in the sparse, tortuous gas clusters just above the
/// bubble point the second dominates and a smaller ν converges several times
/// faster on large samples (256³ sponge at breakthrough, 3.7 M gas nodes:
/// 11,400 steps to convergence from rest at ν = 0.1, i.e. a flux relaxation
/// time of ≈ 1300 steps; ≈ 600 steps measured at ν = 1/30). The rule:
/// ν = 0.1·max(72/L, κ), κ = intrinsic k of the previous wet solve over that of
/// the dry space (the gas spaces are nested and grow with pressure), or
/// ν = 0.1·72/L for the first wet solve (the sparsest); ν is kept in
/// [1/60, 1/10]. Samples up to 64 voxels deep (L ≤ 72 with the reservoirs)
/// therefore run at τ⁺ = 0.8 as before.
pub fn wet_tau_plus(lz: usize, k_ratio: Option<f64>) -> f64 {
    let by_length = 72.0 / lz.max(1) as f64;
    let s = match k_ratio {
        Some(r) if r.is_finite() => by_length.max(r),
        _ => by_length,
    };
    let nu = (0.1 * s).clamp(1.0 / 60.0, 0.1);
    0.5 + 3.0 * nu
}

/// Flow solves of a porometry run, keeping the last state for warm starts.
struct FlowRunner<'o> {
    shape: [usize; 3],
    opts: &'o FlowOptions,
    periodic_xy: bool,
    /// Intrinsic permeability (k over the flowing fraction) of the dry space:
    /// set for the wet runner, whose τ⁺ then follows [`wet_tau_plus`] unless
    /// the options fix it.
    dry_k_intrinsic: Option<f64>,
    /// Intrinsic permeability of the last solve.
    last_k_intrinsic: Option<f64>,
    last: Option<FlowState>,
    /// The last flowing space and its result: many pressures leave the gas
    /// space unchanged, and then the solve is not repeated.
    last_space: Option<(Vec<bool>, FlowResult)>,
    /// Node updates so far.
    updates: u64,
}

impl<'o> FlowRunner<'o> {
    fn new(shape: [usize; 3], opts: &'o FlowOptions, periodic_xy: bool) -> Self {
        Self {
            shape,
            opts,
            periodic_xy,
            dry_k_intrinsic: None,
            last_k_intrinsic: None,
            last: None,
            last_space: None,
            updates: 0,
        }
    }

    fn run(&mut self, space: &[bool]) -> FlowResult {
        let spanning = flow::spanning(space, self.shape, self.periodic_xy);
        let count = spanning.iter().filter(|&&b| b).count();
        if count == 0 {
            return FlowResult::default();
        }
        if let Some((prev, res)) = &self.last_space {
            if *prev == spanning {
                return FlowResult {
                    steps: 0,
                    ..res.clone()
                };
            }
        }
        let mut opts = self.opts.clone();
        if let (None, Some(dry)) = (opts.tau_plus, self.dry_k_intrinsic) {
            let lz = self.shape[0] + 2 * opts.buffer;
            let ratio = self.last_k_intrinsic.map(|k| k / dry);
            opts.tau_plus = Some(wet_tau_plus(lz, ratio));
        }
        let (r, st) = flow::solve(&spanning, self.shape, &opts, self.last.as_ref());
        self.updates += r.fluid_nodes as u64 * r.steps as u64;
        self.last_k_intrinsic = Some(r.k_vox2 * spanning.len() as f64 / count as f64);
        self.last = Some(st);
        self.last_space = Some((spanning, r.clone()));
        r
    }
}

/// The wet-curve solver of either method.
enum WetSolver<'o> {
    Lbm { runner: FlowRunner<'o>, dry: FlowResult },
    Network { net: network::Network, dry: FlowResult, updates: u64 },
}

impl WetSolver<'_> {
    fn dry(&self) -> &FlowResult {
        match self {
            WetSolver::Lbm { dry, .. } | WetSolver::Network { dry, .. } => dry,
        }
    }
    /// Gas space at sphere radius `r` (voxels).
    fn run_r(&mut self, d: &Drainage, r: f64) -> FlowResult {
        match self {
            WetSolver::Lbm { runner, .. } => runner.run(&d.invaded(r)),
            // Same set as `Drainage::invaded(r)`: r_inv² ≥ ⌈r²(1 − 1e-12)⌉.
            WetSolver::Network { .. } => self.run_k(d, (r * r * (1.0 - 1e-12)).ceil().max(1.0) as u64),
        }
    }
    /// Gas space {r_inv² ≥ k}.
    fn run_k(&mut self, d: &Drainage, k: u64) -> FlowResult {
        match self {
            WetSolver::Lbm { runner, .. } => runner.run(&d.invaded_k(k)),
            WetSolver::Network { net, updates, .. } => {
                let res = network_flow::wet(net, k);
                *updates += res.fluid_nodes as u64 * res.steps as u64;
                res
            }
        }
    }
    fn updates(&self) -> u64 {
        match self {
            WetSolver::Lbm { runner, .. } => runner.updates,
            WetSolver::Network { updates, .. } => *updates,
        }
    }
}

/// Runs the porometer on a segmented volume. Returns the report and the dry
/// flow solve (the Darcy permeability comes from it).
pub fn porometry(seg: &Volume<u8>, opts: &PorometryOptions) -> anyhow::Result<(Porometry, FlowResult)> {
    anyhow::ensure!(seg.voxel_um > 0.0, "voxel size must be positive");
    anyhow::ensure!(opts.n_pressures >= 2, "at least two pressures are needed");
    let fluid = &opts.fluid;
    let vox = seg.voxel_um;
    let thickness_m = seg.nz() as f64 * vox * 1e-6;
    let mut flow_opts = opts.flow.clone();
    flow_opts.periodic_xy = opts.periodic_xy;
    let mut report = Porometry {
        fluid: fluid.name.clone(),
        surface_tension_mn_per_m: fluid.surface_tension_n_per_m * 1e3,
        contact_angle_deg: fluid.contact_angle_deg,
        assumptions: format!(
            "Gas flux for slip-free viscous (Stokes) flow of an incompressible gas of viscosity {:.3e} Pa·s through \
             the gas-filled space connected from face to face, driven by the gauge pressure across the {:.3} µm \
             simulated thickness; trapped liquid is not modelled beyond the drainage geometry.",
            opts.gas_viscosity_pa_s,
            thickness_m * 1e6
        ),
        ..Default::default()
    };
    report.flow_method = opts.method.name().into();
    let progress = super::progress::Progress::new("porometry");
    let drainage = Drainage::new(seg, opts.periodic_xy);
    progress.stage("drainage maps (EDT, widest path, invasion radii)");
    let pore: Vec<bool> = seg.data.iter().map(|&s| s == PORE).collect();
    let mut wet = match opts.method {
        FlowMethod::Lbm => {
            // The dry run is independent of the wet runs; solve it first.
            let mut dry_runner = FlowRunner::new(seg.shape, &flow_opts, opts.periodic_xy);
            let dry = dry_runner.run(&pore);
            report.solver_node_updates = dry_runner.updates;
            let dry_k_intrinsic = dry_runner.last_k_intrinsic;
            let mut wet = FlowRunner::new(seg.shape, &flow_opts, opts.periodic_xy);
            wet.dry_k_intrinsic = dry_k_intrinsic.filter(|&k| k > 0.0);
            WetSolver::Lbm { runner: wet, dry }
        }
        FlowMethod::Network => {
            let net = network::extract(drainage.edt_sq(), seg.shape, seg.voxel_um, opts.periodic_xy, Some(drainage.invasion_radius_sq()));
            progress.stage(&format!("pore network ({} pores, {} throats)", net.pores.len(), net.throats.len()));
            let dry = network_flow::dry(&net);
            report.solver_node_updates = dry.fluid_nodes as u64 * dry.steps as u64;
            report.network = Some(net.stats());
            WetSolver::Network { net, dry, updates: 0 }
        }
    };
    let dry = wet.dry().clone();
    log::debug!(
        "porometry: dry solve ({}) k = {:.4e} vox², {} nodes, {} steps, τ⁺ {:.3}, converged {}",
        opts.method.name(),
        dry.k_vox2,
        dry.fluid_nodes,
        dry.steps,
        dry.tau_plus,
        dry.converged
    );
    progress.stage("dry flow solve");
    let Some(r_bp) = drainage.breakthrough_radius() else {
        return Ok((report, dry));
    };
    let pa_of_r = |r: f64| fluid.pressure_pa(2.0 * r * vox);
    let d_bp = 2.0 * r_bp * vox;
    report.bubble_point_diameter_um = Some(d_bp);
    report.bubble_point_pressure_kpa = Some(fluid.pressure_pa(d_bp) / 1e3);

    // Flux per area in L/(min·cm²) for conductance k (voxel²) at pressure p:
    // q = k·vox²·p/(η·L) in m/s.
    let flux = |k_vox2: f64, p_pa: f64| -> f64 {
        let q = k_vox2 * (vox * 1e-6).powi(2) * p_pa / (opts.gas_viscosity_pa_s * thickness_m);
        q * 1e3 * 60.0 / 1e4
    };

    // Pressures: log-spaced from just below the bubble point to the pressure
    // at which 99.5 % of the spanning pore space is gas-filled (beyond it the
    // wet curve lies on the dry curve, as a porometer run is stopped there).
    let p0 = 0.95 * pa_of_r(r_bp);
    let r_end = {
        let span = flow::spanning(&pore, seg.shape, opts.periodic_xy);
        let mut r2: Vec<u32> = drainage
            .invasion_radius_sq()
            .iter()
            .zip(&span)
            .filter(|(_, &s)| s)
            .map(|(&r, _)| r)
            .collect();
        r2.sort_unstable();
        let q = r2.get(r2.len() / 200).copied().unwrap_or(1).max(1);
        (q as f64).sqrt()
    };
    let p1 = pa_of_r(r_end).max(p0 * 1.5);
    let n = opts.n_pressures;
    let pressures: Vec<f64> = (0..n).map(|i| p0 * (p1 / p0).powf(i as f64 / (n - 1) as f64)).collect();
    let mut wet_k = Vec::with_capacity(n);
    let c = &mut report.curves;
    c.flux_unit = "L/(min·cm²)".into();
    for (ip, &p) in pressures.iter().enumerate() {
        let r = fluid.laplace_coefficient() / p / 2.0 / (vox * 1e-6);
        let res = if r > r_bp {
            FlowResult::default()
        } else {
            wet.run_r(&drainage, r)
        };
        progress.step("wet curve", ip + 1, n, &format!("P = {:.1} kPa", p / 1e3));
        log::debug!(
            "porometry: P = {:.2} kPa, r = {r:.3} vox, k = {:.4e} vox², {} nodes, {} steps, τ⁺ {:.3}, converged {}",
            p / 1e3,
            res.k_vox2,
            res.fluid_nodes,
            res.steps,
            res.tau_plus,
            res.converged
        );
        wet_k.push(res.k_vox2);
        c.pressure_kpa.push(p / 1e3);
        c.laplace_diameter_um.push(fluid.diameter_um(p));
        c.wet_flux.push(flux(res.k_vox2, p));
        c.dry_flux.push(flux(dry.k_vox2, p));
        c.half_dry_flux.push(0.5 * flux(dry.k_vox2, p));
        c.wet_fraction
            .push(if dry.k_vox2 > 0.0 { res.k_vox2 / dry.k_vox2 } else { 0.0 });
        c.solver_steps.push(res.steps);
        c.solver_converged.push(res.converged || res.fluid_nodes == 0);
    }

    // Flow-weighted distribution between consecutive pressures.
    let mut prev = 0.0;
    for i in 0..n {
        let f = c.wet_fraction[i].min(1.0);
        let d_hi = if i == 0 { d_bp } else { c.laplace_diameter_um[i - 1] };
        let share = (f - prev).max(0.0);
        if share > 0.0 {
            report.flow_weighted_psd.push(PsdBin {
                diameter_min_um: c.laplace_diameter_um[i].min(d_hi),
                diameter_max_um: d_hi,
                flow_share: share,
            });
        }
        prev = prev.max(f);
    }

    // Mean flow: first sampled pressure where G_wet ≥ G_dry/2, then bisection on
    // the exact r² lattice between it and the previous sample.
    let half = 0.5 * dry.k_vox2;
    if let Some(i) = wet_k.iter().position(|&k| k >= half && k > 0.0) {
        let r_of_p = |p: f64| fluid.laplace_coefficient() / p / 2.0 / (vox * 1e-6);
        // Sets are constant for r² in (k−1, k]: index them by k = ⌈r²⌉.
        let mut lo = (r_of_p(pressures[i]).powi(2)).ceil() as u64; // G ≥ half
        let mut hi = if i == 0 {
            (r_bp * r_bp).round() as u64 + 1
        } else {
            (r_of_p(pressures[i - 1]).powi(2)).ceil() as u64
        }; // G < half
        while hi > lo + 1 {
            let mid = (lo + hi) / 2;
            let res = wet.run_k(&drainage, mid);
            log::debug!(
                "porometry: mean-flow bisection r² = {mid}, k = {:.4e} vox², {} nodes, {} steps, τ⁺ {:.3}",
                res.k_vox2,
                res.fluid_nodes,
                res.steps,
                res.tau_plus
            );
            let g = res.k_vox2;
            if g >= half {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let d_mf = 2.0 * (lo as f64).sqrt() * vox;
        report.mean_flow_diameter_um = Some(d_mf);
        report.mean_flow_pressure_kpa = Some(fluid.pressure_pa(d_mf) / 1e3);
        report.max_to_mean_ratio = Some(d_bp / d_mf);
    }
    report.solver_node_updates += wet.updates();
    progress.done();
    Ok((report, dry))
}
