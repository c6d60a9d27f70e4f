//! The benchmark suite in `--quick` mode: every standard case is present and
//! either measured or reported as skipped/not available with a reason.
//!
//! `PHASECAST_BENCH_SUITE_OUT=FILE cargo test --release --test bench_suite_quick -- --ignored`
//! runs the full (standard-size) suite and writes its JSON to FILE; that is how
//! the figures in docs/benchmarks.md were measured until
//! `phasecast bench --suite` is wired.

use phasecast::bench_suite::run_suite;
use phasecast::run::BackendChoice;

#[test]
fn quick_suite_on_cpu_reports_every_case() {
    let v = run_suite(BackendChoice::Cpu, None, true).unwrap();
    assert_eq!(v["suite"], "quick");
    assert_eq!(v["backend"], "cpu");
    let steps = v["cases"]["ternary_step"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    for c in steps {
        assert_eq!(c["status"], "ok", "{c}");
        let r = &c["result"];
        assert!(r["voxel_updates_per_s"].as_f64().unwrap() > 0.0);
        assert_eq!(r["voxels"].as_u64().unwrap(), c["size"].as_u64().unwrap().pow(3));
    }
    let cr = v["cases"]["crystallization_step"].as_array().unwrap();
    assert_eq!(cr.len(), 1);
    assert_eq!(cr[0]["status"], "ok", "{}", cr[0]);
    assert!(cr[0]["result"]["voxel_updates_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(cr[0]["result"]["bytes_per_voxel_update"].as_f64().unwrap(), 80.0);
    let p = &v["cases"]["porometry"];
    assert!(p["status"] == "not available" || p["status"] == "ok", "{p}");
    let a = &v["cases"]["analysis"];
    assert_eq!(a["status"], "ok", "{a}");
    assert!(a["seconds"].as_f64().unwrap() > 0.0);
    assert!((a["porosity"].as_f64().unwrap() - 0.5).abs() < 0.02, "level set at 50 % porosity");
    assert!(a["stage_seconds"].as_object().unwrap().contains_key("edt_pore"));
    assert!(v["machine"]["logical_cpus"].as_u64().unwrap() >= 1);
}

#[test]
#[ignore = "standard sizes: minutes; run explicitly to measure"]
fn full_suite_to_file() {
    let backend = match std::env::var("PHASECAST_BENCH_SUITE_BACKEND").as_deref() {
        Ok("gpu") => BackendChoice::Gpu,
        Ok("auto") => BackendChoice::Auto,
        _ => BackendChoice::Cpu,
    };
    let v = run_suite(backend, None, false).unwrap();
    let text = serde_json::to_string_pretty(&v).unwrap();
    match std::env::var("PHASECAST_BENCH_SUITE_OUT") {
        Ok(p) => std::fs::write(p, text).unwrap(),
        Err(_) => println!("{text}"),
    }
}
