//! Every measurement against a geometry with a known answer.

use phasecast::analysis::label::{label, Connectivity};
use phasecast::analysis::synthetic::from_fn;
use phasecast::analysis::*;
use phasecast::volume::{Volume, POLYMER, PORE};

const PI: f64 = std::f64::consts::PI;

fn count(v: &Volume<u8>, phase: u8) -> usize {
    v.data.iter().filter(|&&x| x == phase).count()
}

#[test]
fn porosity_and_edt_of_a_slab() {
    // Pore slab 10 voxels thick (z = 5..15) in a 20×16×16 polymer block.
    let v = from_fn([20, 16, 16], 0.5, |z, _, _| (5.0..15.0).contains(&z));
    let r = analyze(&v, &AnalysisOptions { skeleton: false, ..Default::default() }).unwrap();
    assert!((r.porosity - 0.5).abs() < 1e-12);
    let d = distance::edt(&v, PORE, false);
    for z in 0..20 {
        let want = if (5..15).contains(&z) { (z as f32 - 4.0).min(15.0 - z as f32) } else { 0.0 };
        assert_eq!(d.get(z, 7, 3), want, "z = {z}");
    }
    // Polymer side: distance to the slab only (the volume border is not pore).
    let dp = distance::edt(&v, POLYMER, false);
    assert_eq!(dp.get(0, 0, 0), 5.0);
    assert_eq!(dp.get(19, 3, 3), 5.0);
    // Local thickness of the slab: the largest inscribed ball has diameter 2·5 = 10
    // voxels = 5 µm, and every slab voxel is covered by one.
    let lt = &r.local_thickness_um.pore;
    assert!((lt.max - 5.0).abs() < 1e-9 && (lt.median - 5.0).abs() < 1e-9, "{lt:?}");
}

#[test]
fn porosity_and_edt_of_a_sphere() {
    let (c, rad) = (20.0, 12.0);
    let v = from_fn([41, 41, 41], 1.0, |z, y, x| (z - c).powi(2) + (y - c).powi(2) + (x - c).powi(2) <= rad * rad);
    let vol = 4.0 / 3.0 * PI * rad.powi(3);
    let por = count(&v, PORE) as f64 / v.len() as f64;
    // Lattice points in a ball differ from its volume by O(R²): 1.2 % at R = 12.
    assert!((por * v.len() as f64 / vol - 1.0).abs() < 0.02, "sphere voxels {} vs {vol}", count(&v, PORE));
    let d = distance::edt(&v, PORE, false);
    // Centre: nearest polymer voxel lies just outside radius 12 (e.g. (12, 1, 0) → √145).
    let dc = d.get(20, 20, 20) as f64;
    assert!((dc - 145f64.sqrt()).abs() < 1e-5, "{dc}");
    // Every pore voxel: EDT ≈ R − |x − c| within one voxel.
    for z in 8..33 {
        let rr = ((z as f64 - c).powi(2)).sqrt();
        if rr < rad {
            let e = d.get(z, 20, 20) as f64;
            assert!((e - (rad - rr)).abs() <= 1.0, "z {z}: {e} vs {}", rad - rr);
        }
    }
}

#[test]
fn local_thickness_of_a_cylinder() {
    for rad in [5.0, 8.0, 11.0] {
        let n = (2.0 * rad) as usize + 9;
        let c = (n / 2) as f64;
        let v = from_fn([24, n, n], 0.2, |_, y, x| (y - c).powi(2) + (x - c).powi(2) <= rad * rad);
        let lt = thickness::local_thickness(&v, PORE, false);
        let vals: Vec<f32> = v.data.iter().zip(&lt.data).filter(|(&m, _)| m == PORE).map(|(_, &t)| t).collect();
        let mut s = vals.clone();
        s.sort_by(f32::total_cmp);
        let median = s[s.len() / 2] as f64;
        let max = s[s.len() - 1] as f64;
        // The digital cylinder's largest inscribed ball: diameter 2R within one voxel;
        // BoneJ's local thickness of a cylinder is that diameter everywhere.
        assert!((max - 2.0 * rad).abs() <= 1.0, "R {rad}: max {max}");
        assert!((median - 2.0 * rad).abs() <= 1.0, "R {rad}: median {median}");
        assert!(s[0] as f64 >= 2.0 * rad - 1.5, "R {rad}: min {}", s[0]);
    }
}

