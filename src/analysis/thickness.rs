//! Local thickness (Hildebrand & Rüegsegger 1997, as BoneJ reports it): at each voxel
//! of a phase, the diameter of the largest ball that lies inside the phase and covers
//! the voxel.
//!
//! Balls are centred on phase voxels with radius r = EDT (distance to the nearest
//! other-phase voxel centre); a ball covers voxel x when |x − c| < r, and its diameter
//! is 2r (in voxels). The result is exact: a centre is skipped only when its set of
//! voxels lies inside a 26-neighbour's ball of at least its radius (checked exactly on
//! the lattice, see `ContainmentTable`), which can never change a maximum.
//! The remaining balls are painted slice by slice in parallel (each output z slice
//! is owned by one task, so there are no write conflicts), largest ball first, row
//! spans at a time against a bitmask of voxels already painted.
//!
//! Cost: the containment test compares each neighbour's r² with a per-voxel
//! threshold (one table lookup per offset class, faces tried first); the centres are
//! kept per slice in runs of equal r², largest first, so a slice orders the balls that
//! reach it by sorting a few hundred runs rather than every ball; row half-widths come
//! from an integer table, not from square roots.

use rayon::prelude::*;

use super::distance::edt_squared;
use crate::volume::{neighbor_index, Volume};

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
    let (centres, r2max) = maximal_centres(d2, periodic_xy);
    let rmax = (r2max as f64).sqrt().ceil() as usize;
    // Half-widths: `below[q]` is the largest k ≥ 0 with k² < q (q ≥ 1), so that the
    // row at height dy of a disc of squared radius q spans |dx| ≤ below[q − dy²].
    let below: Vec<i64> = {
        let mut v = vec![0i64; r2max as usize + 1];
        let mut k = 0i64;
        for (q, b) in v.iter_mut().enumerate().skip(1) {
            while (k + 1) * (k + 1) < q as i64 {
                k += 1;
            }
            *b = k;
        }
        v
    };
    let mut out = vec![0f32; d2.len()];
    out.par_chunks_mut(ny * nx).enumerate().for_each(|(z, slice)| {
        let lo = z.saturating_sub(rmax);
        let hi = (z + rmax + 1).min(nz);
        // Runs of equal radius reaching this slice, largest first: the first ball to
        // reach a voxel sets its final value, so each voxel is written once, and a row
        // span already painted costs one masked word test per 64 voxels. Centres of
        // one slice are sorted by decreasing r², so those reaching slice z (r² > dz²)
        // are a prefix of their slice's runs.
        let mut here: Vec<(u32, &[Centre])> = Vec::new();
        for zc in lo..hi {
            let dz2 = (zc as i64 - z as i64).pow(2) as u32;
            for run in &centres.runs[zc] {
                if run.0 <= dz2 {
                    break;
                }
                here.push((run.0, &centres.list[run.1..run.2]));
            }
        }
        here.sort_unstable_by_key(|a| std::cmp::Reverse(a.0));
        // One bit per voxel of the slice: already painted (by a larger ball).
        let words = nx.div_ceil(64);
        let mut done = vec![0u64; ny * words];
        let paint = |done: &mut [u64], slice: &mut [f32], row: usize, a: usize, b: usize, diam: f32| {
            for w in a / 64..=b / 64 {
                let lo = if w == a / 64 { a % 64 } else { 0 };
                let hi = if w == b / 64 { b % 64 } else { 63 };
                let span = (u64::MAX >> (63 - hi)) & (u64::MAX << lo);
                let word = &mut done[row * words + w];
                let mut todo = span & !*word;
                *word |= span;
                while todo != 0 {
                    let x = w * 64 + todo.trailing_zeros() as usize;
                    todo &= todo - 1;
                    slice[row * nx + x] = diam;
                }
            }
        };
        for (r2, run) in here {
            let diam = 2.0 * (r2 as f32).sqrt();
            for c in run {
                let dz = c.z as i64 - z as i64;
                let rem = r2 as i64 - dz * dz; // need dy² + dx² < rem
                let ry = below[rem as usize];
                for dy in -ry..=ry {
                    let rx = below[(rem - dy * dy) as usize];
                    let mut y = c.y as i64 + dy;
                    if y < 0 || y >= ny as i64 {
                        if !periodic_xy {
                            continue;
                        }
                        y = y.rem_euclid(ny as i64);
                    }
                    let row = y as usize;
                    let x0 = c.x as i64 - rx;
                    let x1 = c.x as i64 + rx;
                    if periodic_xy && x1 - x0 + 1 >= nx as i64 {
                        paint(&mut done, slice, row, 0, nx - 1, diam);
                    } else if periodic_xy && x0 < 0 {
                        paint(&mut done, slice, row, 0, x1 as usize, diam);
                        paint(&mut done, slice, row, (x0 + nx as i64) as usize, nx - 1, diam);
                    } else if periodic_xy && x1 >= nx as i64 {
                        paint(&mut done, slice, row, x0 as usize, nx - 1, diam);
                        paint(&mut done, slice, row, 0, (x1 - nx as i64) as usize, diam);
                    } else {
                        let a = x0.max(0);
                        let b = x1.min(nx as i64 - 1);
                        if a <= b {
                            paint(&mut done, slice, row, a as usize, b as usize, diam);
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
}

/// The balls to paint, grouped by centre slice and radius.
struct Centres {
    list: Vec<Centre>,
    /// Per z slice: runs `(r², start, end)` of `list`, by decreasing r².
    runs: Vec<Vec<(u32, usize, usize)>>,
}

/// Phase voxels whose ball is not inside a 26-neighbour's ball, and the largest r².
fn maximal_centres(d2: &Volume<f32>, periodic_xy: bool) -> (Centres, u32) {
    let [nz, ny, nx] = d2.shape;
    let plane = ny * nx;
    let r2max = d2.data.par_iter().cloned().reduce(|| 0f32, f32::max) as u32;
    let table = ContainmentTable::new(r2max.min(TABLE_R2_MAX));
    // Neighbour offsets (dz, dy, dx) by class: faces first (the neighbour up the
    // distance gradient is usually a face neighbour, and one hit ends the search).
    let mut offs: Vec<(i64, i64, i64)> = Vec::with_capacity(26);
    for s2 in 1..=3 {
        for dz in -1i64..=1 {
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    if dz * dz + dy * dy + dx * dx == s2 {
                        offs.push((dz, dy, dx));
                    }
                }
            }
        }
    }
    let lin: Vec<isize> = offs.iter().map(|&(dz, dy, dx)| (dz * plane as i64 + dy * nx as i64 + dx) as isize).collect();
    let class: Vec<usize> = offs.iter().map(|&(dz, dy, dx)| (dz * dz + dy * dy + dx * dx - 1) as usize).collect();
    // Per slice: its centres by decreasing r², and their runs `(r², start, end)`.
    type SliceCentres = (Vec<Centre>, Vec<(u32, usize, usize)>);
    let per_z: Vec<SliceCentres> = (0..nz)
        .into_par_iter()
        .map(|z| {
            let mut v: Vec<(u32, Centre)> = Vec::new();
            for y in 0..ny {
                let inner_row = z > 0 && z + 1 < nz && y > 0 && y + 1 < ny;
                for x in 0..nx {
                    let i = (z * ny + y) * nx + x;
                    let r2 = d2.data[i];
                    if r2 <= 0.0 {
                        continue;
                    }
                    let r2 = r2 as u32;
                    // Covered by a neighbour of class s when its r² exceeds bound[s].
                    let bound = [1, 2, 3].map(|s2| table.bound(r2, s2) as f32);
                    let covered = if inner_row && x > 0 && x + 1 < nx {
                        lin.iter().zip(&class).any(|(&o, &c)| d2.data[(i as isize + o) as usize] > bound[c])
                    } else {
                        offs.iter().zip(&class).any(|(&(dz, dy, dx), &c)| {
                            neighbor_index(d2.shape, (z as i64, y as i64, x as i64), (dz, dy, dx), periodic_xy).is_some_and(|j| d2.data[j] > bound[c])
                        })
                    };
                    if !covered {
                        v.push((r2, Centre { z: z as u32, y: y as u32, x: x as u32 }));
                    }
                }
            }
            v.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
            let mut runs = Vec::new();
            let mut s = 0;
            while s < v.len() {
                let e = s + v[s..].partition_point(|c| c.0 == v[s].0);
                runs.push((v[s].0, s, e));
                s = e;
            }
            (v.into_iter().map(|c| c.1).collect(), runs)
        })
        .collect();
    let mut list = Vec::with_capacity(per_z.iter().map(|p| p.0.len()).sum());
    let mut runs = Vec::with_capacity(nz);
    for (v, r) in per_z {
        let base = list.len();
        runs.push(r.into_iter().map(|(r2, s, e)| (r2, s + base, e + base)).collect());
        list.extend(v);
    }
    (Centres { list, runs }, r2max)
}

/// Largest r² for which the discrete containment table is built (r ≤ 100 voxels);
/// larger balls use the continuous test.
const TABLE_R2_MAX: u32 = 10_000;

/// Discrete ball containment: the voxels {x : |x − c|² < r²} lie inside
/// {x : |x − c'|² < r'²} exactly when r'² > M(r², c' − c) = max over the first ball
/// of |x − c'|². M depends on the offset only through its class (face, edge or corner
/// neighbour), by the symmetry of the lattice ball. This is much weaker a demand than
/// the continuous r' ≥ r + |c' − c|, which holds only along the exact EDT gradient.
struct ContainmentTable {
    /// `m[s2 - 1][r2]` for offsets with |o|² = s2 ∈ {1, 2, 3}.
    m: [Vec<i64>; 3],
}

impl ContainmentTable {
    fn new(r2max: u32) -> Self {
        let r2max = r2max as i64;
        let r = (r2max as f64).sqrt().ceil() as i64 + 1;
        let mut best = [vec![i64::MIN; r2max as usize + 2], vec![i64::MIN; r2max as usize + 2], vec![i64::MIN; r2max as usize + 2]];
        for z in -r..=r {
            for y in -r..=r {
                for x in -r..=r {
                    let q = x * x + y * y + z * z;
                    if q > r2max {
                        continue;
                    }
                    // |x − o|² maximised over the sign/permutation class of o.
                    let (a, b, c) = (x.abs(), y.abs(), z.abs());
                    let mut s = [a, b, c];
                    s.sort_unstable_by(|p, q| q.cmp(p));
                    for (k, f) in [q + 2 * s[0] + 1, q + 2 * (s[0] + s[1]) + 2, q + 2 * (s[0] + s[1] + s[2]) + 3].into_iter().enumerate() {
                        let e = &mut best[k][q as usize];
                        *e = (*e).max(f);
                    }
                }
            }
        }
        // Prefix maxima: M(r2) = max over points with |x|² < r2.
        let m = best.map(|b| {
            let mut out = vec![i64::MIN; b.len()];
            let mut run = i64::MIN;
            for r2 in 1..b.len() {
                run = run.max(b[r2 - 1]);
                out[r2] = run;
            }
            out
        });
        ContainmentTable { m }
    }

    /// The ball (r2) is inside a neighbour's ball (r2n) at offset class s2 exactly
    /// when r2n > `bound(r2, s2)`. Also demands r2n ≥ r2 (a neighbour's ball of smaller
    /// radius never counts, even where the lattice would allow it), as before.
    fn bound(&self, r2: u32, s2: usize) -> i64 {
        let t = &self.m[s2 - 1];
        let b = if (r2 as usize) < t.len() {
            t[r2 as usize]
        } else {
            // Continuous test r' ≥ r + s, exact in integers: A = r'² − r² − s² ≥ 0 and
            // A² ≥ 4r²s², i.e. A ≥ ⌈√(4r²s²)⌉.
            let q = 4 * r2 as u64 * s2 as u64;
            let mut a = (q as f64).sqrt() as u64;
            while a * a > q {
                a -= 1;
            }
            while a * a < q {
                a += 1;
            }
            r2 as i64 + s2 as i64 + a as i64 - 1
        };
        b.max(r2 as i64 - 1)
    }
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

#[cfg(test)]
mod table_tests {
    use super::*;

    /// The table against direct enumeration.
    #[test]
    fn containment_table_matches_enumeration() {
        let t = ContainmentTable::new(200);
        for r2 in 1..200u32 {
            for (k, o) in [(1i64, 0i64, 0i64), (1, 1, 0), (1, 1, 1)].into_iter().enumerate() {
                let r = (r2 as f64).sqrt().ceil() as i64;
                let mut m = i64::MIN;
                for z in -r..=r {
                    for y in -r..=r {
                        for x in -r..=r {
                            if x * x + y * y + z * z < r2 as i64 {
                                m = m.max((x - o.0).pow(2) + (y - o.1).pow(2) + (z - o.2).pow(2));
                            }
                        }
                    }
                }
                assert_eq!(t.m[k][r2 as usize], m, "r2 {r2} class {k}");
            }
        }
    }

    /// Beyond the table, `bound` is the continuous test r' ≥ r + s written as a
    /// threshold on r'²; checked against the test itself.
    #[test]
    fn bound_beyond_table_is_the_continuous_test() {
        let t = ContainmentTable::new(50);
        for r2 in [60u32, 61, 99, 10_001, 12_345, 40_000] {
            for s2 in 1..=3usize {
                let b = t.bound(r2, s2);
                for r2n in (r2 as i64 - 2)..(r2 as i64 + 2 * (r2 as f64 * s2 as f64).sqrt() as i64 + 8) {
                    let a = r2n - r2 as i64 - s2 as i64;
                    let inside = r2n >= r2 as i64 && a >= 0 && a * a >= 4 * r2 as i64 * s2 as i64;
                    assert_eq!(r2n > b, inside, "r2 {r2} s2 {s2} r2n {r2n}");
                }
            }
        }
    }
}

#[cfg(test)]
mod grf_tests {
    use super::*;
    use crate::analysis::synthetic::{gaussian_random_field, level_set};

    /// Brute force on a smooth random structure with radii up to ~6 voxels, where the
    /// containment table prunes most centres.
    #[test]
    fn exact_on_a_random_field() {
        for (seed, p) in [(1u64, 0.5), (2, 0.7)] {
            let m = level_set(&gaussian_random_field([20, 22, 24], 2.5, seed), p);
            for periodic in [false, true] {
                let d2 = edt_squared(&m, 1, periodic);
                let lt = local_thickness_from_edt2(&d2, periodic);
                let [_, ny, nx] = m.shape;
                let cs: Vec<(usize, usize, usize, f32)> = (0..m.len())
                    .filter(|&i| d2.data[i] > 0.0)
                    .map(|i| (i / (ny * nx), (i / nx) % ny, i % nx, d2.data[i]))
                    .collect();
                let w = |a: usize, b: usize, n: usize| {
                    let d = a.abs_diff(b);
                    if periodic { d.min(n - d) } else { d }
                };
                for i in (0..m.len()).filter(|&i| m.data[i] == 1) {
                    let (z, y, x) = (i / (ny * nx), (i / nx) % ny, i % nx);
                    let best = cs
                        .iter()
                        .filter(|c| ((w(x, c.2, nx).pow(2) + w(y, c.1, ny).pow(2) + z.abs_diff(c.0).pow(2)) as f32) < c.3)
                        .map(|c| 2.0 * c.3.sqrt())
                        .fold(0f32, f32::max);
                    assert_eq!(lt.data[i], best, "at {z},{y},{x}");
                }
            }
        }
    }
}
