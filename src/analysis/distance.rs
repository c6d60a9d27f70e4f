//! Exact Euclidean distance transform (EDT), separable and linear time.
//!
//! Felzenszwalb & Huttenlocher's lower envelope of parabolas, one pass per axis
//! (x, then y, then z), each pass over independent lines in parallel with rayon. The
//! x pass sees the binary mask only, so there it reduces to two sweeps (distance to the
//! nearest other-phase voxel along the row).
//! Distances are measured between voxel centres, as `scipy.ndimage.distance_transform_edt`
//! does: a voxel of the phase touching the other phase by a face has distance 1.
//!
//! Periodic x/y: the x sweeps go round the row twice; lines along y are extended by
//! half a period on each side, so the nearest site may lie across the wrap; this is
//! exact because the nearest image of any site is at most half a period away.
//! Without periodicity the volume border is *not* the other phase: distances
//! go only to real voxels of the other phase, and a phase with no other-phase voxel at
//! all gets `f32::INFINITY`.

use rayon::prelude::*;

use crate::volume::Volume;

/// Exact Euclidean distance (in voxels) from each voxel of `phase` to the nearest voxel
/// not of `phase`; 0 for voxels not of `phase`.
pub fn edt(mask: &Volume<u8>, phase: u8, periodic_xy: bool) -> Volume<f32> {
    let mut d = edt_squared(mask, phase, periodic_xy);
    d.data.par_iter_mut().for_each(|v| *v = v.sqrt());
    d
}

/// Squared distances (exact integers stored in f32, which holds them exactly up to
/// 2^24, i.e. distances up to 4096 voxels).
pub fn edt_squared(mask: &Volume<u8>, phase: u8, periodic_xy: bool) -> Volume<f32> {
    let [nz, ny, nx] = mask.shape;
    let mut f: Vec<f32> = mask.data.par_iter().map(|&m| if m == phase { f32::INFINITY } else { 0.0 }).collect();
    if f.is_empty() {
        return Volume { data: f, shape: mask.shape, voxel_um: mask.voxel_um };
    }
    // x: rows are contiguous, and the input is still binary (0 or INF), so the 1D
    // transform is the distance to the nearest 0 along the row: two sweeps.
    f.par_chunks_mut(nx).for_each(|row| binary_row(row, periodic_xy));
    // y: per z slice, transpose to columns, transform, transpose back.
    f.par_chunks_mut(ny * nx).for_each_init(LineScratch::default, |s, plane| {
        transform_strided(plane, ny, nx, s, periodic_xy);
    });
    // z: per y, gather the (z, x) plane, transform columns along z, scatter back.
    let plane = ny * nx;
    let ptr = SyncPtr(f.as_mut_ptr());
    (0..ny).into_par_iter().for_each_init(
        || (LineScratch::default(), Vec::<f32>::new()),
        |(s, buf), y| {
            buf.clear();
            buf.resize(nz * nx, 0.0);
            let p = ptr;
            // SAFETY: each task touches only row y of every z slice; rows are disjoint.
            unsafe {
                for z in 0..nz {
                    let src = p.0.add(z * plane + y * nx);
                    std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr().add(z * nx), nx);
                }
            }
            transform_strided(buf, nz, nx, s, false);
            unsafe {
                for z in 0..nz {
                    let dst = p.0.add(z * plane + y * nx);
                    std::ptr::copy_nonoverlapping(buf.as_ptr().add(z * nx), dst, nx);
                }
            }
        },
    );
    Volume { data: f, shape: mask.shape, voxel_um: mask.voxel_um }
}

#[derive(Clone, Copy)]
struct SyncPtr(*mut f32);
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}

/// Transforms the columns of a row-major `rows × cols` block (lines along the rows index).
fn transform_strided(block: &mut [f32], rows: usize, cols: usize, s: &mut LineScratch, periodic: bool) {
    // Work on 8 columns at a time so the gather reads whole cache lines.
    let mut col = vec![0f32; rows];
    for c in 0..cols {
        for r in 0..rows {
            col[r] = block[r * cols + c];
        }
        s.transform(&mut col, periodic);
        for r in 0..rows {
            block[r * cols + c] = col[r];
        }
    }
}

