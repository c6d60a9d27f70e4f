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
//! Cost: only border voxels are ever looked at (lists per slab, grown as voxels are
//! deleted), a neighbourhood is gathered as nine 3-voxel row loads, and the
//! simple-point test floods whole 27-bit words at a time (see [`is_simple`]). These
//! change the work, not the result: the candidates and their order are those of a scan
//! of every voxel.
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

/// Bits of the 27-bit neighbourhood word (bit k = offset k, see [`offset`]) with the
/// given x, y or z offset, built once at compile time.
const fn plane_bits(axis: usize, value: usize) -> u32 {
    let mut m = 0u32;
    let mut k = 0;
    while k < 27 {
        let c = [k / 9, (k / 3) % 3, k % 3][axis];
        if c == value {
            m |= 1 << k;
        }
        k += 1;
    }
    m
}
const ALL27: u32 = (1 << 27) - 1;
const CENTRE: u32 = 1 << 13;
/// Voxels not on the +x (−x, +y, −y) face of the cube: those whose +x (…) neighbour is
/// in the cube, i.e. the ones a shift by +1 (−1, +3, −3) may move.
const NOT_XP: u32 = ALL27 & !plane_bits(2, 2);
const NOT_XM: u32 = ALL27 & !plane_bits(2, 0);
const NOT_YP: u32 = ALL27 & !plane_bits(1, 2);
const NOT_YM: u32 = ALL27 & !plane_bits(1, 0);
/// The six face neighbours of the centre, and its 18-neighbourhood (faces and edges).
const FACE6: u32 = (1 << 4) | (1 << 10) | (1 << 12) | (1 << 14) | (1 << 16) | (1 << 22);
const N18: u32 = ALL27 & !CENTRE & !((1 << 0) | (1 << 2) | (1 << 6) | (1 << 8) | (1 << 18) | (1 << 20) | (1 << 24) | (1 << 26));

/// `s` grown by one step of 6-adjacency inside the 3×3×3 cube (all 27 bits at once).
#[inline]
fn grow6(s: u32) -> u32 {
    (s | ((s & NOT_XP) << 1) | ((s & NOT_XM) >> 1) | ((s & NOT_YP) << 3) | ((s & NOT_YM) >> 3) | (s << 9) | (s >> 9)) & ALL27
}

/// `s` grown by one step of 26-adjacency: separable, x then y then z.
#[inline]
fn grow26(s: u32) -> u32 {
    let x = s | ((s & NOT_XP) << 1) | ((s & NOT_XM) >> 1);
    let y = x | ((x & NOT_YP) << 3) | ((x & NOT_YM) >> 3);
    (y | (y << 9) | (y >> 9)) & ALL27
}

/// The component of `set` holding the bits of `seed`, under the adjacency `grow`.
#[inline]
fn flood(set: u32, seed: u32, grow: impl Fn(u32) -> u32) -> u32 {
    let mut comp = seed;
    loop {
        let next = grow(comp) & set;
        if next == comp {
            return comp;
        }
        comp = next;
    }
}

/// Is the centre of the 27-bit neighbourhood `nb` (bit 13 = centre) simple?
///
/// The characterisation of Malandain & Bertrand for (26, 6) connectivity: the phase
/// neighbours form exactly one 26-component of the 26-neighbourhood, and the background
/// 18-neighbours form exactly one 6-component among those 6-adjacent to the centre.
/// Both counts are flood fills on bit masks: every step grows the whole front at once
/// by shifting the 27-bit word (masked at the cube's faces), so a fill costs a few
/// word operations per step instead of a walk over the set bits.
pub(crate) fn is_simple(nb: u32) -> bool {
    let obj = nb & !CENTRE & ALL27;
    if obj == 0 {
        return false;
    }
    // One 26-component: the one holding the lowest phase neighbour is all of them.
    if flood(obj, obj & obj.wrapping_neg(), grow26) != obj {
        return false;
    }
    // Background components that touch the centre through a face: exactly one.
    let bg = !nb & N18;
    let seeds = bg & FACE6;
    if seeds == 0 {
        return false;
    }
    // A single face seed is a single component (the usual case on a flat border).
    seeds & (seeds - 1) == 0 || flood(bg, seeds & seeds.wrapping_neg(), grow6) & seeds == seeds
}

