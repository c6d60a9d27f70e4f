//! End-to-end: the `phasecast` binary writes every output, and a resumed run
//! equals an uninterrupted one.

use std::path::Path;
use std::process::Command;

fn phasecast(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_phasecast")).args(args).output().expect("run phasecast");
    if !out.status.success() {
        panic!("phasecast {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    out
}

const TINY: &[&str] = &[
    "--set", "grid.nx=16", "--set", "grid.ny=16", "--set", "grid.nz=12",
    "--set", "stages.0.duration_s=0.06", "--set", "outputs.every_s=0.02", "--set", "time.reduce_every=50",
];

fn npy_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytemuck::pod_collect_to_vec(&bytes[10 + hlen..])
}

#[test]
fn run_writes_every_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut args = vec!["run", "--quiet", "--backend", "cpu", "--out", out.to_str().unwrap()];
    args.extend_from_slice(TINY);
    phasecast(&args);
    for f in ["run.json", "energy.csv", "scene.toml", "section.png", "checkpoint.bin"] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let run: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["status"], "completed");
    assert!(run["steps"].as_u64().unwrap() > 0);
    assert!(run["voxel_updates_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(run["scene"]["grid"]["nx"], 16);
    let ff = &run["final_fields"];
    for name in ["phi_p", "phi_n"] {
        let rel = ff["npy"][name].as_str().unwrap();
        let p = out.join(rel);
        assert!(p.is_file(), "{rel}");
        assert_eq!(npy_f32(&p).len(), 16 * 16 * 12);
        let side: serde_json::Value = serde_json::from_slice(&std::fs::read(p.with_extension("json")).unwrap()).unwrap();
        assert_eq!(side["voxel_um"], 0.05);
    }
    let vti = std::fs::read(out.join(ff["vti"].as_str().unwrap())).unwrap();
    let head = String::from_utf8_lossy(&vti[..400.min(vti.len())]).to_string();
    assert!(head.contains("ImageData") && head.contains("Spacing=\"0.05 0.05 0.05\""), "{head}");
    // Snapshots at 0, 0.02, 0.04, 0.06 s.
    let n_vti = std::fs::read_dir(out.join("fields")).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "vti")).count();
    assert_eq!(n_vti, 4);
    let energy = std::fs::read_to_string(out.join("energy.csv")).unwrap();
    assert!(energy.starts_with("step,time_s,dt_s,free_energy,mass_polymer_um3,mass_nonsolvent_um3"));
    assert!(energy.lines().count() > 3);
    // Nothing half-written is left behind.
    assert!(!std::fs::read_dir(&out).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".tmp")));
}

#[test]
fn resumed_run_equals_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    let part = dir.path().join("part");
    let mut a = vec!["run", "--quiet", "--backend", "cpu", "--set", "noise.amplitude=0", "--out", full.to_str().unwrap()];
    a.extend_from_slice(TINY);
    phasecast(&a);
    let mut b = vec!["run", "--quiet", "--backend", "cpu", "--set", "noise.amplitude=0", "--until-s", "0.03", "--out", part.to_str().unwrap()];
    b.extend_from_slice(TINY);
    phasecast(&b);
    let run: serde_json::Value = serde_json::from_slice(&std::fs::read(part.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["status"], "stopped");
    phasecast(&["run", "--quiet", "--backend", "cpu", "--resume", part.to_str().unwrap()]);
    let rf: serde_json::Value = serde_json::from_slice(&std::fs::read(full.join("run.json")).unwrap()).unwrap();
    let rp: serde_json::Value = serde_json::from_slice(&std::fs::read(part.join("run.json")).unwrap()).unwrap();
    assert_eq!(rp["status"], "completed");
    assert_eq!(rf["steps"], rp["steps"]);
    for name in ["phi_p", "phi_n"] {
        let x = npy_f32(&full.join(rf["final_fields"]["npy"][name].as_str().unwrap()));
        let y = npy_f32(&part.join(rp["final_fields"]["npy"][name].as_str().unwrap()));
        let d = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(d <= 1e-6, "{name}: resumed differs by {d}");
    }
    let ef = std::fs::read_to_string(full.join("energy.csv")).unwrap();
    let ep = std::fs::read_to_string(part.join("energy.csv")).unwrap();
    assert_eq!(ef.lines().count(), ep.lines().count());
}

#[test]
fn existing_run_folder_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut a = vec!["run", "--quiet", "--backend", "cpu", "--out", out.to_str().unwrap()];
    a.extend_from_slice(TINY);
    phasecast(&a);
    let o = Command::new(env!("CARGO_BIN_EXE_phasecast")).args(&a).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
}

#[test]
fn bad_scene_value_is_reported_with_key() {
    let o = Command::new(env!("CARGO_BIN_EXE_phasecast")).args(["run", "--backend", "cpu", "--set", "grid.nz=-4"]).output().unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("grid.nz") && e.contains("-4"), "{e}");
}

/// `analysis.refine = 2` reaches the run's own analysis: it measures φ_P on a grid
/// twice as fine (half the voxel, the same extent) and says so.
#[test]
fn run_analysis_honours_analysis_refine() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut args = vec!["run", "--quiet", "--backend", "cpu", "--out", out.to_str().unwrap(), "--set", "analysis.refine=2"];
    args.extend_from_slice(TINY);
    phasecast(&args);
    let rep: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("analysis.json")).unwrap()).unwrap();
    assert_eq!(rep["voxel_um"], 0.025);
    assert_eq!(rep["shape_zyx"], serde_json::json!([24, 32, 32]));
    assert_eq!(rep["segmentation"]["refine"], 2);
}
