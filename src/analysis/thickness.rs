//! Local thickness (Hildebrand & Rüegsegger 1997, as BoneJ reports it): at each voxel
//! of a phase, the diameter of the largest ball that lies inside the phase and covers
//! the voxel.
//!
//! Balls are centred on phase voxels with radius r = EDT (distance to the nearest
//! other-phase voxel centre); a ball covers voxel x when |x − c| < r, and its diameter
//! is 2r (in voxels). The result is exact: a centre is skipped only when its ball lies
//! inside a neighbour's ball (r' ≥ r + |c − c'|), which can never change a maximum.
//! The remaining balls are painted slice by slice in parallel (each output z slice
//! is owned by one task, so there are no write conflicts), row spans at a time.

use rayon::prelude::*;

use super::distance::edt_squared;
use crate::volume::Volume;

/// Local thickness (diameter, in voxels) of `phase`; 0 outside the phase. With no
/// other-phase voxel anywhere the thickness is undefined and `f32::INFINITY` is returned.
pub fn local_thickness(mask: &Volume<u8>, phase: u8, periodic_xy: bool) -> Volume<f32> {
    let d2 = edt_squared(mask, phase, periodic_xy);
    local_thickness_from_edt2(&d2, periodic_xy)
}

/// Local thickness from squared EDT values (0 = not in the phase).
pub fn local_thickness_from_edt2(d2: &Volume<f32>, periodic_xy: bool) -> Volume<f32> {
    let [nz, ny, nx] = d2.shape;
    if d2.data.iter().any(|v| v.is_infinite()) {
        return d2.map(|v| if v > 0.0 { f32::INFINITY } else { 0.0 });
    }
    let centres = maximal_centres(d2, periodic_xy);
    let rmax = centres.iter().map(|c| c.r2).max().map(|r2| (r2 as f64).sqrt().ceil() as usize).unwrap_or(0);
    // Index of the first centre at each z (centres are sorted by z).
    let mut first = vec![0usize; nz + 1];
    {
        let mut i = 0;
        for (z, f) in first.iter_mut().enumerate() {
            while i < centres.len() && (centres[i].z as usize) < z {
                i += 1;
            }
            *f = i;
        }
    }
    let mut out = vec![0f32; d2.len()];
    out.par_chunks_mut(ny * nx).enumerate().for_each(|(z, slice)| {
        let lo = z.saturating_sub(rmax);
        let hi = (z + rmax + 1).min(nz);
        for c in &centres[first[lo]..first[hi]] {
            let dz = c.z as i64 - z as i64;
            let rem = c.r2 as i64 - dz * dz; // need dy² + dx² < rem
            if rem <= 0 {
                continue;
            }
            let diam = 2.0 * (c.r2 as f32).sqrt();
            let ry = ((rem - 1) as f64).sqrt().floor() as i64;
            for dy in -ry..=ry {
                let rem2 = rem - dy * dy;
                if rem2 <= 0 {
                    continue;
                }
                let rx = ((rem2 - 1) as f64).sqrt().floor() as i64;
                let mut y = c.y as i64 + dy;
                if periodic_xy {
                    y = y.rem_euclid(ny as i64);
                } else if y < 0 || y >= ny as i64 {
                    continue;
                }
                let row = &mut slice[y as usize * nx..(y as usize + 1) * nx];
                let x0 = c.x as i64 - rx;
                let x1 = c.x as i64 + rx;
                if periodic_xy && (x0 < 0 || x1 >= nx as i64) {
                    for x in x0..=x1 {
                        let xi = x.rem_euclid(nx as i64) as usize;
                        if row[xi] < diam {
                            row[xi] = diam;
                        }
                    }
                } else {
                    let a = x0.max(0) as usize;
                    let b = (x1.min(nx as i64 - 1)) as usize;
                    if (x1 as i128) < 0 || a > b {
                        continue;
                    }
                    for v in &mut row[a..=b] {
                        if *v < diam {
                            *v = diam;
                        }
                    }
                }
            }
        }
    });
    Volume { data: out, shape: d2.shape, voxel_um: d2.voxel_um }
}

