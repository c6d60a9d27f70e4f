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
            let mut psi_new = (psi + s.dt * rate).clamp(0.0, 1.0);
            let undercool = 1.0 / inv_tm(p, q, chi, shift) - t;
            if undercool > p.th_nuc[1] && is_seed(p, i) {
                psi_new = 1.0;
            }
            if undercool > 0.0 && p.th_nuc[2] > 0.0 {
                let prob = p.th_nuc[2] * q * (-p.th_nuc[3] / (t * undercool * undercool)).exp() * s.dt;
                if unit01(pcg(i ^ pcg(s.step ^ pcg(p.noise_seed() ^ 0x7a3c1e5b)))) < prob {
                    psi_new = 1.0;
                }
            }
            let t_new = t + s.dt * p.th_heat[0] * lap_t * p.inv_h2 + p.th_heat[1] * q * (psi_new - psi);
            *dst = [t_new, psi_new];
        }
    });
}
