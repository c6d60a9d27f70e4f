//! Lab measurements on a segmented volume (issue 4): what a membrane lab
//! measures, with the lab's own methods and units.
//!
//! - **Capillary flow porometry** (ASTM F316, [`porometry`]): bubble point
//!   (maximum pore size), wet/dry/half-dry flow curves, mean-flow pore size,
//!   max/mean ratio and the flow-weighted pore-size distribution. Morphological
//!   drainage on the pore EDT decides which pores are gas-filled; a
//!   lattice-Boltzmann Stokes solve ([`flow`]) gives the flow through them.
//! - **Permeability**: Darcy permeability from the dry flow solve, flow
//!   tortuosity, and pure-water permeability in L/(m²·h·atm) at 25 °C.
//! - **Simulated SEM** ([`sem`]): cross-section and surface micrographs with
//!   SE-like contrast, data bar and scale bar; the SEM line-intercept pore
//!   size and surface-opening statistics ([`intercept`]).
//!
//! Entry points for the rest of the program:
//! - [`measure`]`(seg, opts) -> LabReport`, which serializes to exactly
//!   `{"porometry": …, "permeability": …, "sem": …}` for `analysis.json`;
//! - [`write_images`]`(seg, report, dir, opts)`: `sem_section.png`,
//!   `sem_top.png`, `sem_bottom.png`, `porometry.png`;
//! - [`cli::RenderArgs`] / [`cli::render`] for `phasecast render`.
//!
//! Conventions: `seg` uses `PORE = 1`, `POLYMER = 0`; z = 0 is the top (free)
//! surface and gas enters there; voxel faces are walls.

pub mod cli;
pub mod flow;
pub mod intercept;
pub mod memory;
pub mod network;
pub mod network_flow;
pub mod plot;
pub mod porometry;
pub mod progress;
pub mod rng;
pub mod sem;
pub mod synth;

use anyhow::{Context, Result};
use serde::Serialize;
use std::path::Path;

use crate::volume::Volume;
pub use flow::{FlowOptions, FlowResult};
pub use intercept::{Intercept, SurfacePores};
pub use porometry::{FlowMethod, Fluid, Porometry};
pub use sem::{Axis, SemOptions, Side, View};

/// Viscosity of water at 25 °C (Pa·s), for the water permeability.
pub const WATER_VISCOSITY_25C_PA_S: f64 = 0.89e-3;
/// One standard atmosphere in Pa.
pub const ATM_PA: f64 = 101_325.0;

/// Settings of the lab measurements.
#[derive(Clone, Debug)]
pub struct LabOptions {
    /// Porometer wetting liquid (default ethanol, as in the seeds).
    pub fluid: Fluid,
    /// Pressures on the wet curve (≥ 20 for a porometer-like curve).
    pub n_pressures: usize,
    /// Real membrane thickness in µm for the water permeability; `None`: the
    /// simulated thickness.
    pub thickness_um: Option<f64>,
    /// SEM field of view width (µm); 16 µm is 6000× (seed 002).
    pub sem_fov_um: f64,
    /// SEM image width in pixels.
    pub sem_width_px: u32,
    /// Lines drawn for the line-intercept pore size (seed 002: 50).
    pub intercept_lines: usize,
    /// Axis normal to the internal section (Y or X shows the thickness).
    pub section_axis: Axis,
    /// Voxel index of the section; `None`: the middle.
    pub section_pos: Option<usize>,
    /// Seed of the SEM shot noise.
    pub seed: u64,
    /// Periodic side faces (true for phasecast's laterally periodic volumes).
    pub periodic_xy: bool,
    /// Viscosity of the porometer gas (air at 20 °C).
    pub gas_viscosity_pa_s: f64,
    /// Flow-solver settings (its `periodic_xy` is replaced by the field above).
    pub flow: FlowOptions,
    /// Flow method of the porometer and the permeability: the pore network
    /// (default, seconds) or the lattice-Boltzmann reference.
    pub flow_method: FlowMethod,
}

