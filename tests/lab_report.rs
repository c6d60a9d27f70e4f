//! The lab's public entry points end to end on a small sponge-like volume:
//! `measure`, `write_images` and `phasecast render`.

use phasecast::lab::cli::{render, RenderArgs};
use phasecast::lab::{measure, synth, write_images, LabOptions};

fn small_opts() -> LabOptions {
    LabOptions {
        n_pressures: 20,
        sem_fov_um: 3.2,
        sem_width_px: 128,
        ..Default::default()
    }
}

#[test]
fn measure_reports_three_keys_and_consistent_figures() {
    let seg = synth::pore_spheres([32, 32, 32], 0.1, 4.0, 0.6, 2);
    let opts = small_opts();
    let t = std::time::Instant::now();
    let rep = measure(&seg, &opts).unwrap();
    println!("measure on 32³: {:.1} s", t.elapsed().as_secs_f64());
    let json = serde_json::to_value(&rep).unwrap();
    let mut keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["permeability", "porometry", "sem"]);
    for k in [
        "fluid",
        "bubble_point_diameter_um",
        "bubble_point_pressure_kpa",
        "mean_flow_diameter_um",
        "mean_flow_pressure_kpa",
        "max_to_mean_ratio",
        "curves",
    ] {
        assert!(json["porometry"].get(k).is_some(), "porometry.{k}");
    }
    for k in ["darcy_m2", "water_l_per_m2_h_atm", "tortuosity"] {
        assert!(json["permeability"].get(k).is_some(), "permeability.{k}");
    }
    for k in [
        "internal_pore_size_um",
        "top_surface_pore_size_um",
        "bottom_surface_pore_size_um",
        "top_to_internal_ratio",
        "top_opening_ratio",
    ] {
        assert!(json["sem"].get(k).is_some(), "sem.{k}");
    }
    let p = &rep.porometry;
    let (bp, mf) = (p.bubble_point_diameter_um.unwrap(), p.mean_flow_diameter_um.unwrap());
    assert!(bp >= mf && mf > 0.0);
    assert!((p.max_to_mean_ratio.unwrap() - bp / mf).abs() < 1e-12);
    assert!(p.curves.pressure_kpa.len() == 20);
    // Wet flow never exceeds dry flow and never decreases with pressure.
    let c = &p.curves;
    for i in 0..c.wet_flux.len() {
        assert!(c.wet_flux[i] <= c.dry_flux[i] * (1.0 + 1e-3));
        if i > 0 {
            assert!(c.wet_fraction[i] >= c.wet_fraction[i - 1] - 1e-3);
        }
    }
    let k = &rep.permeability;
    assert!(k.darcy_m2 > 0.0 && k.tortuosity >= 1.0);
    // Water permeability from Darcy's law: k·1 atm/(η·L).
    let expect = k.darcy_m2 * 101_325.0 / (0.89e-3 * 3.2e-6) * 1e3 * 3600.0;
    assert!((k.water_l_per_m2_h_atm / expect - 1.0).abs() < 1e-9);
    // A real thickness 10× the simulated one gives 1/10 the water flux.
    let thick = phasecast::lab::permeability(
        &seg,
        &phasecast::lab::FlowResult {
            k_vox2: 1.0,
            ..Default::default()
        },
        Some(32.0),
    );
    let thin = phasecast::lab::permeability(
        &seg,
        &phasecast::lab::FlowResult {
            k_vox2: 1.0,
            ..Default::default()
        },
        None,
    );
    assert!((thin.water_l_per_m2_h_atm / thick.water_l_per_m2_h_atm - 10.0).abs() < 1e-9);
    assert!(thick.thickness_assumption.contains("32"));
    let s = &rep.sem;
    assert!(s.internal_pore_size_um.unwrap() > 0.0 && s.top_opening_ratio > 0.0 && s.top_opening_ratio < 1.0);

    let dir = tempfile::tempdir().unwrap();
    write_images(&seg, &rep, dir.path(), &opts).unwrap();
    for name in ["sem_section.png", "sem_top.png", "sem_bottom.png", "porometry.png"] {
        let img = image::open(dir.path().join(name)).unwrap();
        assert!(img.width() > 0, "{name}");
    }
    if std::env::var("PHASECAST_KEEP_IMAGES").is_ok() {
        for name in ["sem_section.png", "sem_top.png", "sem_bottom.png", "porometry.png"] {
            std::fs::copy(dir.path().join(name), std::env::temp_dir().join(name)).unwrap();
        }
    }
}

/// A volume without a gas path still gets a full report (no bubble point,
/// zero permeability) and all four images.
#[test]
fn closed_membrane_reports_no_flow() {
    let seg = phasecast::volume::Volume::filled([12, 24, 24], 0.1, 0u8);
    let opts = small_opts();
    let rep = measure(&seg, &opts).unwrap();
    assert!(rep.porometry.bubble_point_diameter_um.is_none());
    assert_eq!(rep.permeability.darcy_m2, 0.0);
    assert_eq!(rep.sem.top_opening_ratio, 0.0);
    assert!(rep.sem.internal_pore_size_um.is_none());
    let dir = tempfile::tempdir().unwrap();
    write_images(&seg, &rep, dir.path(), &opts).unwrap();
    assert!(dir.path().join("porometry.png").exists());
}

#[test]
fn render_command_reads_a_volume_and_writes_a_png() {
    use clap::Parser;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        render: RenderArgs,
    }
    let dir = tempfile::tempdir().unwrap();
    let seg = synth::pore_spheres([16, 24, 24], 0.1, 3.0, 0.5, 9);
    let vol = seg.map(|v| v as f32);
    let npy = dir.path().join("seg.npy");
    phasecast::volume_io::write_npy(&npy, &vol, &serde_json::json!({})).unwrap();
    let out = dir.path().join("sec.png");
    let cli = Cli::try_parse_from([
        "render",
        npy.to_str().unwrap(),
        "--section",
        "y@5",
        "--fov-um",
        "2.4",
        "--width-px",
        "64",
        "-o",
        out.to_str().unwrap(),
    ])
    .unwrap();
    render(&cli.render).unwrap();
    let img = image::open(&out).unwrap().to_luma8();
    assert_eq!(img.width(), 64);
    // Bad arguments are refused with a message naming the flag.
    let bad = Cli::try_parse_from(["render", npy.to_str().unwrap(), "--section", "q@1"]).unwrap();
    assert!(format!("{:#}", render(&bad.render).unwrap_err()).contains("--section"));
    let none = Cli::try_parse_from(["render", npy.to_str().unwrap()]).unwrap();
    assert!(render(&none.render).is_err());
    let outside = Cli::try_parse_from(["render", npy.to_str().unwrap(), "--section", "x@99"]).unwrap();
    assert!(format!("{:#}", render(&outside.render).unwrap_err()).contains("24 voxels"));
}
