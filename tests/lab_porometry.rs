//! Porometry on geometries with known answers: straight cylindrical channels
//! of several diameters through a polymer slab.

use phasecast::lab::porometry::{porometry, Drainage, FlowMethod, Fluid, PorometryOptions};
use phasecast::lab::synth;
use phasecast::volume::Volume;

const VOX_UM: f64 = 0.05;

/// 1 channel of 16 voxels, 4 of 12 and 9 of 8 through a 40-voxel slab.
/// Channel axes sit on voxel centres, where a digital disc of even diameter D
/// has its largest inscribed sphere (EDT between voxel centres) exactly D/2.
fn channel_slab() -> (Volume<u8>, Vec<f64>) {
    let mut diameters = vec![16.0];
    diameters.extend([12.0; 4]);
    diameters.extend([8.0; 9]);
    let mut ch = Vec::new();
    for (i, &d) in diameters.iter().enumerate() {
        let (gx, gy) = (i % 4, i / 4);
        ch.push((10.5 + 20.0 * gx as f64, 10.5 + 20.0 * gy as f64, d));
    }
    (synth::channels([40, 80, 80], VOX_UM, &ch), diameters)
}

/// Hagen–Poiseuille-weighted mean-flow diameter: flow per channel ∝ D⁴;
/// opening channels from the largest down, the wet flow reaches half the dry
/// flow when the channels of this diameter open.
fn analytic_mean_flow(diameters: &[f64]) -> f64 {
    let mut d = diameters.to_vec();
    d.sort_by(|a, b| b.partial_cmp(a).unwrap());
    let total: f64 = d.iter().map(|x| x.powi(4)).sum();
    let mut acc = 0.0;
    for &x in &d {
        acc += x.powi(4);
        if acc >= 0.5 * total {
            return x;
        }
    }
    unreachable!()
}

/// Both flow methods: the pore network (default) and the lattice-Boltzmann reference.
#[test]
fn channels_bubble_point_and_mean_flow() {
    for method in [FlowMethod::Network, FlowMethod::Lbm] {
        channels_bubble_point_and_mean_flow_with(method);
    }
}

