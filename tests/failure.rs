//! A run that goes numerically wrong stops with the step, time and field named,
//! and keeps the last good checkpoint and everything written so far.

mod common;
use phasecast::run::{self, BackendChoice, RunOptions};
use phasecast::solver::params::{Params, StepInfo};
use phasecast::solver::{Backend, CpuBackend, ImplicitStep, Totals};

/// The CPU backend with a NaN injected into phi_n after `after` steps.
struct Faulty {
    inner: CpuBackend,
    steps: u64,
    after: u64,
}

impl Backend for Faulty {
    fn kind(&self) -> &'static str {
        "cpu"
    }
    fn description(&self) -> String {
        "CPU twins with an injected fault".into()
    }
    fn set_params(&mut self, p: &Params) {
        self.inner.set_params(p)
    }
    fn upload(&mut self, phi: &[[f32; 2]]) {
        self.inner.upload(phi)
    }
    fn download(&mut self) -> Vec<[f32; 2]> {
        self.inner.download()
    }
    fn upload_aux(&mut self, aux: &[[f32; 2]]) {
        self.inner.upload_aux(aux)
    }
    fn download_aux(&mut self) -> Vec<[f32; 2]> {
        self.inner.download_aux()
    }
    fn advance(&mut self, steps: &[StepInfo]) {
        self.inner.advance(steps);
        self.steps += steps.len() as u64;
        if self.steps >= self.after {
            let mut phi = self.inner.download();
            phi[5 * 16 * 16 + 3 * 16 + 7][1] = f32::NAN;
            self.inner.upload(&phi);
        }
    }
    fn reduce(&mut self) -> Totals {
        self.inner.reduce()
    }
    fn semi_implicit_support(&self) -> Result<(), String> {
        self.inner.semi_implicit_support()
    }
    fn advance_semi_implicit(&mut self, steps: &[ImplicitStep]) {
        self.inner.advance_semi_implicit(steps);
        self.steps += steps.len() as u64;
        if self.steps >= self.after {
            let mut phi = self.inner.download();
            phi[5 * 16 * 16 + 3 * 16 + 7][1] = f32::NAN;
            self.inner.upload(&phi);
        }
    }
    fn step_error(&mut self) -> Option<f64> {
        self.inner.step_error()
    }
    fn save_state(&mut self) {
        self.inner.save_state()
    }
    fn restore_state(&mut self) {
        self.inner.restore_state()
    }
    fn forget_increments(&mut self) {
        self.inner.forget_increments()
    }
    fn download_increments(&mut self) -> Option<Vec<[f32; 3]>> {
        self.inner.download_increments()
    }
    fn upload_increments(&mut self, d: Option<&[[f32; 3]]>) {
        self.inner.upload_increments(d)
    }
}

#[test]
fn nan_stops_the_run_naming_step_time_and_field_and_keeps_outputs() {
    let cfg = common::ternary_scene(16, "no_flux", 0.0, &["outputs.every_s=0.002", "time.reduce_every=20", "time.scheme=\"explicit\""]);
    let p = cfg.params(&cfg.stages[0]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let opts = RunOptions { out_dir: out.clone(), backend: BackendChoice::Cpu, adapter: None, quiet: true, until_s: None };
    let backend = Box::new(Faulty { inner: CpuBackend::new(&p), steps: 0, after: 200 });
    let err = run::run_with_backend(&cfg, &opts, backend).unwrap_err().to_string();
    assert!(err.contains("step 200") && err.contains("phi_n") && err.contains("NaN") && err.contains("z=5, y=3, x=7"), "{err}");
    assert!(err.contains("t = "), "{err}");
    let run: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["status"], "failed");
    assert!(run["error"].as_str().unwrap().contains("phi_n"));
    // The checkpoint is the last good one, from before the fault.
    let (state, phi, _) = phasecast::run::checkpoint::read(&out.join("checkpoint.bin")).unwrap();
    assert!(state.step < 200 && state.step > 0, "checkpoint step {}", state.step);
    assert!(phi.iter().all(|c| c[0].is_finite() && c[1].is_finite()));
    let energy = phasecast::run::energy::read(&out.join("energy.csv")).unwrap();
    assert!(energy.len() >= 5);
    assert!(std::fs::read_dir(out.join("fields")).unwrap().count() > 0);
}

/// The semi-implicit scheme retries a step that leaves NaN with smaller steps; a fault
/// that persists stops the run with the same message, naming step, time and voxel.
#[test]
fn a_persistent_nan_stops_a_semi_implicit_run_naming_the_field() {
    let cfg = common::ternary_scene(16, "no_flux", 0.0, &["outputs.every_s=0.002"]);
    let p = cfg.params(&cfg.stages[0]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let opts = RunOptions { out_dir: out.clone(), backend: BackendChoice::Cpu, adapter: None, quiet: true, until_s: None };
    let backend = Box::new(Faulty { inner: CpuBackend::new(&p), steps: 0, after: 30 });
    let err = run::run_with_backend(&cfg, &opts, backend).unwrap_err().to_string();
    assert!(err.contains("phi_n") && err.contains("NaN") && err.contains("z=5, y=3, x=7"), "{err}");
    let run: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["status"], "failed");
    assert!(run["rejected_steps"].as_u64().unwrap() >= 10, "the step must have been retried: {}", run["rejected_steps"]);
}
