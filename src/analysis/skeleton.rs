//! Topology-preserving 3D curve skeleton of a phase and its graph.
//!
//! Thinning (after Lee, Kashyap & Chu 1994, the method behind scikit-image's 3D
//! `skeletonize`): six directional sub-iterations (border voxels whose neighbour in
//! direction d is outside the phase) repeated until nothing changes. A voxel is
//! deleted only when it is *simple* — removing it changes neither the 26-connected
//! components of the phase nor the 6-connected components of the rest (checked on its
//! 3×3×3 neighbourhood: one 26-component of phase neighbours, one 6-component of
//! background 18-neighbours 6-adjacent to it). Candidates of a sub-iteration are the
//! simple border voxels that are not curve ends (exactly one phase neighbour); they are
//! then re-checked for simplicity one after the other, so the result is topology
//! preserving. The direction order follows scikit-image; unlike scikit-image the
//! re-check also keeps curve ends (see the comment in [`skeletonize`]). To use two cores, candidates are processed in z slabs of four
//! slices: even slabs in parallel, then odd slabs; voxels in two slabs of the same
//! parity are ≥ 5 slices apart, so their neighbourhoods never overlap and the result is
//! the same as some sequential order. Outside the volume is background (as in
//! scikit-image), x/y wrap when periodic.
//!
//! Graph: skeleton voxels with one skeleton neighbour are end points, with three or
//! more are junction voxels; 26-connected clusters of junction voxels are junctions;
//! the 26-connected runs of the other voxels are branches. Each branch is walked end
//! to end: its length (steps of 1, √2, √3 voxels plus the step into each junction) and
//! its thickness profile (2 × EDT along the walk, a local diameter).

use crate::volume::neighbor_index;
use rayon::prelude::*;

use crate::volume::Volume;

/// Offsets of the 3×3×3 neighbourhood, index k = (dz+1)·9 + (dy+1)·3 + (dx+1).
fn offset(k: usize) -> (i64, i64, i64) {
    ((k / 9) as i64 - 1, ((k / 3) % 3) as i64 - 1, (k % 3) as i64 - 1)
}

struct Tables {
    n26: [u32; 27],
    n6: [u32; 27],
    face6: u32,
    n18: u32,
}

fn tables() -> &'static Tables {
    static T: std::sync::OnceLock<Tables> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let mut n26 = [0u32; 27];
        let mut n6 = [0u32; 27];
        let mut face6 = 0;
        let mut n18 = 0;
        for a in 0..27 {
            let (az, ay, ax) = offset(a);
            let s = az.abs() + ay.abs() + ax.abs();
            if s == 1 {
                face6 |= 1 << a;
            }
            if s >= 1 && s <= 2 {
                n18 |= 1 << a;
            }
            for b in 0..27 {
                if a == b {
                    continue;
                }
                let (bz, by, bx) = offset(b);
                let (dz, dy, dx) = ((az - bz).abs(), (ay - by).abs(), (ax - bx).abs());
                if dz <= 1 && dy <= 1 && dx <= 1 {
                    n26[a] |= 1 << b;
                    if dz + dy + dx == 1 {
                        n6[a] |= 1 << b;
                    }
                }
            }
        }
        Tables { n26, n6, face6, n18 }
    })
}

/// Number of components (stopping at 2) of `set` under the adjacency `adj`.
fn components_upto2(set: u32, adj: &[u32; 27], seeds: u32) -> u32 {
    let mut rem = set;
    let mut count = 0;
    while rem & seeds != 0 {
        let start = rem & seeds;
        let mut comp = start & start.wrapping_neg();
        let mut frontier = comp;
        while frontier != 0 {
            let mut grow = 0;
            let mut f = frontier;
            while f != 0 {
                let i = f.trailing_zeros() as usize;
                f &= f - 1;
                grow |= adj[i];
            }
            grow &= rem & !comp;
            comp |= grow;
            frontier = grow;
        }
        rem &= !comp;
        count += 1;
        if count > 1 {
            return count;
        }
    }
    count
}

