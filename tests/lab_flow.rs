//! Validation of the lattice-Boltzmann Stokes solver behind the porometer
//! and the permeability, on geometries with known answers.

use phasecast::lab::flow::{solve, FlowOptions};
use std::f64::consts::PI;

/// One straight cylinder of diameter `d` voxels along z in a periodic n×n
/// cell, `nz` layers deep (periodic along z: an infinitely long channel).
fn cylinder(d: f64, n: usize, nz: usize) -> Vec<bool> {
    let c = n as f64 / 2.0;
    let r2 = d * d / 4.0;
    let mut v = vec![false; nz * n * n];
    for z in 0..nz {
        for y in 0..n {
            for x in 0..n {
                let (dx, dy) = (x as f64 + 0.5 - c, y as f64 + 0.5 - c);
                v[(z * n + y) * n + x] = dx * dx + dy * dy < r2;
            }
        }
    }
    v
}

/// Hagen–Poiseuille permeability of one cylinder in an n×n cell:
/// Q = πR⁴ΔP/(8μL) over the cell area n².
fn poiseuille_k(d: f64, n: usize) -> f64 {
    PI * (d / 2.0).powi(4) / 8.0 / (n * n) as f64
}

/// Resolution convergence of a voxelized circular channel against
/// Hagen–Poiseuille. The brief's requirement is 5 % at 8 or more voxels per
/// diameter; the printed table goes into docs/validation.md (section 5).
#[test]
fn cylinder_permeability_converges_to_poiseuille() {
    let opts = FlowOptions {
        buffer: 0,
        tol: 1e-7,
        check_every: 50,
        ..Default::default()
    };
    let mut table = Vec::new();
    for d in [4.0, 6.0, 8.0, 12.0, 16.0, 24.0] {
        let n = d as usize + 4;
        let fluid = cylinder(d, n, 2);
        let (r, _) = solve(&fluid, [2, n, n], &opts, None);
        let k0 = poiseuille_k(d, n);
        let area = fluid.iter().filter(|&&f| f).count() as f64 / 2.0;
        let d_eq = (4.0 * area / PI).sqrt();
        let k_eq = poiseuille_k(d_eq, n);
        let err = r.k_vox2 / k_eq - 1.0;
        println!(
            "cylinder D = {d:>4} voxels (area-equivalent {d_eq:.3}): k/k_HP(D) = {:.4}, k/k_HP(D_eq) = {:.4} ({:+.2} %), steps {}",
            r.k_vox2 / k0,
            r.k_vox2 / k_eq,
            100.0 * err,
            r.steps
        );
        assert!(r.converged);
        table.push((d, err));
    }
    for (d, err) in table {
        if d >= 8.0 {
            assert!(err.abs() < 0.05, "D = {d}: error {err}");
        }
    }
}

/// Simple cubic array of spheres (periodic unit cell) against Zick & Homsy
/// (J. Fluid Mech. 115, 13, 1982, Table 2) and the Sangani & Acrivos series
/// (Int. J. Multiphase Flow 8, 343, 1982):
/// K = 1/(1 − 1.7601c^{1/3} + c − 1.5593c² + 3.9799c^{8/3} − 3.0734c^{10/3}),
/// with F = 6πμaKU per sphere, so k = 2a²/(9cK).
#[test]
fn simple_cubic_sphere_array_matches_sangani_acrivos() {
    for (c_nominal, k_zick) in [(0.125, 4.292), (0.216, 7.442)] {
        let l = 32usize;
        let a = (3.0 * c_nominal / (4.0 * PI)).cbrt() * l as f64;
        let centre = l as f64 / 2.0;
        let mut fluid = vec![true; l * l * l];
        let mut solid = 0usize;
        for z in 0..l {
            for y in 0..l {
                for x in 0..l {
                    let d2 = [x, y, z]
                        .iter()
                        .map(|&i| (i as f64 + 0.5 - centre).powi(2))
                        .sum::<f64>();
                    if d2 < a * a {
                        fluid[(z * l + y) * l + x] = false;
                        solid += 1;
                    }
                }
            }
        }
        // The voxelized sphere's own volume fraction and volume-equivalent radius.
        let c = solid as f64 / (l * l * l) as f64;
        let a_eff = (3.0 * solid as f64 / (4.0 * PI)).cbrt();
        let s = c.cbrt();
        let k_series = 1.0 / (1.0 - 1.7601 * s + c - 1.5593 * c * c + 3.9799 * s.powi(8) - 3.0734 * s.powi(10));
        let perm_ref = 2.0 * a_eff * a_eff / (9.0 * c * k_series);
        let opts = FlowOptions {
            buffer: 0,
            tol: 1e-6,
            check_every: 100,
            ..Default::default()
        };
        let (r, _) = solve(&fluid, [l, l, l], &opts, None);
        let err = r.k_vox2 / perm_ref - 1.0;
        println!(
            "SC array c = {c:.4} (nominal {c_nominal}, Zick–Homsy K {k_zick}; series K {k_series:.3}), a = {a_eff:.2} vox: \
             k = {:.4} vs {:.4} vox² ({:+.2} %), steps {}",
            r.k_vox2,
            perm_ref,
            100.0 * err,
            r.steps
        );
        assert!(r.converged);
        assert!(err.abs() < 0.05, "c = {c}: error {err}");
    }
}

