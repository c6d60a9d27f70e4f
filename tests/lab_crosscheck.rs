//! Exports drainage cases for the PoreSpy cross-check
//! (`benches/crosscheck_drainage.sh`). Ignored in normal runs; with
//! `PHASECAST_CROSSCHECK_DIR=DIR cargo test --release --test lab_crosscheck -- --ignored`
//! it writes, per case, the segmented volume (`<case>.npy`, 1 = pore) and
//! phasecast's invasion radius of every voxel (`<case>_rinv.npy`, voxels; 0 =
//! never invaded), plus `cases.json` with the breakthrough radii. Side faces
//! are walls here, as PoreSpy treats image borders.

use phasecast::lab::porometry::Drainage;
use phasecast::lab::synth;
use phasecast::volume::Volume;

#[test]
#[ignore]
fn export_drainage_cases() {
    let Ok(dir) = std::env::var("PHASECAST_CROSSCHECK_DIR") else {
        eprintln!("PHASECAST_CROSSCHECK_DIR not set; nothing to do");
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cases: Vec<(&str, Volume<u8>)> = vec![
        (
            "channels",
            synth::channels(
                [40, 80, 80],
                0.05,
                &[
                    (10.5, 10.5, 16.0),
                    (30.5, 10.5, 12.0),
                    (50.5, 10.5, 12.0),
                    (10.5, 50.5, 8.0),
                    (50.5, 50.5, 8.0),
                ],
            ),
        ),
        ("sponge_r5_p55", synth::pore_spheres([64, 64, 64], 0.05, 5.0, 0.55, 7)),
        ("sponge_r3_p45", synth::pore_spheres([64, 64, 64], 0.05, 3.0, 0.45, 8)),
        ("sponge_r8_p50", synth::pore_spheres([96, 96, 96], 0.05, 8.0, 0.50, 9)),
    ];
    let mut summary = serde_json::Map::new();
    for (name, seg) in cases {
        let d = Drainage::new(&seg, false);
        let rinv = Volume {
            data: d.invasion_radius_sq().iter().map(|&r| (r as f32).sqrt()).collect(),
            shape: seg.shape,
            voxel_um: seg.voxel_um,
        };
        phasecast::volume_io::write_npy(
            &dir.join(format!("{name}.npy")),
            &seg.map(|v| v as f32),
            &serde_json::json!({}),
        )
        .unwrap();
        phasecast::volume_io::write_npy(&dir.join(format!("{name}_rinv.npy")), &rinv, &serde_json::json!({})).unwrap();
        summary.insert(
            name.to_string(),
            serde_json::json!({ "breakthrough_radius_vox": d.breakthrough_radius() }),
        );
    }
    phasecast::util::atomic_write(
        &dir.join("cases.json"),
        serde_json::to_string_pretty(&summary).unwrap().as_bytes(),
    )
    .unwrap();
}