#[test]
fn surface_area_of_a_sphere_within_2_percent() {
    for rad in [15.0, 20.0, 24.5] {
        let n = (2.0 * rad) as usize + 12;
        let c = n as f64 / 2.0 - 0.3;
        let v = from_fn([n, n, n], 0.1, |z, y, x| (z - c).powi(2) + (y - c).powi(2) + (x - c).powi(2) <= rad * rad);
        let a = surface::interface_area(&v, PORE, false);
        let want = 4.0 * PI * rad * rad;
        assert!((a / want - 1.0).abs() < 0.02, "R {rad}: area {a:.1} vs {want:.1}");
        // Specific surface area in physical units and per mass.
        let r = analyze(&v, &AnalysisOptions { skeleton: false, polymer_density_g_cm3: 1.78, ..Default::default() }).unwrap();
        let vol_um3 = v.len() as f64 * 1e-3;
        assert!((r.specific_surface_area.per_um * vol_um3 / (want * 0.01) - 1.0).abs() < 0.02);
        let poly_um3 = count(&v, POLYMER) as f64 * 1e-3;
        let m2g = want * 0.01 / poly_um3 / 1.78;
        assert!((r.specific_surface_area.m2_per_g / m2g - 1.0).abs() < 0.02);
    }
}

fn torus(n: usize, big: f64, small: f64) -> Volume<u8> {
    let c = n as f64 / 2.0;
    from_fn([n, n, n], 1.0, |z, y, x| {
        let q = ((y - c).powi(2) + (x - c).powi(2)).sqrt() - big;
        q * q + (z - c).powi(2) <= small * small
    })
}

#[test]
fn euler_characteristic_of_a_torus() {
    for (big, small) in [(10.0, 4.0), (14.0, 5.5)] {
        let v = torus(48, big, small);
        for conn in [Connectivity::Face6, Connectivity::Full26] {
            // Solid torus: one component, one tunnel → χ = 0.
            assert_eq!(euler::euler_characteristic(&v, PORE, conn, false), 0, "torus {big}/{small} {conn:?}");
        }
        // Its complement in the box: one component, one tunnel, one cavity → χ = 1.
        assert_eq!(euler::euler_characteristic(&v, POLYMER, Connectivity::Full26, false), 1);
        let r = analyze(&v, &AnalysisOptions { skeleton: false, ..Default::default() }).unwrap();
        assert_eq!((r.euler_characteristic.pore, r.euler_characteristic.polymer), (0, 1));
    }
    // Two linked-free tori side by side: χ = 0 still; a sphere with a cavity: χ = 2.
    let shell = from_fn([30, 30, 30], 1.0, |z, y, x| {
        let d = ((z - 15.0).powi(2) + (y - 15.0).powi(2) + (x - 15.0).powi(2)).sqrt();
        (6.0..11.0).contains(&d)
    });
    assert_eq!(euler::euler_characteristic(&shell, PORE, Connectivity::Face6, false), 2);
}

#[test]
fn skeleton_of_a_tube() {
    // Closed tube along x: one branch, two end points, no junction; length ≈ its axis.
    let v = from_fn([20, 20, 60], 1.0, |z, y, x| (z - 9.5).powi(2) + (y - 9.5).powi(2) <= 16.0 && (8.0..52.0).contains(&x));
    let sk = skeleton::skeletonize(&v, PORE, false);
    let d = distance::edt(&v, PORE, false);
    let g = skeleton::graph(&sk, &d, false);
    assert_eq!((g.junctions.len(), g.end_points, g.branches.len()), (0, 2, 1), "{g:?}");
    let len = g.branches[0].length_um;
    assert!(len > 44.0 - 2.0 * 4.0 - 2.0 && len < 44.0, "length {len}");
    // The thickness profile along the middle of the tube is the tube diameter (≈ 8).
    let prof = &g.branches[0].thickness_um;
    let mid = prof[prof.len() / 2];
    assert!((mid - 8.0).abs() <= 1.5, "mid diameter {mid}");
}

