//! The run report and the sweep index render in headless Chromium (Debian's
//! `chromium`): every image decodes, nothing is fetched from elsewhere, and
//! the key figures are on the page. CI installs Chromium (`apt-get install -y
//! chromium`); `PHASECAST_CHROMIUM` names another binary.

use phasecast::run::{self, BackendChoice, RunOptions};
use std::path::Path;
use std::process::Command;

fn chromium() -> String {
    std::env::var("PHASECAST_CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

/// The DOM after load, as headless Chromium serializes it.
fn dump_dom(page: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| panic!("cannot start `{}` ({e}); install it with `apt-get install -y chromium` or set PHASECAST_CHROMIUM", chromium()));
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn attr(dom: &str, name: &str) -> usize {
    let key = format!("{name}=\"");
    let i = dom.find(&key).unwrap_or_else(|| panic!("no {name} on the page; the load check did not run"));
    dom[i + key.len()..].split('"').next().unwrap().parse().unwrap()
}

fn assert_self_contained(html: &str) {
    for bad in ["src=\"http", "href=\"http", "src=\"//", "url(http", "@import"] {
        assert!(!html.contains(bad), "external reference `{bad}`");
    }
    for src in html.split("<img ").skip(1) {
        assert!(src.starts_with("src=\"data:image/png;base64,"), "image not embedded: {}", &src[..60.min(src.len())]);
    }
}

fn tiny_overrides() -> Vec<String> {
    ["grid.nx=16", "grid.ny=16", "grid.nz=12", "stages.0.duration_s=0.02", "outputs.every_s=0.02"].map(String::from).to_vec()
}

#[test]
fn run_report_renders_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let cfg = phasecast::scene::load(None, &tiny_overrides()).unwrap();
    run::run(&cfg, &RunOptions { out_dir: dir.clone(), backend: BackendChoice::Cpu, adapter: None, quiet: true, until_s: None }).unwrap();
    let page = phasecast::report::write_run_report(&dir).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    assert_self_contained(&html);
    let analysis: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("analysis.json")).unwrap()).unwrap();
    let run_json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let imgs = html.matches("<img ").count();
    // section.png, depth_profile.png and pore_size_distribution.png are always there;
    // the lab's images when that stage wrote them.
    let lab = ["sem_section.png", "sem_top.png", "sem_bottom.png", "porometry.png"].iter().filter(|f| dir.join(f).exists()).count();
    assert_eq!(imgs, 3 + lab);

    let dom = dump_dom(&page);
    assert_eq!(attr(&dom, "data-images-loaded"), imgs, "every embedded image decodes");
    assert_eq!(attr(&dom, "data-images-broken"), 0);
    let class = analysis["structure"]["class"].as_str().unwrap();
    assert!(dom.contains(&format!("id=\"structure-class\">{class}<")), "class on the page");
    for r in analysis["structure"]["reasons"].as_array().unwrap() {
        let r = phasecast::report::escape(r.as_str().unwrap());
        assert!(dom.contains(&r), "reason `{r}` on the page");
    }
    let porosity = analysis["porosity"].as_f64().unwrap();
    assert!(dom.contains(&format!(">{}<", fmt4(porosity))), "porosity {porosity} on the page");
    let vups = run_json["voxel_updates_per_s"].as_f64().unwrap();
    assert!(dom.contains(&format!("{:.3e}", vups)) || dom.contains(&fmt4(vups)), "voxel-updates/s {vups} on the page");
    assert!(dom.contains("id=\"status\">completed<"));
    if analysis.get("porometry").is_none() {
        assert!(dom.contains("not measured"), "absent lab figures say so");
    }
}

/// Four significant digits, as the report writes them.
fn fmt4(x: f64) -> String {
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        return format!("{x:.3e}");
    }
    let d = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.d$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

#[test]
fn sweep_index_renders_in_headless_chromium() {
    use phasecast::sweep::cli::{self, SweepArgs};
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sw");
    let a = SweepArgs {
        vary: vec!["initial.phi_p=0.22,0.28".into()],
        set: tiny_overrides(),
        out: Some(out.clone()),
        jobs: Some(2),
        backend: BackendChoice::Cpu,
        slurm_time: String::new(),
        slurm_mem: String::new(),
        ..Default::default()
    };
    cli::run(&a, true).unwrap();
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert_self_contained(&html);
    let imgs = html.matches("<img ").count();
    assert!(imgs >= 3, "summary plots on the index ({imgs})");
    let dom = dump_dom(&out.join("index.html"));
    assert_eq!(attr(&dom, "data-images-loaded"), imgs);
    assert_eq!(attr(&dom, "data-images-broken"), 0);
    assert!(dom.contains("href=\"points/000_initial.phi_p-0.22/report.html\""));
    assert!(dom.contains("id=\"completed\">2<"));
}
