//! Connected components of one phase (union–find), and which volume faces each
//! component touches.
//!
//! Connectivity convention (a consistent digital-topology pair): pore is 6-connected
//! (fluid must pass through a shared face), polymer is 26-connected (solid touching
//! at an edge or corner holds together). With periodic x/y the lateral faces wrap and
//! are not surfaces of the sample.

use crate::volume::{Volume, PORE};

/// Neighbourhood used to join voxels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Connectivity {
    /// Face neighbours only.
    Face6,
    /// Face, edge and corner neighbours.
    Full26,
}

impl Connectivity {
    /// The convention used throughout the analysis for `phase`.
    pub fn for_phase(phase: u8) -> Self {
        if phase == PORE {
            Connectivity::Face6
        } else {
            Connectivity::Full26
        }
    }
    pub fn number(self) -> u32 {
        match self {
            Connectivity::Face6 => 6,
            Connectivity::Full26 => 26,
        }
    }
}

/// Face flags in [`Components::touches`].
pub const TOP: u8 = 1;
pub const BOTTOM: u8 = 2;
pub const SIDE: u8 = 4;

/// Labelled components of one phase.
pub struct Components {
    /// 0 outside the phase, else the component id (1-based).
    pub labels: Vec<u32>,
    /// Voxel count per id (`sizes[0]` unused).
    pub sizes: Vec<u64>,
    /// Faces touched per id: [`TOP`] (z = 0), [`BOTTOM`] (last z), [`SIDE`] (x/y faces,
    /// only when not periodic).
    pub touches: Vec<u8>,
}

impl Components {
    pub fn count(&self) -> usize {
        self.sizes.len() - 1
    }
    /// Voxels of the largest component.
    pub fn largest(&self) -> u64 {
        self.sizes.iter().skip(1).copied().max().unwrap_or(0)
    }
}

fn find(p: &mut [u32], mut i: u32) -> u32 {
    while p[i as usize] != i {
        let g = p[p[i as usize] as usize];
        p[i as usize] = g;
        i = g;
    }
    i
}

fn union(p: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(p, a), find(p, b));
    if ra != rb {
        // Smaller index as root keeps the pass deterministic.
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        p[hi as usize] = lo;
    }
}

