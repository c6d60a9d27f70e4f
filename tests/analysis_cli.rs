//! End to end: files in, report files out, through `analysis::cli::run`.

use phasecast::analysis::cli::{run, AnalyzeArgs};
use phasecast::analysis::synthetic::{gaussian_random_field, level_set};
use phasecast::analysis::PoreValue;
use phasecast::volume_io::{write_npy, write_tiff_stack, write_vti};

fn args(volume: std::path::PathBuf, out: std::path::PathBuf) -> AnalyzeArgs {
    AnalyzeArgs {
        volume,
        out: Some(out),
        json: false,
        threshold: None,
        pore_value: PoreValue::Low,
        voxel_um: None,
        shape: None,
        dtype: None,
        array: None,
        periodic_xy: None,
        density: 1.24,
        no_skeleton: false,
        // The lab's measurements have their own end-to-end tests (tests/lab_report.rs, tests/run_outputs.rs).
        no_lab: true,
        fluid: "ethanol".into(),
        thickness_um: None,
        refine: 1,
        flow: phasecast::lab::FlowMethod::Network,
        max_memory_gb: None,
    }
}

/// A φ_polymer-like field: 0.1 in pores, 0.8 in polymer, smoothly mixed.
fn phi_field() -> phasecast::volume::Volume<f32> {
    let g = gaussian_random_field([32, 32, 32], 2.5, 3);
    let seg = level_set(&g, 0.5);
    let mut f = seg.map(|p| if p == 1 { 0.1f32 } else { 0.8 });
    f.voxel_um = 0.05;
    f
}

#[test]
fn run_folder_to_report_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("fields")).unwrap();
    let f = phi_field();
    write_npy(&dir.path().join("fields/step_000500_phi_p.npy"), &f, &serde_json::json!({"step": 500})).unwrap();
    write_vti(&dir.path().join("fields/step_000500.vti"), &[("phi_p", &f)]).unwrap();
    std::fs::write(
        dir.path().join("run.json"),
        r#"{"periodic_xy": true, "final_fields": {"npy": {"phi_p": "fields/step_000500_phi_p.npy"}, "vti": "fields/step_000500.vti"}}"#,
    )
    .unwrap();
    let mut a = args(dir.path().to_path_buf(), dir.path().to_path_buf());
    a.out = None; // default: the run folder itself
    run(&a).unwrap();
    let rep: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("analysis.json")).unwrap()).unwrap();
    for key in [
        "voxel_um", "shape_zyx", "porosity", "through_pore_fraction", "closed_porosity", "specific_surface_area", "euler_characteristic",
        "local_thickness_um", "skeleton", "structure", "profile", "dense_layer", "input",
    ] {
        assert!(rep.get(key).is_some(), "analysis.json lacks {key}");
    }
    assert_eq!(rep["voxel_um"], 0.05);
    assert_eq!(rep["periodic_xy"], true);
    assert!((rep["porosity"].as_f64().unwrap() - 0.5).abs() < 0.01);
    assert!(rep["specific_surface_area"]["m2_per_g"].as_f64().unwrap() > 0.0);
    for k in ["pore", "polymer"] {
        for s in ["mean", "median", "max"] {
            assert!(rep["local_thickness_um"][k][s].as_f64().unwrap() > 0.0);
        }
        for s in ["junctions", "end_points", "branches", "mean_branch_length_um"] {
            assert!(rep["skeleton"][k][s].is_number());
        }
    }
    assert_eq!(rep["profile"]["z_um"].as_array().unwrap().len(), 32);
    for png in ["pore_size_distribution.png", "depth_profile.png"] {
        let bytes = std::fs::read(dir.path().join(png)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        let img = image::load_from_memory(&bytes).unwrap();
        assert_eq!((img.width(), img.height()), (900, 600));
    }
    assert!(dir.path().join("skeleton_polymer.json").exists());
}

#[test]
fn tiff_and_raw_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let f = phi_field();
    let tif = dir.path().join("stack.tif");
    write_tiff_stack(&tif, &f).unwrap();
    run(&args(tif, dir.path().join("t"))).unwrap();
    let rep: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("t/analysis.json")).unwrap()).unwrap();
    assert!((rep["voxel_um"].as_f64().unwrap() - 0.05).abs() < 1e-9);

    let raw = dir.path().join("v.raw");
    let bytes: Vec<u8> = f.data.iter().map(|&v| if v < 0.5 { 1u8 } else { 0 }).collect();
    std::fs::write(&raw, &bytes).unwrap();
    let mut a = args(raw.clone(), dir.path().join("r"));
    a.shape = Some([32, 32, 32]);
    a.dtype = Some("u8".parse().unwrap());
    a.voxel_um = Some(0.05);
    run(&a).unwrap();
    let rep2: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("r/analysis.json")).unwrap()).unwrap();
    assert_eq!(rep["porosity"], rep2["porosity"]);
    // Missing voxel size is a clear error.
    a.voxel_um = None;
    let e = run(&a).unwrap_err().to_string();
    assert!(e.contains("--voxel-um"), "{e}");
}

