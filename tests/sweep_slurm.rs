//! `--emit slurm`: the job-array script passes `bash -n`, asks for one array
//! task per point with one GPU each, and task K runs point K; the per-task
//! command (`sweep point DIR K`) runs that point; `sweep gather` collects.

use clap::Parser;
use phasecast::run::BackendChoice;
use phasecast::sweep::cli::{self, SweepAction, SweepArgs};
use std::process::Command;

#[derive(Parser)]
struct Top {
    #[command(subcommand)]
    cmd: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    Sweep(SweepArgs),
}

fn parse(args: &[&str]) -> SweepArgs {
    let Sub::Sweep(a) = Top::try_parse_from(std::iter::once("phasecast").chain(args.iter().copied())).unwrap_or_else(|e| panic!("{e}")).cmd;
    a
}

#[test]
fn command_line_parses_sweep_gather_and_point() {
    let a = parse(&["sweep", "s.toml", "--vary", "initial.phi_p=0.2,0.3", "--vary", "noise.amplitude=1e-3,2e-3", "--zip", "--devices", "0,1", "--emit", "slurm"]);
    assert_eq!(a.scene.as_deref(), Some(std::path::Path::new("s.toml")));
    assert_eq!(a.vary.len(), 2);
    assert!(a.zip);
    assert_eq!(a.devices, [0, 1]);
    assert_eq!(cli::workers(&a).unwrap().len(), 2);
    let g = parse(&["sweep", "gather", "sweeps/x"]);
    assert!(matches!(g.action, Some(SweepAction::Gather { ref dir }) if dir.ends_with("sweeps/x")));
    let p = parse(&["sweep", "point", "sweeps/x", "3", "--backend", "cpu"]);
    assert!(matches!(p.action, Some(SweepAction::Point { index: 3, backend: BackendChoice::Cpu, .. })));
    assert!(Top::try_parse_from(["phasecast", "sweep", "s.toml"]).is_err(), "--vary is required for a sweep");
    let j = parse(&["sweep", "--vary", "a=1", "--backend", "cpu", "--jobs", "3"]);
    assert_eq!(cli::workers(&j).unwrap().len(), 3);
}

#[test]
fn emitted_array_script_is_valid_and_each_task_runs_its_point() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cluster sweep"); // a space, to exercise the quoting
    let d = dir.to_str().unwrap();
    let a = parse(&[
        "sweep", "--vary", "initial.phi_p=0.22,0.25,0.28", "--vary", "noise.amplitude=0.001,0.003",
        "--set", "grid.nx=12", "--set", "grid.ny=12", "--set", "grid.nz=8", "--set", "stages.0.duration_s=0.01", "--set", "outputs.every_s=0.01",
        "--out", d, "--emit", "slurm", "--slurm-time", "00:30:00", "--slurm-mem", "8G", "--slurm-cpus", "2", "--slurm-partition", "gpu",
        "--slurm-max-parallel", "4",
    ]);
    cli::run(&a, true).unwrap();
    let script = dir.join("sweep.sbatch");
    let text = std::fs::read_to_string(&script).unwrap();
    let st = Command::new("bash").arg("-n").arg(&script).status().unwrap();
    assert!(st.success(), "bash -n failed on\n{text}");
    for line in ["#SBATCH --array=0-5%4", "#SBATCH --gres=gpu:1", "#SBATCH --time=00:30:00", "#SBATCH --mem=8G", "#SBATCH --cpus-per-task=2", "#SBATCH --partition=gpu"] {
        assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
    }
    assert!(text.contains("sweep gather"), "the gather command is in the header");
    // Nothing ran: emitting only writes the job.
    assert_eq!(std::fs::read_dir(dir.join("points")).unwrap().count(), 0);
    let tsv = std::fs::read_to_string(dir.join("points.tsv")).unwrap();
    assert_eq!(tsv.lines().filter(|l| !l.starts_with('#')).count(), 6);
    assert!(tsv.contains("4\tpoints/004_initial.phi_p-0.28_noise.amplitude-0.001\tinitial.phi_p=0.28 noise.amplitude=0.001"), "{tsv}");

    // Per-task commands: run the script as Slurm would, with `echo` as phasecast.
    for k in 0..6 {
        let out = Command::new("bash").arg(&script).env("SLURM_ARRAY_TASK_ID", k.to_string()).env("PHASECAST", "echo").output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("sweep point {d} {k} --backend gpu"));
    }
    let out = Command::new("bash").arg(&script).env_remove("SLURM_ARRAY_TASK_ID").env("PHASECAST", "echo").output().unwrap();
    assert!(!out.status.success(), "outside Slurm the script refuses to guess a task");

    // What task 4 runs (on the CPU here), then gather.
    cli::run(&parse(&["sweep", "point", d, "4", "--backend", "cpu"]), true).unwrap();
    assert!(dir.join("points/004_initial.phi_p-0.28_noise.amplitude-0.001/report.html").exists());
    assert!(cli::run(&parse(&["sweep", "point", d, "6"]), true).is_err(), "there is no point 6");
    cli::run(&parse(&["sweep", "gather", d]), true).unwrap();
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["completed"], 1);
    assert_eq!(s["pending"], 5);
    assert_eq!(s["rows"][4]["status"], "completed");
    assert_eq!(s["rows"][0]["status"], "pending");
}

#[test]
fn a_point_that_cannot_start_is_recorded_with_its_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nodev");
    let d = dir.to_str().unwrap();
    cli::run(&parse(&["sweep", "--vary", "initial.phi_p=0.22,0.25", "--set", "grid.nx=12", "--set", "grid.ny=12", "--set", "grid.nz=8", "--out", d, "--emit", "slurm"]), true).unwrap();
    // No adapter has this name: the point fails before its run folder exists.
    let err = cli::run(&parse(&["sweep", "point", d, "1", "--backend", "gpu", "--adapter", "no-such-adapter-xyz"]), true).unwrap_err();
    assert!(format!("{err:#}").contains("no-such-adapter-xyz"), "{err:#}");
    cli::run(&parse(&["sweep", "gather", d]), true).unwrap();
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["rows"][1]["status"], "failed");
    assert!(s["rows"][1]["error"].as_str().unwrap().contains("no-such-adapter-xyz"));
    assert_eq!(s["failed"], 1);
}
