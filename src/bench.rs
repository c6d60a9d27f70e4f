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
    /// Time to solution: the same simulated time (the timed explicit steps' span)
    /// run by the driver with each scheme.
    pub schemes: Vec<SchemeResult>,
}

/// One scheme's run over the benchmark's simulated time.
#[derive(Debug, Serialize)]
pub struct SchemeResult {
    pub scheme: String,
    pub steps: u64,
    pub rejected_steps: u64,
    pub simulated_s: f64,
    /// Seconds spent stepping (kernels and reductions, no output files).
    pub compute_s: f64,
    pub simulated_s_per_wall_s: f64,
    pub voxel_updates_per_s: f64,
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
    let mk = |k: usize| StepInfo { step: k as u32, dt: dt as f32, noise_scale: stability::noise_scale(&params, dt), dt_prev: 0.0 };
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
    let span_s = steps as f64 * dt * cfg.units.time_s;
    let schemes = ["explicit", "semi_implicit"].iter().map(|s| scheme_run(cfg, s, span_s, backend, adapter)).collect::<anyhow::Result<Vec<_>>>()?;
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
        schemes,
    })
}

/// Runs `cfg` for `span_s` simulated seconds with `scheme` through the run driver
/// (adaptive dt, reductions, error control) into a scratch folder, outputs off.
fn scheme_run(cfg: &scene::Config, scheme: &str, span_s: f64, backend: BackendChoice, adapter: Option<&str>) -> anyhow::Result<SchemeResult> {
    let mut table = cfg.raw_table.clone();
    for o in [
        format!("time.scheme=\"{scheme}\""),
        format!("stages.0.duration_s={span_s:e}"),
        "outputs.analyze=false".to_string(),
        "outputs.checkpoint=false".to_string(),
        "outputs.section_png=false".to_string(),
        "outputs.formats=[\"npy\"]".to_string(),
    ] {
        scene::apply_override(&mut table, &o)?;
    }
    table.remove("outputs").map(|mut o| {
        if let toml::Value::Table(t) = &mut o {
            t.remove("every_s");
        }
        table.insert("outputs".into(), o);
    });
    // Later stages are not part of the benchmark.
    if let Some(toml::Value::Array(a)) = table.get_mut("stages") {
        a.truncate(1);
    }
    let text = toml::to_string(&table)?;
    let c = scene::load_str(&cfg.source, &text, &[])?;
    let dir = std::env::temp_dir().join(format!("phasecast-bench-{}-{scheme}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = crate::run::RunOptions { out_dir: dir.clone(), backend, adapter: adapter.map(str::to_string), quiet: true, until_s: None };
    let out = crate::run::run(&c, &opts);
    let rows = crate::run::energy::read(&dir.join("energy.csv"));
    let json: Option<serde_json::Value> = std::fs::read_to_string(dir.join("run.json")).ok().and_then(|t| serde_json::from_str(&t).ok());
    let _ = std::fs::remove_dir_all(&dir);
    let out = out?;
    let compute_s = json.as_ref().and_then(|j| j["compute_time_s"].as_f64()).unwrap_or(out.wall_s);
    Ok(SchemeResult {
        scheme: scheme.to_string(),
        steps: out.steps,
        rejected_steps: rows.ok().and_then(|r| r.last().map(|r| r.rejected_steps)).unwrap_or(0),
        simulated_s: out.time_s,
        compute_s,
        simulated_s_per_wall_s: out.time_s / compute_s.max(1e-12),
        voxel_updates_per_s: out.voxel_updates_per_s,
    })
}