#[test]
fn skeleton_of_a_3d_cross() {
    // Three orthogonal tubes through the centre: six arms meet in one junction.
    let c = 25.0;
    let arm = |a: f64, b: f64| (a - c).powi(2) + (b - c).powi(2) <= 9.0;
    let v = from_fn([51, 51, 51], 1.0, |z, y, x| {
        let inside = |t: f64| (5.0..=45.0).contains(&t);
        (arm(y, x) && inside(z)) || (arm(z, x) && inside(y)) || (arm(z, y) && inside(x))
    });
    let sk = skeleton::skeletonize(&v, PORE, false);
    let d = distance::edt(&v, PORE, false);
    let g = skeleton::graph(&sk, &d, false);
    assert_eq!(g.junctions.len(), 1, "{:?}", g.junctions);
    assert_eq!(g.junctions[0].degree, 6);
    assert_eq!((g.end_points, g.branches.len()), (6, 6));
    for b in &g.branches {
        assert!(b.length_um > 15.0 && b.length_um <= 21.0, "arm length {}", b.length_um);
    }
}

#[test]
fn through_pores_in_a_slab_with_one_channel() {
    let (nz, n) = (30, 32);
    // One straight channel (radius 3) from top to bottom, a blind pore from the top,
    // a closed cavity inside.
    let v = from_fn([nz, n, n], 0.5, |z, y, x| {
        let channel = (y - 8.0).powi(2) + (x - 8.0).powi(2) <= 9.0;
        let blind = (y - 22.0).powi(2) + (x - 22.0).powi(2) <= 9.0 && z < 12.0;
        let cavity = (z - 20.0).powi(2) + (y - 22.0).powi(2) + (x - 10.0).powi(2) <= 16.0;
        channel || blind || cavity
    });
    let chan = from_fn([nz, n, n], 0.5, |_, y, x| (y - 8.0).powi(2) + (x - 8.0).powi(2) <= 9.0);
    let cav = from_fn([nz, n, n], 0.5, |z, y, x| (z - 20.0).powi(2) + (y - 22.0).powi(2) + (x - 10.0).powi(2) <= 16.0);
    let r = analyze(&v, &AnalysisOptions { skeleton: false, ..Default::default() }).unwrap();
    let pores = count(&v, PORE) as f64;
    assert!((r.through_pore_fraction - count(&chan, PORE) as f64 / pores).abs() < 1e-12);
    assert!((r.closed_porosity - count(&cav, PORE) as f64 / v.len() as f64).abs() < 1e-12);
    assert_eq!(r.connectivity.pore.components, 3);
    // Corner-only contact does not connect pores (6-connectivity).
    let diag = from_fn([4, 3, 3], 1.0, |z, y, x| (z as usize, y as usize, x as usize) == (1, 1, 1) || (z as usize, y as usize, x as usize) == (2, 2, 2));
    assert_eq!(label(&diag, PORE, Connectivity::Face6, false).count(), 2);
}

#[test]
fn periodic_channel_across_the_x_border() {
    // A channel that leaves at x = nx−1 and comes back at x = 0, zig-zagging down:
    // connected top to bottom only when x wraps.
    let v = from_fn([20, 8, 24], 1.0, |z, y, x| {
        let upper = z < 10.0 && (x < 4.0) && (2.0..6.0).contains(&y);
        let lower = z >= 9.0 && (x >= 20.0) && (2.0..6.0).contains(&y);
        upper || lower
    });
    let open = analyze(&v, &AnalysisOptions { skeleton: false, periodic_xy: false, ..Default::default() }).unwrap();
    let per = analyze(&v, &AnalysisOptions { skeleton: false, periodic_xy: true, ..Default::default() }).unwrap();
    assert_eq!(open.through_pore_fraction, 0.0);
    assert_eq!(per.through_pore_fraction, 1.0);
    // Periodic EDT: a pore slab x ∈ [0, 4) ∪ [20, 24) is one slab 8 wide.
    let slab = from_fn([4, 4, 24], 1.0, |_, _, x| !(4.0..20.0).contains(&x));
    let d = distance::edt(&slab, PORE, true);
    assert_eq!(d.get(1, 1, 0), 4.0);
    assert_eq!(d.get(1, 1, 23), 4.0);
}

#[test]
fn segmentation_threshold_is_the_phase_midpoint() {
    // Two phases at φ = 0.05 (pore) and 0.80 (polymer), 30/70 by volume, with noise.
    let mut rng = synthetic::Rng::new(1);
    let data: Vec<f32> = (0..20_000)
        .map(|i| (if i % 10 < 3 { 0.05 } else { 0.80 } + 0.03 * rng.normal()) as f32)
        .collect();
    let f = Volume::from_vec([20, 1000, 1], 1.0, data).unwrap();
    let s = segment(&f, None, PoreValue::Low);
    assert!((s.threshold - 0.425).abs() < 0.01, "{}", s.threshold);
    let por = count(&s.volume, PORE) as f64 / f.len() as f64;
    assert!((por - 0.3).abs() < 0.005);
    let hi = segment(&f, Some(0.5), PoreValue::High);
    assert!((count(&hi.volume, PORE) as f64 / f.len() as f64 - 0.7).abs() < 0.005);
    // Already segmented input is taken as is.
    let b = Volume::from_vec([1, 1, 4], 1.0, vec![0.0, 1.0, 1.0, 0.0]).unwrap();
    assert_eq!(segment(&b, None, PoreValue::Low).volume.data, vec![0, 1, 1, 0]);
}

