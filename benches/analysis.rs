//! Analysis benchmarks.
//!
//! - `cargo bench --bench analysis`: criterion timings of each step on a 64³
//!   Gaussian-random-field membrane (small, for CI).
//! - `PHASECAST_BENCH_FULL=256 cargo bench --bench analysis`: one `analyze` on a 256³
//!   volume with per-step times and the peak memory in bytes per voxel (the figures
//!   in docs/benchmarks.md).
//! - `PHASECAST_CROSSCHECK=DIR cargo bench --bench analysis`: for every `*.npy`
//!   (segmented, 1 = pore) in DIR writes `<stem>.edt.npy`, `<stem>.lt.npy`,
//!   `<stem>.skel.npy`, `<stem>.analysis.json` and per-step times, for
//!   `benches/crosscheck_porespy.py`.

use std::time::Instant;

use criterion::Criterion;
use phasecast::analysis::{self, synthetic, AnalysisOptions};
use phasecast::volume::{Volume, PORE};
use phasecast::volume_io::{read_npy, write_npy};

fn membrane(n: usize, sigma: f64) -> Volume<u8> {
    synthetic::level_set(&synthetic::gaussian_random_field([n, n, n], sigma, 11), 0.5)
}

fn small(c: &mut Criterion) {
    let v = membrane(64, 3.0);
    let mut g = c.benchmark_group("analysis_64");
    g.sample_size(10);
    g.bench_function("edt", |b| b.iter(|| analysis::distance::edt(&v, PORE, true)));
    g.bench_function("local_thickness", |b| b.iter(|| analysis::thickness::local_thickness(&v, PORE, true)));
    g.bench_function("skeleton", |b| b.iter(|| analysis::skeleton::skeletonize(&v, PORE, true)));
    g.bench_function("surface", |b| b.iter(|| analysis::surface::interface_area(&v, PORE, true)));
    g.bench_function("analyze", |b| b.iter(|| analysis::analyze(&v, &AnalysisOptions { periodic_xy: true, ..Default::default() }).unwrap()));
    g.finish();
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// CPU seconds (user + system) used by this process so far.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is 14th, stime 15th.
    let rest = stat.rsplit_once(')').map(|r| r.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    tick(11) + tick(12)
}

fn full(n: usize) {
    let t = Instant::now();
    let v = membrane(n, 4.0);
    eprintln!("generated {n}³ GRF membrane in {:.1} s", t.elapsed().as_secs_f64());
    // Reset the peak-RSS counter so it covers the analysis only.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let base = status_kb("VmRSS:");
    let t = Instant::now();
    let c0 = cpu_s();
    let r = analysis::analyze(&v, &AnalysisOptions { periodic_xy: true, ..Default::default() }).unwrap();
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu_s() - c0;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let peak = status_kb("VmHWM:");
    let voxels = (n * n * n) as f64;
    println!(
        "analyze {n}³: {wall:.2} s wall, {cpu:.2} s CPU (user+sys) on {} threads; load average before/after: {}",
        rayon::current_num_threads(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    for (k, s) in &r.timings_s {
        println!("  {k:<26} {s:.3} s");
    }
    println!(
        "peak RSS {:.1} MiB = {:.1} B/voxel (input volume and process included; RSS before analysis {:.1} MiB)",
        peak as f64 / 1024.0,
        peak as f64 * 1024.0 / voxels,
        base as f64 / 1024.0
    );
    println!("porosity {:.3}, class {}", r.porosity, r.structure.class);
}

fn crosscheck(dir: &str) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("crosscheck dir").filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".npy") || name.matches('.').count() > 1 {
            continue;
        }
        let loaded = read_npy(&p, Some(1.0)).expect("read");
        let seg = loaded.volume.map(|x| (x != 0.0) as u8);
        let stem = p.with_extension("");
        let mut times = serde_json::Map::new();
        let t = Instant::now();
        let edt = analysis::distance::edt(&seg, PORE, false);
        times.insert("edt".into(), t.elapsed().as_secs_f64().into());
        let t = Instant::now();
        let lt = analysis::thickness::local_thickness(&seg, PORE, false);
        times.insert("local_thickness".into(), t.elapsed().as_secs_f64().into());
        let t = Instant::now();
        let sk = analysis::skeleton::skeletonize(&seg, PORE, false);
        times.insert("skeleton".into(), t.elapsed().as_secs_f64().into());
        let t = Instant::now();
        let g = analysis::skeleton::graph(&sk, &edt, false);
        times.insert("skeleton_graph".into(), t.elapsed().as_secs_f64().into());
        let t = Instant::now();
        let rep = analysis::analyze(&seg, &AnalysisOptions::default()).unwrap();
        times.insert("analyze_total".into(), t.elapsed().as_secs_f64().into());
        let meta = serde_json::Value::Null;
        write_npy(&stem.with_extension("edt.npy"), &edt, &meta).unwrap();
        write_npy(&stem.with_extension("lt.npy"), &lt, &meta).unwrap();
        write_npy(&stem.with_extension("skel.npy"), &sk.map(|x| x as f32), &meta).unwrap();
        let out = serde_json::json!({
            "times_s": times,
            "porosity": rep.porosity,
            "skeleton_junction_clusters": g.junctions.len(),
            "skeleton_junction_voxels": (0..sk.len()).filter(|&i| sk.data[i] != 0).count(),
            "analysis": rep,
        });
        std::fs::write(stem.with_extension("rust.json"), serde_json::to_vec_pretty(&out).unwrap()).unwrap();
        eprintln!("{name}: done");
    }
}

fn main() {
    if let Ok(dir) = std::env::var("PHASECAST_CROSSCHECK") {
        crosscheck(&dir);
        return;
    }
    if let Ok(n) = std::env::var("PHASECAST_BENCH_FULL") {
        full(n.parse().expect("PHASECAST_BENCH_FULL=size"));
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    small(&mut c);
    c.final_summary();
}
