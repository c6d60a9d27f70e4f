//! Liquid–liquid nucleation (`[droplet_nucleation]`, solver::nucleation) in
//! whole runs: a solution in the metastable gap stays mixed under
//! Cahn–Hilliard alone and demixes by nucleation and growth with the pass; the
//! events repeat on resume and on the GPU; bad keys are named.

mod common;

use phasecast::run::{self, BackendChoice, RunOptions};
use phasecast::scene::{self, Config};
use std::path::Path;

/// A periodic 32³ box of the binary solution (N = 100, χ = 0.75, κ = 0.5)
/// 10 % of the way from its spinodal to its binodal: metastable. Its
/// nuclei are about 5 voxels in radius.
fn box_scene(nucleation: bool, extra: &[&str]) -> Config {
    let (chi, n) = (0.75, 100.0);
    let (_, rich) = phasecast::thermo::binodal(chi, n).unwrap();
    let (_, s_hi) = phasecast::thermo::spinodal(chi, n).unwrap();
    let phi = s_hi + 0.1 * (rich - s_hi);
    let mut text = format!(
        r#"
name = "metastable_box"
[grid]
nx = 32
ny = 32
nz = 32
voxel_um = 0.1
[units]
time_s = 0.001
[model]
kind = "ternary"
n_polymer = 100
chi_ps = {chi}
chi_pn = 1.0
chi_sn = 0.5
kappa_p = 0.5
kappa_n = 0.5
[initial]
phi_p = {phi}
phi_n = 0.0
noise = 0.005
seed = 2
[noise]
amplitude = 0.0
[time]
# These tests are about the nucleation passes, which fall every `every_steps` steps:
# the explicit scheme's many small steps give them a fine time grid.
scheme = "explicit"
reduce_every = 20
safety = 0.5
[[stages]]
kind = "anneal"
duration_s = 3.0
boundary = {{ x = "periodic", y = "periodic", z_min = "periodic", z_max = "periodic" }}
[outputs]
every_s = 0.5
fields = ["phi_p"]
formats = ["npy"]
section_png = false
analyze = false
"#
    );
    if nucleation {
        text.push_str(
            r#"
[droplet_nucleation]
rate_per_um3_s = 0.05
interfacial_tension_mn_m = 0.001
site_volume_cm3_mol = 96.5
max_radius_voxels = 6.0
seed = 4
"#,
        );
    }
    let over: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    scene::load_str("box.toml", &text, &over).expect("valid scene")
}

fn opts(dir: &Path) -> RunOptions {
    RunOptions { out_dir: dir.to_path_buf(), backend: BackendChoice::Cpu, adapter: None, quiet: true, until_s: None }
}

fn final_phi_p(dir: &Path) -> Vec<f32> {
    let run: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    let rel = run["final_fields"]["npy"]["phi_p"].as_str().unwrap().to_string();
    let bytes = std::fs::read(dir.join(rel)).unwrap();
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytemuck::pod_collect_to_vec(&bytes[10 + hlen..])
}

/// (step, z, y, x) of each nucleus in a run's nucleation.csv.
fn nuclei(dir: &Path) -> Vec<[u64; 4]> {
    let text = std::fs::read_to_string(dir.join("nucleation.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            [f[0].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap(), f[4].parse().unwrap()]
        })
        .collect()
}

fn energy_column(dir: &Path, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(dir.join("energy.csv")).unwrap();
    let mut lines = text.lines();
    let k = lines.next().unwrap().split(',').position(|h| h == name).unwrap();
    lines.map(|l| l.split(',').nth(k).unwrap().parse().unwrap()).collect()
}

