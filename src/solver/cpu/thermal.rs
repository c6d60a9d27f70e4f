//! Twin of `shaders/thermal.wgsl`: one step of the temperature and
//! crystallinity fields of the thermal (TIPS) model, with nucleation.

use super::free_energy::{chi_tm, dfc_dpsi, inv_tm, medium_shift};
use super::{coords, neighbor, pcg, CHUNK};
use crate::solver::params::{Params, StepInfo, BC_PERIODIC};
use rayon::prelude::*;

fn unit01(h: u32) -> f32 {
    (h >> 8) as f32 * (1.0 / 16777216.0)
}

/// Twin of `is_seed`: whether voxel `i` holds a residual crystal.
pub fn is_seed(p: &Params, i: u32) -> bool {
    unit01(pcg(i ^ pcg(p.noise_seed() ^ 0x51ed2705))) < p.th_nuc[0]
}

/// (T, ψ) after one step, from the fields before it.
pub fn thermal(p: &Params, s: &StepInfo, phi: &[[f32; 2]], aux: &[[f32; 2]], out: &mut [[f32; 2]]) {
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(k, chunk)| {
        for (o, dst) in chunk.iter_mut().enumerate() {
            let i = (k * CHUNK + o) as u32;
            let pos = coords(p, i);
            let [t, psi] = aux[i as usize];
            let q = phi[i as usize][0].clamp(0.0, 1.0);
            let (mut lap_t, mut lap_psi) = (0.0f32, 0.0f32);
            let lumped = p.lumped_column();
            for f in 0..6 {
                let j = neighbor(p, pos, f);
                if j >= 0 {
                    let b = aux[j as usize];
                    lap_t += b[0] - t;
                    lap_psi += b[1] - psi;
                } else if f == 4 && !lumped {
                    lap_t += p.th_face[0] * (p.th_face[1] - t);
                } else if f == 5 && !lumped {
                    lap_t += p.th_face[2] * (p.th_face[3] - t);
                }
            }
            if lumped {
                // The faces' heat is drawn from every voxel alike (1/nz of it each).
                // (A periodic z face is no face: it removes nothing, as in the conducting form.)
                let top = if p.bc1[0] != BC_PERIODIC { p.th_face[0] * (p.th_face[1] - t) } else { 0.0 };
                let back = if p.bc1[1] != BC_PERIODIC { p.th_face[2] * (p.th_face[3] - t) } else { 0.0 };
                lap_t += (top + back) / p.nz as f32;
            }
            let chi = chi_tm(p, phi[i as usize], t);
            let shift = medium_shift(p, pos[2]);
            let rate = p.th_cryst[3] * (p.th_cryst[2] * lap_psi * p.inv_h2 - dfc_dpsi(p, q, psi, t, chi, shift));
            let psi_new = nucleate(p, s, i, q, t, chi, shift, (psi + s.dt * rate).clamp(0.0, 1.0));
            let t_new = t + s.dt * p.th_heat[0] * lap_t * p.inv_h2 + p.th_heat[1] * q * (psi_new - psi);
            *dst = [t_new, psi_new];
        }
    });
}

/// Nucleation (twin of `nucleate` in free_energy.wgsl): a seed (residual crystal)
/// switches on where the melt is undercooled past its activation undercooling, and a
/// thermal nucleus appears with probability 1 − exp(−I Δt); otherwise `psi`.
#[allow(clippy::too_many_arguments)]
pub fn nucleate(p: &Params, s: &StepInfo, i: u32, q: f32, t: f32, chi: f32, shift: f32, psi: f32) -> f32 {
    let undercool = 1.0 / inv_tm(p, q, chi, shift) - t;
    if undercool > p.th_nuc[1] && is_seed(p, i) {
        return 1.0;
    }
    if undercool > 0.0 && p.th_nuc[2] > 0.0 {
        let prob = nucleation_probability(p.th_nuc[2] * q * (-p.th_nuc[3] / (t * undercool * undercool)).exp() * s.dt);
        if unit01(pcg(i ^ pcg(s.step ^ pcg(p.noise_seed() ^ 0x7a3c1e5b)))) < prob {
            return 1.0;
        }
    }
    psi
}

/// 1 − exp(−x): the probability of at least one nucleation event in a step whose
/// expected count is x (twin of `nucleation_probability` in free_energy.wgsl).
pub fn nucleation_probability(x: f32) -> f32 {
    if x < 1e-3 {
        x * (1.0 - 0.5 * x)
    } else {
        1.0 - (-x).exp()
    }
}

/// Semi-implicit thermal step, first part (twin of `thermal_rhs` in thermal.wgsl):
/// `out` = (T + Δt α (Newton face sources)/h², ψ + Δt L_ψ (S_ψ ψ − ∂f_c/∂ψ)), the
/// right-hand sides of the heat and crystallinity solves (`implicit::heat_op`, `psi_op`).
pub fn thermal_rhs(p: &Params, s: &StepInfo, phi: &[[f32; 2]], aux: &[[f32; 2]], s_psi: f32, out: &mut [[f32; 2]]) {
    let lumped = p.lumped_column();
    let open = [p.bc1[0] != BC_PERIODIC, p.bc1[1] != BC_PERIODIC];
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(k, chunk)| {
        for (o, dst) in chunk.iter_mut().enumerate() {
            let i = (k * CHUNK + o) as u32;
            let pos = coords(p, i);
            let [t, psi] = aux[i as usize];
            let q = phi[i as usize][0].clamp(0.0, 1.0);
            let mut src = 0.0f32;
            if lumped {
                if open[0] {
                    src += p.th_face[0] * p.th_face[1];
                }
                if open[1] {
                    src += p.th_face[2] * p.th_face[3];
                }
                src /= p.nz as f32;
            } else {
                if open[0] && pos[2] == 0 {
                    src += p.th_face[0] * p.th_face[1];
                }
                if open[1] && pos[2] == p.nz - 1 {
                    src += p.th_face[2] * p.th_face[3];
                }
            }
            let chi = chi_tm(p, phi[i as usize], t);
            let shift = medium_shift(p, pos[2]);
            let psi_rhs = psi + s.dt * p.th_cryst[3] * (s_psi * psi - dfc_dpsi(p, q, psi, t, chi, shift));
            *dst = [t + s.dt * p.th_heat[0] * src * p.inv_h2, psi_rhs];
        }
    });
}

/// Semi-implicit thermal step, middle part (twin of `thermal_finish` in thermal.wgsl):
/// after the crystallinity solve, clamps ψ to [0, 1], applies seeds and thermal
/// nucleation as the explicit step does, and adds the latent heat to the heat
/// equation's right-hand side.
pub fn thermal_finish(p: &Params, s: &StepInfo, phi: &[[f32; 2]], aux: &[[f32; 2]], out: &mut [[f32; 2]]) {
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(k, chunk)| {
        for (o, dst) in chunk.iter_mut().enumerate() {
            let i = (k * CHUNK + o) as u32;
            let pos = coords(p, i);
            let [t, psi] = aux[i as usize];
            let q = phi[i as usize][0].clamp(0.0, 1.0);
            let chi = chi_tm(p, phi[i as usize], t);
            let shift = medium_shift(p, pos[2]);
            let psi_new = nucleate(p, s, i, q, t, chi, shift, dst[1].clamp(0.0, 1.0));
            *dst = [dst[0] + p.th_heat[1] * q * (psi_new - psi), psi_new];
        }
    });
}
