//! Twin of `shaders/update.wgsl`.

use super::free_energy::{arrest, chol2, dmu_dt, face_mobility_harmonic, gel, ln_activity_n, mobility};
use super::{coords, neighbor, noise2, CHUNK, RESERVOIR, VAPOR, WALL};
use crate::solver::params::{MOBILITY_CONSTANT, MODEL_TERNARY};
use crate::solver::params::{Params, StepInfo};
use rayon::prelude::*;

/// One explicit Euler step of dphi/dt = div(M grad mu) + div(conserved noise).
/// In the thermal model the mobility is scaled by the gelation factor of the
/// crystallinity in `aux` (unread otherwise).
pub fn update(p: &Params, s: &StepInfo, phi: &[[f32; 2]], mu: &[[f32; 2]], aux: &[[f32; 2]], out: &mut [[f32; 2]]) {
    update_split(p, s, phi, mu, aux, out, None);
}

/// The same step; with `noise_out` the divergence of the unit face noise is written
/// there (for the semi-implicit scheme's filter) and `out` gets the deterministic
/// part alone. Twin of update.wgsl with `SPLIT_NOISE`.
pub fn update_split(p: &Params, s: &StepInfo, phi: &[[f32; 2]], mu: &[[f32; 2]], aux: &[[f32; 2]], out: &mut [[f32; 2]], noise_out: Option<&mut [[f32; 2]]>) {
    let split = noise_out.is_some();
    let mut dummy: [[f32; 2]; 0] = [];
    let noise_out: &mut [[f32; 2]] = match noise_out {
        Some(n) => n,
        None => &mut dummy,
    };
    let thermal = p.is_thermal();
    let iso = p.isothermal_flux();
    let gel_at = |k: usize| if thermal { gel(p, aux[k][1]) } else { 1.0 };
    let scaled = |m: [f32; 3], k: usize| -> [f32; 3] {
        let g = gel_at(k);
        [m[0] * g, m[1] * g, m[2] * g]
    };
    let harmonic = p.harmonic_face() && p.model == MODEL_TERNARY && p.mobility_model != MOBILITY_CONSTANT;
    let noise_chunks: Vec<&mut [[f32; 2]]> = if split { noise_out.chunks_mut(CHUNK).collect() } else { Vec::new() };
    let mut noise_iter: Vec<Option<&mut [[f32; 2]]>> = noise_chunks.into_iter().map(Some).collect();
    noise_iter.resize_with(out.len().div_ceil(CHUNK), || None);
    out.par_chunks_mut(CHUNK).zip(noise_iter.par_iter_mut()).enumerate().for_each(|(k, (chunk, nchunk))| {
        for (o, dst) in chunk.iter_mut().enumerate() {
            let i = (k * CHUNK + o) as u32;
            let pos = coords(p, i);
            let c = phi[i as usize];
            let mc = mu[i as usize];
            let m_c = scaled(mobility(p, c), i as usize);
            let mut div = [0.0f32; 2];
            let mut noise = [0.0f32; 2];
            for f in 0..6 {
                let j = neighbor(p, pos, f);
                if j == WALL {
                    continue;
                }
                if j == VAPOR {
                    let a_surf = ln_activity_n(p, c).min(10.0).exp();
                    div[1] += p.vap[0] * (p.vap[1] - a_surf) * p.h;
                    continue;
                }
                let (cn, mn) = if j >= 0 {
                    (phi[j as usize], mu[j as usize])
                } else {
                    ([p.res[0], p.res[1]], [p.res[2], p.res[3]])
                };
                // Symmetric in both sides (mass conservation): the mean of both
                // matrices, or with mobility.face = "harmonic" between two film voxels
                // (a bath face uses the mean) the matrix at the harmonic-mean composition.
                let mut mf = if harmonic && j >= 0 {
                    let g = 0.5 * (arrest(p, c[0].clamp(0.0, 1.0)) * gel_at(i as usize) + arrest(p, cn[0].clamp(0.0, 1.0)) * gel_at(j as usize));
                    face_mobility_harmonic(p, c, cn, g)
                } else if j == RESERVOIR && thermal {
                    // A cooling medium: the matrix at the mean composition of the face.
                    scaled(mobility(p, [0.5 * (c[0] + cn[0]), 0.5 * (c[1] + cn[1])]), i as usize)
                } else {
                    let m_n = if j >= 0 { scaled(mobility(p, cn), j as usize) } else { mobility(p, cn) };
                    [0.5 * (m_c[0] + m_n[0]), 0.5 * (m_c[1] + m_n[1]), 0.5 * (m_c[2] + m_n[2])]
                };
                if j == RESERVOIR && p.model == MODEL_TERNARY {
                    // The bath holds the polymer back: zero polymer flux, exchange
                    // with the Schur complement of the face mobility.
                    let m_eff = if mf[0] > 0.0 { (mf[1] - mf[2] * mf[2] / mf[0]).max(0.0) } else { mf[1] };
                    mf = [0.0, m_eff, 0.0];
                }
                let mut dm = [mn[0] - mc[0], mn[1] - mc[1]];
                if iso && j >= 0 {
                    // No thermodiffusion (twin of update.wgsl).
                    let (ac, an) = (aux[i as usize], aux[j as usize]);
                    let cm = [0.5 * (c[0] + cn[0]), 0.5 * (c[1] + cn[1])];
                    let g = dmu_dt(p, cm, 0.5 * (ac[1] + an[1]), 0.5 * (ac[0] + an[0]));
                    let dt = an[0] - ac[0];
                    dm = [dm[0] - g[0] * dt, dm[1] - g[1] * dt];
                }
                div[0] += mf[0] * dm[0] + mf[2] * dm[1];
                div[1] += mf[2] * dm[0] + mf[1] * dm[1];
                if s.noise_scale > 0.0 && j >= 0 {
                    let axis = (f / 2) as u32;
                    let plus = f & 1 == 1;
                    let owner = if plus { i } else { j as u32 };
                    let xi = noise2(owner.wrapping_mul(3).wrapping_add(axis), s.step, p.noise_seed());
                    let l = chol2(mf);
                    let flux = [l[0] * xi[0], l[2] * xi[0] + l[1] * xi[1]];
                    let sign = if plus { -1.0 } else { 1.0 };
                    noise[0] += sign * flux[0];
                    noise[1] += sign * flux[1];
                }
            }
            let k = s.dt * p.inv_h2;
            if let Some(nc) = nchunk.as_mut() {
                nc[o] = noise;
                *dst = [c[0] + k * div[0], c[1] + k * div[1]];
            } else {
                *dst = [c[0] + k * div[0] + s.noise_scale * noise[0], c[1] + k * div[1] + s.noise_scale * noise[1]];
            }
        }
    });
}
