//! Lab benchmarks.
//!
//! `cargo bench --bench lab` runs small criterion benchmarks (CI-sized):
//! porometry with 20 pressures on a 32³ sponge, one dry flow solve, one SEM
//! micrograph, the drainage maps.
//!
//! `PHASECAST_BENCH_FULL=1 cargo bench --bench lab` instead runs the full
//! porometry benchmark once — wet and dry flow curves with 20 pressures on a
//! 256³ volume (`PHASECAST_BENCH_N` changes the size) — and prints the time of
//! each stage, lattice updates per second and the figures measured. One run
//! takes minutes to hours depending on cores, too long for criterion's
//! repeated sampling; the figures go to docs/benchmarks.md.

use criterion::{criterion_group, Criterion};
use phasecast::lab::flow::{self, FlowOptions};
use phasecast::lab::porometry::{porometry, Drainage, FlowMethod, PorometryOptions};
use phasecast::lab::sem::{self, SemOptions, Side, View};
use phasecast::lab::synth;
use std::hint::black_box;
use std::time::Instant;

/// The benchmark volume: a boolean model of overlapping pore spheres
/// (radius 6 voxels, porosity 0.6, 0.02 µm voxels), laterally periodic.
fn sponge(n: usize) -> phasecast::volume::Volume<u8> {
    synth::pore_spheres([n, n, n], 0.02, 6.0, 0.6, 42)
}

fn small(c: &mut Criterion) {
    let seg = sponge(32);
    let mut g = c.benchmark_group("lab");
    g.sample_size(10);
    g.bench_function("porometry_20p_32c", |b| {
        let opts = PorometryOptions {
            n_pressures: 20,
            method: FlowMethod::Lbm,
            ..Default::default()
        };
        b.iter(|| black_box(porometry(&seg, &opts).unwrap()))
    });
    g.bench_function("porometry_network_20p_32c", |b| {
        let opts = PorometryOptions {
            n_pressures: 20,
            method: FlowMethod::Network,
            ..Default::default()
        };
        b.iter(|| black_box(porometry(&seg, &opts).unwrap()))
    });
    let fluid: Vec<bool> = seg.data.iter().map(|&v| v == 1).collect();
    g.bench_function("dry_flow_32c", |b| {
        b.iter(|| black_box(flow::solve(&fluid, seg.shape, &FlowOptions::default(), None).0))
    });
    g.bench_function("drainage_maps_32c", |b| {
        b.iter(|| black_box(Drainage::new(&seg, true).breakthrough_radius()))
    });
    let opts = SemOptions {
        fov_um: 0.64,
        width_px: 512,
        ..Default::default()
    };
    g.bench_function("sem_top_512px", |b| {
        b.iter(|| black_box(sem::render(&seg, View::Surface(Side::Top), &opts).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, small);

/// CPU seconds (user + system) this process has used so far, from
/// /proc/self/stat (Linux; `None` elsewhere). Wall time on a shared machine
/// depends on the other load; CPU time much less so.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn full() {
    // Per-pressure progress: RUST_LOG=phasecast=debug.
    let _ = env_logger::builder().format_timestamp_secs().try_init();
    let n: usize = std::env::var("PHASECAST_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    let threads = rayon::current_num_threads();
    println!("full porometry benchmark: {n}³ sponge (r = 6 vox, porosity 0.6), 20 pressures, {threads} rayon threads");
    let t = Instant::now();
    let seg = sponge(n);
    println!("  volume built: {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let d = Drainage::new(&seg, true);
    println!(
        "  drainage maps (EDT, widest path, invasion radii): {:.1} s, breakthrough r = {:?} vox",
        t.elapsed().as_secs_f64(),
        d.breakthrough_radius()
    );
    drop(d);
    let t = Instant::now();
    let cpu0 = cpu_seconds();
    let gpu = flow::default_gpu();
    println!("  flow solves on: {}", gpu.as_ref().map_or("CPU (rayon)".to_string(), |g| format!("GPU {}", g.0.info.name)));
    let opts = PorometryOptions {
        n_pressures: 20,
        flow: FlowOptions { gpu, ..Default::default() },
        method: if std::env::var("PHASECAST_BENCH_FLOW").as_deref() == Ok("network") { FlowMethod::Network } else { FlowMethod::Lbm },
        ..Default::default()
    };
    let (p, dry) = porometry(&seg, &opts).unwrap();
    let total = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu0).map(|(a, b)| a - b);
    let wet_steps: usize = p.curves.solver_steps.iter().sum();
    println!(
        "  porometry total: {total:.1} s wall, {:.1} s CPU",
        cpu.unwrap_or(f64::NAN)
    );
    let upd = p.solver_node_updates as f64;
    println!(
        "  flow solves: {:.3e} node updates: {:.1} M/s wall, {:.1} M per CPU-second; load average at the end: {}",
        upd,
        upd / total / 1e6,
        upd / cpu.unwrap_or(f64::NAN) / 1e6,
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!(
        "  dry solve: {} fluid nodes, {} steps, converged {}",
        dry.fluid_nodes, dry.steps, dry.converged
    );
    println!(
        "  wet solves: {} steps in all over {} pressures (plus mean-flow bisection), all converged {}",
        wet_steps,
        p.curves.pressure_kpa.len(),
        p.curves.solver_converged.iter().all(|&c| c)
    );
    println!(
        "  bubble point {:.4} µm / {:.1} kPa; mean flow {:.4} µm / {:.1} kPa; ratio {:.3}; k = {:.4e} m², tortuosity {:.3}",
        p.bubble_point_diameter_um.unwrap_or(f64::NAN),
        p.bubble_point_pressure_kpa.unwrap_or(f64::NAN),
        p.mean_flow_diameter_um.unwrap_or(f64::NAN),
        p.mean_flow_pressure_kpa.unwrap_or(f64::NAN),
        p.max_to_mean_ratio.unwrap_or(f64::NAN),
        dry.k_vox2 * (seg.voxel_um * 1e-6f64).powi(2),
        dry.tortuosity
    );
    for i in 0..p.curves.pressure_kpa.len() {
        println!(
            "    P {:8.1} kPa  d {:.4} µm  wet/dry {:.4}  steps {}",
            p.curves.pressure_kpa[i],
            p.curves.laplace_diameter_um[i],
            p.curves.wet_fraction[i],
            p.curves.solver_steps[i]
        );
    }
}

fn main() {
    if std::env::var("PHASECAST_BENCH_FULL").is_ok_and(|v| v == "1") {
        full();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