impl Default for LabOptions {
    fn default() -> Self {
        Self {
            fluid: Fluid::ethanol(),
            n_pressures: 24,
            thickness_um: None,
            sem_fov_um: 16.0,
            sem_width_px: 1024,
            intercept_lines: 50,
            section_axis: Axis::Y,
            section_pos: None,
            seed: 1,
            periodic_xy: true,
            gas_viscosity_pa_s: 18.2e-6,
            flow: FlowOptions::default(),
            flow_method: FlowMethod::default(),
        }
    }
}

impl LabOptions {
    fn porometry_options(&self) -> porometry::PorometryOptions {
        porometry::PorometryOptions {
            fluid: self.fluid.clone(),
            n_pressures: self.n_pressures,
            gas_viscosity_pa_s: self.gas_viscosity_pa_s,
            periodic_xy: self.periodic_xy,
            flow: FlowOptions {
                gpu: if self.flow_method == FlowMethod::Lbm { self.flow.gpu.clone().or_else(flow::default_gpu) } else { None },
                ..self.flow.clone()
            },
            method: self.flow_method,
        }
    }

    /// SEM settings for a view; sections that show the thickness show all of it.
    pub fn sem_options(&self) -> SemOptions {
        SemOptions {
            fov_um: self.sem_fov_um,
            width_px: self.sem_width_px,
            seed: self.seed,
            periodic_xy: self.periodic_xy,
            ..Default::default()
        }
    }

    fn section_view(&self, seg: &Volume<u8>) -> View {
        let n = match self.section_axis {
            Axis::Z => seg.nz(),
            Axis::Y => seg.ny(),
            Axis::X => seg.nx(),
        };
        View::Section {
            axis: self.section_axis,
            pos: self.section_pos.unwrap_or(n / 2).min(n.saturating_sub(1)),
        }
    }
}

/// Darcy and water permeability.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Permeability {
    /// Darcy permeability k (m²) of the sample along z.
    pub darcy_m2: f64,
    /// Pure-water flux at 1 atm, 25 °C (η = 0.89 mPa·s), L/(m²·h·atm).
    pub water_l_per_m2_h_atm: f64,
    /// Flow tortuosity Σ|u|/Σu_z.
    pub tortuosity: f64,
    /// Thickness used for the water permeability (µm).
    pub thickness_um: f64,
    /// Thickness of the simulated volume (µm).
    pub simulated_thickness_um: f64,
    /// How the thickness was chosen.
    pub thickness_assumption: String,
    /// Flow solve: lattice-Boltzmann steps (or conjugate-gradient iterations
    /// on the network) and whether it converged.
    pub solver_steps: usize,
    pub solver_converged: bool,
    /// Flow method: "network" (pore network) or "lbm" (lattice Boltzmann).
    pub flow_method: String,
}

/// SEM-derived figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SemReport {
    /// Line-intercept pore size on the internal section (µm).
    pub internal_pore_size_um: Option<f64>,
    pub top_surface_pore_size_um: Option<f64>,
    pub bottom_surface_pore_size_um: Option<f64>,
    pub top_to_internal_ratio: Option<f64>,
    pub bottom_to_internal_ratio: Option<f64>,
    /// Porosity of the top surface layer.
    pub top_opening_ratio: f64,
    pub bottom_opening_ratio: f64,
    pub top_surface_pores: SurfacePores,
    pub bottom_surface_pores: SurfacePores,
    /// Field of view width (µm) and magnification of the micrographs measured.
    pub fov_um: f64,
    pub magnification: f64,
    /// Lines per micrograph and void segments found on each.
    pub lines: usize,
    pub internal_segments: usize,
    pub top_segments: usize,
    pub bottom_segments: usize,
    /// Which section was measured, e.g. "y@64".
    pub section: String,
}

/// Everything [`measure`] finds; serializes to `porometry`, `permeability`, `sem`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LabReport {
    pub porometry: Porometry,
    pub permeability: Permeability,
    pub sem: SemReport,
}

