//! The thermal (TIPS) model against analytic references: heat conduction with
//! Newton cooling, the crystal front's travelling-wave speed, Flory's
//! melting-point depression; the GPU kernel against its CPU twin; and the
//! seed-002 mechanism in small: a low dissolution temperature gels the film
//! before it demixes, a high one demixes first.

mod common;
use phasecast::scene::{self, tips, Config};
use phasecast::solver::params::StepInfo;
use phasecast::solver::{stability, Backend, CpuBackend};
use std::path::Path;

/// A one-voxel-wide column of `nz` voxels (h = 1 model length) with the
/// thermal model; `extra` are scene overrides.
fn column(nz: usize, extra: &[&str]) -> Config {
    let text = format!(
        r#"
name = "column"
[grid]
nx = 1
ny = 1
nz = {nz}
voxel_um = 1.0
[units]
time_s = 1.0
[model]
kind = "ternary"
n_polymer = 100
chi_pn = 1.0
chi_sn = 0.5
[mobility]
d_polymer = 1.0
d_solvent = 1.0
d_nonsolvent = 1.0
[dissolution]
polymer = "PVDF"
diluent = "DEP"
polymer_wt = 46.6
diluent_wt = 53.4
temperature_c = 150.0
[cooling]
medium = "DOP"
temperature_c = 20.0
back = "insulated"
[crystallization]
seed_density_per_um3 = 0.0
nucleation_rate_per_um3_s = 0.0
max_lewis = 1e6
[initial]
kind = "dissolution"
[[stages]]
kind = "cooling"
duration_s = 1.0
boundary = {{ x = "periodic", y = "periodic", z_min = "no_flux", z_max = "no_flux" }}
"#
    );
    let over: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    scene::load_str("column.toml", &text, &over).expect("column scene is valid")
}

