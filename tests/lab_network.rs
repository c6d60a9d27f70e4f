//! The pore-network flow method (`lab::network`, `lab::network_flow`) on
//! geometries with known answers: Hagen–Poiseuille channels and slits, tubes in
//! series and in parallel; and against the lattice-Boltzmann reference.
//!
//! A channel between two open reservoirs has the resistance of Hagen–Poiseuille
//! plus Sampson's entrance and exit resistance (3μ/a³ in all, for a circular
//! opening of radius a), as the lattice-Boltzmann solve with reservoir layers
//! sees it (docs/validation.md §5).

use phasecast::lab::network::{edt2_u32, extract, INLET, OUTLET};
use phasecast::lab::network_flow;
use phasecast::lab::porometry::{porometry, FlowMethod, PorometryOptions};
use phasecast::lab::synth;
use phasecast::volume::{Volume, POLYMER, PORE};
use std::f64::consts::PI;

fn network_k(seg: &Volume<u8>, periodic: bool) -> (f64, usize) {
    let e = edt2_u32(seg, PORE, periodic);
    let net = extract(&e, seg.shape, seg.voxel_um, periodic, None);
    let r = network_flow::dry(&net);
    assert!(r.converged);
    (r.k_vox2, net.pores.len())
}

/// Pore voxels of layer z.
fn layer_area(seg: &Volume<u8>, z: usize) -> f64 {
    let plane = seg.ny() * seg.nx();
    seg.data[z * plane..(z + 1) * plane].iter().filter(|&&v| v == PORE).count() as f64
}

/// Resistance of a circular tube of area `a` and length `l` (Hagen–Poiseuille, μ = 1).
fn hp(a: f64, l: f64) -> f64 {
    let r = (a / PI).sqrt();
    8.0 * l / (PI * r.powi(4))
}

/// Half of Sampson's orifice resistance (one end) for an opening of area `a`.
fn sampson_end(a: f64) -> f64 {
    1.5 / (a / PI).sqrt().powi(3)
}

fn k_of(resistance: f64, seg: &Volume<u8>) -> f64 {
    seg.nz() as f64 / resistance / (seg.ny() * seg.nx()) as f64
}

#[test]
fn straight_channels_follow_hagen_poiseuille_with_entrance_loss() {
    for (d, c) in [(6.0, 20.0), (8.0, 20.5), (12.0, 20.0), (16.0, 20.5), (16.0, 20.0)] {
        let n = 40usize;
        let seg = synth::channels([48, n, n], 0.05, &[(c, c, d)]);
        let (k, pores) = network_k(&seg, true);
        let a = layer_area(&seg, 0);
        let k_ref = k_of(hp(a, 48.0) + 2.0 * sampson_end(a), &seg);
        println!("channel D = {d} (axis at {c}): k = {k:.5} vox², Hagen–Poiseuille + Sampson {k_ref:.5} ({:+.1} %), {pores} pores", 100.0 * (k / k_ref - 1.0));
        // Measured −6 … +16 % (docs/validation.md §5): the inscribed radius of a
        // digital disc depends on where its axis sits on the lattice.
        assert!((k / k_ref - 1.0).abs() < 0.20, "D = {d}: {k} vs {k_ref}");
    }
}

/// Known limitation, measured −53 % at h = 6 (docs/validation.md §5): the
/// watershed cuts a slit into square columns and the conduit model treats
/// each as a round tube of the slit's half-height, which under-reads the
/// plane-Poiseuille flow. Run with `--ignored` to see the figures.
#[test]
#[ignore = "known limitation of the conduit model on slits (−53 %), docs/validation.md §5"]
fn slit_follows_plane_poiseuille() {
    for h in [6usize, 8, 12] {
        let (nz, ny, nx) = (40, 32, 32);
        let mut seg = Volume::filled([nz, ny, nx], 0.05, POLYMER);
        for z in 0..nz {
            for y in 10..10 + h {
                for x in 0..nx {
                    seg.set(z, y, x, PORE);
                }
            }
        }
        let (k, _) = network_k(&seg, true);
        // Q = w h³ ΔP/(12 μ L) per slit of width w = nx.
        let k_ref = (h as f64).powi(3) / 12.0 / ny as f64;
        println!("slit h = {h}: k = {k:.5} vox², plane Poiseuille {k_ref:.5} ({:+.1} %)", 100.0 * (k / k_ref - 1.0));
        assert!((k / k_ref - 1.0).abs() < 0.10, "h = {h}: {k} vs {k_ref}");
    }
}

