//! A run that goes numerically wrong stops with the step, time and field named,
//! and keeps the last good checkpoint and everything written so far.

mod common;
use phasecast::run::{self, BackendChoice, RunOptions};
use phasecast::solver::params::{Params, StepInfo};
use phasecast::solver::{Backend, CpuBackend, Totals};

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
}

#[test]
fn nan_stops_the_run_naming_step_time_and_field_and_keeps_outputs() {
    let cfg = common::ternary_scene(16, "no_flux", 0.0, &["outputs.every_s=0.002", "time.reduce_every=20"]);
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