/// Runs porometry, permeability and the SEM measurements on `seg`.
pub fn measure(seg: &Volume<u8>, opts: &LabOptions) -> Result<LabReport> {
    anyhow::ensure!(!seg.is_empty(), "empty volume");
    let t = std::time::Instant::now();
    let (poro, dry) = porometry::porometry(seg, &opts.porometry_options()).context("porometry")?;
    log::info!(
        "lab: porometry ({} pressures, {:.2e} lattice updates) in {:.1} s",
        poro.curves.pressure_kpa.len(),
        poro.solver_node_updates as f64,
        t.elapsed().as_secs_f64()
    );
    let mut permeability = permeability(seg, &dry, opts.thickness_um);
    permeability.flow_method = opts.flow_method.name().into();
    if !dry.converged && dry.fluid_nodes > 0 {
        log::warn!("lab: the dry flow solve stopped at {} steps without meeting its convergence criterion", dry.steps);
    }
    let sem = sem_report(seg, opts);
    Ok(LabReport {
        porometry: poro,
        permeability,
        sem,
    })
}

/// The SEM field of view the run's analysis and `phasecast analyze` use for a
/// volume: the seeds' 16 µm (6000×), or the whole lateral extent of a narrower
/// simulated domain, shown once rather than tiled, so that both give the same
/// numbers.
pub fn default_sem_fov_um<T: Copy>(volume: &Volume<T>) -> f64 {
    let lateral_um = volume.nx().min(volume.ny()) as f64 * volume.voxel_um;
    LabOptions::default().sem_fov_um.min(lateral_um)
}

/// Darcy and water permeability from a dry flow solve.
pub fn permeability(seg: &Volume<u8>, dry: &FlowResult, thickness_um: Option<f64>) -> Permeability {
    let sim_um = seg.nz() as f64 * seg.voxel_um;
    let k = dry.k_vox2 * (seg.voxel_um * 1e-6).powi(2);
    let t_um = thickness_um.unwrap_or(sim_um);
    let assumption = match thickness_um {
        None => "simulated thickness".to_string(),
        Some(t) => format!(
            "real thickness {t} µm: the Darcy permeability of the simulated {sim_um:.3} µm slab is assumed to hold \
             through the whole real thickness (flux scales as 1/thickness)"
        ),
    };
    // J = k·ΔP/(η·L) in m/s, to L/(m²·h) at ΔP = 1 atm.
    let water = k * ATM_PA / (WATER_VISCOSITY_25C_PA_S * t_um * 1e-6) * 1e3 * 3600.0;
    Permeability {
        darcy_m2: k,
        water_l_per_m2_h_atm: water,
        tortuosity: dry.tortuosity,
        thickness_um: t_um,
        simulated_thickness_um: sim_um,
        thickness_assumption: assumption,
        solver_steps: dry.steps,
        solver_converged: dry.converged,
        flow_method: if dry.tau_plus > 0.0 { "lbm" } else { "network" }.into(),
    }
}

/// Line intercept on the void map of one view.
fn intercept_of(seg: &Volume<u8>, view: View, opts: &LabOptions) -> Intercept {
    let sem_opts = opts.sem_options();
    let (map, w, h, px) = sem::void_map(seg, view, &sem_opts);
    intercept::line_intercept(&map, w as usize, h as usize, px, opts.intercept_lines)
}