/// 1D squared EDT of a row holding only 0 (a site) and INF: the squared distance to
/// the nearest 0 (INF when the row has none), by a forward and a backward sweep. When
/// periodic, the forward sweep starts at the first 0 and the backward one at the last,
/// each going once round the ring, so distances across the wrap are seen.
fn binary_row(row: &mut [f32], periodic: bool) {
    let n = row.len();
    let (Some(first), Some(last)) = (row.iter().position(|&v| v == 0.0), row.iter().rposition(|&v| v == 0.0)) else {
        return; // no site: stays INF
    };
    const FAR: u32 = u32::MAX / 2;
    let mut dist = vec![FAR; n];
    let start = if periodic { first } else { 0 };
    let mut d = FAR;
    for x in (start..n).chain(0..start) {
        d = if row[x] == 0.0 { 0 } else { d.saturating_add(1) };
        dist[x] = d;
    }
    let start = if periodic { last + 1 } else { n };
    d = FAR;
    for x in (0..start).rev().chain((start..n).rev()) {
        d = if row[x] == 0.0 { 0 } else { d.saturating_add(1) };
        dist[x] = dist[x].min(d);
    }
    for (v, &d) in row.iter_mut().zip(&dist) {
        *v = if d >= FAR { f32::INFINITY } else { (d as u64 * d as u64) as f32 };
    }
}

/// Reusable buffers of the 1D transform.
#[derive(Default)]
struct LineScratch {
    v: Vec<i64>,
    z: Vec<f64>,
    ext: Vec<f32>,
    out: Vec<f32>,
}

impl LineScratch {
    /// Replaces `f` (squared distances, INF = no site yet) by its 1D squared EDT.
    fn transform(&mut self, f: &mut [f32], periodic: bool) {
        let n = f.len();
        if periodic {
            // The nearest image of a site is at most n/2 away, so half a period of
            // wrap-around on each side is enough.
            let h = n.div_ceil(2);
            self.ext.clear();
            self.ext.extend_from_slice(&f[n - h..]);
            self.ext.extend_from_slice(f);
            self.ext.extend_from_slice(&f[..h]);
            let mut ext = std::mem::take(&mut self.ext);
            self.envelope(&ext, 0);
            f.copy_from_slice(&self.out[h..h + n]);
            ext.clear();
            self.ext = ext;
        } else {
            self.envelope(f, 0);
            f.copy_from_slice(&self.out[..n]);
        }
    }

    fn envelope(&mut self, f: &[f32], _o: usize) {
        let n = f.len();
        self.v.clear();
        self.z.clear();
        self.out.clear();
        for (q, &fq) in f.iter().enumerate() {
            if !fq.is_finite() {
                continue;
            }
            let q = q as i64;
            let fq = fq as f64;
            let mut s = f64::NEG_INFINITY;
            while let Some(&p) = self.v.last() {
                let fp = f[p as usize] as f64;
                s = ((fq + (q * q) as f64) - (fp + (p * p) as f64)) / (2 * (q - p)) as f64;
                if s <= *self.z.last().unwrap() {
                    self.v.pop();
                    self.z.pop();
                    s = f64::NEG_INFINITY;
                } else {
                    break;
                }
            }
            self.v.push(q);
            self.z.push(s);
        }
        if self.v.is_empty() {
            self.out.resize(n, f32::INFINITY);
            return;
        }
        let mut k = 0;
        for q in 0..n as i64 {
            while k + 1 < self.v.len() && self.z[k + 1] < q as f64 {
                k += 1;
            }
            let p = self.v[k];
            self.out.push(((q - p) * (q - p)) as f32 + f[p as usize]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over all other-phase voxels.
    fn brute(mask: &Volume<u8>, phase: u8, periodic: bool) -> Vec<f32> {
        let [nz, ny, nx] = mask.shape;
        let mut out = vec![0f32; mask.len()];
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    if mask.get(z, y, x) != phase {
                        continue;
                    }
                    let mut best = f32::INFINITY;
                    for zz in 0..nz {
                        for yy in 0..ny {
                            for xx in 0..nx {
                                if mask.get(zz, yy, xx) == phase {
                                    continue;
                                }
                                let d = |a: usize, b: usize, n: usize| {
                                    let d = a.abs_diff(b);
                                    if periodic { d.min(n - d) } else { d }
                                };
                                let dx = d(x, xx, nx) as f32;
                                let dy = d(y, yy, ny) as f32;
                                let dz = z.abs_diff(zz) as f32;
                                best = best.min((dx * dx + dy * dy + dz * dz).sqrt());
                            }
                        }
                    }
                    out[mask.idx(z, y, x)] = best;
                }
            }
        }
        out
    }

    #[test]
    fn matches_brute_force_on_random_masks() {
        let mut seed = 12345u64;
        for case in 0..12 {
            let shape = [3 + case % 4, 4 + case % 3, 5 + case % 5];
            let n = shape.iter().product();
            let data = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((seed >> 33) % 10 < 7) as u8
                })
                .collect();
            let m = Volume::from_vec(shape, 1.0, data).unwrap();
            for periodic in [false, true] {
                let e = edt(&m, 1, periodic);
                let b = brute(&m, 1, periodic);
                for (a, b) in e.data.iter().zip(&b) {
                    assert!((a - b).abs() < 1e-4 || (a.is_infinite() && b.is_infinite()), "{a} vs {b}");
                }
            }
        }
    }
}
