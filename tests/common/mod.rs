//! Shared test helpers: scenes, backends and the one GPU test-device helper.
#![allow(dead_code)]

use phasecast::gpu::{engine::GpuSolver, GpuContext};
use phasecast::scene::{self, Config};
use phasecast::solver::params::{Params, StepInfo};
use phasecast::solver::{stability, Backend, CpuBackend};

/// A small ternary scene in the spinodal region.
pub fn ternary_scene(n: usize, bc_z: &str, noise: f64, extra: &[&str]) -> Config {
    let text = format!(
        r#"
name = "test"
[grid]
nx = {n}
ny = {n}
nz = {n}
voxel_um = 0.05
[units]
time_s = 0.001
[model]
kind = "ternary"
n_polymer = 20
chi_ps = 0.4
chi_pn = 2.5
chi_sn = 0.6
[mobility]
d_polymer = 0.05
vitrification_phi = 0.7
vitrification_factor = 1e-3
[initial]
phi_p = 0.25
phi_n = 0.2
noise = 0.05
seed = 3
[noise]
amplitude = {noise}
seed = 9
[[stages]]
kind = "anneal"
duration_s = 1.0
boundary = {{ x = "periodic", y = "periodic", z_min = "{bc_z}", z_max = "{bc_z}" }}
"#
    );
    let over: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    scene::load_str("test.toml", &text, &over).expect("test scene is valid")
}

/// The GPU backend on the best adapter. A GPU test never passes silently:
/// without an adapter it fails with instructions (CI installs lavapipe).
pub fn gpu_backend(params: &Params) -> Box<dyn Backend> {
    let ctx = GpuContext::new(None).unwrap_or_else(|e| {
        panic!("GPU test needs a wgpu adapter; install Mesa's lavapipe (`apt-get install mesa-vulkan-drivers`): {e}")
    });
    eprintln!("GPU tests on: {}", ctx.summary());
    Box::new(GpuSolver::new(ctx, params).expect("GPU solver"))
}

pub fn cpu_backend(params: &Params) -> Box<dyn Backend> {
    Box::new(CpuBackend::new(params))
}

/// Uploads the scene's initial state and returns the backend and the dt used
/// (a fixed fraction of the stability bound at t = 0).
pub fn start(cfg: &Config, mut b: Box<dyn Backend>, safety: f64) -> (Box<dyn Backend>, f64) {
    let p = cfg.params(&cfg.stages[0]);
    b.set_params(&p);
    b.upload(&phasecast::run::initial::initial_fields(cfg));
    if let Some(aux) = phasecast::run::initial::initial_aux(cfg) {
        b.upload_aux(&aux);
    }
    let t = b.reduce();
    (b, safety * stability::dt_bound(&p, &t))
}

pub fn steps(p: &Params, first: u32, n: u32, dt: f64) -> Vec<StepInfo> {
    (first..first + n).map(|k| StepInfo { step: k, dt: dt as f32, noise_scale: stability::noise_scale(p, dt), dt_prev: 0.0 }).collect()
}
