//! Mass conservation and energy decay on both backends.

mod common;
use common::*;
use phasecast::solver::Backend;

fn check_mass(mut b: Box<dyn Backend>, cfg: &phasecast::scene::Config, dt: f64, name: &str) {
    let p = cfg.params(&cfg.stages[0]);
    let t0 = b.reduce();
    b.advance(&steps(&p, 0, 300, dt));
    let t1 = b.reduce();
    // Sum the downloaded field in f64 so the check does not depend on the device's reduction.
    let phi = b.download();
    let sp: f64 = phi.iter().map(|c| c[0] as f64).sum();
    let sn: f64 = phi.iter().map(|c| c[1] as f64).sum();
    let init = phasecast::run::initial::initial_fields(cfg);
    let sp0: f64 = init.iter().map(|c| c[0] as f64).sum();
    let sn0: f64 = init.iter().map(|c| c[1] as f64).sum();
    let (dp, dn) = ((sp - sp0).abs() / sp0, (sn - sn0).abs() / sn0);
    eprintln!("{name}: relative mass change phi_p {dp:e}, phi_n {dn:e}; reduced {:e}", (t1.sum_p - t0.sum_p).abs() / t0.sum_p);
    assert!(dp < 1e-5 && dn < 1e-5, "{name}: mass drift {dp:e} / {dn:e}");
    assert!((t1.sum_p - t0.sum_p).abs() / t0.sum_p < 1e-5, "{name}: reduced mass drift");
}

#[test]
fn mass_is_conserved_periodic_and_no_flux_cpu() {
    for bc in ["periodic", "no_flux"] {
        let cfg = ternary_scene(24, bc, 0.01, &[]);
        let p = cfg.params(&cfg.stages[0]);
        let (b, dt) = start(&cfg, cpu_backend(&p), 0.5);
        check_mass(b, &cfg, dt, &format!("cpu {bc}"));
    }
}

#[test]
fn mass_is_conserved_periodic_and_no_flux_gpu() {
    for bc in ["periodic", "no_flux"] {
        let cfg = ternary_scene(24, bc, 0.01, &[]);
        let p = cfg.params(&cfg.stages[0]);
        let (b, dt) = start(&cfg, gpu_backend(&p), 0.5);
        check_mass(b, &cfg, dt, &format!("gpu {bc}"));
    }
}

fn check_energy_decreases(mut b: Box<dyn Backend>, cfg: &phasecast::scene::Config, dt: f64, name: &str) {
    let p = cfg.params(&cfg.stages[0]);
    let mut last = b.reduce().free_energy;
    let first = last;
    for k in 0..30 {
        b.advance(&steps(&p, k * 20, 20, dt));
        let f = b.reduce().free_energy;
        assert!(f <= last + 1e-6 * last.abs(), "{name}: free energy rose from {last} to {f} at block {k}");
        last = f;
    }
    eprintln!("{name}: F {first} -> {last}");
    assert!(last < first, "{name}: energy must decrease during demixing");
}

#[test]
fn free_energy_does_not_increase_without_noise() {
    let cfg = ternary_scene(24, "no_flux", 0.0, &[]);
    let p = cfg.params(&cfg.stages[0]);
    let (b, dt) = start(&cfg, cpu_backend(&p), 0.5);
    check_energy_decreases(b, &cfg, dt, "cpu");
    let (b, dt) = start(&cfg, gpu_backend(&p), 0.5);
    check_energy_decreases(b, &cfg, dt, "gpu");
}

#[test]
fn pfhub_1a_initial_free_energy_matches_published_319() {
    let cfg = phasecast::scene::load(Some(std::path::Path::new("scenes/pfhub_bm1a.toml")), &[]).unwrap();
    let p = cfg.params(&cfg.stages[0]);
    let (mut b, _) = start(&cfg, cpu_backend(&p), 0.5);
    let f0 = b.reduce().free_energy;
    eprintln!("PFHub 1a F(0) = {f0}");
    assert!((f0 - 319.0).abs() < 0.5, "F(0) = {f0}, published 319.0");
    let (mut g, _) = start(&cfg, gpu_backend(&p), 0.5);
    let fg = g.reduce().free_energy;
    assert!((fg - f0).abs() < 1e-3 * f0, "GPU F(0) = {fg}");
}