/// Is the centre of the 27-bit neighbourhood `nb` (bit 13 = centre) simple?
pub(crate) fn is_simple(nb: u32) -> bool {
    let t = tables();
    let obj = nb & !(1 << 13) & ((1 << 27) - 1);
    if obj == 0 {
        return false;
    }
    if components_upto2(obj, &t.n26, obj) != 1 {
        return false;
    }
    let bg = !nb & t.n18;
    // Background components that touch the centre through a face.
    components_upto2(bg, &t.n6, t.face6 & bg) == 1
}

/// The skeleton of `phase` (1 = skeleton voxel).
pub fn skeletonize(mask: &Volume<u8>, phase: u8, periodic_xy: bool) -> Volume<u8> {
    let [nz, ny, nx] = mask.shape;
    let mut img: Vec<u8> = mask.data.par_iter().map(|&m| (m == phase) as u8).collect();
    let mut alive: Vec<u32> = (0..img.len() as u32).filter(|&i| img[i as usize] == 1).collect();
    let plane = ny * nx;
    // Linear offsets of the 27 neighbours for voxels away from the borders.
    let lin: [isize; 27] = std::array::from_fn(|k| {
        let (dz, dy, dx) = offset(k);
        (dz * plane as i64 + dy * nx as i64 + dx) as isize
    });
    let nb_of = |img: &[u8], i: usize| -> u32 {
        let (z, y, x) = (i / plane, (i / nx) % ny, i % nx);
        let mut nb = 0u32;
        if z > 0 && z + 1 < nz && y > 0 && y + 1 < ny && x > 0 && x + 1 < nx {
            for (k, &o) in lin.iter().enumerate() {
                nb |= ((img[(i as isize + o) as usize] != 0) as u32) << k;
            }
            return nb;
        }
        let at = (z as i64, y as i64, x as i64);
        for k in 0..27 {
            if neighbor_index(mask.shape, at, offset(k), periodic_xy).is_some_and(|j| img[j] != 0) {
                nb |= 1 << k;
            }
        }
        nb
    };
    // Is the face neighbour in direction k (a face index) outside the phase?
    let open_towards = |img: &[u8], i: usize, k: usize| -> bool {
        let at = ((i / plane) as i64, ((i / nx) % ny) as i64, (i % nx) as i64);
        neighbor_index(mask.shape, at, offset(k), periodic_xy).is_none_or(|j| img[j] == 0)
    };
    // Direction k of the face neighbour that must be background in each sub-iteration.
    // scikit-image's order (−x, +x, +y, −y, +z, −z), so results compare directly.
    let dirs = [12usize, 14, 16, 10, 22, 4];
    const SLAB: usize = 4;
    loop {
        let mut changed = false;
        for &d in &dirs {
            let cand: Vec<u32> = alive
                .par_iter()
                .copied()
                // Candidates: border in direction d, not a curve end, simple now (a voxel
                // that only becomes simple during the sequential pass waits for the next
                // sub-iteration, which keeps thinning symmetric).
                .filter(|&i| {
                    if img[i as usize] == 0 || !open_towards(&img, i as usize, d) {
                        return false;
                    }
                    let nb = nb_of(&img, i as usize);
                    nb.count_ones() > 2 && is_simple(nb)
                })
                .collect();
            if cand.is_empty() {
                continue;
            }
            // Group by slab (candidates are in raster order, so slabs are contiguous).
            let mut groups: Vec<(usize, usize)> = Vec::new(); // (start, end) in cand
            let mut s = 0;
            while s < cand.len() {
                let slab = cand[s] as usize / plane / SLAB;
                let mut e = s;
                while e < cand.len() && cand[e] as usize / plane / SLAB == slab {
                    e += 1;
                }
                groups.push((s, e));
                s = e;
            }
            let ptr = SyncPtr(img.as_mut_ptr());
            let len = img.len();
            for parity in 0..2 {
                let deleted: usize = groups
                    .par_iter()
                    .filter(|&&(s, _)| (cand[s] as usize / plane / SLAB) % 2 == parity)
                    .map(|&(s, e)| {
                        let p = ptr;
                        // SAFETY: slabs of one parity are ≥ SLAB+1 slices apart, so the 3×3×3
                        // neighbourhoods read and the voxels written by two tasks never overlap.
                        let img = unsafe { std::slice::from_raw_parts_mut(p.0, len) };
                        let mut n = 0;
                        for &i in &cand[s..e] {
                            let nb = nb_of(img, i as usize);
                            // Re-check the curve-end condition too. scikit-image
                            // re-checks only simplicity, which lets a two-voxel-thick
                            // line be eaten from its ends within one sub-iteration (it
                            // erases a tube of even diameter completely).
                            if (nb & !(1 << 13)).count_ones() > 1 && is_simple(nb) {
                                img[i as usize] = 0;
                                n += 1;
                            }
                        }
                        n
                    })
                    .sum();
                changed |= deleted > 0;
            }
        }
        alive.retain(|&i| img[i as usize] != 0);
        if !changed {
            break;
        }
    }
    Volume { data: img, shape: mask.shape, voxel_um: mask.voxel_um }
}