/// A small run field with three liquid layers on top (a film that receded
/// from its bath): `analyze` drops them, and shows a domain narrower than the
/// seeds' 16 µm SEM field whole, as the run's own analysis does.
#[test]
fn liquid_top_layers_and_sem_field_of_a_small_domain() {
    let dir = tempfile::tempdir().unwrap();
    let g = gaussian_random_field([16, 16, 16], 2.0, 5);
    let seg = level_set(&g, 0.5);
    let mut f = seg.map(|p| if p == 1 { 0.1f32 } else { 0.8 });
    f.voxel_um = 0.05;
    for z in 0..3 {
        for y in 0..16 {
            for x in 0..16 {
                f.set(z, y, x, 0.0);
            }
        }
    }
    let path = dir.path().join("phi_p.npy");
    write_npy(&path, &f, &serde_json::json!({})).unwrap();
    let mut a = args(path, dir.path().join("out"));
    a.threshold = Some(0.45);
    a.periodic_xy = Some(true);
    a.no_lab = false;
    a.no_skeleton = true;
    run(&a).unwrap();
    let rep: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("out/analysis.json")).unwrap()).unwrap();
    assert_eq!(rep["film"]["liquid_layers_top"], 3);
    assert_eq!(rep["film"]["liquid_layers_bottom"], 0);
    assert_eq!(rep["shape_zyx"][0], 13);
    assert!((rep["sem"]["fov_um"].as_f64().unwrap() - 0.8).abs() < 1e-9, "fov {}", rep["sem"]["fov_um"]);
    // The top surface measured is the film's, not the liquid above it.
    assert!(rep["sem"]["top_opening_ratio"].as_f64().unwrap() < 0.9);
}

/// `--refine 2` measures the same field on a lattice twice as fine: same extent and
/// nearly the same porosity, half the voxel, recorded in the report; a segmented
/// input and a factor out of range are refused with the flag named.
#[test]
fn refined_analysis_of_a_continuous_field() {
    let dir = tempfile::tempdir().unwrap();
    let f = phi_field();
    let npy = dir.path().join("phi.npy");
    write_npy(&npy, &f, &serde_json::json!({})).unwrap();
    run(&args(npy.clone(), dir.path().join("k1"))).unwrap();
    let mut a = args(npy.clone(), dir.path().join("k2"));
    a.refine = 2;
    a.no_skeleton = true;
    run(&a).unwrap();
    let read = |d: &str| -> serde_json::Value { serde_json::from_slice(&std::fs::read(dir.path().join(d).join("analysis.json")).unwrap()).unwrap() };
    let (r1, r2) = (read("k1"), read("k2"));
    assert!((r2["voxel_um"].as_f64().unwrap() - 0.025).abs() < 1e-12);
    assert_eq!(r2["shape_zyx"], serde_json::json!([64, 64, 64]));
    assert_eq!(r2["input"]["refine"], 2);
    let (p1, p2) = (r1["porosity"].as_f64().unwrap(), r2["porosity"].as_f64().unwrap());
    assert!((p1 - p2).abs() < 0.03, "porosity {p1} vs {p2} refined");
    // The memory estimate is checked before the refined volume is built (issue 27).
    a.max_memory_gb = Some(1e-3);
    let e = format!("{:#}", run(&a).unwrap_err());
    assert!(e.contains("needs an estimated") && e.contains("GB") && e.contains("--max-memory-gb"), "{e}");
    a.max_memory_gb = None;
    a.refine = 5;
    let e = run(&a).unwrap_err().to_string();
    assert!(e.contains("--refine 5") && e.contains("from 1 to 4"), "{e}");
    let seg = dir.path().join("seg.npy");
    write_npy(&seg, &f.map(|v| if v < 0.5 { 1.0f32 } else { 0.0 }), &serde_json::json!({})).unwrap();
    let mut b = args(seg, dir.path().join("s"));
    b.refine = 2;
    let e = run(&b).unwrap_err().to_string();
    assert!(e.contains("already segmented") && e.contains("seg.npy"), "{e}");
}