/// SEM line-intercept sizes and surface openings.
pub fn sem_report(seg: &Volume<u8>, opts: &LabOptions) -> SemReport {
    let section = opts.section_view(seg);
    let internal = intercept_of(seg, section, opts);
    let top = intercept_of(seg, View::Surface(Side::Top), opts);
    let bottom = intercept_of(seg, View::Surface(Side::Bottom), opts);
    let top_pores = intercept::surface_pores(seg, Side::Top, opts.periodic_xy);
    let bottom_pores = intercept::surface_pores(seg, Side::Bottom, opts.periodic_xy);
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let section_name = match section {
        View::Section { axis, pos } => format!("{}@{pos}", format!("{axis:?}").to_lowercase()),
        View::Surface(_) => unreachable!(),
    };
    SemReport {
        internal_pore_size_um: internal.mean_um,
        top_surface_pore_size_um: top.mean_um,
        bottom_surface_pore_size_um: bottom.mean_um,
        top_to_internal_ratio: ratio(top.mean_um, internal.mean_um),
        bottom_to_internal_ratio: ratio(bottom.mean_um, internal.mean_um),
        top_opening_ratio: top_pores.opening_ratio,
        bottom_opening_ratio: bottom_pores.opening_ratio,
        top_surface_pores: top_pores,
        bottom_surface_pores: bottom_pores,
        fov_um: opts.sem_fov_um,
        magnification: sem::magnification(opts.sem_fov_um),
        lines: opts.intercept_lines,
        internal_segments: internal.segments,
        top_segments: top.segments,
        bottom_segments: bottom.segments,
        section: section_name,
    }
}

/// Writes the SEM section, top and bottom surface micrographs and the
/// porometer chart into `dir` (created if missing), each atomically.
pub fn write_images(seg: &Volume<u8>, report: &LabReport, dir: &Path, opts: &LabOptions) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let sem_opts = opts.sem_options();
    let views = [
        ("sem_section.png", opts.section_view(seg)),
        ("sem_top.png", View::Surface(Side::Top)),
        ("sem_bottom.png", View::Surface(Side::Bottom)),
    ];
    for (name, view) in views {
        let img = sem::render(seg, view, &sem_opts)?;
        plot::save_gray(&img, &dir.join(name))?;
    }
    porometry_chart(&report.porometry, &dir.join("porometry.png"))
}

/// Draws the porometer report chart (wet, dry, half-dry; bubble point and
/// mean-flow markers) to a PNG.
pub fn porometry_chart(p: &Porometry, path: &Path) -> Result<()> {
    use plotters::style::RGBColor;
    let c = &p.curves;
    let pts = |ys: &[f64]| {
        c.pressure_kpa
            .iter()
            .copied()
            .zip(ys.iter().copied())
            .collect::<Vec<_>>()
    };
    // Real porometers start at zero pressure: the dry line passes through the
    // origin and the wet curve is zero below the bubble point.
    let with_origin = |mut v: Vec<(f64, f64)>| {
        v.insert(0, (0.0, 0.0));
        v
    };
    let series = [
        plot::Series {
            label: "Dry curve",
            points: with_origin(pts(&c.dry_flux)),
            color: RGBColor(30, 30, 30),
            dashed: false,
        },
        plot::Series {
            label: "Wet curve",
            points: with_origin(pts(&c.wet_flux)),
            color: RGBColor(20, 90, 200),
            dashed: false,
        },
        plot::Series {
            label: "Half-dry curve",
            points: with_origin(pts(&c.half_dry_flux)),
            color: RGBColor(90, 90, 90),
            dashed: true,
        },
    ];
    let mut markers = Vec::new();
    let bp_label;
    let mf_label;
    if let (Some(pb), Some(db)) = (p.bubble_point_pressure_kpa, p.bubble_point_diameter_um) {
        bp_label = format!("Bubble point {pb:.1} kPa ({db:.3} µm)");
        markers.push(plot::Marker {
            label: &bp_label,
            x: pb,
            color: RGBColor(200, 40, 40),
        });
    }
    if let (Some(pm), Some(dm)) = (p.mean_flow_pressure_kpa, p.mean_flow_diameter_um) {
        mf_label = format!("Mean flow {pm:.1} kPa ({dm:.3} µm)");
        markers.push(plot::Marker {
            label: &mf_label,
            x: pm,
            color: RGBColor(20, 150, 60),
        });
    }
    let title = format!(
        "Capillary flow porometry (ASTM F316), {} γ = {:.1} mN/m",
        p.fluid, p.surface_tension_mn_per_m
    );
    let img = plot::flow_chart(
        &title,
        "Pressure (kPa)",
        &format!("Gas flux ({})", c.flux_unit),
        &series,
        &markers,
        (900, 600),
    )?;
    plot::save_rgb(&img, path)
}
