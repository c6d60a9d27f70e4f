//! The four structure classes recognised on synthetic families, at several sizes and
//! porosities so the rules, not one tuned point, are exercised.

use phasecast::analysis::{analyze, synthetic::*, AnalysisOptions};
use phasecast::volume::Volume;

fn class_of(v: &Volume<u8>) -> (String, String) {
    let r = analyze(v, &AnalysisOptions::default()).unwrap();
    let f = &r.structure.features;
    let info = format!(
        "phi {:.2} tpf {:.2} rP {:.2} rV {:.2} eP {:.2} eV {:.2} scores {:?}",
        f.porosity, f.through_pore_fraction, f.polymer_neck_to_node, f.pore_neck_to_node, f.euler_density_polymer, f.euler_density_pore, r.structure.scores
    );
    assert!(!r.structure.reasons.is_empty());
    (r.structure.class, info)
}

fn check(name: &str, v: &Volume<u8>, want: &str) {
    let (c, info) = class_of(v);
    eprintln!("{name}: {c} ({info})");
    assert_eq!(c, want, "{name}: {info}");
}

#[test]
fn gaussian_random_field_level_sets_are_percolation() {
    for (i, (sigma, p)) in [(2.0, 0.35), (2.5, 0.5), (3.5, 0.65), (3.0, 0.45)].into_iter().enumerate() {
        let v = level_set(&gaussian_random_field([56, 56, 56], sigma, 100 + i as u64), p);
        check(&format!("GRF σ {sigma} φ {p}"), &v, "percolation");
    }
}

#[test]
fn gyroids_are_percolation() {
    for (period, p) in [(20.0, 0.4), (28.0, 0.5), (24.0, 0.62)] {
        check(&format!("gyroid T {period} φ {p}"), &level_set(&gyroid([56, 56, 56], period), p), "percolation");
    }
}

#[test]
fn overlapping_polymer_spheres_are_spherical_particles() {
    // (radius, centre spacing / diameter)
    for (i, (r, k)) in [(6.0, 0.9), (8.0, 0.87), (9.0, 0.93), (7.0, 0.95)].into_iter().enumerate() {
        let s = [56, 56, 56];
        let v = balls(s, &jittered_lattice(s, 2.0 * r * k, 0.06, 7 + i as u64), r, false);
        check(&format!("spheres R {r} s/2R {k}"), &v, "spherical_particle");
    }
}

#[test]
fn spherical_voids_meeting_at_windows_are_cellular() {
    for (i, (r, k)) in [(6.0, 0.9), (8.0, 0.9), (9.0, 0.93), (7.0, 0.87)].into_iter().enumerate() {
        let s = [56, 56, 56];
        let v = balls(s, &jittered_lattice(s, 2.0 * r * k, 0.05, 30 + i as u64), r, true);
        check(&format!("cells R {r} s/2R {k}"), &v, "cellular");
    }
}

#[test]
fn dense_polymer_with_isolated_voids_is_non_porous() {
    for (i, (r, p)) in [(2.0, 0.03), (3.0, 0.06), (4.0, 0.12)].into_iter().enumerate() {
        check(&format!("voids R {r} φ {p}"), &isolated_voids([48, 48, 48], r, p, 50 + i as u64), "non_porous");
    }
}
