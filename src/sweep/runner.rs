//! Runs the points of a sweep: concurrently on a list of GPU adapters or on N
//! CPU workers, skipping points already complete, continuing points a killed
//! sweep left with a checkpoint, and recording a failing point's error in its
//! folder without stopping the others.

use super::{Manifest, Point, POINT_STATUS};
use crate::gpu::{engine::GpuSolver, GpuContext};
use crate::run::{self, BackendChoice, RunOptions, Status};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Where one worker runs its points.
#[derive(Clone, Debug)]
pub enum Worker {
    /// The CPU twins (each point uses the shared rayon pool).
    Cpu,
    /// The wgpu adapter at this position in [`crate::gpu::adapters`] (best first).
    GpuIndex(usize),
    /// `--backend`/`--adapter` as `phasecast run` takes them.
    Choice(BackendChoice, Option<String>),
}

impl Worker {
    pub fn describe(&self) -> String {
        match self {
            Worker::Cpu => "cpu".into(),
            Worker::GpuIndex(i) => format!("gpu adapter #{i}"),
            Worker::Choice(b, a) => format!("{b:?}{}", a.as_ref().map(|a| format!(" adapter '{a}'")).unwrap_or_default()).to_lowercase(),
        }
    }
}

/// What happened to a point, as written to `points/<name>/sweep_point.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PointStatus {
    pub index: usize,
    pub name: String,
    /// `completed`, `failed` or `stopped`.
    pub status: String,
    pub error: Option<String>,
    /// Where it ran (worker description).
    pub worker: String,
    /// Seconds this process spent on the point (0 when skipped as complete).
    pub wall_s: f64,
    /// True when a checkpoint left by an earlier, killed sweep was continued.
    pub resumed: bool,
}

/// The state a point folder is in before running it.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// No folder, or nothing worth keeping in it.
    Fresh,
    /// `run.json` says completed: skip.
    Completed,
    /// A checkpoint from an interrupted run: continue it.
    Resumable,
    /// Failed earlier, or left without a checkpoint: start again from scratch.
    Restart,
}

/// Reads a point folder's state from its `run.json` and checkpoint.
pub fn inspect(dir: &Path) -> Found {
    if !dir.exists() {
        return Found::Fresh;
    }
    let status = std::fs::read_to_string(dir.join("run.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(str::to_owned));
    match status.as_deref() {
        Some("completed") => Found::Completed,
        Some("failed") => Found::Restart,
        // A failure before the run could write run.json (e.g. an unreadable
        // checkpoint): resuming would fail the same way, so start afresh.
        _ if read_status(dir).is_some_and(|s| s.status == "failed") => Found::Restart,
        _ if dir.join("checkpoint.bin").exists() && dir.join("scene.toml").exists() => Found::Resumable,
        _ => Found::Restart,
    }
}

/// Runs one point into its folder (skipping, resuming or restarting as
/// [`inspect`] says), writes its report and its `sweep_point.json`.
/// A failure is returned inside the status, never as `Err`, so callers go on.
pub fn run_point(sweep_dir: &Path, m: &Manifest, scene_text: &str, p: &Point, worker: &Worker) -> PointStatus {
    let dir = m.point_dir(sweep_dir, p);
    let t0 = Instant::now();
    let found = inspect(&dir);
    let resumed = found == Found::Resumable;
    let result = match found {
        Found::Completed => {
            // An older sweep may have stopped between the run and its report.
            if !dir.join("report.html").exists() {
                let _ = crate::report::write_run_report(&dir);
            }
            if let Some(st) = read_status(&dir).filter(|s| s.status == "completed") {
                return st;
            }
            // Killed between the run's end and this record: record it now.
            let st = PointStatus { index: p.index, name: p.name.clone(), status: "completed".into(), error: None, worker: "completed by an earlier, interrupted sweep".into(), wall_s: 0.0, resumed: false };
            if let Err(e) = write_status(&dir, &st) {
                log::warn!("point {}: {e:#}", p.name);
            }
            return st;
        }
        _ => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute(&dir, m, scene_text, p, worker, found)))
            .unwrap_or_else(|panic| Err(anyhow!("the point panicked: {}", panic_text(&panic)))),
    };
    let (status, error) = match result {
        Ok(Status::Completed) => {
            let report = crate::report::write_run_report(&dir).err().map(|e| format!("the run completed but its report failed: {e:#}"));
            ("completed", report)
        }
        Ok(Status::Stopped) => ("stopped", None),
        Err(e) => ("failed", Some(format!("{e:#}"))),
    };
    let st = PointStatus { index: p.index, name: p.name.clone(), status: status.into(), error, worker: worker.describe(), wall_s: t0.elapsed().as_secs_f64(), resumed };
    // Also for a failure before the run made its folder (no adapter, say), so
    // the error is on record; the next sweep clears such a folder and retries.
    if let Err(e) = std::fs::create_dir_all(&dir).map_err(anyhow::Error::from).and_then(|_| write_status(&dir, &st)) {
        log::warn!("point {}: {e:#}", p.name);
    }
    st
}