#[test]
fn tubes_in_series_add_resistances() {
    // A 12-voxel tube over the top half, a coaxial 8-voxel tube below.
    let (nz, n) = (64usize, 32usize);
    let wide = synth::channels([nz, n, n], 0.05, &[(16.0, 16.0, 12.0)]);
    let narrow = synth::channels([nz, n, n], 0.05, &[(16.0, 16.0, 8.0)]);
    let mut seg = wide.clone();
    let plane = n * n;
    seg.data[nz / 2 * plane..].copy_from_slice(&narrow.data[nz / 2 * plane..]);
    let (k, pores) = network_k(&seg, true);
    let (a1, a2) = (layer_area(&seg, 0), layer_area(&seg, nz - 1));
    let r_ref = hp(a1, nz as f64 / 2.0) + hp(a2, nz as f64 / 2.0) + sampson_end(a1) + sampson_end(a2);
    let k_ref = k_of(r_ref, &seg);
    println!("series 12 → 8 voxels: k = {k:.5} vox², series Hagen–Poiseuille + Sampson {k_ref:.5} ({:+.1} %), {pores} pores", 100.0 * (k / k_ref - 1.0));
    // The contraction itself adds a resistance the 1D sum leaves out: the
    // network may read below, never far above.
    assert!(k / k_ref - 1.0 < 0.05 && k / k_ref - 1.0 > -0.15, "{k} vs {k_ref}");
}

#[test]
fn tubes_in_parallel_add_conductances() {
    let mut diameters = vec![16.0];
    diameters.extend([12.0; 4]);
    diameters.extend([8.0; 9]);
    let ch: Vec<_> = diameters.iter().enumerate().map(|(i, &d)| (10.5 + 20.0 * (i % 4) as f64, 10.5 + 20.0 * (i / 4) as f64, d)).collect();
    let seg = synth::channels([40, 80, 80], 0.05, &ch);
    let (k, _) = network_k(&seg, true);
    let g: f64 = diameters
        .iter()
        .map(|&d| {
            let one = synth::channels([1, 40, 40], 0.05, &[(20.5, 20.5, d)]);
            let a = layer_area(&one, 0);
            1.0 / (hp(a, 40.0) + 2.0 * sampson_end(a))
        })
        .sum();
    let k_ref = g * 40.0 / (80.0 * 80.0);
    println!("14 parallel channels 16/12/8: k = {k:.5} vox², Σ Hagen–Poiseuille + Sampson {k_ref:.5} ({:+.1} %)", 100.0 * (k / k_ref - 1.0));
    assert!((k / k_ref - 1.0).abs() < 0.10, "{k} vs {k_ref}");
}

