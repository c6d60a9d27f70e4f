//! Twin of `shaders/chem_potential.wgsl`.

use super::free_energy::{bulk_mu, bulk_mu_chi, chi_at, chi_pn_at, chi_tm, dfc_dp, floor_mu, medium_shift};
use super::{coords, neighbor, RESERVOIR, CHUNK};
use crate::solver::params::Params;
use rayon::prelude::*;

/// mu = df/dphi - kappa * laplacian(phi) for every voxel. `aux` holds (T, ψ)
/// per voxel in the thermal model and is not read otherwise.
pub fn chem_potential(p: &Params, phi: &[[f32; 2]], aux: &[[f32; 2]], mu: &mut [[f32; 2]]) {
    mu.par_chunks_mut(CHUNK).enumerate().for_each(|(k, out)| {
        for (o, m) in out.iter_mut().enumerate() {
            let i = (k * CHUNK + o) as u32;
            let pos = coords(p, i);
            let c = phi[i as usize];
            let mut lap = [0.0f32; 2];
            for f in 0..6 {
                let j = neighbor(p, pos, f);
                if j >= 0 {
                    let n = phi[j as usize];
                    lap[0] += n[0] - c[0];
                    lap[1] += n[1] - c[1];
                } else if j == RESERVOIR {
                    lap[0] += p.res[0] - c[0];
                    lap[1] += p.res[1] - c[1];
                }
            }
            let b = if p.is_thermal() {
                let a = aux[i as usize];
                let b = bulk_mu_chi(p, c, chi_at(p, a[0]), chi_pn_at(p, a[0]));
                let fl = floor_mu(c);
                [b[0] + fl[0] + dfc_dp(p, c[0], a[1], a[0], chi_tm(p, c, a[0]), medium_shift(p, pos[2])), b[1] + fl[1]]
            } else {
                bulk_mu(p, c)
            };
            *m = [b[0] - p.kappa_p * lap[0] * p.inv_h2, b[1] - p.kappa_n * lap[1] * p.inv_h2];
        }
    });
}
