//! Synthetic segmented volumes with known answers, used by the validation
//! tests, the benchmarks and the PoreSpy cross-check (`benches/crosscheck_drainage.py`).
//! All are `Volume<u8>` with `PORE = 1`, `POLYMER = 0`.

use super::rng::SplitMix64;
use crate::volume::{Volume, POLYMER, PORE};

/// A polymer slab `nz` thick pierced by straight cylindrical channels along z.
/// `channels` lists (centre x, centre y, diameter), all in voxels; a voxel is
/// pore when its centre lies strictly inside a channel.
pub fn channels(shape: [usize; 3], voxel_um: f64, channels: &[(f64, f64, f64)]) -> Volume<u8> {
    let [nz, ny, nx] = shape;
    let mut v = Volume::filled(shape, voxel_um, POLYMER);
    for y in 0..ny {
        for x in 0..nx {
            let inside = channels.iter().any(|&(cx, cy, d)| {
                let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                dx * dx + dy * dy < d * d / 4.0
            });
            if inside {
                for z in 0..nz {
                    v.set(z, y, x, PORE);
                }
            }
        }
    }
    v
}

/// Boolean model: pore spheres of radius `r` (voxels) at uniformly random
/// centres, laterally periodic, added until the pore fraction reaches
/// `porosity`. A stand-in for an isotropic sponge-like membrane.
pub fn pore_spheres(shape: [usize; 3], voxel_um: f64, r: f64, porosity: f64, seed: u64) -> Volume<u8> {
    let [nz, ny, nx] = shape;
    let mut v = Volume::filled(shape, voxel_um, POLYMER);
    let mut rng = SplitMix64::new(seed);
    let total = v.len() as f64;
    let mut pores = 0usize;
    let ri = r.ceil() as i64;
    while (pores as f64) < porosity * total {
        let c = [
            rng.next_f64() * nz as f64,
            rng.next_f64() * ny as f64,
            rng.next_f64() * nx as f64,
        ];
        for dz in -ri..=ri {
            let z = c[0].floor() as i64 + dz;
            if z < 0 || z >= nz as i64 {
                continue;
            }
            for dy in -ri..=ri {
                for dx in -ri..=ri {
                    let y = c[1].floor() as i64 + dy;
                    let x = c[2].floor() as i64 + dx;
                    let d2 = (z as f64 + 0.5 - c[0]).powi(2)
                        + (y as f64 + 0.5 - c[1]).powi(2)
                        + (x as f64 + 0.5 - c[2]).powi(2);
                    if d2 < r * r {
                        let (yy, xx) = (y.rem_euclid(ny as i64) as usize, x.rem_euclid(nx as i64) as usize);
                        let i = v.idx(z as usize, yy, xx);
                        if v.data[i] != PORE {
                            v.data[i] = PORE;
                            pores += 1;
                        }
                    }
                }
            }
        }
    }
    v
}

/// Non-overlapping solid-free spheres of diameter `d` (pores) in polymer, at
/// random positions (rejection sampling), fully inside the volume: the
/// sections through them are discs of varying size, and any straight line's
/// chords through them have mean 2d/3 (= 4V/S).
pub fn isolated_pore_spheres(shape: [usize; 3], voxel_um: f64, d: f64, count: usize, seed: u64) -> Volume<u8> {
    let [nz, ny, nx] = shape;
    let mut v = Volume::filled(shape, voxel_um, POLYMER);
    let mut rng = SplitMix64::new(seed);
    let r = d / 2.0;
    let mut centres: Vec<[f64; 3]> = Vec::new();
    let mut tries = 0;
    while centres.len() < count && tries < count * 1000 {
        tries += 1;
        let c = [
            r + 1.0 + rng.next_f64() * (nz as f64 - d - 2.0),
            r + 1.0 + rng.next_f64() * (ny as f64 - d - 2.0),
            r + 1.0 + rng.next_f64() * (nx as f64 - d - 2.0),
        ];
        if centres
            .iter()
            .all(|o| (0..3).map(|k| (o[k] - c[k]).powi(2)).sum::<f64>() > (d + 2.0).powi(2))
        {
            centres.push(c);
        }
    }
    for c in &centres {
        let lo = |k: usize| (c[k] - r).floor().max(0.0) as usize;
        let hi = |k: usize, n: usize| ((c[k] + r).ceil() as usize).min(n);
        for z in lo(0)..hi(0, nz) {
            for y in lo(1)..hi(1, ny) {
                for x in lo(2)..hi(2, nx) {
                    let d2 = (z as f64 + 0.5 - c[0]).powi(2)
                        + (y as f64 + 0.5 - c[1]).powi(2)
                        + (x as f64 + 0.5 - c[2]).powi(2);
                    if d2 < r * r {
                        v.set(z, y, x, PORE);
                    }
                }
            }
        }
    }
    v
}
