//! Prints features of the synthetic families (run with --nocapture when tuning rules).
use phasecast::analysis::{analyze, synthetic::*, AnalysisOptions};

#[test]
#[ignore]
fn print_family_features() {
    let s = [64, 64, 64];
    let opts = AnalysisOptions::default();
    let mut cases: Vec<(String, phasecast::volume::Volume<u8>)> = Vec::new();
    for (sig, p) in [(2.5, 0.5), (3.5, 0.4), (2.0, 0.65)] {
        cases.push((format!("grf s{sig} p{p}"), level_set(&gaussian_random_field(s, sig, 7), p)));
    }
    for (per, p) in [(24.0, 0.5), (32.0, 0.6), (20.0, 0.4)] {
        cases.push((format!("gyroid T{per} p{p}"), level_set(&gyroid(s, per), p)));
    }
    for (r, sp) in [(8.0, 14.0), (6.0, 11.0), (10.0, 18.0)] {
        cases.push((format!("spheres r{r} s{sp}"), balls(s, &jittered_lattice(s, sp, 0.08, 3), r, false)));
    }
    for (r, sp) in [(8.0, 14.5), (6.0, 11.0), (10.0, 18.5)] {
        cases.push((format!("cells r{r} s{sp}"), balls(s, &jittered_lattice(s, sp, 0.05, 3), r, true)));
    }
    for (r, p) in [(3.0, 0.05), (4.0, 0.1), (2.0, 0.03)] {
        cases.push((format!("voids r{r} p{p}"), isolated_voids(s, r, p, 5)));
    }
    for (name, v) in cases {
        let t = std::time::Instant::now();
        let r = analyze(&v, &opts).unwrap();
        let f = &r.structure.features;
        println!(
            "{name:22} {:>18} phi {:.2} tpf {:.2} rP {:.2} ({}) rV {:.2} ({}) eP {:+.2} eV {:+.2} jP {} jV {} {:.2}s",
            r.structure.class, f.porosity, f.through_pore_fraction, f.polymer_neck_to_node, r.skeleton.polymer.neck_branches,
            f.pore_neck_to_node, r.skeleton.pore.neck_branches, f.euler_density_polymer, f.euler_density_pore,
            r.skeleton.polymer.junctions, r.skeleton.pore.junctions, t.elapsed().as_secs_f64()
        );
        if std::env::var("TIMINGS").is_ok() { println!("   {:?}", r.timings_s); }
    }
}
