//! Pore-network extraction from a segmented volume (issue 27), in the manner
//! of PoreSpy's `snow2` (Gostick, Phys. Rev. E 96, 2017):
//!
//! 1. **Peaks.** The squared Euclidean distance map (integer EDT² between voxel
//!    centres) of the phase; a candidate peak is a voxel whose EDT² is not below
//!    any of its 26 neighbours' (plateaus and ridges give many candidates).
//! 2. **Peak trimming.** Candidates are taken from the largest EDT down; one is
//!    dropped when it lies strictly inside the inscribed sphere of a peak already
//!    kept (|c − p| < R_p). This keeps one marker per pore body, merges
//!    plateaus and removes the saddle and ridge maxima that snow removes with its
//!    smoothing and `trim_nearby_peaks`; along a uniform channel it keeps one
//!    marker per radius of length.
//! 3. **Watershed.** Marker-based priority flood over the EDT (descending,
//!    bucket queue on the integer EDT², 6-neighbourhood): every voxel of the
//!    phase gets the label of the pore region that reaches it first. Labels are
//!    `u32` (0: not in the phase or not reached).
//! 4. **Throats.** Every voxel face between two regions belongs to the throat
//!    of that pair; a throat's area is its face count, its inscribed radius
//!    the largest min(EDT) of the two voxels of a face, its centre the mean of
//!    the face midpoints. Faces of the top (z = 0) and bottom (z = nz − 1) layers
//!    form boundary throats to the inlet and outlet reservoirs.
//!
//! Pore bodies keep their marker position (centre), inscribed radius (√EDT² at
//! the marker) and volume. With x and y periodic, distances use the minimum
//! image. For the porometer ([`super::network_flow`]) the extraction can also
//! record, per throat face, the squared invasion radius at which the face is
//! gas-filled (both its voxels invaded), so that the wet network at any
//! pressure follows the voxel drainage exactly.

use crate::volume::Volume;
use rayon::prelude::*;

/// Pseudo-pore index of the inlet reservoir (above z = 0).
pub const INLET: u32 = u32::MAX - 1;
/// Pseudo-pore index of the outlet reservoir (below z = nz − 1).
pub const OUTLET: u32 = u32::MAX;

/// A pore body (watershed region).
#[derive(Clone, Debug)]
pub struct Pore {
    /// Marker position (z, y, x) in voxel units (voxel centres at integers).
    pub center: [f64; 3],
    /// Inscribed radius √EDT² at the marker, in voxels.
    pub radius: f64,
    /// Voxel count of the region.
    pub volume: u64,
    /// Largest squared invasion radius among the region's voxels (0 when the
    /// extraction was given no invasion map, or the region is never invaded).
    pub max_rinv2: u32,
}

/// A throat: the shared boundary of two regions, or of a region and a reservoir.
#[derive(Clone, Debug)]
pub struct Throat {
    /// Pore indices (0-based); `b` may be [`INLET`] or [`OUTLET`].
    pub a: u32,
    pub b: u32,
    /// Voxel faces of the throat.
    pub faces: u64,
    /// Area (voxel²): the length of the sum of the oriented face normals,
    /// i.e. the area of the throat surface without its voxel staircase (a
    /// flat throat at any angle reads its true area; the face count over-reads
    /// a tilted plane by up to √3).
    pub area: f64,
    /// Inscribed radius: the largest distance to the wall of a face midpoint,
    /// each the mean of the two voxels' EDT (voxels).
    pub radius: f64,
    /// Distance from pore a's centre to the throat centre, and from pore b's
    /// (0 for a reservoir), in voxels.
    pub len_a: f64,
    pub len_b: f64,
    /// z difference (throat centre − pore a centre) and (pore b centre −
    /// throat centre); for a reservoir the second is 0.
    pub dz_a: f64,
    pub dz_b: f64,
}

/// One face of a throat as the porometer sees it.
#[derive(Clone, Copy, Debug)]
pub struct Face {
    pub throat: u32,
    /// min(r_inv²) of the two voxels: the face is gas-filled at r² ≤ this.
    pub rinv2: u32,
    /// Distance of the face midpoint to the wall: the mean of the two
    /// voxels' EDT (voxels).
    pub dist: f32,
}

