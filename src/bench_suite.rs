//! `phasecast bench --suite`: the standard benchmark cases on one backend,
//! as one JSON document (machine, cases, results).
//!
//! Cases: the ternary step at 128³, 256³ and 512³ as far as memory allows
//! (sizes that do not fit are reported as skipped with the bytes needed and
//! the limit); the crystallization (TIPS) step at 128³ and 256³; porometry,
//! reported as "not available" with the reason when absent; the full
//! analysis stage at 256³ on a synthetic bicontinuous structure. `quick`
//! uses small sizes (for tests and CI) with the same code paths.

use crate::analysis::{self, synthetic, AnalysisOptions};
use crate::run::BackendChoice;
use anyhow::Result;
use serde_json::{json, Value};
use std::time::Instant;

/// Host bytes the CPU twins hold per voxel: phi, next and mu (2 × f32 each)
/// and the initial field the driver builds (2 × f32).
const CPU_BYTES_PER_VOXEL: u64 = 32;

fn mem_available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_string()));
    json!({
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "cpu": cpu,
        "logical_cpus": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "mem_available_bytes": mem_available_bytes(),
        "unix_time_s": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).ok(),
        "phasecast_version": env!("CARGO_PKG_VERSION"),
    })
}

/// Why a size cannot run on this backend, or None when it fits.
fn does_not_fit(size: usize, gpu: Option<&crate::gpu::GpuContext>) -> Option<String> {
    let shape = [size; 3];
    match gpu {
        Some(ctx) => ctx.check_memory(shape, false).err().map(|e| e.to_string()),
        None => {
            let need = (size as u64).pow(3) * CPU_BYTES_PER_VOXEL;
            let avail = mem_available_bytes()?;
            // Leave a quarter of the free memory to the rest of the system.
            (need > avail / 4 * 3).then(|| format!("needs {} of host memory, {} available", crate::gpu::human_bytes(need), crate::gpu::human_bytes(avail)))
        }
    }
}

/// Steps per size: enough for a stable rate, few enough for a slow backend.
fn steps_for(size: usize, gpu: bool, quick: bool) -> usize {
    match (quick, gpu, size) {
        (true, _, _) => 5,
        (false, true, s) if s <= 128 => 400,
        (false, true, s) if s <= 256 => 100,
        (false, true, _) => 20,
        (false, false, s) if s <= 128 => 10,
        (false, false, s) if s <= 256 => 4,
        (false, false, _) => 2,
    }
}

/// Runs the suite on `backend` (`Auto` is resolved once, at the start).
pub fn run_suite(backend: BackendChoice, adapter: Option<&str>, quick: bool) -> Result<Value> {
    let t_all = Instant::now();
    // One context to read the adapter's limits and name; each case makes its own.
    let ctx = match backend {
        BackendChoice::Cpu => None,
        BackendChoice::Gpu => Some(crate::gpu::GpuContext::new(adapter)?),
        BackendChoice::Auto => match crate::gpu::GpuContext::new(adapter) {
            Ok(c) => Some(c),
            Err(e) => {
                log::warn!("no usable GPU ({e}); the suite runs on the CPU backend");
                None
            }
        },
    };
    let chosen = if ctx.is_some() { BackendChoice::Gpu } else { BackendChoice::Cpu };
    let device = ctx.as_ref().map(|c| c.summary()).unwrap_or_else(|| format!("CPU twins on {} threads (rayon)", rayon::current_num_threads()));
    let adapter_name = ctx.as_ref().map(|c| c.info.name.clone());

    let sizes: &[usize] = if quick { &[16, 24] } else { &[128, 256, 512] };
    let mut step_cases = Vec::new();
    for &size in sizes {
        let steps = steps_for(size, ctx.is_some(), quick);
        let case = if let Some(why) = does_not_fit(size, ctx.as_ref()) {
            json!({"size": size, "status": "skipped", "reason": why})
        } else {
            log::info!("bench suite: ternary step at {size}^3, {steps} steps");
            match crate::bench::bench(size, steps, chosen, adapter_name.as_deref()) {
                Ok(r) => json!({"size": size, "status": "ok", "result": r}),
                Err(e) => json!({"size": size, "status": "failed", "error": format!("{e:#}")}),
            }
        };
        step_cases.push(case);
    }
    let mut cryst_cases = Vec::new();
    for &size in if quick { &[16usize][..] } else { &[128usize, 256][..] } {
        let steps = steps_for(size, ctx.is_some(), quick);
        let fits = match ctx.as_ref() {
            Some(c) => c.check_memory([size; 3], true).err().map(|e| e.to_string()),
            None => does_not_fit(size, None),
        };
        let case = if let Some(why) = fits {
            json!({"size": size, "status": "skipped", "reason": why})
        } else {
            log::info!("bench suite: crystallization step at {size}^3, {steps} steps");
            match crate::bench::bench_tips(size, steps, chosen, adapter_name.as_deref()) {
                Ok(r) => json!({"size": size, "status": "ok", "result": r}),
                Err(e) => json!({"size": size, "status": "failed", "error": format!("{e:#}")}),
            }
        };
        cryst_cases.push(case);
    }
    drop(ctx);

    let analysis_size = if quick { 24 } else { 256 };
    log::info!("bench suite: analysis at {analysis_size}^3");
    let analysis_case = match bench_analysis(analysis_size) {
        Ok(v) => v,
        Err(e) => json!({"size": analysis_size, "status": "failed", "error": format!("{e:#}")}),
    };

    Ok(json!({
        "suite": if quick { "quick" } else { "standard" },
        "backend": match chosen { BackendChoice::Gpu => "gpu", _ => "cpu" },
        "device": device,
        "machine": machine(),
        "cases": {
            "ternary_step": step_cases,
            "crystallization_step": cryst_cases,
            "porometry": porometry_case(quick),
            "analysis": analysis_case,
        },
        "total_s": t_all.elapsed().as_secs_f64(),
    }))
}