/// Labels the components of `phase`.
pub fn label(mask: &Volume<u8>, phase: u8, conn: Connectivity, periodic_xy: bool) -> Components {
    let [nz, ny, nx] = mask.shape;
    let n = mask.len();
    assert!(n < u32::MAX as usize, "volume too large for u32 labels");
    let mut p: Vec<u32> = (0..n as u32).collect();
    // Backward half-neighbourhood: offsets already visited in raster order.
    let offs: Vec<(i64, i64, i64)> = {
        let mut v = Vec::new();
        for dz in -1i64..=1 {
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let s = dz.abs() + dy.abs() + dx.abs();
                    if s == 0 || (conn == Connectivity::Face6 && s > 1) {
                        continue;
                    }
                    if (dz, dy, dx) < (0, 0, 0) {
                        v.push((dz, dy, dx));
                    }
                }
            }
        }
        v
    };
    let wrap = |v: i64, n: usize| -> Option<usize> {
        if v >= 0 && v < n as i64 {
            Some(v as usize)
        } else if periodic_xy {
            Some(v.rem_euclid(n as i64) as usize)
        } else {
            None
        }
    };
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let i = mask.idx(z, y, x);
                if mask.data[i] != phase {
                    continue;
                }
                for &(dz, dy, dx) in &offs {
                    let zz = z as i64 + dz;
                    if zz < 0 {
                        continue;
                    }
                    let (Some(yy), Some(xx)) = (wrap(y as i64 + dy, ny), wrap(x as i64 + dx, nx)) else { continue };
                    let j = mask.idx(zz as usize, yy, xx);
                    if mask.data[j] == phase {
                        union(&mut p, i as u32, j as u32);
                    }
                }
                // Periodic wrap also joins forward neighbours across the seam, which raster
                // order never visits as "backward".
                if periodic_xy && (x == nx - 1 || y == ny - 1) {
                    for &(dz, dy, dx) in &offs {
                        let (dz, dy, dx) = (-dz, -dy, -dx);
                        let zz = z as i64 + dz;
                        if zz < 0 || zz >= nz as i64 {
                            continue;
                        }
                        let (yr, xr) = (y as i64 + dy, x as i64 + dx);
                        if (0..ny as i64).contains(&yr) && (0..nx as i64).contains(&xr) {
                            continue;
                        }
                        let j = mask.idx(zz as usize, yr.rem_euclid(ny as i64) as usize, xr.rem_euclid(nx as i64) as usize);
                        if mask.data[j] == phase {
                            union(&mut p, i as u32, j as u32);
                        }
                    }
                }
            }
        }
    }
    // Relabel roots to 1..=k. A root is the smallest index of its set, so raster order
    // meets it before any other member and its id is already in `labels`.
    let mut sizes = vec![0u64];
    let mut touches = vec![0u8];
    let mut labels = vec![0u32; n];
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let i = mask.idx(z, y, x);
                if mask.data[i] != phase {
                    continue;
                }
                let r = find(&mut p, i as u32) as usize;
                let id = if r == i {
                    sizes.push(0);
                    touches.push(0);
                    (sizes.len() - 1) as u32
                } else {
                    labels[r]
                };
                labels[i] = id;
                sizes[id as usize] += 1;
                let mut t = 0;
                if z == 0 {
                    t |= TOP;
                }
                if z == nz - 1 {
                    t |= BOTTOM;
                }
                if !periodic_xy && (x == 0 || y == 0 || x == nx - 1 || y == ny - 1) {
                    t |= SIDE;
                }
                touches[id as usize] |= t;
            }
        }
    }
    Components { labels, sizes, touches }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Component sizes against a plain flood fill, on random masks.
    #[test]
    fn matches_flood_fill() {
        let mut seed = 7u64;
        for case in 0..8 {
            let shape = [5 + case % 3, 6, 7 + case % 2];
            let n: usize = shape.iter().product();
            let data = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((seed >> 33) % 10 < 5) as u8
                })
                .collect();
            let m = Volume::from_vec(shape, 1.0, data).unwrap();
            for conn in [Connectivity::Face6, Connectivity::Full26] {
                for periodic in [false, true] {
                    let c = label(&m, 1, conn, periodic);
                    let mut seen = vec![false; n];
                    let mut sizes = Vec::new();
                    let [nz, ny, nx] = shape;
                    for s in 0..n {
                        if m.data[s] != 1 || seen[s] {
                            continue;
                        }
                        let mut stack = vec![s];
                        seen[s] = true;
                        let mut size = 0u64;
                        while let Some(i) = stack.pop() {
                            size += 1;
                            assert_eq!(c.labels[i], c.labels[s]);
                            let (z, y, x) = ((i / (ny * nx)) as i64, ((i / nx) % ny) as i64, (i % nx) as i64);
                            for dz in -1i64..=1 {
                                for dy in -1i64..=1 {
                                    for dx in -1i64..=1 {
                                        let k = dz.abs() + dy.abs() + dx.abs();
                                        if k == 0 || (conn == Connectivity::Face6 && k > 1) {
                                            continue;
                                        }
                                        let zz = z + dz;
                                        let (mut yy, mut xx) = (y + dy, x + dx);
                                        if zz < 0 || zz >= nz as i64 {
                                            continue;
                                        }
                                        if periodic {
                                            yy = yy.rem_euclid(ny as i64);
                                            xx = xx.rem_euclid(nx as i64);
                                        } else if yy < 0 || yy >= ny as i64 || xx < 0 || xx >= nx as i64 {
                                            continue;
                                        }
                                        let j = (zz as usize * ny + yy as usize) * nx + xx as usize;
                                        if m.data[j] == 1 && !seen[j] {
                                            seen[j] = true;
                                            stack.push(j);
                                        }
                                    }
                                }
                            }
                        }
                        assert_eq!(c.sizes[c.labels[s] as usize], size);
                        sizes.push(size);
                    }
                    assert_eq!(c.count(), sizes.len(), "{conn:?} periodic={periodic}");
                }
            }
        }
    }
}