/// An extracted pore network.
#[derive(Clone, Debug, Default)]
pub struct Network {
    pub shape: [usize; 3],
    pub voxel_um: f64,
    pub periodic_xy: bool,
    pub pores: Vec<Pore>,
    pub throats: Vec<Throat>,
    /// Per-face invasion data (empty unless an invasion map was given).
    pub faces: Vec<Face>,
}

/// Network statistics for the structure classifier and the report.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct NetworkStats {
    pub pores: usize,
    /// Throats between two pore bodies (boundary throats excluded).
    pub throats: usize,
    /// Mean number of internal throats per pore.
    pub coordination: f64,
    /// Median over internal throats of throat inscribed radius / the smaller
    /// adjacent body radius, each throat weighted by the smaller adjacent
    /// body's volume (1: no constriction; ≪ 1: bodies joined by windows).
    pub throat_to_body_median: f64,
    /// Volume-weighted mean pore-body inscribed diameter (µm).
    pub body_diameter_um: f64,
    /// Area-weighted mean throat inscribed diameter (µm).
    pub throat_diameter_um: f64,
}

/// Integer squared EDT values by voxel index: `[u32]` (the porometer's
/// drainage maps) or `[f32]` holding integers (the analysis' EDT²).
pub trait Edt2: Sync {
    fn at(&self, i: usize) -> u32;
    fn size(&self) -> usize;
}

impl Edt2 for [u32] {
    #[inline]
    fn at(&self, i: usize) -> u32 {
        self[i]
    }
    fn size(&self) -> usize {
        self.len()
    }
}

impl Edt2 for [f32] {
    #[inline]
    fn at(&self, i: usize) -> u32 {
        let v = self[i];
        if v.is_finite() {
            v.round().min(u32::MAX as f32 / 4.0) as u32
        } else {
            u32::MAX / 4
        }
    }
    fn size(&self) -> usize {
        self.len()
    }
}

impl Edt2 for Vec<u32> {
    fn at(&self, i: usize) -> u32 {
        self[i]
    }
    fn size(&self) -> usize {
        self.len()
    }
}

impl Edt2 for Vec<f32> {
    fn at(&self, i: usize) -> u32 {
        self.as_slice().at(i)
    }
    fn size(&self) -> usize {
        self.len()
    }
}

fn wrap(d: f64, n: usize, periodic: bool) -> f64 {
    if !periodic {
        return d;
    }
    let n = n as f64;
    d - n * (d / n).round()
}

