//! Gathering a sweep: one row per point with its varied values, status and the
//! key metrics from its `analysis.json`, written as `summary.csv` and
//! `summary.json`, and one PNG per numeric metric and varied key under `plots/`.
//!
//! Metrics the point's analysis did not measure (the lab's porometry,
//! permeability and SEM keys before that stage exists, or a failed point) are
//! left empty in the CSV and `null` in the JSON; nothing is filled in.

use super::{runner, Manifest};
use anyhow::{Context, Result};
use plotters::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A metric: column name, where it sits in `analysis.json` (dotted path), unit, label.
pub struct Metric {
    pub column: &'static str,
    pub path: &'static str,
    pub unit: &'static str,
    pub label: &'static str,
}

/// The metrics a summary holds, in column order.
pub const METRICS: &[Metric] = &[
    Metric { column: "porosity", path: "porosity", unit: "", label: "porosity" },
    Metric { column: "structure_class", path: "structure.class", unit: "", label: "structure class" },
    Metric { column: "dense_layer_depth_um", path: "dense_layer.depth_um", unit: "µm", label: "dense-layer depth" },
    Metric { column: "pore_size_mean_um", path: "local_thickness_um.pore.mean", unit: "µm", label: "mean pore size (local thickness)" },
    Metric { column: "specific_surface_m2_per_g", path: "specific_surface_area.m2_per_g", unit: "m²/g", label: "specific surface area" },
    Metric { column: "mean_flow_diameter_um", path: "porometry.mean_flow_diameter_um", unit: "µm", label: "mean-flow pore size" },
    Metric { column: "bubble_point_diameter_um", path: "porometry.bubble_point_diameter_um", unit: "µm", label: "bubble-point pore size" },
    Metric { column: "max_to_mean_ratio", path: "porometry.max_to_mean_ratio", unit: "", label: "max/mean pore size" },
    Metric { column: "darcy_m2", path: "permeability.darcy_m2", unit: "m²", label: "Darcy permeability" },
    Metric { column: "water_l_per_m2_h_atm", path: "permeability.water_l_per_m2_h_atm", unit: "L/(m²·h·atm)", label: "water permeability" },
    Metric { column: "sem_internal_pore_size_um", path: "sem.internal_pore_size_um", unit: "µm", label: "SEM internal pore size" },
    Metric { column: "sem_top_surface_pore_size_um", path: "sem.top_surface_pore_size_um", unit: "µm", label: "SEM top-surface pore size" },
    Metric { column: "sem_bottom_surface_pore_size_um", path: "sem.bottom_surface_pore_size_um", unit: "µm", label: "SEM bottom-surface pore size" },
];

/// Looks up a dotted path in a JSON document.
pub fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, k| v.get(k)).filter(|v| !v.is_null())
}

/// One point's row.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub index: usize,
    pub name: String,
    /// Folder relative to the sweep folder.
    pub dir: String,
    pub status: String,
    pub error: Option<String>,
    /// Varied key → value as given.
    pub values: serde_json::Map<String, Value>,
    /// Metric column → value, `null` where not measured.
    pub metrics: serde_json::Map<String, Value>,
    pub wall_time_s: Option<f64>,
    pub voxel_updates_per_s: Option<f64>,
    pub adapter: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub varied_keys: Vec<String>,
    pub zip: bool,
    pub points: usize,
    pub completed: usize,
    pub failed: usize,
    pub pending: usize,
    pub rows: Vec<Row>,
    /// Plot files relative to the sweep folder.
    pub plots: Vec<String>,
}

fn read_json(p: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
}

/// A varied value as JSON: a number when it parses as one, else the text.
fn value_json(v: &str) -> Value {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => serde_json::json!(x),
        _ => Value::String(v.trim_matches('"').to_string()),
    }
}

