//! Vapour exposure and immersion stages: boundary conditions and flux conservation.

mod common;
use common::*;
use phasecast::scene::Bc;
use phasecast::solver::cpu::free_energy::ln_activity_n;

const VAPOR: &[&str] = &[
    "stages.0.kind=\"vapor\"",
    "stages.0.boundary={ x = \"periodic\", y = \"periodic\" }",
    "stages.0.air_temperature_c=25",
    "stages.0.relative_humidity=50",
    "stages.0.air_velocity_m_s=1.0",
];

#[test]
fn stage_kinds_set_their_top_face() {
    let cfg = ternary_scene(8, "no_flux", 0.0, VAPOR);
    let st = &cfg.stages[0];
    assert_eq!(st.boundary[4], Bc::Vapor);
    assert_eq!(st.boundary[5], Bc::NoFlux, "the substrate stays no-flux");
    assert!(!st.is_closed());
    let v = st.vapor.as_ref().unwrap();
    assert!((v.uptake.air_activity - 0.5).abs() < 1e-12);
    let p = cfg.params(st);
    assert!(p.vap[0] > 0.0 && (p.vap[1] - 0.5).abs() < 1e-6);

    let cfg = ternary_scene(8, "no_flux", 0.0, &["stages.0.kind=\"immersion\"", "stages.0.boundary={ x = \"periodic\", y = \"periodic\" }", "stages.0.bath={ phi_n = 0.9 }"]);
    let st = &cfg.stages[0];
    assert_eq!(st.boundary[4], Bc::Reservoir);
    assert_eq!(st.reservoir, Some([0.0, 0.9]));
}