#[test]
fn dense_layer_inside_a_graded_film() {
    // Pore channels whose radius shrinks from the top to a minimum at z = 12 and grows
    // again below: the dense layer is at ≈ 12 voxels, not at the surface.
    let nz = 40;
    let rad = |z: f64| 2.0 + 0.25 * (z - 12.0).abs();
    let v = from_fn([nz, 32, 32], 0.5, |z, y, x| {
        let (cy, cx) = (((y / 16.0).floor() * 16.0) + 8.0, ((x / 16.0).floor() * 16.0) + 8.0);
        (y - cy).powi(2) + (x - cx).powi(2) <= rad(z).powi(2)
    });
    let r = analyze(&v, &AnalysisOptions { skeleton: false, ..Default::default() }).unwrap();
    let depth_vox = r.dense_layer.depth_um / 0.5;
    assert!((depth_vox - 12.5).abs() <= 2.0, "dense layer at {depth_vox} voxels");
    assert!(!r.dense_layer.at_surface);
    assert_eq!(r.profile.z_um.len(), nz);
    // Flip it: minimum at the top → at the surface.
    let flipped = from_fn([nz, 32, 32], 0.5, |z, y, x| {
        let (cy, cx) = (((y / 16.0).floor() * 16.0) + 8.0, ((x / 16.0).floor() * 16.0) + 8.0);
        (y - cy).powi(2) + (x - cx).powi(2) <= (2.0 + 0.2 * z).powi(2)
    });
    let r = analyze(&flipped, &AnalysisOptions { skeleton: false, ..Default::default() }).unwrap();
    assert!(r.dense_layer.at_surface, "{:?}", r.dense_layer);
}

#[test]
fn analyze_rejects_bad_input() {
    let v = Volume::from_vec([1, 1, 2], 1.0, vec![0u8, 2]).unwrap();
    assert!(analyze(&v, &AnalysisOptions::default()).unwrap_err().to_string().contains("found 2"));
    let v = Volume::from_vec([1, 1, 2], -1.0, vec![0u8, 1]).unwrap();
    assert!(analyze(&v, &AnalysisOptions::default()).is_err());
    // All pore, all polymer: no panic.
    for fill in [0u8, 1] {
        let v = Volume::filled([4, 4, 4], 1.0, fill);
        let r = analyze(&v, &AnalysisOptions::default()).unwrap();
        assert_eq!(r.porosity, fill as f64);
    }
}

#[test]
fn chord_lengths_of_slabs_and_a_cylinder() {
    // Pore slabs 6 voxels thick every 10 along x: every x chord is 6 voxels. Chords
    // along z run the full height, touch both borders and are all dropped.
    let v = from_fn([12, 8, 40], 0.5, |_, _, x| (x as usize % 10) >= 2 && (x as usize % 10) < 8);
    let c = chords::chords(&v, PORE, 2, false);
    assert_eq!(c.mean_um, 3.0);
    assert_eq!(c.count, 12 * 8 * 4);
    assert_eq!(chords::chords(&v, PORE, 0, false).count, 0);
    // Periodic: the slab split by the seam counts once, whole.
    let w = from_fn([2, 2, 20], 1.0, |_, _, x| x < 3.0 || x >= 17.0);
    let c = chords::chords(&w, PORE, 2, true);
    assert_eq!((c.mean_um, c.count), (6.0, 4));
    // Mean chord of a disc of radius R along a line: πR/2 (random lines, length-average).
    let r = 20.0;
    let d = from_fn([1, 64, 64], 1.0, |_, y, x| (y - 31.5).powi(2) + (x - 31.5).powi(2) <= r * r);
    let c = chords::chords(&d, PORE, 2, false);
    assert!((c.mean_um / (std::f64::consts::PI * r / 2.0) - 1.0).abs() < 0.03, "{}", c.mean_um);
}