fn channels_bubble_point_and_mean_flow_with(method: FlowMethod) {
    let (seg, diameters) = channel_slab();
    let opts = PorometryOptions {
        n_pressures: 20,
        method,
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let (p, dry) = porometry(&seg, &opts).unwrap();
    let d_bp = p.bubble_point_diameter_um.unwrap();
    let d_mf = p.mean_flow_diameter_um.unwrap();
    let d_mf_ref = analytic_mean_flow(&diameters) * VOX_UM;
    println!(
        "{}: channels 16/12/8 vox (0.05 µm voxels): bubble point {:.4} µm at {:.1} kPa (largest channel {:.4} µm); \
         mean flow {:.4} µm at {:.1} kPa (HP-weighted analytic {:.4} µm, {:+.2} %); ratio {:.3}; \
         dry solve {} steps; {:.1} s",
        method.name(),
        d_bp,
        p.bubble_point_pressure_kpa.unwrap(),
        16.0 * VOX_UM,
        d_mf,
        p.mean_flow_pressure_kpa.unwrap(),
        d_mf_ref,
        100.0 * (d_mf / d_mf_ref - 1.0),
        p.max_to_mean_ratio.unwrap(),
        dry.steps,
        t.elapsed().as_secs_f64()
    );
    for i in 0..p.curves.pressure_kpa.len() {
        println!(
            "  P {:8.2} kPa  d {:.4} µm  wet {:.4e}  dry {:.4e}  frac {:.3}  steps {}",
            p.curves.pressure_kpa[i],
            p.curves.laplace_diameter_um[i],
            p.curves.wet_flux[i],
            p.curves.dry_flux[i],
            p.curves.wet_fraction[i],
            p.curves.solver_steps[i]
        );
    }
    assert!((d_bp - 16.0 * VOX_UM).abs() <= VOX_UM, "bubble point {d_bp}");
    assert!((d_mf / d_mf_ref - 1.0).abs() < 0.05, "mean flow {d_mf} vs {d_mf_ref}");
    // Laplace: P = 4γcosθ/d with ethanol.
    let p_ref = 4.0 * 22.3e-3 / (d_bp * 1e-6) / 1e3;
    assert!((p.bubble_point_pressure_kpa.unwrap() - p_ref).abs() < 1e-9 * p_ref);
    // The wet curve ends on the dry curve once every channel is open.
    let last = p.curves.wet_fraction.last().unwrap();
    assert!((last - 1.0).abs() < 0.01, "wet/dry at the highest pressure {last}");
    // Flow-weighted distribution sums to one.
    let s: f64 = p.flow_weighted_psd.iter().map(|b| b.flow_share).sum();
    assert!((s - 1.0).abs() < 0.01);
    assert!(p.curves.solver_converged.iter().all(|&c| c));
}

/// A closed slab has no bubble point and no flow; a slab with one channel
/// breaks through exactly at that channel's radius.
#[test]
fn drainage_breakthrough_edge_cases() {
    let closed = Volume::filled([8, 16, 16], VOX_UM, 0u8);
    assert_eq!(Drainage::new(&closed, true).breakthrough_radius(), None);
    let (p, dry) = porometry(&closed, &PorometryOptions::default()).unwrap();
    assert!(p.bubble_point_diameter_um.is_none() && dry.k_vox2 == 0.0);

    let one = synth::channels([12, 20, 20], VOX_UM, &[(10.5, 10.5, 6.0)]);
    let d = Drainage::new(&one, true);
    assert_eq!(d.breakthrough_radius(), Some(3.0));
    // Just above the breakthrough radius gas enters the channel but cannot
    // reach the outlet... it is a straight channel, so it does not enter at all.
    assert!(!d.invaded(3.01).iter().any(|&b| b));
    let inv = d.invaded(3.0);
    assert_eq!(
        inv.iter().filter(|&&b| b).count(),
        one.data.iter().filter(|&&s| s == 1).count()
    );
    assert_eq!(Fluid::by_name("water").unwrap().surface_tension_n_per_m, 72.0e-3);
}

/// The porometer picks τ⁺ per wet solve (`porometry::wet_tau_plus`) for speed;
/// the TRT steady state with Λ = 3/16 does not depend on it. On a sample deep
/// enough for the rule to leave τ⁺ = 0.8 (104 layers with the reservoirs), the
/// curves must match a run with τ⁺ fixed at 0.8.
#[test]
fn wet_curve_does_not_depend_on_the_chosen_tau() {
    use phasecast::lab::porometry::wet_tau_plus;
    assert!(wet_tau_plus(104, None) < 0.75);
    let seg = synth::pore_spheres([96, 24, 24], 0.02, 4.0, 0.6, 3);
    let auto = PorometryOptions {
        n_pressures: 8,
        method: FlowMethod::Lbm,
        ..Default::default()
    };
    let mut fixed = auto.clone();
    fixed.flow.tau_plus = Some(0.8);
    let (a, dry_a) = porometry(&seg, &auto).unwrap();
    let (f, dry_f) = porometry(&seg, &fixed).unwrap();
    assert_eq!(dry_a.k_vox2, dry_f.k_vox2, "the dry solve runs at the default τ⁺ either way");
    assert!(a.curves.wet_fraction.iter().any(|&w| w > 0.0 && w < 1.0));
    let mut changed = false;
    for i in 0..a.curves.wet_fraction.len() {
        let (wa, wf) = (a.curves.wet_fraction[i], f.curves.wet_fraction[i]);
        println!(
            "P {:8.1} kPa  wet/dry auto τ⁺ {:.5}  fixed 0.8 {:.5}  steps {} / {}",
            a.curves.pressure_kpa[i], wa, wf, a.curves.solver_steps[i], f.curves.solver_steps[i]
        );
        assert!((wa - wf).abs() <= 2e-3 * wf.max(1e-3), "wet/dry {wa} vs {wf}");
        changed |= a.curves.solver_steps[i] != f.curves.solver_steps[i];
    }
    assert!(changed, "the rule did not change any wet solve");
    assert_eq!(a.mean_flow_diameter_um, f.mean_flow_diameter_um);
    assert!(a.curves.solver_converged.iter().all(|&c| c));
}

/// A smooth phase field (tanh interface, width 1 voxel) with one cylindrical pore of
/// radius `r` voxels along z, its axis at (`cy`, `cx`), segmented at 0.5 after
/// `refine`-fold trilinear refinement; returns the bubble-point diameter in µm.
fn smooth_channel_bubble_point(r: f64, cy: f64, cx: f64, refine: usize) -> f64 {
    let (n, nz) = (20usize, 12usize);
    let mut phi = Volume::filled([nz, n, n], VOX_UM, 0f32);
    for z in 0..nz {
        for y in 0..n {
            for x in 0..n {
                let rho = ((y as f64 - cy).powi(2) + (x as f64 - cx).powi(2)).sqrt();
                phi.set(z, y, x, (0.5 + 0.5 * ((rho - r) / 1.0).tanh()) as f32);
            }
        }
    }
    let fine = phi.refined(refine, false);
    let seg = phasecast::analysis::segment(&fine, Some(0.5), phasecast::analysis::PoreValue::Low).volume;
    let rv = Drainage::new(&seg, false).breakthrough_radius().expect("the channel spans the slab");
    2.0 * rv * fine.voxel_um
}

/// On a coarse lattice the porometer's diameters move in steps of √k voxels, so
/// channels whose radii differ by a fraction of a voxel read the same; the refined
/// field resolves them. (The continuous answer for the largest inscribed sphere of the
/// 0.5 level set is the channel radius itself; the EDT between voxel centres reads up
/// to about half a voxel more, which refinement also shrinks.)
#[test]
fn refinement_resolves_sub_voxel_pore_sizes() {
    let radii = [2.2, 2.45, 2.7, 2.95, 3.2];
    let mut err = [0.0f64; 3];
    let mut distinct = [0usize; 3];
    for (j, &k) in [1usize, 2, 3].iter().enumerate() {
        let d: Vec<f64> = radii.iter().map(|&r| smooth_channel_bubble_point(r, 9.7, 10.2, k)).collect();
        println!("refine {k}: bubble-point d {:?} µm for 2r = {:?} µm", d.iter().map(|x| (x * 1e4).round() / 1e4).collect::<Vec<_>>(), radii.map(|r| 2.0 * r * VOX_UM));
        for w in d.windows(2) {
            assert!(w[1] >= w[0] - 1e-9, "refine {k}: the bubble point falls as the channel widens: {d:?}");
            distinct[j] += (w[1] > w[0] + 1e-9) as usize;
        }
        err[j] = radii.iter().zip(&d).map(|(r, d)| (d - 2.0 * r * VOX_UM).abs()).sum::<f64>() / radii.len() as f64;
    }
    println!("mean |d − 2r|: {:.4} / {:.4} / {:.4} µm at refine 1 / 2 / 3; distinct steps {distinct:?} of 4", err[0], err[1], err[2]);
    assert!(distinct[2] > distinct[0], "refinement should separate more of the radii: {distinct:?}");
    assert!(err[1] < 0.5 * err[0] && err[2] < err[0], "refinement should bring the diameters closer to 2r: {err:?}");
}