/// Extracts the network of the voxels with `edt2 > 0` (the phase). `edt2` is
/// the integer squared EDT of the phase (0 outside it), C order over `shape`.
/// `rinv2`: the porometer's squared invasion radii, to record per-face gas data.
pub fn extract<E: Edt2 + ?Sized>(edt2: &E, shape: [usize; 3], voxel_um: f64, periodic_xy: bool, rinv2: Option<&[u32]>) -> Network {
    let [nz, ny, nx] = shape;
    let plane = ny * nx;
    assert_eq!(edt2.size(), nz * plane);
    assert!(edt2.size() < u32::MAX as usize, "volume too large for 32-bit indices");
    let mut net = Network { shape, voxel_um, periodic_xy, ..Default::default() };
    // A phase with no other phase anywhere has an infinite EDT: cap it.
    let cap = ((nz + ny + nx) as u64).pow(2).min(u32::MAX as u64 / 4) as u32;
    let ea = |i: usize| edt2.at(i).min(cap);
    if edt2.size() == 0 {
        return net;
    }
    let t0 = std::time::Instant::now();
    // 1. Candidate peaks, plane by plane in parallel.
    let mut cands: Vec<u32> = (0..nz)
        .into_par_iter()
        .flat_map_iter(|z| {
            let mut out = Vec::new();
            for y in 0..ny {
                for x in 0..nx {
                    let v = (z * ny + y) * nx + x;
                    let e = ea(v);
                    if e == 0 {
                        continue;
                    }
                    let mut peak = true;
                    'n: for dz in -1i64..=1 {
                        for dy in -1i64..=1 {
                            for dx in -1i64..=1 {
                                if dz == 0 && dy == 0 && dx == 0 {
                                    continue;
                                }
                                if let Some(u) = crate::volume::neighbor_index(shape, (z as i64, y as i64, x as i64), (dz, dy, dx), periodic_xy) {
                                    if ea(u) > e {
                                        peak = false;
                                        break 'n;
                                    }
                                }
                            }
                        }
                    }
                    if peak {
                        out.push(v as u32);
                    }
                }
            }
            out
        })
        .collect();
    cands.sort_unstable_by(|&a, &b| ea(b as usize).cmp(&ea(a as usize)).then(a.cmp(&b)));
    if cands.is_empty() {
        return net;
    }
    log::debug!("network: {} candidate peaks in {:.2} s", cands.len(), t0.elapsed().as_secs_f64());
    // 2. Trim peaks inside a kept peak's sphere: kept spheres are painted into
    //    a bit map (each voxel strictly inside |v − p|² < EDT²(p)); a candidate
    //    already painted is dropped. Candidates come largest first, so a kept
    //    sphere is never smaller than a later candidate's.
    let pos = |v: usize| -> [usize; 3] { [v / plane, (v / nx) % ny, v % nx] };
    let mut covered = vec![0u64; (nz * plane).div_ceil(64)];
    let is_set = |bits: &[u64], i: usize| bits[i >> 6] >> (i & 63) & 1 == 1;
    let mut markers: Vec<u32> = Vec::new();
    for &c in &cands {
        let c = c as usize;
        if is_set(&covered, c) {
            continue;
        }
        markers.push(c as u32);
        let r2 = ea(c) as i64;
        let ri = ((r2 as f64).sqrt().ceil() as i64).max(1);
        let (cz, cy, cx) = ((c / plane) as i64, ((c / nx) % ny) as i64, (c % nx) as i64);
        for dz in -ri..=ri {
            let z = cz + dz;
            if z < 0 || z >= nz as i64 {
                continue;
            }
            for dy in -ri..=ri {
                let rem = r2 - dz * dz - dy * dy;
                if rem <= 0 {
                    continue;
                }
                let mut y = cy + dy;
                if periodic_xy {
                    y = y.rem_euclid(ny as i64);
                } else if y < 0 || y >= ny as i64 {
                    continue;
                }
                // |dx|² < rem
                let mut w = (rem as f64).sqrt() as i64;
                while w * w >= rem {
                    w -= 1;
                }
                for dx in -w..=w {
                    let mut x = cx + dx;
                    if periodic_xy {
                        x = x.rem_euclid(nx as i64);
                    } else if x < 0 || x >= nx as i64 {
                        continue;
                    }
                    let i = (z as usize * ny + y as usize) * nx + x as usize;
                    covered[i >> 6] |= 1u64 << (i & 63);
                }
            }
        }
    }
    drop(covered);
    drop(cands);

    log::debug!("network: {} markers after trimming, {:.2} s", markers.len(), t0.elapsed().as_secs_f64());
    // 3. Watershed: priority flood from the markers, descending EDT².
    let mut labels = vec![0u32; edt2.size()];
    let kmax = ea(markers[0] as usize) as usize;
    // First in, first out within a level, so that plateaus (the ridge of a
    // channel) are shared between markers by distance, not by push order.
    let mut buckets: Vec<std::collections::VecDeque<u32>> = vec![Default::default(); kmax + 1];
    for (i, &m) in markers.iter().enumerate() {
        labels[m as usize] = i as u32 + 1;
        buckets[ea(m as usize) as usize].push_back(m);
    }
    let mut k = kmax;
    loop {
        let Some(v) = buckets[k].pop_front() else {
            if k == 0 {
                break;
            }
            k -= 1;
            continue;
        };
        let v = v as usize;
        let l = labels[v];
        let (z, y, x) = (v / plane, (v / nx) % ny, v % nx);
        let none = usize::MAX;
        let nbs = [
            if z > 0 { v - plane } else { none },
            if z + 1 < nz { v + plane } else { none },
            if y > 0 { v - nx } else if periodic_xy { v + plane - nx } else { none },
            if y + 1 < ny { v + nx } else if periodic_xy { v + nx - plane } else { none },
            if x > 0 { v - 1 } else if periodic_xy { v + nx - 1 } else { none },
            if x + 1 < nx { v + 1 } else if periodic_xy { v + 1 - nx } else { none },
        ];
        for u in nbs {
            if u != none && labels[u] == 0 {
                let e = ea(u);
                if e > 0 {
                    labels[u] = l;
                    buckets[(e as usize).min(k)].push_back(u as u32);
                }
            }
        }
    }
    drop(buckets);

    log::debug!("network: watershed done, {:.2} s", t0.elapsed().as_secs_f64());
    // 4. Pores and throats.
    net.pores = markers
        .iter()
        .map(|&m| {
            let p = pos(m as usize);
            Pore {
                center: [p[0] as f64, p[1] as f64, p[2] as f64],
                radius: (ea(m as usize) as f64).sqrt(),
                volume: 0,
                max_rinv2: 0,
            }
        })
        .collect();
    struct Acc {
        area: u64,
        dist_max: f32,
        sum: [f64; 3],
        normal: [f64; 3],
    }
    // Throats of each pore a (as the lower index): a short list searched
    // linearly (coordination numbers are small), faster than a hash map.
    let mut index: Vec<Vec<(u32, u32)>> = vec![Vec::new(); net.pores.len()];
    let mut accs: Vec<(u32, u32, Acc)> = Vec::new();
    let mut faces: Vec<Face> = Vec::new();
    let record_faces = rinv2.is_some();
    let mut add = |a: u32, b: u32, mid: [f64; 3], normal: [f64; 3], dist: f32, r2: u32, pores: &[Pore]| {
        let list = &mut index[a as usize];
        let t = match list.iter().find(|(bb, _)| *bb == b) {
            Some(&(_, t)) => t,
            None => {
                accs.push((a, b, Acc { area: 0, dist_max: 0.0, sum: [0.0; 3], normal: [0.0; 3] }));
                let t = (accs.len() - 1) as u32;
                list.push((b, t));
                t
            }
        };
        let acc = &mut accs[t as usize].2;
        acc.area += 1;
        acc.dist_max = acc.dist_max.max(dist);
        let c = pores[a as usize].center;
        acc.sum[0] += mid[0] - c[0];
        acc.sum[1] += wrap(mid[1] - c[1], ny, periodic_xy);
        acc.sum[2] += wrap(mid[2] - c[2], nx, periodic_xy);
        for (n, d) in acc.normal.iter_mut().zip(normal) {
            *n += d;
        }
        if record_faces {
            faces.push(Face { throat: t, rinv2: r2, dist });
        }
    };
    for v in 0..edt2.size() {
        let l = labels[v];
        if l == 0 {
            continue;
        }
        let a = l - 1;
        net.pores[a as usize].volume += 1;
        let r2v = rinv2.map_or(0, |r| r[v]);
        if r2v > net.pores[a as usize].max_rinv2 {
            net.pores[a as usize].max_rinv2 = r2v;
        }
        let (z, y, x) = (v / plane, (v / nx) % ny, v % nx);
        let p = [z as f64, y as f64, x as f64];
        if z == 0 {
            add(a, INLET, [-0.5, p[1], p[2]], [-1.0, 0.0, 0.0], (ea(v) as f32).sqrt(), r2v, &net.pores);
        }
        if z + 1 == nz {
            add(a, OUTLET, [nz as f64 - 0.5, p[1], p[2]], [1.0, 0.0, 0.0], (ea(v) as f32).sqrt(), r2v, &net.pores);
        }
        for (dz, dy, dx) in [(1i64, 0i64, 0i64), (0, 1, 0), (0, 0, 1)] {
            let u = if dz == 1 {
                if z + 1 < nz { v + plane } else { continue }
            } else if dy == 1 {
                if y + 1 < ny { v + nx } else if periodic_xy { v + nx - plane } else { continue }
            } else if x + 1 < nx {
                v + 1
            } else if periodic_xy {
                v + 1 - nx
            } else {
                continue;
            };
            let m = labels[u];
            if m == 0 || m == l {
                continue;
            }
            let b = m - 1;
            let mid = [p[0] + 0.5 * dz as f64, p[1] + 0.5 * dy as f64, p[2] + 0.5 * dx as f64];
            let e2 = 0.5 * ((ea(v) as f32).sqrt() + (ea(u) as f32).sqrt());
            let r2 = rinv2.map_or(0, |r| r[v].min(r[u]));
            // Face normal oriented from the lower-numbered region to the other.
            let d = [dz as f64, dy as f64, dx as f64];
            let (lo, hi, normal) = if a < b { (a, b, d) } else { (b, a, [-d[0], -d[1], -d[2]]) };
            add(lo, hi, mid, normal, e2, r2, &net.pores);
        }
    }
    drop(labels);
    net.throats = accs
        .into_iter()
        .map(|(a, b, acc)| {
            let n = acc.area as f64;
            let ca = net.pores[a as usize].center;
            let rel = [acc.sum[0] / n, acc.sum[1] / n, acc.sum[2] / n];
            let tc = [ca[0] + rel[0], ca[1] + rel[1], ca[2] + rel[2]];
            let len_a = (rel[0].powi(2) + rel[1].powi(2) + rel[2].powi(2)).sqrt();
            let (len_b, dz_b) = if b >= INLET {
                (0.0, 0.0)
            } else {
                let cb = net.pores[b as usize].center;
                let d = [cb[0] - tc[0], wrap(cb[1] - tc[1], ny, periodic_xy), wrap(cb[2] - tc[2], nx, periodic_xy)];
                ((d[0].powi(2) + d[1].powi(2) + d[2].powi(2)).sqrt(), d[0])
            };
            let flat = (acc.normal.iter().map(|x| x * x).sum::<f64>()).sqrt().max(1.0);
            Throat { a, b, faces: acc.area, area: flat, radius: acc.dist_max as f64, len_a, len_b, dz_a: rel[0], dz_b }
        })
        .collect();
    net.faces = faces;
    log::debug!("network: {} pores, {} throats, {} faces, {:.2} s", net.pores.len(), net.throats.len(), net.faces.len(), t0.elapsed().as_secs_f64());
    net
}