fn erfc(x: f64) -> f64 {
    // W. J. Cody-style rational approximation via erfc = 1 - erf for small x is
    // not needed here: Numerical Recipes' erfcc, fractional error < 1.2e-7.
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t * (-z * z - 1.26551223
        + t * (1.00002368
            + t * (0.37409196
                + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
        .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Runs `n` steps of `dt` on the CPU twins with kernel parameters `p`.
fn run_cpu(p: &phasecast::solver::params::Params, aux: Vec<[f32; 2]>, phi: Vec<[f32; 2]>, dt: f64, n: u32) -> (Vec<[f32; 2]>, Vec<[f32; 2]>) {
    let p = *p;
    let mut b = CpuBackend::new(&p);
    b.set_params(&p);
    b.upload(&phi);
    b.upload_aux(&aux);
    let steps: Vec<StepInfo> = (0..n).map(|k| StepInfo { step: k, dt: dt as f32, noise_scale: 0.0, dt_prev: 0.0 }).collect();
    b.advance(&steps);
    (b.download(), b.download_aux())
}

/// Semi-infinite solid at T0 whose surface exchanges heat with a medium at Tm
/// through a coefficient H = h/k (Carslaw & Jaeger, Conduction of Heat in
/// Solids, 2nd ed., §2.7): (T − T0)/(Tm − T0) = erfc(X) − exp(Hx + H²αt) erfc(X + H√(αt)),
/// X = x / (2√(αt)).
#[test]
fn heat_conduction_with_newton_cooling_matches_carslaw_and_jaeger() {
    // Physical diffusivity with no cap: α = k/(ρ c_p) in µm²/s with 1 µm voxels, 1 s units.
    let cfg = column(400, &["crystallization.mobility=0.0", "cooling.heat_transfer_w_m2_k=30000"]);
    let th = cfg.thermal.as_ref().unwrap();
    let p = cfg.params(&cfg.stages[0]);
    let alpha = p.th_heat[0] as f64;
    assert!((alpha - th.diffusivity_m2_s * 1e12).abs() < 1e-6 * alpha, "α in model units {alpha}");
    let g = th.top.heat_transfer_w_m2_k / th.conductivity_w_m_k * 1e-6; // per µm
    let t0 = th.dissolution_temperature_c;
    let tm = th.top.temperature_c;
    // dt at 40 % of the explicit bound.
    let dt = 0.4 * 2.0 / (alpha * (4.0 + 2.0 * p.th_face[0] as f64));
    let n = 4000u32;
    let aux = phasecast::run::initial::initial_aux(&cfg).unwrap();
    let phi = phasecast::run::initial::initial_fields(&cfg);
    let (_, out) = run_cpu(&p, aux, phi, dt, n);
    let t = dt * n as f64;
    let s = (alpha * t).sqrt();
    assert!(2.0 * s < 200.0, "the column stays semi-infinite: diffusion length {s} voxels");
    let mut worst = 0.0f64;
    for (i, a) in out.iter().enumerate().take(60) {
        let x = i as f64 + 0.5;
        let big_x = x / (2.0 * s);
        let theta = erfc(big_x) - (g * x + g * g * alpha * t).exp() * erfc(big_x + g * s);
        let expect = t0 + (tm - t0) * theta;
        let got = a[0] as f64 - tips::KELVIN;
        worst = worst.max((got - expect).abs() / (t0 - tm));
    }
    eprintln!("Newton cooling: max deviation {:.3e} of the temperature drop (Biot per voxel {:.3})", worst, g);
    assert!(worst < 5e-3, "deviation {worst}");
}

/// A melt whose composition cannot change (all mobilities ~0), insulated, with
/// a crystallinity interface about 3 voxels wide.
const FROZEN_MELT: &[&str] = &[
    "mobility.d_polymer=1e-12",
    "mobility.d_solvent=1e-12",
    "mobility.d_nonsolvent=1e-12",
    "crystallization.barrier_kt=1.0",
    "crystallization.kappa_psi=6.0",
    "crystallization.mobility=1.0",
    "cooling.medium=insulated",
    "cooling.back=insulated",
];

/// A planar crystal front in a melt of fixed composition (all mobilities zero)
/// at fixed temperature moves at v = −6 L_ψ Δ √(κ_ψ / (2 W)), with Δ = φ_p·drive
/// and W = φ_p·barrier (energy balance of the travelling wave of
/// ∂ψ/∂t = L_ψ(κ_ψ ψ'' − ∂f/∂ψ), first order in Δ/W).
#[test]
fn crystal_front_moves_at_the_travelling_wave_speed() {
    let nz = 300;
    let cfg = column(nz, FROZEN_MELT);
    let mut p = cfg.params(&cfg.stages[0]);
    // Isothermal: no conduction, no latent heat.
    p.th_heat[0] = 0.0;
    p.th_heat[1] = 0.0;
    let q = cfg.thermal.as_ref().unwrap().volume_fraction_polymer as f32;
    // A temperature just below the melting point: drive = -0.04 kT.
    let chi0 = p.th_chi[0] + p.th_chi[1] / 420.0;
    let inv_tm = p.th_chi[2] + p.th_chi[3] * ((1.0 - q) - chi0 * (1.0 - q) * (1.0 - q));
    let drive_target = -0.04f64;
    let temp = 1.0 / (inv_tm as f64 - drive_target / p.th_cryst[0] as f64);
    let chi = p.th_chi[0] as f64 + p.th_chi[1] as f64 / temp;
    let inv_tm = p.th_chi[2] as f64 + p.th_chi[3] as f64 * ((1.0 - q as f64) - chi * (1.0 - q as f64).powi(2));
    let drive = p.th_cryst[0] as f64 * (inv_tm - 1.0 / temp);
    let w = q as f64 * p.th_cryst[1] as f64;
    let kappa = p.th_cryst[2] as f64;
    let width = (kappa / (2.0 * w)).sqrt();
    let z0 = 40.0;
    let aux: Vec<[f32; 2]> = (0..nz).map(|z| [temp as f32, (0.5 * (1.0 - ((z as f64 + 0.5 - z0) / (2.0 * width)).tanh())) as f32]).collect();
    let phi = vec![[q, 0.0]; nz];
    let mut b = CpuBackend::new(&p);
    b.set_params(&p);
    b.upload(&phi);
    b.upload_aux(&aux);
    let dt = 0.3 * 2.0 / (p.th_cryst[3] as f64 * (kappa * 4.0 + 2.0 * w + 5.78 * drive.abs()));
    let front = |a: &[[f32; 2]]| -> f64 {
        let k = a.iter().position(|v| v[1] < 0.5).unwrap();
        let (y0, y1) = (a[k - 1][1] as f64, a[k][1] as f64);
        (k as f64 - 0.5) + (y0 - 0.5) / (y0 - y1)
    };
    let mk = |first: u32, n: u32| -> Vec<StepInfo> { (first..first + n).map(|k| StepInfo { step: k, dt: dt as f32, noise_scale: 0.0, dt_prev: 0.0 }).collect() };
    // Let the profile relax, then time the front.
    b.advance(&mk(0, 2000));
    let x1 = front(&b.download_aux());
    let n = 20000u32;
    b.advance(&mk(2000, n));
    let x2 = front(&b.download_aux());
    let v = (x2 - x1) / (n as f64 * dt);
    let expect = -6.0 * p.th_cryst[3] as f64 * (q as f64 * drive) * (kappa / (2.0 * w)).sqrt();
    eprintln!("front speed {v:.5} vs travelling wave {expect:.5} voxels per time (Δ/W = {:.3})", q as f64 * drive / w);
    assert!(expect > 0.0 && x2 < nz as f64 - 20.0);
    assert!((v - expect).abs() < 0.05 * expect, "front speed {v} vs {expect}");
}

/// The front stalls at Flory's depressed melting point: a degree below it the
/// crystal grows, a degree above it melts.
#[test]
fn crystal_is_stable_below_and_melts_above_the_flory_melting_point() {
    let nz = 120;
    let cfg = column(nz, FROZEN_MELT);
    let th = cfg.thermal.as_ref().unwrap().clone();
    let mut p = cfg.params(&cfg.stages[0]);
    p.th_heat[0] = 0.0;
    p.th_heat[1] = 0.0;
    let q = th.volume_fraction_polymer;
    // Flory's relation from the materials' numbers, independently of the kernel's constants.
    let m: toml::Table = phasecast::scene::recipe::MATERIALS.parse().unwrap();
    let pv = m["polymers"]["PVDF"].as_table().unwrap();
    let dhu = pv["heat_of_fusion_j_g"].as_float().unwrap() * pv["repeat_unit_g_mol"].as_float().unwrap();
    let vu = pv["repeat_unit_molar_volume_cm3_mol"].as_float().unwrap();
    let v1 = m["diluents"]["DEP"]["molar_volume_cm3_mol"].as_float().unwrap();
    // Solve Tm = Flory(χ(Tm)) by fixed point.
    let mut tm = th.melting_point_c + tips::KELVIN;
    for _ in 0..50 {
        let chi = th.chi_a + th.chi_b_k / tm;
        tm = tips::flory_melting_point(th.melting_point_c + tips::KELVIN, dhu, vu, v1, chi, 1.0 - q);
    }
    eprintln!("Flory melting point of PVDF at φ_p = {q:.3} in DEP: {:.2} °C", tm - tips::KELVIN);
    let width = (p.th_cryst[2] as f64 / (2.0 * q * p.th_cryst[1] as f64)).sqrt();
    let run_at = |temp: f64| -> f64 {
        let aux: Vec<[f32; 2]> = (0..nz).map(|z| [temp as f32, (0.5 * (1.0 - ((z as f64 + 0.5 - 60.0) / (2.0 * width)).tanh())) as f32]).collect();
        let phi = vec![[q as f32, 0.0]; nz];
        let (_, out) = run_cpu(&p, aux, phi, 0.02, 20000);
        out.iter().map(|a| a[1] as f64).sum::<f64>() - 60.0
    };
    let below = run_at(tm - 0.2);
    let above = run_at(tm + 0.2);
    eprintln!("crystal grew by {below:.2} voxels at Tm − 0.2 K and by {above:.2} at Tm + 0.2 K");
    assert!(below > 3.0, "{below}");
    assert!(above < -3.0, "{above}");
}


/// A temperature gradient alone moves no mass when thermodiffusion is off
/// (crystallization.soret = false, the default); with it on, the χ(T) term of
/// Flory–Huggins drives polymer toward the warm end. A homogeneous solution
/// above its spinodal (150–182 °C, no crystals) in an insulated column.
#[test]
fn temperature_gradient_moves_no_mass_without_thermodiffusion() {
    let nz = 32;
    let drift = |soret: bool| -> (f64, f64) {
        let cfg = column(nz, &["crystallization.mobility=0.0", "crystallization.max_lewis=1.0", "cooling.medium=insulated", &format!("crystallization.soret={soret}")]);
        let p = cfg.params(&cfg.stages[0]);
        assert_eq!(p.isothermal_flux(), !soret);
        let q = cfg.thermal.as_ref().unwrap().volume_fraction_polymer as f32;
        let aux: Vec<[f32; 2]> = (0..nz).map(|z| [(150.0 + tips::KELVIN) as f32 + z as f32, 0.0]).collect();
        let phi = vec![[q, 0.0]; nz];
        let (out, _) = run_cpu(&p, aux, phi, 0.01, 2000);
        let cold: f64 = out[..nz / 2].iter().map(|c| c[0] as f64).sum();
        let warm: f64 = out[nz / 2..].iter().map(|c| c[0] as f64).sum();
        let total = cold + warm;
        ((warm - cold) / total, (total - nz as f64 * q as f64).abs() / total)
    };
    let (with, mass_with) = drift(true);
    let (without, mass_without) = drift(false);
    eprintln!("polymer (warm − cold)/total after 20 time units: {with:.3e} with thermodiffusion, {without:.3e} without");
    assert!(with > 1e-4, "χ(T) drives polymer to the warm end: {with}");
    assert!(without.abs() < 1e-2 * with, "{without} vs {with}");
    assert!(mass_with < 1e-5 && mass_without < 1e-5, "mass conserved: {mass_with} {mass_without}");
}

/// The small Ts-sweep scene at reduced size, for the GPU and mechanism tests.
fn small_tips(n: usize, ts: f64, extra: &[&str]) -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/small/tips_pvdf_dep.toml");
    let mut over: Vec<String> = vec![format!("grid.nx={n}"), format!("grid.ny={n}"), format!("grid.nz={n}"), format!("dissolution.temperature_c={ts}")];
    over.extend(extra.iter().map(|s| s.to_string()));
    scene::load(Some(&path), &over).expect("small TIPS scene is valid")
}

/// The thermal kernel and the χ(T)/crystal/gel terms of the other kernels on
/// the GPU (lavapipe in CI) agree with the CPU twins, seeds and cooling on.
#[test]
fn gpu_and_cpu_agree_on_a_tips_run() {
    let cfg = small_tips(16, 130.0, &[]);
    let p = cfg.params(&cfg.stages[0]);
    assert!(p.th_nuc[0] > 0.0 && p.th_face[0] > 0.0);
    let (mut cpu, dt) = common::start(&cfg, common::cpu_backend(&p), 0.5);
    let (mut gpu, _) = common::start(&cfg, common::gpu_backend(&p), 0.5);
    let steps = common::steps(&p, 0, 400, dt);
    cpu.advance(&steps);
    gpu.advance(&steps);
    let (pc, pg) = (cpu.download(), gpu.download());
    let (ac, ag) = (cpu.download_aux(), gpu.download_aux());
    let dphi = pc.iter().zip(&pg).map(|(a, b)| (a[0] - b[0]).abs()).fold(0.0f32, f32::max);
    let dt_max = ac.iter().zip(&ag).map(|(a, b)| (a[0] - b[0]).abs()).fold(0.0f32, f32::max);
    let dpsi = ac.iter().zip(&ag).map(|(a, b)| (a[1] - b[1]).abs()).fold(0.0f32, f32::max);
    let psi_mean = ac.iter().map(|a| a[1] as f64).sum::<f64>() / ac.len() as f64;
    eprintln!("TIPS GPU vs CPU after 400 steps: max |Δφ_p| {dphi:.2e}, |ΔT| {dt_max:.2e} K, |Δψ| {dpsi:.2e} (mean ψ {psi_mean:.3})");
    assert!(psi_mean > 1e-3, "seeds grew crystals: mean ψ {psi_mean}");
    assert!(dphi < 1e-4 && dt_max < 1e-2 && dpsi < 1e-3, "{dphi} {dt_max} {dpsi}");
    let (rc, rg) = (cpu.reduce(), gpu.reduce());
    assert!((rc.sum_t - rg.sum_t).abs() < 1e-4 * rc.sum_t, "{} vs {}", rc.sum_t, rg.sum_t);
    assert!((rc.sum_crystal - rg.sum_crystal).abs() < 1e-3 * rc.sum_crystal.max(1.0));
}

/// The medium-exchange path (cooling.exchange: a reservoir face in the thermal
/// model, χ_pn(T) and Flory's melting point with the medium) on the GPU against
/// the CPU twin, and what it does: the medium enters, the polymer stays.
#[test]
fn gpu_and_cpu_agree_with_medium_exchange() {
    let cfg = small_tips(16, 150.0, &["cooling.medium=DTDP", "cooling.exchange=true"]);
    let p = cfg.params(&cfg.stages[0]);
    assert_eq!(p.bc_code(4), 2, "the top face is a reservoir of the medium");
    assert_eq!(p.bc_code(5), 1, "the insulated back passes no mass");
    assert!(p.th_surf[3] > 0.0 && p.chi_sn > 0.0, "DTDP is a poorer liquid for PVDF than DEP: Δb {}", p.th_surf[3]);
    let (mut cpu, dt) = common::start(&cfg, common::cpu_backend(&p), 0.5);
    let (mut gpu, _) = common::start(&cfg, common::gpu_backend(&p), 0.5);
    let m0 = cpu.reduce();
    let steps = common::steps(&p, 0, 400, dt);
    cpu.advance(&steps);
    gpu.advance(&steps);
    let (pc, pg) = (cpu.download(), gpu.download());
    let d = pc.iter().zip(&pg).map(|(a, b)| (a[0] - b[0]).abs().max((a[1] - b[1]).abs())).fold(0.0f32, f32::max);
    let (rc, rg) = (cpu.reduce(), gpu.reduce());
    let top: f64 = pc[..256].iter().map(|c| c[1] as f64).sum::<f64>() / 256.0;
    let deep: f64 = pc[256 * 8..256 * 9].iter().map(|c| c[1] as f64).sum::<f64>() / 256.0;
    eprintln!(
        "exchange: GPU vs CPU max |Δφ| {d:.2e}; medium taken up {:.4e} (GPU {:.4e}); φ_n top layer {top:.4}, 9th layer {deep:.2e}; polymer {:.6e} → {:.6e}",
        rc.sum_n, rg.sum_n, m0.sum_p, rc.sum_p
    );
    assert!(d < 1e-4, "{d}");
    assert!(rc.sum_n > 0.0 && (rc.sum_n - rg.sum_n).abs() < 1e-3 * rc.sum_n);
    assert!(top > 10.0 * deep.max(1e-9), "the medium enters from the top: {top} vs {deep}");
    assert!((rc.sum_p - m0.sum_p).abs() < 1e-5 * m0.sum_p, "the polymer stays: {} vs {}", rc.sum_p, m0.sum_p);
}

/// Seed 002's mechanism in small (16³ columns of the reduced Ts-sweep scene):
/// dissolved at 130 °C the many residual crystals gel the solution before it
/// demixes; dissolved at 160 °C (almost no residual crystals) it demixes first.
#[test]
fn low_dissolution_temperature_gels_before_demixing_and_high_demixes_first() {
    // Returns (time the crystallized fraction of the polymer reaches 0.2,
    // time the standard deviation of φ_p reaches 0.1), in s; None if not reached.
    let run = |ts: f64| -> (Option<f64>, Option<f64>) {
        let cfg = small_tips(16, ts, &[]);
        let p = cfg.params(&cfg.stages[0]);
        let (mut b, _) = common::start(&cfg, common::cpu_backend(&p), 0.5);
        let (mut t, mut step) = (0.0f64, 0u32);
        let (mut t_cryst, mut t_demix) = (None, None);
        while t < cfg.model_time(1.0) && (t_cryst.is_none() || t_demix.is_none()) {
            let tot = b.reduce();
            let dt = 0.5 * stability::dt_bound(&p, &tot);
            b.advance(&common::steps(&p, step, 100, dt));
            step += 100;
            t += 100.0 * dt;
            let tot = b.reduce();
            let phi = b.download();
            let n = phi.len() as f64;
            let mean = phi.iter().map(|c| c[0] as f64).sum::<f64>() / n;
            let sd = (phi.iter().map(|c| (c[0] as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
            let secs = t * cfg.units.time_s;
            if t_cryst.is_none() && tot.crystallinity() >= 0.2 {
                t_cryst = Some(secs);
            }
            if t_demix.is_none() && sd >= 0.1 {
                t_demix = Some(secs);
            }
        }
        eprintln!("Ts = {ts} °C: crystallinity 0.2 at {t_cryst:?} s, demixed (sd φ_p ≥ 0.1) at {t_demix:?} s");
        (t_cryst, t_demix)
    };
    let (c_lo, d_lo) = run(130.0);
    let c_lo = c_lo.expect("130 °C crystallizes");
    assert!(d_lo.is_none_or(|d| d > c_lo), "130 °C: gels ({c_lo} s) before it demixes ({d_lo:?} s)");
    let (c_hi, d_hi) = run(160.0);
    let d_hi = d_hi.expect("160 °C demixes");
    assert!(c_hi.is_none_or(|c| c > d_hi), "160 °C: demixes ({d_hi} s) before it gels ({c_hi:?} s)");
}

/// `cooling.column = "lumped"`: the faces' heat is drawn evenly from every voxel,
/// so the column cools as one piece at the same total rate as through its faces
/// (a column much thinner than the film's thermal length). Same on the GPU.
#[test]
fn a_lumped_column_cools_uniformly_at_the_face_rate() {
    let face = small_tips(16, 160.0, &[]);
    let lump = small_tips(16, 160.0, &["cooling.column=lumped"]);
    let (pf, pl) = (face.params(&face.stages[0]), lump.params(&lump.stages[0]));
    assert!(pl.lumped_column() && !pf.lumped_column());
    let (mut f, dt) = common::start(&face, common::cpu_backend(&pf), 0.5);
    let (mut l, _) = common::start(&lump, common::cpu_backend(&pl), 0.5);
    let (mut g, _) = common::start(&lump, common::gpu_backend(&pl), 0.5);
    let steps = common::steps(&pl, 0, 400, dt);
    let t0 = l.reduce().sum_t / 4096.0;
    for b in [&mut f, &mut l, &mut g] {
        b.advance(&steps);
    }
    let spread = |a: &[[f32; 2]]| a.iter().map(|c| c[0]).fold(f32::MIN, f32::max) - a.iter().map(|c| c[0]).fold(f32::MAX, f32::min);
    let (af, al, ag) = (f.download_aux(), l.download_aux(), g.download_aux());
    let (mf, ml) = (f.reduce().sum_t / 4096.0, l.reduce().sum_t / 4096.0);
    let dgpu = al.iter().zip(&ag).map(|(a, b)| (a[0] - b[0]).abs()).fold(0.0f32, f32::max);
    eprintln!("400 steps from {t0:.2} K: face cooling mean {mf:.3} K, spread {:.3} K; lumped mean {ml:.3} K, spread {:.2e} K; GPU vs CPU |ΔT| {dgpu:.1e}", spread(&af), spread(&al));
    assert!(t0 - ml > 1.0, "the lumped column cooled by {} K", t0 - ml);
    assert!(spread(&al) < 1e-3 * spread(&af).max(1.0) || spread(&al) < 1e-3, "lumped spread {} K vs face {} K", spread(&al), spread(&af));
    assert!(((t0 - ml) / (t0 - mf) - 1.0).abs() < 0.05, "heat removed: lumped {} K vs faces {} K", t0 - ml, t0 - mf);
    assert!(dgpu < 1e-2, "GPU vs CPU {dgpu}");
}
