//! A sweep of the quickstart over two keys (3 × 2 points) produces six run
//! folders, the summary files and the plots, and resumes after being killed
//! mid-way without redoing finished points. The kill is real: this test binary
//! re-runs itself as a child process that runs the sweep, and the parent kills
//! it once two points are complete.

use phasecast::run::BackendChoice;
use phasecast::sweep::cli::{self, SweepArgs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "PHASECAST_SWEEP_TEST_CHILD_OUT";

fn args(out: &Path) -> SweepArgs {
    SweepArgs {
        vary: vec!["initial.phi_p=0.22,0.25,0.28".into(), "noise.amplitude=0.001,0.003".into()],
        set: [
            "grid.nx=16",
            "grid.ny=16",
            "grid.nz=12",
            "stages.0.duration_s=0.03",
            "outputs.every_s=0.005",
            "time.reduce_every=50",
        ]
        .map(String::from)
        .to_vec(),
        out: Some(out.to_path_buf()),
        jobs: Some(1),
        backend: BackendChoice::Cpu,
        slurm_time: "01:00:00".into(),
        slurm_mem: "4G".into(),
        slurm_cpus: 2,
        ..Default::default()
    }
}

/// The child: runs the whole sweep (until the parent kills it).
#[test]
fn child_runs_sweep() {
    let Ok(out) = std::env::var(CHILD_ENV) else { return };
    cli::run(&args(Path::new(&out)), true).unwrap();
}

fn completed(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("points"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| std::fs::read_to_string(p.join("run.json")).is_ok_and(|t| t.contains("\"status\": \"completed\"")));
    v.sort();
    v
}

#[test]
fn sweep_3x2_survives_a_kill_and_resumes_without_redoing_points() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sw");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["child_runs_sweep", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while completed(&out).len() < 2 {
        assert!(t0.elapsed() < Duration::from_secs(120), "the child sweep completed fewer than 2 points in 120 s");
        assert!(child.try_wait().unwrap().is_none(), "the child sweep exited before it was killed");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = completed(&out);
    assert!(before.len() >= 2 && before.len() < 6, "killed mid-way: {} points were complete", before.len());
    let stamps: Vec<(PathBuf, std::time::SystemTime, String)> = before
        .iter()
        .map(|p| (p.clone(), std::fs::metadata(p.join("run.json")).unwrap().modified().unwrap(), std::fs::read_to_string(p.join("run.json")).unwrap()))
        .collect();
    assert!(!out.join("summary.csv").exists(), "the killed sweep never reached its summary");

    // Resume: the same command again, in this process.
    cli::run(&args(&out), true).unwrap();

    let after = completed(&out);
    assert_eq!(after.len(), 6, "six completed run folders");
    for (p, mtime, text) in &stamps {
        assert_eq!(std::fs::metadata(p.join("run.json")).unwrap().modified().unwrap(), *mtime, "{} was redone", p.display());
        assert_eq!(&std::fs::read_to_string(p.join("run.json")).unwrap(), text);
        let st: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p.join("sweep_point.json")).unwrap()).unwrap();
        assert_eq!(st["status"], "completed");
    }
    for p in &after {
        for f in ["analysis.json", "report.html", "section.png", "energy.csv"] {
            assert!(p.join(f).exists(), "{} lacks {f}", p.display());
        }
    }
    let names: Vec<String> = after.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names[0], "000_initial.phi_p-0.22_noise.amplitude-0.001");
    assert_eq!(names[5], "005_initial.phi_p-0.28_noise.amplitude-0.003");

    // Summary: six rows holding the varied values and the metrics of each analysis.json.
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 7, "{csv}");
    assert!(lines[0].starts_with("index,name,initial.phi_p,noise.amplitude,status,porosity,structure_class,dense_layer_depth_um"), "{}", lines[0]);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["completed"], 6);
    for (i, row) in json["rows"].as_array().unwrap().iter().enumerate() {
        let a: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join(row["dir"].as_str().unwrap()).join("analysis.json")).unwrap()).unwrap();
        assert_eq!(row["metrics"]["porosity"], a["porosity"], "row {i}");
        assert_eq!(row["metrics"]["structure_class"], a["structure"]["class"]);
        assert_eq!(row["values"]["initial.phi_p"], serde_json::json!([0.22, 0.25, 0.28][i / 2]));
        // The lab keys are absent on this branch: null, never invented.
        if a.get("porometry").is_none() {
            assert!(row["metrics"]["mean_flow_diameter_um"].is_null());
        }
    }
    // Plots: each numeric metric against each varied key.
    for f in ["porosity_vs_initial_phi_p.png", "porosity_vs_noise_amplitude.png", "dense_layer_depth_um_vs_initial_phi_p.png"] {
        let bytes = std::fs::read(out.join("plots").join(f)).unwrap_or_else(|_| panic!("plot {f}"));
        assert_eq!(&bytes[..4], b"\x89PNG");
    }
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains("points/000_initial.phi_p-0.22_noise.amplitude-0.001/report.html"));
    assert!(index.contains("data:image/png;base64,"));

    // A third run finds nothing to do.
    let t = Instant::now();
    cli::run(&args(&out), true).unwrap();
    assert_eq!(completed(&out).len(), 6);
    assert!(t.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_failing_point_is_recorded_and_the_others_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fail");
    let mut a = args(&out);
    // A mass tolerance below float round-off makes the first reduction fail.
    a.vary = vec!["time.mass_tolerance=1e-30,1e-3".into()];
    a.jobs = Some(2);
    let err = cli::run(&a, true).unwrap_err().to_string();
    assert!(err.contains("1 of 2 points failed"), "{err}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows[0]["status"], "failed");
    assert!(rows[0]["error"].as_str().unwrap().contains("mass drift"), "{}", rows[0]["error"]);
    assert_eq!(rows[1]["status"], "completed");
    assert!(rows[1]["metrics"]["porosity"].is_number());
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(csv.lines().nth(1).unwrap().contains("mass drift"));
}

#[test]
fn zip_pairs_values_and_unequal_lists_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = args(&tmp.path().join("z"));
    a.zip = true;
    a.emit = Some(cli::Emit::Slurm);
    // 3 and 2 values cannot be zipped: refused before anything is written.
    let err = format!("{:#}", cli::run(&a, true).unwrap_err());
    assert!(err.contains("--zip needs lists of equal length"), "{err}");
    assert!(!tmp.path().join("z").join("sweep.json").exists());
    a.vary = vec!["initial.phi_p=0.22,0.25".into(), "noise.amplitude=0.001,0.003".into()];
    cli::run(&a, true).unwrap();
    let m = phasecast::sweep::Manifest::read(&tmp.path().join("z")).unwrap();
    assert_eq!(m.points.len(), 2);
    assert_eq!(m.points[1].values, [("initial.phi_p".to_string(), "0.25".to_string()), ("noise.amplitude".to_string(), "0.003".to_string())]);
}