/// Capillary flow porometry (bubble point, wet and dry curves at 20 pressures,
/// mean-flow point) with the permeability and SEM figures, on the same kind of
/// bicontinuous structure as the analysis case. 128³ in the standard suite
/// (256³ takes about half an hour on two CPU cores: see docs/benchmarks.md).
fn porometry_case(quick: bool) -> Value {
    let size = if quick { 16 } else { 128 };
    log::info!("bench suite: porometry at {size}^3");
    let field = synthetic::gaussian_random_field([size; 3], 3.0, 7);
    let mut seg = synthetic::level_set(&field, 0.5);
    seg.voxel_um = 0.05;
    let opts = crate::lab::LabOptions { n_pressures: 20, ..Default::default() };
    let t0 = Instant::now();
    match crate::lab::measure(&seg, &opts) {
        Ok(r) => {
            let seconds = t0.elapsed().as_secs_f64();
            let v = serde_json::to_value(&r).unwrap_or(Value::Null);
            json!({
                "size": size,
                "status": "ok",
                "pressures": 20,
                "seconds": seconds,
                "voxels_per_s": seg.len() as f64 / seconds,
                "bubble_point_diameter_um": v.pointer("/porometry/bubble_point_diameter_um"),
                "mean_flow_diameter_um": v.pointer("/porometry/mean_flow_diameter_um"),
                "darcy_m2": v.pointer("/permeability/darcy_m2"),
            })
        }
        Err(e) => json!({"size": size, "status": "failed", "error": format!("{e:#}")}),
    }
}

/// The full analysis stage (segmented volume → every measurement) on a
/// bicontinuous structure: a Gaussian random field cut at 50 % porosity,
/// smoothed over 3 voxels so its features resemble a demixed membrane.
fn bench_analysis(size: usize) -> Result<Value> {
    let t0 = Instant::now();
    let field = synthetic::gaussian_random_field([size; 3], 3.0, 7);
    let mut seg = synthetic::level_set(&field, 0.5);
    seg.voxel_um = 0.05;
    let prep_s = t0.elapsed().as_secs_f64();
    let opts = AnalysisOptions { periodic_xy: true, ..Default::default() };
    let t1 = Instant::now();
    let rep = analysis::analyze(&seg, &opts)?;
    let seconds = t1.elapsed().as_secs_f64();
    let voxels = seg.len();
    Ok(json!({
        "size": size,
        "status": "ok",
        "structure": "Gaussian random field (σ = 3 voxels) at porosity 0.5, periodic in x and y",
        "voxels": voxels,
        "seconds": seconds,
        "voxels_per_s": voxels as f64 / seconds,
        "stage_seconds": rep.timings_s,
        "porosity": rep.porosity,
        "class": rep.structure.class,
        "input_preparation_s": prep_s,
        "threads": rayon::current_num_threads(),
    }))
}