#[test]
fn a_metastable_solution_demixes_only_by_nucleation() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, nuc) = (dir.path().join("plain"), dir.path().join("nuc"));
    let range = |p: &[f32]| p.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    // Cahn–Hilliard alone: the ±0.005 cast-in perturbation dies out (f'' > 0 in the
    // gap, so every mode decays). This is a sanity check of the run, not a
    // discriminating control: with this slow polymer (D_P = D_S/N) a box inside the
    // spinodal also needs ~10 times longer than this run to demix visibly (measured
    // at φ_P = 0.17 with D_P = 0.01 and 0.1, session 6). The pass's own eligibility
    // (no events inside the spinodal or outside the binodal) is tested in
    // solver::nucleation.
    run::run(&box_scene(false, &[]), &opts(&plain)).unwrap();
    let (lo, hi) = range(&final_phi_p(&plain));
    assert!(hi - lo < 2e-3, "without nucleation the metastable box demixed: φ_P from {lo} to {hi}");

    let out = run::run(&box_scene(true, &[]), &opts(&nuc)).unwrap();
    assert!(out.steps > 200, "{} steps", out.steps);

    // With the pass: droplets of the lean phase that persist (r > r*), the
    // polymer conserved, and the free energy falling between passes.
    let events = nuclei(&nuc);
    let run: serde_json::Value = serde_json::from_slice(&std::fs::read(nuc.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["droplet_nucleation"]["nuclei"].as_u64().unwrap() as usize, events.len());
    assert!(!events.is_empty(), "no nuclei: {}", run["droplet_nucleation"]);
    // The rejected draws are split by reason, and the reasons add up.
    let by = run["droplet_nucleation"]["rejected_by_reason_this_session"].as_object().expect("rejected_by_reason_this_session");
    assert_eq!(by.len(), 6, "{by:?}");
    let split: u64 = by.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(split, run["droplet_nucleation"]["rejected_this_session"].as_u64().unwrap(), "{by:?}");
    let text = std::fs::read_to_string(nuc.join("nucleation.csv")).unwrap();
    let rows: Vec<Vec<f64>> = text.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    let inserted: f64 = rows.iter().map(|r| (4.0 / 3.0) * std::f64::consts::PI * r[7].powi(3)).sum();
    let mid = 0.5 * (rows[0][10] + rows[0][8]) as f32;
    let p = final_phi_p(&nuc);
    let lean = p.iter().filter(|&&v| v < mid).count() as f64;
    assert!(lean > 0.8 * inserted, "the droplets dissolved: {lean} voxels below φ_P = {mid} against {inserted:.0} inserted");
    let mass = energy_column(&nuc, "mass_polymer_um3");
    let drift = (mass.last().unwrap() - mass[0]).abs() / mass[0];
    assert!(drift < 1e-5, "polymer mass drifted by {drift:e}");
    let steps = energy_column(&nuc, "step");
    let f = energy_column(&nuc, "free_energy");
    let last = rows.last().unwrap()[0];
    let after: Vec<f64> = steps.iter().zip(&f).filter(|(s, _)| **s > last).map(|(_, f)| *f).collect();
    assert!(after.len() > 5 && after.windows(2).all(|w| w[1] <= w[0] + 1e-9 * w[0].abs()), "free energy rose between passes: {after:?}");
}

#[test]
fn a_resumed_run_draws_the_same_nuclei() {
    let dir = tempfile::tempdir().unwrap();
    let (full, part) = (dir.path().join("full"), dir.path().join("part"));
    // A pass every third reduction, and a stop between passes.
    let cfg = box_scene(true, &["droplet_nucleation.every_steps=60"]);
    run::run(&cfg, &opts(&full)).unwrap();
    let mut o = opts(&part);
    o.until_s = Some(1.5);
    run::run(&cfg, &o).unwrap();
    let before = nuclei(&part);
    run::resume(&part, &opts(&part), &[]).unwrap();
    let (a, b) = (nuclei(&full), nuclei(&part));
    assert!(!a.is_empty());
    assert!(before.len() <= b.len());
    assert_eq!(a, b, "resumed nuclei differ");
    let (x, y) = (final_phi_p(&full), final_phi_p(&part));
    let d = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(d <= 1e-6, "resumed field differs by {d}");
}

#[test]
fn gpu_and_cpu_insert_the_same_nuclei() {
    let dir = tempfile::tempdir().unwrap();
    let (c, g) = (dir.path().join("cpu"), dir.path().join("gpu"));
    let cfg = box_scene(true, &["stages.0.duration_s=1.2"]);
    let p = cfg.params(&cfg.stages[0]);
    run::run_with_backend(&cfg, &opts(&c), common::cpu_backend(&p)).unwrap();
    run::run_with_backend(&cfg, &opts(&g), common::gpu_backend(&p)).unwrap();
    let (a, b) = (nuclei(&c), nuclei(&g));
    assert!(!a.is_empty(), "no nuclei in the window");
    assert_eq!(a, b, "GPU and CPU runs inserted different nuclei");
}

#[test]
fn bad_droplet_nucleation_keys_are_named() {
    for (set, key) in [
        ("droplet_nucleation.rate_per_um3_s=-1", "droplet_nucleation.rate_per_um3_s"),
        ("droplet_nucleation.interfacial_tension_mn_m=0", "droplet_nucleation.interfacial_tension_mn_m"),
        ("droplet_nucleation.max_radius_voxels=1", "droplet_nucleation.max_radius_voxels"),
        ("droplet_nucleation.every_steps=0", "droplet_nucleation.every_steps"),
        ("droplet_nucleation.footprint=shell", "droplet_nucleation.footprint"),
        ("droplet_nucleation.crystal_psi=1.5", "droplet_nucleation.crystal_psi"),
        ("droplet_nucleation.site_psi=0", "droplet_nucleation.site_psi"),
    ] {
        let text = std::fs::read_to_string("scenes/quickstart.toml").unwrap()
            + "\n[droplet_nucleation]\nrate_per_um3_s = 1.0\ninterfacial_tension_mn_m = 0.1\nsite_volume_cm3_mol = 96.5\n";
        match scene::load_str("q.toml", &text, &[set.to_string()]) {
            Err(e) => assert!(e.to_string().contains(key), "{set}: {e}"),
            Ok(_) => panic!("{set} was accepted"),
        }
    }
    let text = std::fs::read_to_string("scenes/pfhub_bm1a.toml").unwrap() + "\n[droplet_nucleation]\nrate_per_um3_s = 1.0\ninterfacial_tension_mn_m = 0.1\nsite_volume_cm3_mol = 96.5\n";
    let e = scene::load_str("bm1.toml", &text, &[]).unwrap_err().to_string();
    assert!(e.contains("droplet_nucleation") && e.contains("ternary"), "{e}");
}
