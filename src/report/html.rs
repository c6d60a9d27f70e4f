//! HTML building for the reports: escaping, base64 data URIs, number
//! formatting and the two page layouts.

use crate::sweep::summary::{lookup, Summary, METRICS};
use serde_json::Value;
use std::fmt::Write;
use std::path::Path;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::with_capacity(data.len().div_ceil(3) * 4);
    for ch in data.chunks(3) {
        let b = [ch[0], *ch.get(1).unwrap_or(&0), *ch.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for (k, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if k <= ch.len() {
                o.push(A[(n >> shift & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

/// A number with four significant digits, in scientific notation when very
/// large or small.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        return format!("{x:.3e}");
    }
    let decimals = if a == 0.0 { 0 } else { (3 - a.log10().floor() as i32).max(0) as usize };
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

const NOT_MEASURED: &str = "<span class=\"nm\">not measured</span>";

const STYLE: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.v{text-align:right;font-variant-numeric:tabular-nums}.nm{color:#999;font-style:italic}
.figs{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0;flex:1 1 300px;max-width:520px}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.85em;color:#555}.missing{border:1px dashed #bbb;padding:2em;text-align:center}
.class{font-size:1.3em;font-weight:bold}.failed{color:#b00}.completed{color:#070}pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.85em}
.sub{color:#666}";

/// Marks images that decoded (naturalWidth > 0) on the body, for headless checks.
const IMG_CHECK: &str = "<script>window.addEventListener('load',function(){var ok=0,bad=0;document.querySelectorAll('img').forEach(function(i){if(i.complete&&i.naturalWidth>0)ok++;else bad++;});document.body.setAttribute('data-images-loaded',ok);document.body.setAttribute('data-images-broken',bad);});</script>";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"generator\" content=\"phasecast {}\"><title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}\n{IMG_CHECK}\n</body></html>\n",
        env!("CARGO_PKG_VERSION"),
        escape(title)
    )
}

/// An `<img>` with the PNG embedded, or a "not measured" box when the file is absent.
fn figure(dir: &Path, file: &str, caption: &str) -> String {
    match std::fs::read(dir.join(file)) {
        Ok(bytes) => format!(
            "<figure><img src=\"data:image/png;base64,{}\" alt=\"{}\" data-file=\"{}\"><figcaption>{}</figcaption></figure>\n",
            base64(&bytes),
            escape(caption),
            escape(file),
            escape(caption)
        ),
        Err(_) => format!("<figure><div class=\"missing\">{caption_e}: {NOT_MEASURED}</div><figcaption>{file_e} is not in this run folder</figcaption></figure>\n", caption_e = escape(caption), file_e = escape(file)),
    }
}

fn fmt_value(v: Option<&Value>, unit: &str) -> String {
    match v {
        None | Some(Value::Null) => NOT_MEASURED.into(),
        Some(Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if unit.is_empty() { num(x) } else { format!("{} {}", num(x), escape(unit)) }
        }
        Some(Value::String(s)) => escape(s),
        Some(Value::Bool(b)) => b.to_string(),
        Some(other) => escape(&other.to_string()),
    }
}

/// Rows of the metrics table: label, dotted path in analysis.json, unit.
const RUN_METRICS: &[(&str, &str, &str)] = &[
    ("porosity", "porosity", ""),
    ("through-pore fraction (of the pore volume)", "through_pore_fraction", ""),
    ("closed porosity", "closed_porosity", ""),
    ("specific surface area (BET-like)", "specific_surface_area.m2_per_g", "m²/g"),
    ("mean pore size (local thickness)", "local_thickness_um.pore.mean", "µm"),
    ("largest pore size (local thickness)", "local_thickness_um.pore.max", "µm"),
    ("mean polymer thickness", "local_thickness_um.polymer.mean", "µm"),
    ("dense-layer depth", "dense_layer.depth_um", "µm"),
    ("dense-layer pore size", "dense_layer.pore_size_um", "µm"),
    ("bubble-point pore size (ASTM F316)", "porometry.bubble_point_diameter_um", "µm"),
    ("mean-flow pore size (ASTM F316)", "porometry.mean_flow_diameter_um", "µm"),
    ("max/mean pore size ratio", "porometry.max_to_mean_ratio", ""),
    ("Darcy permeability", "permeability.darcy_m2", "m²"),
    ("water permeability", "permeability.water_l_per_m2_h_atm", "L/(m²·h·atm)"),
    ("flow tortuosity", "permeability.tortuosity", ""),
    ("SEM internal pore size", "sem.internal_pore_size_um", "µm"),
    ("SEM top-surface pore size", "sem.top_surface_pore_size_um", "µm"),
    ("SEM bottom-surface pore size", "sem.bottom_surface_pore_size_um", "µm"),
    ("Euler characteristic, pore", "euler_characteristic.pore", ""),
    ("Euler characteristic, polymer", "euler_characteristic.polymer", ""),
];

fn kv_table(rows: &[(String, String)]) -> String {
    let mut t = String::from("<table>\n");
    for (k, v) in rows {
        let _ = writeln!(t, "<tr><th>{}</th><td class=\"v\">{v}</td></tr>", escape(k));
    }
    t + "</table>\n"
}

/// The recipe as a table: composition, model, mobility and process stages.
fn recipe(scene: Option<&Value>) -> String {
    let Some(s) = scene else { return format!("<p>{NOT_MEASURED} (run.json holds no scene)</p>") };
    let g = |p: &str, unit: &str| fmt_value(lookup(s, p), unit);
    let mut rows: Vec<(String, String)> = Vec::new();
    if let (Some(p), Some(n)) = (lookup(s, "initial.phi_p").and_then(Value::as_f64), lookup(s, "initial.phi_n").and_then(Value::as_f64)) {
        rows.push(("casting solution (volume fractions)".into(), format!("polymer {} / non-solvent {} / solvent {}", num(p), num(n), num(1.0 - p - n))));
    }
    rows.push(("initial noise".into(), g("initial.noise", "")));
    rows.push(("model".into(), g("model.kind", "")));
    for (k, l) in [("model.n_polymer", "chain length N_P (sites)"), ("model.chi_ps", "χ polymer–solvent"), ("model.chi_pn", "χ polymer–non-solvent"), ("model.chi_sn", "χ solvent–non-solvent")] {
        if lookup(s, k).is_some() {
            rows.push((l.into(), g(k, "")));
        }
    }
    rows.push(("mobility".into(), g("mobility.model", "")));
    if let Some(v) = lookup(s, "mobility.vitrification_phi") {
        rows.push(("vitrification".into(), format!("× {} above φ_P ≈ {}", fmt_value(lookup(s, "mobility.vitrification_factor"), ""), fmt_value(Some(v), ""))));
    }
    rows.push(("thermal noise amplitude".into(), g("noise.amplitude", "")));
    if let (Some(nx), Some(ny), Some(nz), Some(vu)) = (
        lookup(s, "grid.nx").and_then(Value::as_f64),
        lookup(s, "grid.ny").and_then(Value::as_f64),
        lookup(s, "grid.nz").and_then(Value::as_f64),
        lookup(s, "grid.voxel_um").and_then(Value::as_f64),
    ) {
        rows.push(("grid".into(), format!("{nx} × {ny} × {nz} voxels of {} µm = {} × {} × {} µm", num(vu), num(nx * vu), num(ny * vu), num(nz * vu))));
    }
    if let Some(stages) = lookup(s, "stages").and_then(Value::as_array) {
        for (i, st) in stages.iter().enumerate() {
            let kind = st.get("kind").and_then(Value::as_str).unwrap_or("?");
            let dur = st.get("duration_s").and_then(Value::as_f64).map(|d| format!("{} s", num(d))).unwrap_or_default();
            let bc = match st.get("boundary").and_then(Value::as_array) {
                Some(faces) => crate::scene::FACE_KEYS.iter().zip(faces).map(|(f, b)| format!("{f} {}", b.as_str().unwrap_or("?"))).collect::<Vec<_>>().join(", "),
                None => String::new(),
            };
            rows.push((format!("stage {i}"), format!("{} {dur} <span class=\"sub\">{}</span>", escape(kind), escape(&bc))));
        }
    }
    kv_table(&rows)
}

/// The `report.html` page of one run folder.
pub fn run_page(dir: &Path, run: &Value, analysis: Option<&Value>, scene_text: Option<&str>) -> String {
    let name = lookup(run, "scene.name").and_then(Value::as_str).unwrap_or("run");
    let status = run.get("status").and_then(Value::as_str).unwrap_or("unknown");
    let mut b = String::new();
    let _ = writeln!(b, "<h1>{} <span class=\"sub\">— phasecast run report</span></h1>", escape(name));
    if let Some(d) = lookup(run, "scene.description").and_then(Value::as_str) {
        let _ = writeln!(b, "<p>{}</p>", escape(d));
    }
    let _ = writeln!(b, "<p>status: <b class=\"{0}\" id=\"status\">{0}</b>{1}</p>", escape(status), run.get("error").and_then(Value::as_str).map(|e| format!(" — <span class=\"failed\">{}</span>", escape(e))).unwrap_or_default());

    b += "<h2>Structure</h2>\n";
    match analysis.and_then(|a| lookup(a, "structure.class")).and_then(Value::as_str) {
        Some(class) => {
            let _ = writeln!(b, "<p>class: <span class=\"class\" id=\"structure-class\">{}</span></p>", escape(class));
            if let Some(reasons) = analysis.and_then(|a| lookup(a, "structure.reasons")).and_then(Value::as_array) {
                b += "<p>because:</p><ul id=\"reasons\">\n";
                for r in reasons.iter().filter_map(Value::as_str) {
                    let _ = writeln!(b, "<li>{}</li>", escape(r));
                }
                b += "</ul>\n";
            }
            if let Some(scores) = analysis.and_then(|a| lookup(a, "structure.scores")).and_then(Value::as_object) {
                let rows: Vec<(String, String)> = scores.iter().map(|(k, v)| (format!("score {k}"), fmt_value(Some(v), ""))).collect();
                b += &kv_table(&rows);
            }
        }
        None => {
            let _ = writeln!(b, "<p>class: {NOT_MEASURED} (no analysis.json in this run folder)</p>");
        }
    }

    b += "<h2>Metrics</h2>\n<table id=\"metrics\"><tr><th>figure</th><th>value</th></tr>\n";
    for (label, path, unit) in RUN_METRICS {
        let v = analysis.and_then(|a| lookup(a, path));
        let _ = writeln!(b, "<tr data-key=\"{}\"><th>{}</th><td class=\"v\">{}</td></tr>", escape(path), escape(label), fmt_value(v, unit));
    }
    b += "</table>\n";
    if let Some(m) = analysis.and_then(|a| lookup(a, "specific_surface_area.method")).and_then(Value::as_str) {
        let _ = writeln!(b, "<p class=\"sub\">surface area: {}</p>", escape(m));
    }

    b += "<h2>Sections and surfaces</h2>\n<div class=\"figs\">\n";
    b += &figure(dir, "sem_section.png", "Simulated SEM, cross-section");
    b += &figure(dir, "sem_top.png", "Simulated SEM, top (free) surface");
    b += &figure(dir, "sem_bottom.png", "Simulated SEM, bottom (substrate) surface");
    b += &figure(dir, "section.png", "Polymer fraction φ_P on the mid-plane section (free surface at the top)");
    b += "</div>\n<h2>Depth profile and pore sizes</h2>\n<div class=\"figs\">\n";
    b += &figure(dir, "depth_profile.png", "Porosity and pore size through the thickness");
    b += &figure(dir, "pore_size_distribution.png", "Pore and polymer size distributions (local thickness)");
    b += "</div>\n<h2>Porometry</h2>\n<div class=\"figs\">\n";
    b += &figure(dir, "porometry.png", "Capillary flow porometry: wet, dry and half-dry curves");
    b += "</div>\n";

    b += "<h2>Recipe</h2>\n";
    b += &recipe(run.get("scene"));
    if let Some(t) = scene_text {
        let _ = writeln!(b, "<details><summary>scene.toml as run</summary><pre>{}</pre></details>", escape(t));
    }

    b += "<h2>Run facts</h2>\n";
    let f = |k: &str, unit: &str| fmt_value(run.get(k), unit);
    let rows = vec![
        ("backend".to_string(), f("backend", "")),
        ("adapter".into(), f("adapter", "")),
        ("steps".into(), f("steps", "")),
        ("simulated time".into(), f("time_s", "s")),
        ("wall time".into(), f("wall_time_s", "s")),
        ("compute time (stepping)".into(), f("compute_time_s", "s")),
        ("voxels".into(), f("voxels", "")),
        ("voxel-updates/s".into(), f("voxel_updates_per_s", "")),
        ("scene file".into(), f("scene_file", "")),
        ("phasecast".into(), f("phasecast_version", "")),
        ("wgpu".into(), f("wgpu_version", "")),
        ("run folder".into(), escape(&dir.display().to_string())),
    ];
    b += &kv_table(&rows);
    page(&format!("{name} — phasecast report"), &b)
}

/// The `index.html` page of a sweep folder.
pub fn sweep_page(dir: &Path, scene_name: &str, s: &Summary) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>{} <span class=\"sub\">— phasecast sweep</span></h1>", escape(scene_name));
    let _ = writeln!(
        b,
        "<p>{} points ({}) over {}: <b id=\"completed\">{}</b> completed, <b class=\"failed\">{}</b> failed, {} not run. Data: <a href=\"summary.csv\">summary.csv</a>, <a href=\"summary.json\">summary.json</a>.</p>",
        s.points,
        if s.zip { "zipped" } else { "full factorial" },
        s.varied_keys.iter().map(|k| format!("<code>{}</code>", escape(k))).collect::<Vec<_>>().join(", "),
        s.completed,
        s.failed,
        s.pending
    );
    b += "<h2>Points</h2>\n<table id=\"points\"><tr><th>point</th>";
    for k in &s.varied_keys {
        let _ = write!(b, "<th>{}</th>", escape(k));
    }
    b += "<th>status</th>";
    for m in METRICS {
        let _ = write!(b, "<th>{}{}</th>", escape(m.label), if m.unit.is_empty() { String::new() } else { format!(" ({})", escape(m.unit)) });
    }
    b += "</tr>\n";
    for r in &s.rows {
        let report = format!("{}/report.html", r.dir);
        let link = if dir.join(&report).exists() { format!("<a href=\"{}\">{}</a>", escape(&report), escape(&r.name)) } else { escape(&r.name) };
        let _ = write!(b, "<tr><td>{link}</td>");
        for k in &s.varied_keys {
            let _ = write!(b, "<td class=\"v\">{}</td>", fmt_value(r.values.get(k), ""));
        }
        let err = r.error.as_ref().map(|e| format!("<br><span class=\"sub\">{}</span>", escape(e))).unwrap_or_default();
        let _ = write!(b, "<td class=\"{0}\">{0}{err}</td>", escape(&r.status));
        for m in METRICS {
            let _ = write!(b, "<td class=\"v\">{}</td>", fmt_value(r.metrics.get(m.column), ""));
        }
        b += "</tr>\n";
    }
    b += "</table>\n<h2>Metrics against the varied keys</h2>\n<div class=\"figs\">\n";
    if s.plots.is_empty() {
        let _ = writeln!(b, "<p>{NOT_MEASURED}: no point has a numeric metric yet.</p>");
    }
    for p in &s.plots {
        b += &figure(dir, p, p.trim_start_matches("plots/").trim_end_matches(".png"));
    }
    b += "</div>\n";
    let unmeasured: Vec<&str> = METRICS.iter().filter(|m| s.rows.iter().all(|r| r.metrics.get(m.column).is_none_or(Value::is_null))).map(|m| m.label).collect();
    if !unmeasured.is_empty() {
        let _ = writeln!(b, "<p class=\"sub\">not measured in any point: {}.</p>", escape(&unmeasured.join(", ")));
    }
    page(&format!("{scene_name} sweep — phasecast"), &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn numbers_and_escaping() {
        assert_eq!(num(0.475982), "0.476");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(2.5e-13), "2.500e-13");
        assert_eq!(num(0.0), "0");
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