/// Collects the rows of the sweep in `dir` from its point folders.
pub fn collect(dir: &Path) -> Result<Summary> {
    let m = Manifest::read(dir)?;
    let mut rows = Vec::new();
    for p in &m.points {
        let pd = m.point_dir(dir, p);
        let run = read_json(&pd.join("run.json"));
        let analysis = read_json(&pd.join("analysis.json"));
        let recorded = runner::read_status(&pd);
        let run_status = run.as_ref().and_then(|r| r.get("status")).and_then(Value::as_str).map(str::to_owned);
        // run.json is the run's own word; sweep_point.json adds failures that
        // happened before a run.json could be written (bad scene, no adapter).
        let status = match (&run_status, &recorded) {
            (Some(s), _) if s == "completed" => "completed".to_string(),
            (_, Some(r)) => r.status.clone(),
            (Some(s), None) => s.clone(),
            (None, None) if pd.exists() => "incomplete".into(),
            (None, None) => "pending".into(),
        };
        let error = recorded
            .as_ref()
            .and_then(|r| r.error.clone())
            .or_else(|| run.as_ref().and_then(|r| r.get("error")).and_then(Value::as_str).map(str::to_owned));
        let values = p.values.iter().map(|(k, v)| (k.clone(), value_json(v))).collect();
        let metrics = METRICS
            .iter()
            .map(|mt| (mt.column.to_string(), analysis.as_ref().and_then(|a| lookup(a, mt.path)).cloned().unwrap_or(Value::Null)))
            .collect();
        let num = |k: &str| run.as_ref().and_then(|r| r.get(k)).and_then(Value::as_f64);
        rows.push(Row {
            index: p.index,
            name: p.name.clone(),
            dir: format!("{}/{}", super::POINTS_DIR, p.name),
            status,
            error,
            values,
            metrics,
            wall_time_s: num("wall_time_s"),
            voxel_updates_per_s: num("voxel_updates_per_s"),
            adapter: run.as_ref().and_then(|r| r.get("adapter")).and_then(Value::as_str).map(str::to_owned),
        });
    }
    let count = |s: &str| rows.iter().filter(|r| r.status == s).count();
    let (completed, failed) = (count("completed"), count("failed"));
    Ok(Summary {
        varied_keys: m.varies.iter().map(|v| v.key.clone()).collect(),
        zip: m.zip,
        points: rows.len(),
        completed,
        failed,
        pending: rows.len() - completed - failed,
        rows,
        plots: Vec::new(),
    })
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The CSV text: point, varied keys, status, metrics, run facts, error.
pub fn to_csv(s: &Summary) -> String {
    let mut head: Vec<String> = vec!["index".into(), "name".into()];
    head.extend(s.varied_keys.iter().cloned());
    head.push("status".into());
    head.extend(METRICS.iter().map(|m| m.column.to_string()));
    head.extend(["wall_time_s", "voxel_updates_per_s", "error"].map(String::from));
    let mut out = head.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(",") + "\n";
    for r in &s.rows {
        let mut f = vec![r.index.to_string(), r.name.clone()];
        f.extend(s.varied_keys.iter().map(|k| r.values.get(k).map(cell).unwrap_or_default()));
        f.push(r.status.clone());
        f.extend(METRICS.iter().map(|m| r.metrics.get(m.column).map(cell).unwrap_or_default()));
        f.push(r.wall_time_s.map(|v| v.to_string()).unwrap_or_default());
        f.push(r.voxel_updates_per_s.map(|v| v.to_string()).unwrap_or_default());
        f.push(r.error.clone().unwrap_or_default());
        out += &(f.iter().map(|x| csv_field(x)).collect::<Vec<_>>().join(",") + "\n");
    }
    out
}

/// Gathers the sweep in `dir`: writes `summary.csv`, `summary.json`, the plots
/// and `index.html`; returns the summary.
pub fn gather(dir: &Path) -> Result<Summary> {
    let mut s = collect(dir)?;
    let plots_dir = dir.join("plots");
    std::fs::create_dir_all(&plots_dir).with_context(|| format!("creating {}", plots_dir.display()))?;
    let written = write_plots(&s, &plots_dir)?;
    // Plots of an earlier gather that this one did not redraw are stale.
    for e in std::fs::read_dir(&plots_dir)?.filter_map(|e| e.ok()) {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "png") && !written.contains(&p) {
            let _ = std::fs::remove_file(&p);
        }
    }
    s.plots = written.into_iter().map(|p| format!("plots/{}", p.file_name().expect("file").to_string_lossy())).collect();
    crate::util::atomic_write(&dir.join("summary.csv"), to_csv(&s).as_bytes())?;
    crate::util::atomic_write(&dir.join("summary.json"), serde_json::to_string_pretty(&s)?.as_bytes())?;
    crate::report::write_sweep_index(dir)?;
    Ok(s)
}

/// The x position of a varied value: the number itself when every value of
/// the key is numeric, else its position in the `--vary` list.
fn x_positions(s: &Summary, key: &str) -> (Vec<f64>, Option<Vec<String>>) {
    let vals: Vec<&Value> = s.rows.iter().map(|r| r.values.get(key).unwrap_or(&Value::Null)).collect();
    if vals.iter().all(|v| v.is_number()) {
        return (vals.iter().map(|v| v.as_f64().expect("number")).collect(), None);
    }
    let mut cats: Vec<String> = Vec::new();
    let xs = vals
        .iter()
        .map(|v| {
            let c = cell(v);
            let i = cats.iter().position(|x| *x == c).unwrap_or_else(|| {
                cats.push(c);
                cats.len() - 1
            });
            i as f64
        })
        .collect();
    (xs, Some(cats))
}

