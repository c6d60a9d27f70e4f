//! Criterion benchmarks of one ternary time step (chemical potential + update)
//! on the CPU twins and, where an adapter exists, on the GPU. Throughput is in
//! voxel-updates. `phasecast bench` is the command-line counterpart used for
//! the figures in docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use phasecast::gpu::{engine::GpuSolver, GpuContext};
use phasecast::solver::params::StepInfo;
use phasecast::solver::{stability, Backend, CpuBackend};

fn steps(c: &mut Criterion) {
    let size: usize = std::env::var("PHASECAST_BENCH_SIZE").ok().and_then(|s| s.parse().ok()).unwrap_or(32);
    let over = [format!("grid.nx={size}"), format!("grid.ny={size}"), format!("grid.nz={size}")];
    let cfg = phasecast::scene::load(None, &over).unwrap();
    let p = cfg.params(&cfg.stages[0]);
    let phi = phasecast::run::initial::initial_fields(&cfg);
    let mut group = c.benchmark_group(format!("ternary_step_{size}^3"));
    group.throughput(Throughput::Elements(cfg.grid.voxels() as u64));
    group.sample_size(10);

    let mut cpu = CpuBackend::new(&p);
    cpu.upload(&phi);
    let dt = 0.5 * stability::dt_bound(&p, &cpu.reduce());
    let one = [StepInfo { step: 0, dt: dt as f32, noise_scale: stability::noise_scale(&p, dt), dt_prev: 0.0 }];
    group.bench_function("cpu", |b| b.iter(|| cpu.advance(&one)));

    match GpuContext::new(None) {
        Ok(ctx) => {
            let name = ctx.info.name.clone();
            let mut gpu = GpuSolver::new(ctx, &p).unwrap();
            gpu.upload(&phi);
            // Wait on the device inside the timed region.
            group.bench_function(format!("gpu ({name})"), |b| {
                b.iter(|| {
                    gpu.advance(&one);
                    gpu.finish();
                })
            });
        }
        Err(e) => eprintln!("no GPU adapter, GPU benchmark not run: {e}"),
    }
    group.finish();
}

criterion_group!(benches, steps);
criterion_main!(benches);