/// The skeleton of `phase` (1 = skeleton voxel).
///
/// Only voxels on the phase's border (with a face neighbour outside the phase, or
/// outside the volume) can ever be deleted, so each sub-iteration looks at lists of
/// them (one per slab, in raster order) instead of at every voxel of the phase: when a
/// voxel is deleted, its face neighbours in the phase join the lists. This yields the
/// candidates, in the order, of a scan of the whole phase, so the result is the same.
/// A candidate's neighbourhood is kept from the scan; at the re-check it is gathered
/// again and the simple-point test is repeated only when it has changed.
pub fn skeletonize(mask: &Volume<u8>, phase: u8, periodic_xy: bool) -> Volume<u8> {
    let [nz, ny, nx] = mask.shape;
    let plane = ny * nx;
    // Bit 0 (`IN`): in the phase (not deleted); bit 1 (`LISTED`): on a border list;
    // bit 2 (`EDGE`): on a face of the volume, where neighbours need the slow lookup
    // (the flag saves three integer divisions per lookup everywhere else).
    const IN: u8 = 1;
    const LISTED: u8 = 2;
    const EDGE: u8 = 4;
    // One spare byte at the end, so that the 4-byte row loads of `nb_of` stay inside.
    let mut img: Vec<u8> = vec![0; mask.len() + 1];
    img.par_chunks_mut(nx).zip(mask.data.par_chunks(nx)).enumerate().for_each(|(r, (row, m))| {
        let (z, y) = (r / ny, r % ny);
        let edge_row = z == 0 || z + 1 == nz || y == 0 || y + 1 == ny;
        for (x, (v, &m)) in row.iter_mut().zip(m).enumerate() {
            *v = (m == phase) as u8 | if edge_row || x == 0 || x + 1 == nx { EDGE } else { 0 };
        }
    });
    // Linear offsets of the 27 neighbours for voxels away from the borders.
    let lin: [isize; 27] = std::array::from_fn(|k| {
        let (dz, dy, dx) = offset(k);
        (dz * plane as i64 + dy * nx as i64 + dx) as isize
    });
    // Index of neighbour k of voxel i (None outside the volume).
    let neighbour = |img: &[u8], i: usize, k: usize| -> Option<usize> {
        if img[i] & EDGE == 0 {
            return Some((i as isize + lin[k]) as usize);
        }
        let at = ((i / plane) as i64, ((i / nx) % ny) as i64, (i % nx) as i64);
        neighbor_index(mask.shape, at, offset(k), periodic_xy)
    };
    // The 27-bit neighbourhood word of voxel i.
    let nb_of = |img: &[u8], i: usize| -> u32 {
        if img[i] & EDGE == 0 {
            // Nine rows of three voxels; each row is one 4-byte load whose three `IN`
            // bits (bits 0, 8, 16) a multiply by 2¹⁴ + 2⁷ + 1 moves side by side to
            // bits 14–16 (the nine partial products land on distinct bits: no carries).
            let mut nb = 0u32;
            for r in 0..9 {
                let j = (i as isize + lin[r * 3 + 1]) as usize;
                let w = u32::from_le_bytes(img[j - 1..j + 3].try_into().unwrap()) & 0x0001_0101;
                nb |= ((w.wrapping_mul(0x4081) >> 14) & 7) << (3 * r);
            }
            return nb;
        }
        let at = ((i / plane) as i64, ((i / nx) % ny) as i64, (i % nx) as i64);
        let mut nb = 0u32;
        for k in 0..27 {
            if neighbor_index(mask.shape, at, offset(k), periodic_xy).is_some_and(|j| img[j] & IN != 0) {
                nb |= 1 << k;
            }
        }
        nb
    };
    // Is the face neighbour in direction k (a face index) outside the phase?
    let open_towards = |img: &[u8], i: usize, k: usize| -> bool { neighbour(img, i, k).is_none_or(|j| img[j] & IN == 0) };
    let faces = [4usize, 10, 12, 14, 16, 22];
    // Candidates are re-checked in z slabs of SLAB slices: even slabs in parallel, then
    // odd ones. The border lists are kept per slab, in raster order.
    const SLAB: usize = 4;
    let slabs = nz.div_ceil(SLAB);
    let slab_range = |s: usize| s * SLAB * plane..((s + 1) * SLAB).min(nz) * plane;
    let mut border: Vec<Vec<u32>> = (0..slabs)
        .into_par_iter()
        .map(|s| slab_range(s).filter(|&i| img[i] & IN != 0 && faces.iter().any(|&k| open_towards(&img, i, k))).map(|i| i as u32).collect())
        .collect();
    for &i in border.iter().flatten() {
        img[i as usize] |= LISTED;
    }
    // Direction k of the face neighbour that must be background in each sub-iteration.
    // scikit-image's order (−x, +x, +y, −y, +z, −z), so results compare directly.
    let dirs = [12usize, 14, 16, 10, 22, 4];
    loop {
        let mut changed = false;
        for &d in &dirs {
            // Candidates (with their neighbourhood word): border in direction d, not a
            // curve end, simple now (a voxel that only becomes simple during the
            // sequential pass waits for the next sub-iteration, which keeps thinning
            // symmetric).
            let cand: Vec<Vec<(u32, u32)>> = border
                .par_iter()
                .map(|list| {
                    list.iter()
                        .filter_map(|&i| {
                            if img[i as usize] & IN == 0 || !open_towards(&img, i as usize, d) {
                                return None;
                            }
                            let nb = nb_of(&img, i as usize);
                            (nb.count_ones() > 2 && is_simple(nb)).then_some((i, nb))
                        })
                        .collect()
                })
                .collect();
            if cand.iter().all(Vec::is_empty) {
                continue;
            }
            let ptr = SyncPtr(img.as_mut_ptr());
            let len = img.len();
            let mut joined: Vec<u32> = Vec::new();
            for parity in 0..2 {
                let (deleted, new): (usize, Vec<u32>) = cand
                    .par_iter()
                    .skip(parity)
                    .step_by(2)
                    .map(|list| {
                        let p = ptr;
                        // SAFETY: slabs of one parity are ≥ SLAB+1 slices apart, so the 3×3×3
                        // neighbourhoods read and the voxels written by two tasks never overlap.
                        let img = unsafe { std::slice::from_raw_parts_mut(p.0, len) };
                        let mut n = 0;
                        let mut new = Vec::new();
                        for &(i, nb0) in list {
                            let nb = nb_of(img, i as usize);
                            // Re-check the curve-end condition too (unchanged
                            // neighbourhood: it still holds). scikit-image re-checks
                            // only simplicity, which lets a two-voxel-thick line be
                            // eaten from its ends within one sub-iteration (it erases a
                            // tube of even diameter completely).
                            if nb == nb0 || ((nb & !CENTRE).count_ones() > 1 && is_simple(nb)) {
                                img[i as usize] &= EDGE;
                                n += 1;
                                // Its face neighbours in the phase are border voxels now.
                                for &k in &faces {
                                    if let Some(j) = neighbour(img, i as usize, k) {
                                        if img[j] & (IN | LISTED) == IN {
                                            img[j] |= LISTED;
                                            new.push(j as u32);
                                        }
                                    }
                                }
                            }
                        }
                        (n, new)
                    })
                    .reduce(
                        || (0, Vec::new()),
                        |mut a, b| {
                            a.0 += b.0;
                            a.1.extend(b.1);
                            a
                        },
                    );
                changed |= deleted > 0;
                joined.extend(new);
            }
            // Drop the deleted voxels from the lists and merge the newly exposed ones
            // in, keeping raster order.
            joined.par_sort_unstable();
            let mut parts: Vec<&[u32]> = Vec::with_capacity(slabs);
            let mut rest = &joined[..];
            for s in 0..slabs {
                let (a, b) = rest.split_at(rest.partition_point(|&i| (i as usize) < slab_range(s).end));
                parts.push(a);
                rest = b;
            }
            border.par_iter_mut().zip(parts).for_each(|(list, new)| {
                let mut merged = Vec::with_capacity(list.len() + new.len());
                let mut old = list.iter().copied().filter(|&i| img[i as usize] & IN != 0).peekable();
                for &j in new {
                    while let Some(i) = old.next_if(|&i| i < j) {
                        merged.push(i);
                    }
                    merged.push(j);
                }
                merged.extend(old);
                *list = merged;
            });
        }
        if !changed {
            break;
        }
    }
    img.truncate(mask.len());
    img.par_iter_mut().for_each(|v| *v &= IN);
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

    /// The textbook form of the test: component counts by walking the set bits, with
    /// explicit adjacency lists.
    fn is_simple_reference(nb: u32) -> bool {
        let adj = |a: usize, b: usize, six: bool| {
            let ((az, ay, ax), (bz, by, bx)) = (offset(a), offset(b));
            let d = [(az - bz).abs(), (ay - by).abs(), (ax - bx).abs()];
            a != b && d.iter().all(|&v| v <= 1) && (!six || d.iter().sum::<i64>() == 1)
        };
        let count = |set: Vec<usize>, seeds: &dyn Fn(usize) -> bool, six: bool| -> usize {
            let mut comp = vec![usize::MAX; 27];
            let mut n = 0;
            for &s in &set {
                if comp[s] != usize::MAX || !seeds(s) {
                    continue;
                }
                let mut stack = vec![s];
                comp[s] = n;
                while let Some(a) = stack.pop() {
                    for &b in &set {
                        if comp[b] == usize::MAX && adj(a, b, six) {
                            comp[b] = n;
                            stack.push(b);
                        }
                    }
                }
                n += 1;
            }
            n
        };
        let obj: Vec<usize> = (0..27).filter(|&k| k != 13 && nb & (1 << k) != 0).collect();
        let bg: Vec<usize> = (0..27)
            .filter(|&k| {
                let (z, y, x) = offset(k);
                let s = z.abs() + y.abs() + x.abs();
                (1..=2).contains(&s) && nb & (1 << k) == 0
            })
            .collect();
        let face = |k: usize| {
            let (z, y, x) = offset(k);
            z.abs() + y.abs() + x.abs() == 1
        };
        count(obj, &|_| true, false) == 1 && count(bg, &face, true) == 1
    }

    /// The bit-parallel test against the reference on random neighbourhoods of every
    /// density (sparse and dense ones are where thinning decides).
    #[test]
    fn simple_point_matches_reference() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 32) as u32
        };
        for n in 0..60_000 {
            // AND/OR of several words biases the density from sparse to dense.
            let mut nb = next();
            for _ in 0..(n % 4) {
                nb = if n % 8 < 4 { nb & next() } else { nb | next() };
            }
            let nb = (nb & ((1 << 27) - 1)) | (1 << 13);
            assert_eq!(is_simple(nb), is_simple_reference(nb), "nb {nb:#029b}");
        }
    }
}