/// One PNG per numeric metric (with at least one measured value) and varied
/// key; the other keys' combinations are separate series.
pub fn write_plots(s: &Summary, dir: &Path) -> Result<Vec<PathBuf>> {
    let _ = crate::util::register_plot_font();
    let mut out = Vec::new();
    for mt in METRICS {
        let ys: Vec<Option<f64>> = s.rows.iter().map(|r| if r.status == "completed" { r.metrics.get(mt.column).and_then(Value::as_f64) } else { None }).collect();
        if ys.iter().all(Option::is_none) {
            continue;
        }
        for key in &s.varied_keys {
            let (xs, cats) = x_positions(s, key);
            let others: Vec<&String> = s.varied_keys.iter().filter(|k| *k != key).collect();
            let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
            for (i, r) in s.rows.iter().enumerate() {
                let Some(y) = ys[i] else { continue };
                let label = others.iter().map(|k| format!("{k} = {}", r.values.get(*k).map(cell).unwrap_or_default())).collect::<Vec<_>>().join(", ");
                match series.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, pts)) => pts.push((xs[i], y)),
                    None => series.push((label, vec![(xs[i], y)])),
                }
            }
            for (_, pts) in &mut series {
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            let file = dir.join(format!("{}_vs_{}.png", mt.column, key.replace('.', "_")));
            plot_one(&file, mt, key, &series, cats.as_deref()).with_context(|| format!("plotting {}", file.display()))?;
            out.push(file);
        }
    }
    Ok(out)
}

fn plot_one(file: &Path, mt: &Metric, key: &str, series: &[(String, Vec<(f64, f64)>)], cats: Option<&[String]>) -> Result<()> {
    let all: Vec<(f64, f64)> = series.iter().flat_map(|(_, p)| p.iter().copied()).collect();
    let pad = |lo: f64, hi: f64| {
        let d = if hi > lo { (hi - lo) * 0.08 } else { lo.abs().max(1e-12) * 0.1 };
        (lo - d, hi + d)
    };
    let (x0, x1) = pad(all.iter().map(|p| p.0).fold(f64::INFINITY, f64::min), all.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max));
    let (y0, y1) = pad(all.iter().map(|p| p.1).fold(f64::INFINITY, f64::min), all.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max));
    let ylabel = if mt.unit.is_empty() { mt.label.to_string() } else { format!("{} ({})", mt.label, mt.unit) };
    // plotters' bitmap backend writes the file itself; render to memory and
    // write it whole so a killed gather never leaves half a PNG.
    let (w, h) = (720u32, 480u32);
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{} vs {key}", mt.label), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let cat_fmt = |x: &f64| {
            let i = x.round();
            match cats {
                Some(c) if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < c.len() => c[i as usize].clone(),
                Some(_) => String::new(),
                None => format!("{x:.3}"),
            }
        };
        chart.configure_mesh().x_desc(key).y_desc(ylabel).x_label_formatter(&cat_fmt).label_style(("sans-serif", 13)).draw()?;
        for (k, (label, pts)) in series.iter().enumerate() {
            let color = Palette99::pick(k).to_rgba();
            chart.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?;
            let drawn = chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
            if !label.is_empty() {
                drawn.label(label.clone()).legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
            }
        }
        if series.iter().any(|(l, _)| !l.is_empty()) {
            // The legend goes in the corner with the fewest points.
            let corner = |p: &(f64, f64)| ((p.0 - x0) / (x1 - x0) > 0.5, (p.1 - y0) / (y1 - y0) > 0.5);
            let pos = [(true, true, SeriesLabelPosition::UpperRight), (false, true, SeriesLabelPosition::UpperLeft), (true, false, SeriesLabelPosition::LowerRight), (false, false, SeriesLabelPosition::LowerLeft)]
                .into_iter()
                .min_by_key(|(r, u, _)| all.iter().filter(|p| corner(p) == (*r, *u)).count())
                .map(|(_, _, pos)| pos)
                .expect("four corners");
            chart.configure_series_labels().position(pos).background_style(WHITE.mix(0.85)).border_style(BLACK).label_font(("sans-serif", 13)).draw()?;
        }
        root.present()?;
    }
    let img = image::RgbImage::from_raw(w, h, buf).context("plot buffer size")?;
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    crate::util::atomic_write(file, &png)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_csv_quoting() {
        let d = serde_json::json!({"a": {"b": 1.5, "n": null}});
        assert_eq!(lookup(&d, "a.b"), Some(&serde_json::json!(1.5)));
        assert_eq!(lookup(&d, "a.n"), None);
        assert_eq!(lookup(&d, "a.c"), None);
        assert_eq!(csv_field("x,y"), "\"x,y\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(value_json("0.25"), serde_json::json!(0.25));
        assert_eq!(value_json("\"no_flux\""), serde_json::json!("no_flux"));
    }
}