impl Network {
    /// Summary statistics (for the classifier and `analysis.json`).
    pub fn stats(&self) -> NetworkStats {
        let internal: Vec<&Throat> = self.throats.iter().filter(|t| t.b < INLET).collect();
        // Median weighted by the smaller adjacent body's volume, so that small
        // spurious regions (a ridge or saddle left as its own body) weigh little.
        let mut ratios: Vec<(f64, f64)> = internal
            .iter()
            .map(|t| {
                let (pa, pb) = (&self.pores[t.a as usize], &self.pores[t.b as usize]);
                let rb = pa.radius.min(pb.radius);
                let w = pa.volume.min(pb.volume) as f64;
                (if rb > 0.0 { t.radius / rb } else { 1.0 }, w)
            })
            .collect();
        ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total: f64 = ratios.iter().map(|r| r.1).sum();
        let median = if ratios.is_empty() || total <= 0.0 {
            f64::NAN
        } else {
            let mut acc = 0.0;
            let mut m = ratios[ratios.len() - 1].0;
            for &(r, w) in &ratios {
                acc += w;
                if acc >= 0.5 * total {
                    m = r;
                    break;
                }
            }
            m
        };
        let vol: f64 = self.pores.iter().map(|p| p.volume as f64).sum();
        let body = if vol > 0.0 {
            self.pores.iter().map(|p| 2.0 * p.radius * p.volume as f64).sum::<f64>() / vol * self.voxel_um
        } else {
            f64::NAN
        };
        let area: f64 = internal.iter().map(|t| t.area).sum();
        let throat = if area > 0.0 {
            internal.iter().map(|t| 2.0 * t.radius * t.area).sum::<f64>() / area * self.voxel_um
        } else {
            f64::NAN
        };
        NetworkStats {
            pores: self.pores.len(),
            throats: internal.len(),
            coordination: if self.pores.is_empty() { 0.0 } else { 2.0 * internal.len() as f64 / self.pores.len() as f64 },
            throat_to_body_median: median,
            body_diameter_um: body,
            throat_diameter_um: throat,
        }
    }
}

/// Integer squared EDT of `phase` in a segmented volume (0 outside the phase;
/// a phase with no other-phase voxel anywhere gets a large finite value).
pub fn edt2_u32(seg: &Volume<u8>, phase: u8, periodic_xy: bool) -> Vec<u32> {
    let big = {
        let s = seg.shape.iter().sum::<usize>() as u64;
        (s * s).min(u32::MAX as u64 / 2) as u32
    };
    let e = crate::analysis::distance::edt_squared(seg, phase, periodic_xy);
    e.data
        .par_iter()
        .map(|&d| if d.is_finite() { (d.round() as u64).min(big as u64) as u32 } else { big })
        .collect()
}