/// The membrane mode (open reservoirs above and below the slab, as the
/// porometer and the permeability use it) on a finite channel: Poiseuille
/// plus the entrance and exit resistance of a circular hole,
/// ΔP = μQ·(8L/(πR⁴) + 3/R³) (Sampson's orifice resistance 3μQ/R³, added in
/// series as in Dagan, Weinbaum & Pfeffer, J. Fluid Mech. 115, 505, 1982).
#[test]
fn slab_channel_with_reservoirs_matches_poiseuille_plus_sampson() {
    let (d, n, nz) = (12.0, 28usize, 72usize);
    // Channel axis on a voxel centre (x = 13.5): the digital disc's
    // area-equivalent radius is used.
    let seg = phasecast::lab::synth::channels([nz, n, n], 1.0, &[(13.5, 13.5, d)]);
    let fluid: Vec<bool> = seg.data.iter().map(|&v| v == 1).collect();
    let area = fluid.iter().filter(|&&f| f).count() as f64 / nz as f64;
    let r = (area / PI).sqrt();
    let opts = FlowOptions {
        buffer: 8,
        tol: 1e-6,
        ..Default::default()
    };
    let (res, _) = solve(&fluid, [nz, n, n], &opts, None);
    // Resistance per unit viscosity of one channel, times the cell area,
    // gives the permeability over the slab thickness L: k = L·A_cell/R_hyd.
    let l = nz as f64;
    let r_pois = 8.0 * l / (PI * r.powi(4));
    let r_sampson = 3.0 / r.powi(3);
    let k_ref = l / ((r_pois + r_sampson) * (n * n) as f64);
    let k_pois = l / (r_pois * (n * n) as f64);
    let err = res.k_vox2 / k_ref - 1.0;
    println!(
        "channel D = {d} (R_eq {r:.3}), L = {nz}, reservoirs: k = {:.5} vs Poiseuille+Sampson {:.5} ({:+.2} %), Poiseuille alone {:.5}; steps {}",
        res.k_vox2,
        k_ref,
        100.0 * err,
        k_pois,
        res.steps
    );
    assert!(res.converged);
    assert!(err.abs() < 0.05);
}

