//! Reports: a self-contained `report.html` per run folder and an `index.html`
//! per sweep folder.
//!
//! A run report shows what a membrane maker looks at after a trial: the recipe,
//! the simulated SEM section and surfaces, the depth profile, the porometry
//! curves, the metrics table, the structure class with the reasons the
//! classifier gave, and the run facts (adapter, time, voxel-updates/s). It
//! reads only files in the run folder; images are embedded as base64 data URIs
//! and nothing is fetched from elsewhere, so the file can be mailed or
//! archived alone. What the folder does not hold (the lab's porometry,
//! permeability and SEM before that stage exists) is shown as "not measured".

mod html;

pub use html::{base64, escape};

use anyhow::{Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn read_json(p: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
}

/// Writes `dir/report.html` from the run folder `dir`; returns its path.
/// Needs `run.json`; everything else is optional.
pub fn write_run_report(dir: &Path) -> Result<PathBuf> {
    let run_path = dir.join("run.json");
    let run: Value = serde_json::from_str(&std::fs::read_to_string(&run_path).with_context(|| format!("reading {} (is {} a run folder?)", run_path.display(), dir.display()))?)
        .with_context(|| format!("parsing {}", run_path.display()))?;
    let analysis = read_json(&dir.join("analysis.json"));
    let scene_text = std::fs::read_to_string(dir.join("scene.toml")).ok();
    let page = html::run_page(dir, &run, analysis.as_ref(), scene_text.as_deref());
    let out = dir.join("report.html");
    crate::util::atomic_write(&out, page.as_bytes())?;
    Ok(out)
}

/// Writes `dir/index.html` for the sweep folder `dir` from its manifest, point
/// folders and plots (gathering the summary afresh); returns its path.
pub fn write_sweep_index(dir: &Path) -> Result<PathBuf> {
    let mut s = crate::sweep::summary::collect(dir)?;
    // Plots present on disk, in the order gather writes them.
    let mut plots: Vec<String> = std::fs::read_dir(dir.join("plots"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with(".png")).collect())
        .unwrap_or_default();
    plots.sort();
    s.plots = plots.into_iter().map(|p| format!("plots/{p}")).collect();
    let scene_name = std::fs::read_to_string(dir.join(crate::sweep::BASE_SCENE))
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
        .and_then(|t| t.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "sweep".into());
    let page = html::sweep_page(dir, &scene_name, &s);
    let out = dir.join("index.html");
    crate::util::atomic_write(&out, page.as_bytes())?;
    Ok(out)
}
