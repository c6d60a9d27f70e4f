//! `phasecast bench`: time the ternary step on a cube and report
//! voxel-updates per second and effective memory bandwidth.
//!
//! Bytes moved per voxel and step by the kernels as written (the ideal, with
//! each array touched once per kernel and neighbour reads served from cache):
//! chem_potential reads phi (8 B) and writes mu (8 B); update reads phi (8 B)
//! and mu (8 B) and writes the new phi (8 B): 40 B per voxel-update.

use crate::run::{make_backend, BackendChoice};
use crate::scene;
use crate::solver::params::StepInfo;
use crate::solver::stability;
use serde::Serialize;
use std::time::Instant;

pub const BYTES_PER_VOXEL_UPDATE: f64 = 40.0;

/// The same for a step of the thermal (TIPS) model: chem_potential also reads
/// (T, ψ) (8 B), update reads them (8 B), and the thermal kernel reads phi and
/// (T, ψ) and writes the new (T, ψ) (24 B): 80 B per voxel-update.
pub const BYTES_PER_VOXEL_UPDATE_THERMAL: f64 = 80.0;

/// The reduced TIPS scene the crystallization benchmark steps.
const TIPS_SCENE: &str = include_str!("../scenes/small/tips_pvdf_dep.toml");

#[derive(Debug, Serialize)]
pub struct BenchResult {
    pub backend: String,
    pub device: String,
    pub size: usize,
    pub voxels: usize,
    pub steps: usize,
    pub seconds: f64,
    pub voxel_updates_per_s: f64,
    pub effective_bandwidth_gb_s: f64,
    pub bytes_per_voxel_update: f64,
}

/// Runs `steps` ternary steps (slow-mode mobility, noise on) on an N³
/// periodic cube after a warm-up, timing only the stepping.
pub fn bench(size: usize, steps: usize, backend: BackendChoice, adapter: Option<&str>) -> anyhow::Result<BenchResult> {
    let overrides = [
        format!("grid.nx={size}"),
        format!("grid.ny={size}"),
        format!("grid.nz={size}"),
        "stages.0.boundary.z_min=\"periodic\"".to_string(),
        "stages.0.boundary.z_max=\"periodic\"".to_string(),
    ];
    let cfg = scene::load(None, &overrides)?;
    time_steps(&cfg, size, steps, backend, adapter, BYTES_PER_VOXEL_UPDATE)
}

/// The crystallization (TIPS) step: temperature, crystallinity and the
/// ternary fields with χ(T), seeds growing, on an N³ column of the reduced
/// `tips_pvdf_dep` scene dissolved at 130 °C (many seeds), cooled in DOP.
pub fn bench_tips(size: usize, steps: usize, backend: BackendChoice, adapter: Option<&str>) -> anyhow::Result<BenchResult> {
    let overrides = [format!("grid.nx={size}"), format!("grid.ny={size}"), format!("grid.nz={size}"), "dissolution.temperature_c=130".to_string()];
    let cfg = scene::load_str("scenes/small/tips_pvdf_dep.toml", TIPS_SCENE, &overrides)?;
    time_steps(&cfg, size, steps, backend, adapter, BYTES_PER_VOXEL_UPDATE_THERMAL)
}

fn time_steps(cfg: &scene::Config, size: usize, steps: usize, backend: BackendChoice, adapter: Option<&str>, bytes: f64) -> anyhow::Result<BenchResult> {
    let params = cfg.params(&cfg.stages[0]);
    let mut b = make_backend(backend, adapter, &params)?;
    let phi = crate::run::initial::initial_fields(cfg);
    b.upload(&phi);
    if let Some(aux) = crate::run::initial::initial_aux(cfg) {
        b.upload_aux(&aux);
    }
    let t = b.reduce();
    let dt = 0.5 * stability::dt_bound(&params, &t);
    let mk = |k: usize| StepInfo { step: k as u32, dt: dt as f32, noise_scale: stability::noise_scale(&params, dt), _pad: 0 };
    // Warm-up: pipeline creation, first-touch allocation, JIT (lavapipe).
    let warm: Vec<StepInfo> = (0..steps.clamp(1, 10)).map(mk).collect();
    b.advance(&warm);
    b.reduce();
    let run: Vec<StepInfo> = (0..steps).map(mk).collect();
    let t0 = Instant::now();
    b.advance(&run);
    // The reduction waits for the queue: the timed region ends when the GPU is done.
    let check = b.reduce();
    let seconds = t0.elapsed().as_secs_f64();
    anyhow::ensure!(check.bad_voxels == 0, "benchmark fields went non-finite");
    let voxels = cfg.grid.voxels();
    let vups = (voxels * steps) as f64 / seconds;
    Ok(BenchResult {
        backend: b.kind().to_string(),
        device: b.description(),
        size,
        voxels,
        steps,
        seconds,
        voxel_updates_per_s: vups,
        effective_bandwidth_gb_s: vups * bytes / 1e9,
        bytes_per_voxel_update: bytes,
    })
}
