//! Scene errors name the file, the key, the value and what is allowed.

use phasecast::scene::{self, SceneError};

const BASE: &str = include_str!("../scenes/quickstart.toml");

fn err(overrides: &[&str]) -> String {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    match scene::load_str("scenes/quickstart.toml", BASE, &o) {
        Ok(_) => panic!("{overrides:?} should be rejected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn embedded_scenes_are_valid() {
    // Every shipped scene, full-size and reduced, loads and validates.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in ["scenes", "scenes/small"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "toml") {
                scene::load(Some(&path), &[]).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
    }
    assert!(n >= 10, "{n} scenes");
    // Every reduced scene has its full-size namesake.
    for e in std::fs::read_dir(root.join("scenes/small")).unwrap() {
        let name = e.unwrap().file_name();
        assert!(root.join("scenes").join(&name).exists(), "scenes/small/{name:?} has no full-size scene");
    }
    let cfg = scene::load(None, &[]).unwrap();
    assert_eq!(cfg.name, "quickstart");
}

#[test]
fn invalid_values_name_file_key_value_and_range() {
    let e = err(&["grid.nx=0"]);
    assert!(e.contains("scenes/quickstart.toml") && e.contains("`grid.nx`") && e.contains("= 0") && e.contains("from 1 to 4096"), "{e}");
    let e = err(&["grid.voxel_um=-1"]);
    assert!(e.contains("`grid.voxel_um`") && e.contains("> 0"), "{e}");
    let e = err(&["model.kind=\"quaternary\""]);
    assert!(e.contains("`model.kind`") && e.contains("\"ternary\" or \"double_well\""), "{e}");
    let e = err(&["initial.phi_n=0.9"]);
    assert!(e.contains("`initial.phi_n`") && e.contains("< 1"), "{e}");
    let e = err(&["stages.0.boundary.x_min=\"no_flux\""]);
    assert!(e.contains("`stages.0.boundary.x_min`") && e.contains("pairs"), "{e}");
    let e = err(&["stages.0.boundary.z_min=\"open\""]);
    assert!(e.contains("`stages.0.boundary.z_min`") && e.contains("\"periodic\", \"no_flux\", \"reservoir\" or \"vapor\""), "{e}");
    let e = err(&["stages.0.boundary.z_min=\"reservoir\""]);
    assert!(e.contains("`stages.0.reservoir`"), "{e}");
    let e = err(&["mobility.vitrification_factor=2"]);
    assert!(e.contains("`mobility.vitrification_factor`") && e.contains("between 0 and 1"), "{e}");
    let e = err(&["outputs.formats=[\"hdf5\"]"]);
    assert!(e.contains("`outputs.formats`") && e.contains("\"vti\" and \"npy\""), "{e}");
    let e = err(&["analysis.refine=5"]);
    assert!(e.contains("`analysis.refine`") && e.contains("= 5") && e.contains("from 1 to 4"), "{e}");
    let cfg = scene::load_str("scenes/quickstart.toml", BASE, &["analysis.refine=2".to_string()]).unwrap();
    assert_eq!(cfg.analysis.refine, 2);
}

#[test]
fn unknown_and_mistyped_keys_are_named() {
    let e = err(&["grid.nxx=3"]);
    assert!(e.contains("nxx"), "{e}");
    let e = err(&["grid.nx=\"many\""]);
    assert!(e.contains("nx") && e.contains("scenes/quickstart.toml"), "{e}");
}

#[test]
fn overrides_reach_nested_keys_and_report_bad_paths() {
    let cfg = scene::load_str("q.toml", BASE, &["grid.nx=32".into(), "stages.0.duration_s=0.25".into()]).unwrap();
    assert_eq!(cfg.grid.nx, 32);
    assert_eq!(cfg.stages[0].duration_s, 0.25);
    match scene::load_str("q.toml", BASE, &["stages.5.duration_s=1".into()]) {
        Err(SceneError::Override { message, .. }) => assert!(message.contains("out of range"), "{message}"),
        other => panic!("{other:?}"),
    }
    match scene::load_str("q.toml", BASE, &["nonsense".into()]) {
        Err(SceneError::Override { message, .. }) => assert!(message.contains("KEY=VALUE")),
        other => panic!("{other:?}"),
    }
}