#[test]
fn network_extraction_finds_bodies_and_windows() {
    // Two spherical cells of radius 8 joined by a window of radius ≈ 3, with
    // inlet and outlet channels: two bodies, one internal throat whose
    // radius is the window's.
    let (nz, n) = (44usize, 24usize);
    let mut seg = Volume::filled([nz, n, n], 0.05, POLYMER);
    let c = 11.5;
    for z in 0..nz {
        for y in 0..n {
            for x in 0..n {
                let (fz, fy, fx) = (z as f64 + 0.5, y as f64 + 0.5, x as f64 + 0.5);
                let r2 = (fy - c - 0.5).powi(2) + (fx - c - 0.5).powi(2);
                let s1 = (fz - 13.0).powi(2) + r2 < 64.0;
                let s2 = (fz - 31.0).powi(2) + r2 < 64.0;
                let window = r2 < 9.0 && (fz - 22.0).abs() < 2.0;
                let tube = r2 < 4.0 && !(8.0..36.0).contains(&fz);
                if s1 || s2 || window || tube {
                    seg.set(z, y, x, PORE);
                }
            }
        }
    }
    let e = edt2_u32(&seg, PORE, false);
    let net = extract(&e, seg.shape, seg.voxel_um, false, None);
    let big: Vec<_> = net.pores.iter().filter(|p| p.radius > 6.0).collect();
    assert_eq!(big.len(), 2, "{:?}", net.pores);
    let internal: Vec<_> = net.throats.iter().filter(|t| t.b < INLET).collect();
    let window = internal
        .iter()
        .find(|t| net.pores[t.a as usize].radius > 6.0 && net.pores[t.b as usize].radius > 6.0)
        .expect("a throat between the two cells");
    println!("cells: {} pores, window radius {:.2} voxels, area {:.1}", net.pores.len(), window.radius, window.area);
    assert!((2.0..4.5).contains(&window.radius), "{window:?}");
    assert!(net.throats.iter().any(|t| t.b == INLET) && net.throats.iter().any(|t| t.b == OUTLET));
    let ratio = window.radius / net.pores[window.a as usize].radius.min(net.pores[window.b as usize].radius);
    assert!(ratio < 0.5, "window/body {ratio}");
    let r = network_flow::dry(&net);
    assert!(r.converged && r.k_vox2 > 0.0);
}

/// Against the lattice-Boltzmann reference on the random-sphere volume of
/// `tests/lab_porometry.rs`: same bubble point (same drainage), mean-flow
/// diameter within 5 %, permeability within the deviation measured for
/// random sphere packs (docs/validation.md §5: −11 to −25 %).
#[test]
fn network_porometry_agrees_with_lattice_boltzmann() {
    let seg = synth::pore_spheres([96, 24, 24], 0.02, 4.0, 0.6, 3);
    let run = |method| porometry(&seg, &PorometryOptions { n_pressures: 20, method, ..Default::default() }).unwrap();
    let t = std::time::Instant::now();
    let (net, net_dry) = run(FlowMethod::Network);
    let t_net = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let (lbm, lbm_dry) = run(FlowMethod::Lbm);
    let t_lbm = t.elapsed().as_secs_f64();
    println!(
        "network vs LBM: bubble point {:?} / {:?} µm, mean flow {:?} / {:?} µm, k {:.4e} / {:.4e} vox² ({:+.1} %), {t_net:.2} s / {t_lbm:.1} s",
        net.bubble_point_diameter_um,
        lbm.bubble_point_diameter_um,
        net.mean_flow_diameter_um,
        lbm.mean_flow_diameter_um,
        net_dry.k_vox2,
        lbm_dry.k_vox2,
        100.0 * (net_dry.k_vox2 / lbm_dry.k_vox2 - 1.0)
    );
    assert_eq!(net.flow_method, "network");
    assert_eq!(lbm.flow_method, "lbm");
    assert_eq!(net.bubble_point_diameter_um, lbm.bubble_point_diameter_um);
    let (a, b) = (net.mean_flow_diameter_um.unwrap(), lbm.mean_flow_diameter_um.unwrap());
    assert!((a / b - 1.0).abs() < 0.05, "mean flow {a} vs {b}");
    assert!((net_dry.k_vox2 / lbm_dry.k_vox2 - 1.0).abs() < 0.25);
    assert!(net.curves.wet_fraction.windows(2).all(|w| w[1] >= w[0] - 1e-9), "{:?}", net.curves.wet_fraction);
    assert!(net.network.as_ref().is_some_and(|s| s.pores > 10));
}