#[test]
fn stage_keys_are_validated_by_name() {
    let text = include_str!("../scenes/quickstart.toml");
    let load = |o: &[&str]| phasecast::scene::load_str("q.toml", text, &o.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let e = load(&["stages.0.kind=\"vapor\"", "stages.0.boundary={}"]).unwrap_err().to_string();
    assert!(e.contains("`stages.0.air_temperature_c`") && e.contains("required"), "{e}");
    let e = load(&["stages.0.relative_humidity=40"]).unwrap_err().to_string();
    assert!(e.contains("`stages.0.relative_humidity`") && e.contains("\"vapor\""), "{e}");
    let e = load(&["stages.0.boundary.z_max=\"vapor\""]).unwrap_err().to_string();
    assert!(e.contains("`stages.0.boundary.z_max`") && e.contains("top face"), "{e}");
    let e = load(&["stages.0.kind=\"vapor\"", "stages.0.boundary={}", "stages.0.air_temperature_c=25", "stages.0.relative_humidity=140", "stages.0.air_velocity_m_s=1"]).unwrap_err().to_string();
    assert!(e.contains("`stages.0.relative_humidity`") && e.contains("between 0 and 100"), "{e}");
    let e = load(&["stages.0.kind=\"cooling\""]).unwrap_err().to_string();
    assert!(e.contains("`stages.0.kind`") && e.contains("thermal model"), "{e}");
}

/// The non-solvent that enters equals the integral of the surface flux, step by step.
#[test]
fn vapour_uptake_equals_the_flux_integral() {
    let cfg = ternary_scene(12, "no_flux", 0.0, &[&VAPOR[..], &["initial.phi_n=0.05"]].concat());
    let p = cfg.params(&cfg.stages[0]);
    let (mut b, dt) = start(&cfg, cpu_backend(&p), 0.5);
    let top = (p.nx * p.ny) as usize;
    let mut expected = 0.0f64;
    let phi0 = b.download();
    let n0: f64 = phi0.iter().map(|c| c[1] as f64).sum();
    let p0: f64 = phi0.iter().map(|c| c[0] as f64).sum();
    for k in 0..60 {
        let phi = b.download();
        for c in &phi[..top] {
            let a = (ln_activity_n(&p, *c).min(10.0) as f64).exp();
            expected += dt * p.vap[0] as f64 * (p.vap[1] as f64 - a) / p.h as f64;
        }
        b.advance(&steps(&p, k, 1, dt));
    }
    let phi = b.download();
    let n1: f64 = phi.iter().map(|c| c[1] as f64).sum();
    let p1: f64 = phi.iter().map(|c| c[0] as f64).sum();
    let gained = n1 - n0;
    eprintln!("non-solvent gained {gained:e}, flux integral {expected:e}");
    assert!(expected > 0.0, "humid air over a dry-ish film must bring water in");
    assert!((gained - expected).abs() <= 1e-3 * expected.abs(), "gained {gained} vs flux integral {expected}");
    assert!((p1 - p0).abs() / p0 < 1e-6, "polymer must not cross the vapour face: {p0} -> {p1}");
}

#[test]
fn gpu_and_cpu_agree_on_a_vapour_stage() {
    let cfg = ternary_scene(16, "no_flux", 0.0, VAPOR);
    let p = cfg.params(&cfg.stages[0]);
    let (mut g, dt) = start(&cfg, gpu_backend(&p), 0.5);
    let (mut c, _) = start(&cfg, cpu_backend(&p), 0.5);
    let s = steps(&p, 0, 100, dt);
    g.advance(&s);
    c.advance(&s);
    let (a, b) = (g.download(), c.download());
    let d = a.iter().zip(&b).map(|(x, y)| (x[0] - y[0]).abs().max((x[1] - y[1]).abs())).fold(0.0f32, f32::max);
    assert!(d <= 1e-6, "GPU and CPU differ by {d}");
}

#[test]
fn immersion_floods_the_top_layer_and_holds_the_polymer_back() {
    let cfg = ternary_scene(8, "no_flux", 0.0, &["stages.0.kind=\"immersion\"", "stages.0.boundary={ x = \"periodic\", y = \"periodic\" }"]);
    let p = cfg.params(&cfg.stages[0]);
    let (mut b, dt) = start(&cfg, cpu_backend(&p), 0.5);
    let before = b.download();
    b.advance(&steps(&p, 0, 400, dt));
    let after = b.download();
    let top = (p.nx * p.ny) as usize;
    let mean = |v: &[[f32; 2]], f: usize| v.iter().map(|c| c[f] as f64).sum::<f64>() / v.len() as f64;
    let (n_top0, n_top1) = (mean(&before[..top], 1), mean(&after[..top], 1));
    let (n_bot0, n_bot1) = (mean(&before[before.len() - top..], 1), mean(&after[after.len() - top..], 1));
    eprintln!("top phi_n {n_top0:.4} -> {n_top1:.4}, bottom {n_bot0:.4} -> {n_bot1:.4}");
    assert!(n_top1 > n_top0 + 0.05, "the bath must flood the top layer");
    assert!(n_top1 - n_top0 > 2.0 * (n_bot1 - n_bot0), "non-solvent enters from the top");
    // The bath holds the polymer back: water in, solvent out, polymer conserved.
    let sum = |v: &[[f32; 2]], f: usize| v.iter().map(|c| c[f] as f64).sum::<f64>();
    let solvent = |v: &[[f32; 2]]| v.iter().map(|c| 1.0 - c[0] as f64 - c[1] as f64).sum::<f64>();
    let (p0, p1) = (sum(&before, 0), sum(&after, 0));
    assert!((p1 - p0).abs() / p0 < 1e-5, "polymer crossed the bath face: {p0} -> {p1}");
    assert!(sum(&after, 1) > sum(&before, 1) + 1.0 && solvent(&after) < solvent(&before) - 1.0, "water in, solvent out");
}

#[test]
fn a_recipe_sets_the_initial_composition_from_the_materials_file() {
    let text = include_str!("../scenes/quickstart.toml");
    let over = |o: &[&str]| o.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let recipe = [
        "initial={ kind = \"recipe\", noise = 0.01, seed = 2 }",
        "recipe={ polymer = \"PSf\", solvent = \"NMP\", nonsolvent = \"water\", polymer_wt = 15, solvent_wt = 70, nonsolvent_wt = 1.6, additives_wt = { PVP = 15, LiCl = 2 } }",
    ];
    let cfg = phasecast::scene::load_str("q.toml", text, &over(&recipe)).unwrap();
    match cfg.initial {
        phasecast::scene::Initial::Uniform { phi_p, phi_n, .. } => {
            assert!((phi_p - 0.1479).abs() < 1e-3 && (phi_n - 0.0196).abs() < 1e-3, "{phi_p} {phi_n}");
        }
        ref other => panic!("{other:?}"),
    }
    assert!(cfg.recipe.as_ref().unwrap().additives_wt_not_modelled.contains_key("PVP"));
    let e = phasecast::scene::load_str("q.toml", text, &over(&["initial={ kind = \"recipe\" }"])).unwrap_err().to_string();
    assert!(e.contains("`recipe`") && e.contains("[recipe]"), "{e}");
    let e = phasecast::scene::load_str("q.toml", text, &over(&[recipe[0], "recipe={ polymer = \"PTFE\", solvent = \"NMP\", nonsolvent = \"water\", polymer_wt = 1, solvent_wt = 1 }"])).unwrap_err().to_string();
    assert!(e.contains("`recipe.polymer`") && e.contains("PSf"), "{e}");
}

/// `--set vapor.duration_s=T` names the scene's vapour stage; 0 s leaves it out
/// (straight immersion); a scene without one says so.
#[test]
fn the_vapour_time_is_set_by_name_and_zero_means_straight_immersion() {
    let text = r#"
name = "v"
[grid]
nx = 4
ny = 4
nz = 8
voxel_um = 0.5
[model]
kind = "ternary"
n_polymer = 100
chi_ps = 0.24
chi_pn = 3.0
chi_sn = 0.785
[initial]
phi_p = 0.15
phi_n = 0.02
[[stages]]
kind = "vapor"
duration_s = 6.0
air_temperature_c = 25.0
relative_humidity = 50.0
air_velocity_m_s = 1.0
[[stages]]
kind = "immersion"
duration_s = 10.0
"#;
    let load = |o: &[&str]| phasecast::scene::load_str("v.toml", text, &o.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let cfg = load(&["vapor.duration_s=14"]).unwrap();
    assert_eq!(cfg.stages.len(), 2);
    assert_eq!((cfg.stages[0].kind.as_str(), cfg.stages[0].duration_s), ("vapor", 14.0));
    let cfg = load(&["vapor.duration_s=0"]).unwrap();
    assert_eq!(cfg.stages.len(), 1, "a 0 s vapour stage is left out");
    assert_eq!(cfg.stages[0].kind, "immersion");
    let cfg = load(&["immersion.duration_s=3"]).unwrap();
    assert_eq!(cfg.stages[1].duration_s, 3.0);
    let e = load(&["vapor.duration_s=-1"]).unwrap_err().to_string();
    assert!(e.contains("`stages.0.duration_s`") && e.contains("> 0"), "{e}");
    let e = load(&["anneal.duration_s=1"]).unwrap_err().to_string();
    assert!(e.contains("no kind = \"anneal\" stage"), "{e}");
    let e = load(&["vapor.duration_s=0", "immersion.duration_s=0"]).unwrap_err().to_string();
    assert!(e.contains("duration_s"), "{e}");
}

/// An explicit bath slab (`initial.bath_layers`): the top layers start as the
/// first stage's bath, the film below is untouched, a first stage without a
/// bath face is refused by name, and analysis measures the film only.
#[test]
fn an_explicit_bath_slab_sits_above_the_film() {
    let imm = ["stages.0.kind=\"immersion\"", "stages.0.boundary={ x = \"periodic\", y = \"periodic\" }", "stages.0.bath={ phi_n = 0.95 }", "initial.bath_layers=3"];
    let cfg = ternary_scene(8, "no_flux", 0.0, &imm);
    let slab = cfg.bath_slab.as_ref().expect("slab");
    assert_eq!((slab.layers, slab.phi), (3, [0.0, 0.95]));
    let phi = phasecast::run::initial::initial_fields(&cfg);
    let layer = 64;
    assert!(phi[..3 * layer].iter().all(|c| c[0] == 0.0 && (c[1] - 0.95).abs() < 1e-7));
    let film = &phi[3 * layer..];
    let mean_p = film.iter().map(|c| c[0] as f64).sum::<f64>() / film.len() as f64;
    assert!((mean_p - 0.25).abs() < 0.01, "the film keeps its composition: {mean_p}");
    // The polymer stays in the film: it cannot enter the slab faster than the bath takes water in.
    let p = cfg.params(&cfg.stages[0]);
    let (mut b, dt) = start(&cfg, cpu_backend(&p), 0.5);
    let p0: f64 = b.download().iter().map(|c| c[0] as f64).sum();
    b.advance(&steps(&p, 0, 200, dt));
    let after = b.download();
    let p1: f64 = after.iter().map(|c| c[0] as f64).sum();
    assert!((p1 - p0).abs() / p0 < 1e-5, "polymer conserved: {p0} -> {p1}");
    // Analysis drops the slab.
    let v = phasecast::volume::Volume::from_vec([8, 8, 8], 0.05, (0..512).map(|i| i as f32).collect()).unwrap();
    let w = v.without_top(3);
    assert_eq!(w.nz(), 5);
    assert_eq!(w.get(0, 0, 0), 192.0);
    // Without a bath face on the first stage the slab is refused, naming the key.
    let text = include_str!("../scenes/quickstart.toml");
    let err = phasecast::scene::load_str("q.toml", text, &["initial.bath_layers=2".to_string()]).unwrap_err().to_string();
    assert!(err.contains("initial.bath_layers") && err.contains("bath"), "{err}");
}
