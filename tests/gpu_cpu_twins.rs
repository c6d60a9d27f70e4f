//! The WGSL kernels on a real adapter (lavapipe in CI) against their CPU twins.

mod common;
use common::*;

/// Tolerance: the twins use the same f32 formulas; only the transcendental
/// functions (log, tanh, cos) of the device and of Rust's libm differ by a few
/// ulp, so after 200 steps the fields agree to 1e-6 absolute (phi in [0, 1]; 7.5e-8 measured on lavapipe).
const TOL: f32 = 1e-6;

#[test]
fn gpu_and_cpu_agree_on_a_32_cube_ternary_run_of_200_steps_with_noise() {
    let cfg = ternary_scene(32, "no_flux", 0.01, &[]);
    let p = cfg.params(&cfg.stages[0]);
    let (mut gpu, dt) = start(&cfg, gpu_backend(&p), 0.5);
    let (mut cpu, dt_cpu) = start(&cfg, cpu_backend(&p), 0.5);
    assert!((dt - dt_cpu).abs() <= 1e-6 * dt, "stability bounds differ: {dt} vs {dt_cpu}");
    let s = steps(&p, 0, 200, dt);
    gpu.advance(&s);
    cpu.advance(&s);
    let a = gpu.download();
    let b = cpu.download();
    let init = phasecast::run::initial::initial_fields(&cfg);
    let mut max_diff = 0.0f32;
    let mut max_change = 0.0f32;
    for ((x, y), z) in a.iter().zip(&b).zip(&init) {
        for f in 0..2 {
            max_diff = max_diff.max((x[f] - y[f]).abs());
            max_change = max_change.max((y[f] - z[f]).abs());
        }
    }
    eprintln!("max |gpu - cpu| = {max_diff:e}, max change over the run = {max_change:e}");
    assert!(max_change > 1e-3, "the run must actually evolve the fields (change {max_change})");
    assert!(max_diff <= TOL, "GPU and CPU differ by {max_diff} > {TOL}");
    let (tg, tc) = (gpu.reduce(), cpu.reduce());
    assert!((tg.sum_p - tc.sum_p).abs() / tc.sum_p < 1e-5, "{} vs {}", tg.sum_p, tc.sum_p);
    assert!((tg.free_energy - tc.free_energy).abs() / tc.free_energy.abs() < 1e-4, "F {} vs {}", tg.free_energy, tc.free_energy);
    assert!((tg.stiffness - tc.stiffness).abs() <= 1e-4 * tc.stiffness.abs().max(1.0));
}

/// Runs `n` steps of the first stage on the GPU and the CPU twins from the same
/// start, asserts they agree within TOL, and returns the CPU field and the steps.
fn both_backends_agree(cfg: &phasecast::scene::Config, n: u32) -> (Vec<[f32; 2]>, Vec<phasecast::solver::params::StepInfo>) {
    let p = cfg.params(&cfg.stages[0]);
    let (mut gpu, dt) = start(cfg, gpu_backend(&p), 0.5);
    let (mut cpu, _) = start(cfg, cpu_backend(&p), 0.5);
    let s = steps(&p, 0, n, dt);
    gpu.advance(&s);
    cpu.advance(&s);
    let (a, b) = (gpu.download(), cpu.download());
    let d = a.iter().zip(&b).map(|(x, y)| (x[0] - y[0]).abs().max((x[1] - y[1]).abs())).fold(0.0f32, f32::max);
    assert!(d <= TOL, "GPU and CPU differ by {d}");
    (b, s)
}

#[test]
fn gpu_and_cpu_agree_with_a_reservoir_face() {
    let cfg = ternary_scene(16, "no_flux", 0.0, &["stages.0.boundary.z_min=\"reservoir\"", "stages.0.reservoir={phi_p=0.0, phi_n=0.9}"]);
    let (b, _) = both_backends_agree(&cfg, 100);
    // Non-solvent entered through the top face.
    let n0: f64 = phasecast::run::initial::initial_fields(&cfg).iter().map(|c| c[1] as f64).sum();
    let n1: f64 = b.iter().map(|c| c[1] as f64).sum();
    assert!(n1 > n0 * 1.001, "reservoir did not feed non-solvent: {n0} -> {n1}");
}

/// The harmonic face mobility (mobility.face = "harmonic") with a bath face and
/// noise: both backends, and the polymer stays in the film.
#[test]
fn gpu_and_cpu_agree_with_harmonic_face_mobility_and_a_bath() {
    let cfg = ternary_scene(16, "no_flux", 0.01, &["stages.0.boundary.z_min=\"reservoir\"", "stages.0.reservoir={phi_p=0.0, phi_n=1.0}", "mobility.face=\"harmonic\""]);
    assert!(cfg.params(&cfg.stages[0]).harmonic_face());
    let (b, s) = both_backends_agree(&cfg, 100);
    let init = phasecast::run::initial::initial_fields(&cfg);
    let (p0, p1): (f64, f64) = (init.iter().map(|c| c[0] as f64).sum(), b.iter().map(|c| c[0] as f64).sum());
    assert!((p1 - p0).abs() / p0 < 1e-5, "the bath face must hold the polymer back: {p0} -> {p1}");
    let (n0, n1): (f64, f64) = (init.iter().map(|c| c[1] as f64).sum(), b.iter().map(|c| c[1] as f64).sum());
    assert!(n1 > n0 * 1.001, "the bath must feed non-solvent: {n0} -> {n1}");
    // The mean and the harmonic face mobility differ: the option acts.
    let cfg_mean = ternary_scene(16, "no_flux", 0.01, &["stages.0.boundary.z_min=\"reservoir\"", "stages.0.reservoir={phi_p=0.0, phi_n=1.0}"]);
    let (mut m, _) = start(&cfg_mean, cpu_backend(&cfg_mean.params(&cfg_mean.stages[0])), 0.5);
    m.advance(&s);
    let dm = m.download().iter().zip(&b).map(|(x, y)| (x[0] - y[0]).abs()).fold(0.0f32, f32::max);
    assert!(dm > 1e-4, "harmonic and mean face mobility gave the same field ({dm})");
}

#[test]
fn a_grid_too_large_for_the_adapter_is_refused_before_allocating() {
    // 4096 x 4096 x 64 voxels: 8 GiB per field buffer, above any adapter's binding limit.
    let cfg = ternary_scene(8, "no_flux", 0.0, &["grid.nx=4096", "grid.ny=4096", "grid.nz=64"]);
    let p = cfg.params(&cfg.stages[0]);
    let ctx = phasecast::gpu::GpuContext::new(None).expect("GPU test needs a wgpu adapter (apt-get install mesa-vulkan-drivers)");
    let err = match phasecast::gpu::engine::GpuSolver::new(ctx, &p) {
        Ok(_) => panic!("an 8 GiB field buffer must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("4096x4096x64") && err.contains("GiB") && err.contains("allows"), "{err}");
}