#[derive(Clone, Copy)]
struct SyncPtr(*mut u8);
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}

/// One branch of the skeleton graph.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Branch {
    /// Length in µm.
    pub length_um: f64,
    /// Junction ids at its two ends (`None` = free end or loop).
    pub junctions: [Option<u32>; 2],
    /// Local diameter (2 × EDT, µm) along the branch, from one end to the other.
    pub thickness_um: Vec<f32>,
}

/// A junction: a cluster of skeleton voxels with ≥ 3 skeleton neighbours.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Junction {
    /// Number of branch ends attached.
    pub degree: u32,
    /// Largest local diameter (2 × EDT, µm) in the cluster: the node thickness.
    pub thickness_um: f32,
}

/// Skeleton graph of one phase.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SkeletonGraph {
    pub voxels: usize,
    pub junctions: Vec<Junction>,
    pub end_points: usize,
    /// Skeleton voxels with no skeleton neighbour (a blob thinned to a point).
    pub isolated_points: usize,
    pub branches: Vec<Branch>,
}

/// Builds the graph of `skel`; `edt` gives thickness (voxels) for the profiles.
pub fn graph(skel: &Volume<u8>, edt: &Volume<f32>, periodic_xy: bool) -> SkeletonGraph {
    let [_, ny, nx] = skel.shape;
    let vu = skel.voxel_um;
    let pts: Vec<usize> = (0..skel.len()).filter(|&i| skel.data[i] != 0).collect();
    let index: std::collections::HashMap<usize, u32> = pts.iter().enumerate().map(|(k, &i)| (i, k as u32)).collect();
    let neighbours = |i: usize| -> Vec<(u32, f64)> {
        let (z, y, x) = ((i / (ny * nx)) as i64, ((i / nx) % ny) as i64, (i % nx) as i64);
        let mut v = Vec::new();
        for k in 0..27 {
            if k == 13 {
                continue;
            }
            let (dz, dy, dx) = offset(k);
            let Some(j) = neighbor_index(skel.shape, (z, y, x), (dz, dy, dx), periodic_xy) else {
                continue;
            };
            if let Some(&q) = index.get(&j) {
                v.push((q, ((dz * dz + dy * dy + dx * dx) as f64).sqrt()));
            }
        }
        v
    };
    let adj: Vec<Vec<(u32, f64)>> = pts.iter().map(|&i| neighbours(i)).collect();
    let deg: Vec<usize> = adj.iter().map(Vec::len).collect();
    let mut g = SkeletonGraph { voxels: pts.len(), ..Default::default() };
    // Junction clusters.
    let mut jid = vec![u32::MAX; pts.len()];
    for s in 0..pts.len() {
        if deg[s] < 3 || jid[s] != u32::MAX {
            continue;
        }
        let id = g.junctions.len() as u32;
        let mut stack = vec![s];
        jid[s] = id;
        let mut thick = 0f32;
        while let Some(a) = stack.pop() {
            thick = thick.max(2.0 * edt.data[pts[a]] * vu as f32);
            for &(b, _) in &adj[a] {
                if deg[b as usize] >= 3 && jid[b as usize] == u32::MAX {
                    jid[b as usize] = id;
                    stack.push(b as usize);
                }
            }
        }
        g.junctions.push(Junction { degree: 0, thickness_um: thick });
    }
    g.end_points = deg.iter().filter(|&&d| d == 1).count();
    g.isolated_points = deg.iter().filter(|&&d| d == 0).count();
    // Branches: runs of voxels with 1 or 2 neighbours.
    let mut seen = vec![false; pts.len()];
    let is_path = |k: usize| deg[k] == 1 || deg[k] == 2;
    let order: Vec<usize> = (0..pts.len()).filter(|&k| is_path(k)).collect();
    // Start walks at run ends first (a neighbour that is a junction, or a free end), then loops.
    let run_end = |k: usize, seen: &Vec<bool>| -> bool {
        deg[k] == 1 || adj[k].iter().any(|&(b, _)| !is_path(b as usize) && deg[b as usize] >= 3) || adj[k].iter().filter(|&&(b, _)| is_path(b as usize) && !seen[b as usize]).count() < 2
    };
    for pass in 0..2 {
        for &s in &order {
            if seen[s] || (pass == 0 && !run_end(s, &seen)) {
                continue;
            }
            let mut walk = vec![s];
            seen[s] = true;
            let mut length = 0f64;
            let mut cur = s;
            loop {
                let next = adj[cur].iter().find(|&&(b, _)| is_path(b as usize) && !seen[b as usize]).copied();
                match next {
                    Some((b, step)) => {
                        seen[b as usize] = true;
                        length += step;
                        walk.push(b as usize);
                        cur = b as usize;
                    }
                    None => break,
                }
            }
            let attach = |k: usize| -> Option<(u32, f64)> {
                adj[k].iter().filter(|&&(b, _)| jid[b as usize] != u32::MAX).map(|&(b, d)| (jid[b as usize], d)).min_by(|a, b| a.1.total_cmp(&b.1))
            };
            let first = attach(walk[0]);
            let last = if walk.len() > 1 { attach(*walk.last().unwrap()) } else { None };
            let mut profile: Vec<f32> = Vec::with_capacity(walk.len() + 2);
            if let Some((j, d)) = first {
                length += d;
                profile.push(g.junctions[j as usize].thickness_um);
                g.junctions[j as usize].degree += 1;
            }
            profile.extend(walk.iter().map(|&k| 2.0 * edt.data[pts[k]] * vu as f32));
            if let Some((j, d)) = last {
                length += d;
                profile.push(g.junctions[j as usize].thickness_um);
                g.junctions[j as usize].degree += 1;
            }
            g.branches.push(Branch { length_um: length * vu, junctions: [first.map(|f| f.0), last.map(|l| l.0)], thickness_um: profile });
        }
    }
    // Junction clusters joined directly (no path voxel between) form zero-length
    // branches; they are merged into one cluster above, so nothing to add here.
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_point_basics() {
        // Centre with one neighbour: simple (an end can be peeled).
        assert!(is_simple((1 << 13) | (1 << 14)));
        // Centre bridging two opposite neighbours: not simple.
        assert!(!is_simple((1 << 13) | (1 << 12) | (1 << 14)));
        // Isolated voxel: not simple.
        assert!(!is_simple(1 << 13));
        // Full neighbourhood: interior point, not simple (would make a cavity).
        assert!(!is_simple((1 << 27) - 1));
        // A full half-space below: simple.
        let mut nb = 0;
        for k in 0..27 {
            if offset(k).0 <= 0 {
                nb |= 1 << k;
            }
        }
        assert!(is_simple(nb));
    }
}