fn execute(dir: &Path, m: &Manifest, scene_text: &str, p: &Point, worker: &Worker, found: Found) -> Result<Status> {
    let (backend, adapter) = match worker {
        Worker::Cpu => (BackendChoice::Cpu, None),
        Worker::GpuIndex(i) => (BackendChoice::Gpu, Some(adapter_name(*i)?)),
        Worker::Choice(b, a) => (*b, a.clone()),
    };
    let opts = RunOptions { out_dir: dir.to_path_buf(), backend, adapter, quiet: true, until_s: None };
    if found == Found::Resumable {
        // Continuing on the adapter of the same name; identical twin GPUs
        // cannot be told apart by name, which only matters for speed here.
        return Ok(run::resume(dir, &opts, &[])?.status);
    }
    if found == Found::Restart {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing the unfinished point folder {}", dir.display()))?;
    }
    let cfg = crate::scene::load_str(&m.scene_source, scene_text, &p.overrides(&m.base_overrides))?;
    let outcome = match worker {
        Worker::GpuIndex(i) => {
            let ctx = context_at(*i)?;
            let params = cfg.params(&cfg.stages[0]);
            run::run_with_backend(&cfg, &opts, Box::new(GpuSolver::new(ctx, &params)?))?
        }
        _ => run::run(&cfg, &opts)?,
    };
    Ok(outcome.status)
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "(no message)".into())
}

fn adapter_name(i: usize) -> Result<String> {
    let list = crate::gpu::adapters();
    let n = list.len();
    list.get(i).map(|a| a.get_info().name).ok_or_else(|| anyhow!("--devices {i}: there are {n} adapters (0 to {}); see `phasecast info`", n.saturating_sub(1)))
}

/// A device on the adapter at position `i`, with the adapter's own limits as
/// [`GpuContext::new`] requests them; by position, so that two identical GPUs
/// (same name) each get their own worker.
fn context_at(i: usize) -> Result<GpuContext> {
    let list = crate::gpu::adapters();
    let n = list.len();
    let adapter = list.into_iter().nth(i).ok_or_else(|| anyhow!("--devices {i}: there are {n} adapters; see `phasecast info`"))?;
let name = adapter.get_info().name;
    GpuContext::from_adapter(adapter).with_context(|| format!("opening a device on adapter #{i} ({name})"))
}

pub fn read_status(dir: &Path) -> Option<PointStatus> {
    serde_json::from_str(&std::fs::read_to_string(dir.join(POINT_STATUS)).ok()?).ok()
}

fn write_status(dir: &Path, st: &PointStatus) -> Result<()> {
    crate::util::atomic_write(&dir.join(POINT_STATUS), serde_json::to_string_pretty(st)?.as_bytes())?;
    Ok(())
}

/// Runs every point of the sweep in `sweep_dir` on the workers, each worker
/// taking the next unrun point. Returns the statuses in point order.
pub fn run_all(sweep_dir: &Path, workers: &[Worker], quiet: bool) -> Result<Vec<PointStatus>> {
    if workers.is_empty() {
        bail!("no workers: give --jobs N (N ≥ 1) or --devices");
    }
    let m = Manifest::read(sweep_dir)?;
    let scene_text = std::fs::read_to_string(sweep_dir.join(super::BASE_SCENE)).with_context(|| format!("reading {}", sweep_dir.join(super::BASE_SCENE).display()))?;
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<PointStatus>>> = Mutex::new(vec![None; m.points.len()]);
    let total = m.points.len();
    std::thread::scope(|s| {
        for w in workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(p) = m.points.get(i) else { break };
                let st = run_point(sweep_dir, &m, &scene_text, p, w);
                let k = done.fetch_add(1, Ordering::SeqCst) + 1;
                if !quiet || st.status != "completed" {
                    let how = match (&st.error, st.wall_s == 0.0, st.resumed) {
                        (Some(e), _, _) => format!("{}: {e}", st.status),
                        (None, true, _) => "already complete, skipped".into(),
                        (None, false, true) => format!("{} (resumed) in {:.1} s on {}", st.status, st.wall_s, st.worker),
                        (None, false, false) => format!("{} in {:.1} s on {}", st.status, st.wall_s, st.worker),
                    };
                    log::info!("[{k}/{total}] point {}: {how}", p.name);
                }
                results.lock().expect("no worker panics while holding the lock")[i] = Some(st);
            });
        }
    });
    Ok(results.into_inner().expect("workers joined").into_iter().map(|s| s.expect("every point ran")).collect())
}