#[derive(Clone, Copy)]
struct Centre {
    z: u32,
    y: u32,
    x: u32,
    r2: u32,
}

/// Phase voxels whose ball is not inside a 26-neighbour's ball.
fn maximal_centres(d2: &Volume<f32>, periodic_xy: bool) -> Vec<Centre> {
    let [nz, ny, nx] = d2.shape;
    let per_z: Vec<Vec<Centre>> = (0..nz)
        .into_par_iter()
        .map(|z| {
            let mut v = Vec::new();
            for y in 0..ny {
                for x in 0..nx {
                    let r2 = d2.get(z, y, x);
                    if r2 <= 0.0 {
                        continue;
                    }
                    let mut covered = false;
                    'n: for dz in -1i64..=1 {
                        let zz = z as i64 + dz;
                        if zz < 0 || zz >= nz as i64 {
                            continue;
                        }
                        for dy in -1i64..=1 {
                            let mut yy = y as i64 + dy;
                            if periodic_xy {
                                yy = yy.rem_euclid(ny as i64);
                            } else if yy < 0 || yy >= ny as i64 {
                                continue;
                            }
                            for dx in -1i64..=1 {
                                if dz == 0 && dy == 0 && dx == 0 {
                                    continue;
                                }
                                let mut xx = x as i64 + dx;
                                if periodic_xy {
                                    xx = xx.rem_euclid(nx as i64);
                                } else if xx < 0 || xx >= nx as i64 {
                                    continue;
                                }
                                let r2n = d2.get(zz as usize, yy as usize, xx as usize) as i64;
                                let s2 = dz * dz + dy * dy + dx * dx;
                                // Ball c inside ball c' ⇔ r' ≥ r + s ⇔ A = r'² − r² − s² ≥ 0
                                // and A² ≥ 4r²s²: exact in integers.
                                let a = r2n - r2 as i64 - s2;
                                if a >= 0 && (a as i128) * (a as i128) >= 4 * (r2 as i128) * (s2 as i128) {
                                    covered = true;
                                    break 'n;
                                }
                            }
                        }
                    }
                    if !covered {
                        v.push(Centre { z: z as u32, y: y as u32, x: x as u32, r2: r2 as u32 });
                    }
                }
            }
            v
        })
        .collect();
    per_z.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: max over all balls of all phase voxels.
    #[test]
    fn matches_brute_force() {
        let mut seed = 99u64;
        let shape = [7, 8, 9];
        let n = shape.iter().product();
        let data = (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((seed >> 33) % 10 < 8) as u8
            })
            .collect();
        let m = Volume::from_vec(shape, 1.0, data).unwrap();
        for periodic in [false, true] {
            let d2 = edt_squared(&m, 1, periodic);
            let lt = local_thickness(&m, 1, periodic);
            let [nz, ny, nx] = shape;
            for z in 0..nz {
                for y in 0..ny {
                    for x in 0..nx {
                        let mut best = 0f32;
                        if m.get(z, y, x) == 1 {
                            for cz in 0..nz {
                                for cy in 0..ny {
                                    for cx in 0..nx {
                                        let r2 = d2.get(cz, cy, cx);
                                        let w = |a: usize, b: usize, n: usize| {
                                            let d = a.abs_diff(b);
                                            if periodic { d.min(n - d) } else { d }
                                        };
                                        let dd = (w(x, cx, nx).pow(2) + w(y, cy, ny).pow(2) + z.abs_diff(cz).pow(2)) as f32;
                                        if dd < r2 {
                                            best = best.max(2.0 * r2.sqrt());
                                        }
                                    }
                                }
                            }
                        }
                        assert_eq!(lt.get(z, y, x), best, "at {z},{y},{x} periodic={periodic}");
                    }
                }
            }
        }
    }
}
