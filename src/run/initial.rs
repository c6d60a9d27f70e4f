//! Initial fields from the scene, reproducible from the seed.

use crate::scene::{Config, Initial};
use crate::solver::cpu::pcg;

/// A uniform number in [-1, 1) from (seed, voxel, field).
fn unit(seed: u64, i: u32, field: u32) -> f32 {
    let h = pcg(i ^ pcg(field.wrapping_add(pcg(seed as u32 ^ pcg((seed >> 32) as u32)))));
    (h >> 8) as f32 / 8388608.0 - 1.0
}

/// The initial (phi_p, phi_n) of every voxel.
pub fn initial_fields(cfg: &Config) -> Vec<[f32; 2]> {
    let mut out = film_fields(cfg);
    if let Some(slab) = &cfg.bath_slab {
        let layer = cfg.grid.nx * cfg.grid.ny;
        for v in &mut out[..slab.layers * layer] {
            *v = [slab.phi[0] as f32, slab.phi[1] as f32];
        }
    }
    out
}

fn film_fields(cfg: &Config) -> Vec<[f32; 2]> {
    let g = &cfg.grid;
    let n = g.voxels();
    match cfg.initial {
        Initial::Uniform { phi_p, phi_n, noise, seed } => (0..n as u32)
            .map(|i| {
                let p = phi_p as f32 + noise as f32 * unit(seed, i, 0);
                let q = if phi_n > 0.0 { phi_n as f32 + noise as f32 * unit(seed, i, 1) } else { 0.0 };
                [p, q]
            })
            .collect(),
        Initial::PfhubBm1 => {
            let h = cfg.h();
            let mut out = Vec::with_capacity(n);
            for _z in 0..g.nz {
                for y in 0..g.ny {
                    for x in 0..g.nx {
                        let (x, y) = (x as f64 * h, y as f64 * h);
                        let a = (0.105 * x).cos() * (0.11 * y).cos();
                        let b = (0.13 * x).cos() * (0.087 * y).cos();
                        let c = (0.025 * x - 0.15 * y).cos() * (0.07 * x - 0.02 * y).cos();
                        out.push([(0.5 + 0.01 * (a + b * b + c)) as f32, 0.0]);
                    }
                }
            }
            out
        }
    }
}

/// The thermal model's initial (T in K, ψ): the dissolution temperature
/// everywhere and no crystal (residual crystals act as nuclei, see
/// `crystallization.seed_*`).
pub fn initial_aux(cfg: &Config) -> Option<Vec<[f32; 2]>> {
    let th = cfg.thermal.as_ref()?;
    let t = (th.dissolution_temperature_c + crate::scene::tips::KELVIN) as f32;
    let mut aux = vec![[t, 0.0]; cfg.grid.voxels()];
    if let Some(slab) = &cfg.bath_slab {
        let tb = (slab.temperature_c.unwrap_or(th.dissolution_temperature_c) + crate::scene::tips::KELVIN) as f32;
        for a in &mut aux[..slab.layers * cfg.grid.nx * cfg.grid.ny] {
            *a = [tb, 0.0];
        }
    }
    Some(aux)
}