/// The flow solve on the GPU (`shaders/lbm.wgsl`) against its CPU twin: the
/// same permeability, tortuosity and step count on a cylinder (checked against
/// Hagen–Poiseuille too) and on a sponge with reservoirs, including a warm start
/// from a smaller pore space as the porometer's wet curve does.
#[test]
fn gpu_flow_solve_matches_the_cpu_twin() {
    let ctx = phasecast::gpu::GpuContext::new(None).expect("GPU test needs a wgpu adapter (apt-get install mesa-vulkan-drivers)");
    let gpu = Some(phasecast::lab::flow::GpuHandle(std::sync::Arc::new(ctx)));
    let close = |a: f64, b: f64, tol: f64, what: &str| assert!((a - b).abs() <= tol * b.abs(), "{what}: GPU {a} vs CPU {b}");

    // Cylinder of 10 voxels diameter, periodic along z.
    let (d, n, nz) = (10.0, 16, 8);
    let v = cylinder(d, n, nz);
    let cpu_opts = FlowOptions { buffer: 0, tol: 1e-7, check_every: 50, ..Default::default() };
    let gpu_opts = FlowOptions { gpu: gpu.clone(), ..cpu_opts.clone() };
    let (c, _) = solve(&v, [nz, n, n], &cpu_opts, None);
    let (g, _) = solve(&v, [nz, n, n], &gpu_opts, None);
    eprintln!("cylinder: CPU k {} ({} steps), GPU k {} ({} steps), Poiseuille {}", c.k_vox2, c.steps, g.k_vox2, g.steps, poiseuille_k(d, n));
    assert!(g.converged && c.converged);
    close(g.k_vox2, c.k_vox2, 1e-4, "k");
    close(g.tortuosity, c.tortuosity, 1e-4, "tortuosity");
    assert!((g.steps as i64 - c.steps as i64).abs() <= 50, "steps {} vs {}", g.steps, c.steps);
    close(g.k_vox2, poiseuille_k(d, n), 0.05, "k against Hagen–Poiseuille");

    // Sponge of overlapping spherical pores with reservoirs; then a warm start.
    let (n, nz) = (20usize, 24usize);
    let mut sponge = vec![false; nz * n * n];
    let mut s = 12345u64;
    let mut rnd = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 33) as f64 / (1u64 << 31) as f64
    };
    for _ in 0..60 {
        let (cx, cy, cz, r) = (rnd() * n as f64, rnd() * n as f64, rnd() * nz as f64, 2.0 + 2.0 * rnd());
        for z in 0..nz {
            for y in 0..n {
                for x in 0..n {
                    let dx = (x as f64 - cx + n as f64 * 1.5).rem_euclid(n as f64) - n as f64 / 2.0;
                    let dy = (y as f64 - cy + n as f64 * 1.5).rem_euclid(n as f64) - n as f64 / 2.0;
                    let dz = z as f64 - cz;
                    if dx * dx + dy * dy + dz * dz < r * r {
                        sponge[(z * n + y) * n + x] = true;
                    }
                }
            }
        }
    }
    let span = phasecast::lab::flow::spanning(&sponge, [nz, n, n], true);
    assert!(span.iter().any(|&b| b), "the test sponge must span");
    // A smaller space first (voxels with an even x removed from the sample's middle third).
    let mut part = span.clone();
    for z in nz / 3..2 * nz / 3 {
        for y in 0..n {
            for x in (0..n).step_by(4) {
                part[(z * n + y) * n + x] = false;
            }
        }
    }
    let part = phasecast::lab::flow::spanning(&part, [nz, n, n], true);
    let cpu_opts = FlowOptions { tau_plus: Some(0.7), ..Default::default() };
    let gpu_opts = FlowOptions { gpu, ..cpu_opts.clone() };
    let (c1, cs) = solve(&part, [nz, n, n], &cpu_opts, None);
    let (g1, gs) = solve(&part, [nz, n, n], &gpu_opts, None);
    let (c2, _) = solve(&span, [nz, n, n], &cpu_opts, Some(&cs));
    let (g2, _) = solve(&span, [nz, n, n], &gpu_opts, Some(&gs));
    eprintln!("sponge: part CPU k {} ({} steps) GPU k {} ({} steps); warm full CPU k {} ({} steps) GPU k {} ({} steps)", c1.k_vox2, c1.steps, g1.k_vox2, g1.steps, c2.k_vox2, c2.steps, g2.k_vox2, g2.steps);
    assert!(c1.k_vox2 > 0.0 && c2.k_vox2 > c1.k_vox2);
    for (g, c, what) in [(&g1, &c1, "sponge part"), (&g2, &c2, "sponge warm-started")] {
        assert!(g.converged && c.converged, "{what}");
        close(g.k_vox2, c.k_vox2, 1e-4, what);
        close(g.tortuosity, c.tortuosity, 1e-4, what);
        assert!((g.steps as i64 - c.steps as i64).abs() <= 100, "{what}: steps {} vs {}", g.steps, c.steps);
        assert_eq!(g.fluid_nodes, c.fluid_nodes);
    }
}
