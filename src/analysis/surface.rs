//! Interface area from a sub-voxel surface: the pore indicator is smoothed with a
//! Gaussian (σ = 1 voxel, as scikit-image/PoreSpy users do before marching cubes) and
//! the 0.5 iso-surface is triangulated by marching tetrahedra (each cube cut into six
//! tetrahedra around its main diagonal), whose triangle areas are summed.
//!
//! Why not voxel faces: counting faces overestimates a sphere's area by about 50 %
//! whatever the resolution. The smoothed iso-surface converges to the true area; the
//! smoothing moves a surface of curvature radius R inward by about σ²/R, a relative
//! area change of 2σ²/R², below 0.5 % for R ≥ 20 voxels.
//!
//! The outer faces of the volume are not interfaces: cubes are taken inside the
//! volume only (wrapping across x/y when periodic), and smoothing mirrors at borders.

use rayon::prelude::*;

use crate::volume::Volume;

/// Gaussian σ in voxels.
pub const SIGMA: f32 = 1.0;

/// Area (in voxel² units) of the interface between `phase` and the rest.
pub fn interface_area(mask: &Volume<u8>, phase: u8, periodic_xy: bool) -> f64 {
    let f = smoothed_indicator(mask, phase, periodic_xy);
    iso_area(&f, 0.5, periodic_xy)
}

/// Gaussian-smoothed indicator of `phase` (values in [0, 1]).
pub fn smoothed_indicator(mask: &Volume<u8>, phase: u8, periodic_xy: bool) -> Volume<f32> {
    let [nz, ny, nx] = mask.shape;
    let r = (3.0 * SIGMA).ceil() as i64;
    let mut k: Vec<f32> = (-r..=r).map(|i| (-(i * i) as f32 / (2.0 * SIGMA * SIGMA)).exp()).collect();
    let s: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    let idx = move |i: i64, n: usize, periodic: bool| -> usize {
        let n = n as i64;
        if periodic {
            i.rem_euclid(n) as usize
        } else {
            // Mirror (…, 1, 0 | 0, 1, …) so a flat phase stays flat at the border.
            let m = i.rem_euclid(2 * n);
            (if m < n { m } else { 2 * n - 1 - m }) as usize
        }
    };
    let mut a: Vec<f32> = mask.data.par_iter().map(|&m| (m == phase) as u8 as f32).collect();
    let mut b = vec![0f32; a.len()];
    // x
    b.par_chunks_mut(nx).zip(a.par_chunks(nx)).for_each(|(o, i)| {
        for x in 0..nx {
            let mut acc = 0.0;
            for (t, w) in k.iter().enumerate() {
                acc += w * i[idx(x as i64 + t as i64 - r, nx, periodic_xy)];
            }
            o[x] = acc;
        }
    });
    // y
    a.par_chunks_mut(ny * nx).zip(b.par_chunks(ny * nx)).for_each(|(o, i)| {
        for y in 0..ny {
            let row = &mut o[y * nx..(y + 1) * nx];
            row.fill(0.0);
            for (t, w) in k.iter().enumerate() {
                let yy = idx(y as i64 + t as i64 - r, ny, periodic_xy);
                for (v, s) in row.iter_mut().zip(&i[yy * nx..(yy + 1) * nx]) {
                    *v += w * s;
                }
            }
        }
    });
    // z
    let plane = ny * nx;
    b.par_chunks_mut(plane).enumerate().for_each(|(z, o)| {
        o.fill(0.0);
        for (t, w) in k.iter().enumerate() {
            let zz = idx(z as i64 + t as i64 - r, nz, false);
            for (v, s) in o.iter_mut().zip(&a[zz * plane..(zz + 1) * plane]) {
                *v += w * s;
            }
        }
    });
    Volume { data: b, shape: mask.shape, voxel_um: mask.voxel_um }
}

/// Tetrahedra of a cube around its diagonal 0–7 (corner k = dx | dy<<1 | dz<<2).
const TETS: [[usize; 4]; 6] = [[0, 1, 3, 7], [0, 3, 2, 7], [0, 2, 6, 7], [0, 6, 4, 7], [0, 4, 5, 7], [0, 5, 1, 7]];

type P = [f32; 3];

fn sub(a: P, b: P) -> P {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn cross_norm(a: P, b: P) -> f32 {
    let c = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
    (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt()
}

/// Area of the `level` iso-surface of `f` (voxel² units).
pub fn iso_area(f: &Volume<f32>, level: f32, periodic_xy: bool) -> f64 {
    iso_area_impl(f, level, periodic_xy, None, 0).0
}

/// Like [`iso_area`], also splitting the area among component labels: each cube's
/// area goes to the label of its first labelled corner (`labels[i] = 0`: none).
pub fn iso_area_by_label(f: &Volume<f32>, level: f32, periodic_xy: bool, labels: &[u32], n_labels: usize) -> (f64, Vec<f64>) {
    iso_area_impl(f, level, periodic_xy, Some(labels), n_labels)
}

fn iso_area_impl(f: &Volume<f32>, level: f32, periodic_xy: bool, labels: Option<&[u32]>, n_labels: usize) -> (f64, Vec<f64>) {
    let [nz, ny, nx] = f.shape;
    let (cy, cx) = if periodic_xy { (ny, nx) } else { (ny.saturating_sub(1), nx.saturating_sub(1)) };
    let corner: [P; 8] = std::array::from_fn(|k| [(k & 1) as f32, ((k >> 1) & 1) as f32, ((k >> 2) & 1) as f32]);
    let nl = if labels.is_some() { n_labels.max(1) } else { 0 };
    (0..nz.saturating_sub(1))
        .into_par_iter()
        .fold(|| (0f64, vec![0f64; nl]), |(mut area, mut per), z| {
            for y in 0..cy {
                for x in 0..cx {
                    let v: [f32; 8] = std::array::from_fn(|k| {
                        let (dz, dy, dx) = (k >> 2, (k >> 1) & 1, k & 1);
                        f.get(z + dz, (y + dy) % ny, (x + dx) % nx)
                    });
                    let above = v.iter().filter(|&&s| s > level).count();
                    if above == 0 || above == 8 {
                        continue;
                    }
                    let cut = |a: usize, b: usize| -> P {
                        let t = (level - v[a]) / (v[b] - v[a]);
                        let (pa, pb) = (corner[a], corner[b]);
                        [pa[0] + t * (pb[0] - pa[0]), pa[1] + t * (pb[1] - pa[1]), pa[2] + t * (pb[2] - pa[2])]
                    };
                    let before = area;
                    for tet in TETS {
                        let inside: Vec<usize> = tet.iter().copied().filter(|&c| v[c] > level).collect();
                        let outside: Vec<usize> = tet.iter().copied().filter(|&c| v[c] <= level).collect();
                        match inside.len() {
                            1 | 3 => {
                                let (lone, others) = if inside.len() == 1 { (inside[0], &outside) } else { (outside[0], &inside) };
                                let p: Vec<P> = others.iter().map(|&o| cut(lone, o)).collect();
                                area += 0.5 * cross_norm(sub(p[1], p[0]), sub(p[2], p[0])) as f64;
                            }
                            2 => {
                                let (a, b, c, d) = (inside[0], inside[1], outside[0], outside[1]);
                                let (p0, p1, p2, p3) = (cut(a, c), cut(a, d), cut(b, d), cut(b, c));
                                area += 0.5 * cross_norm(sub(p2, p0), sub(p3, p1)) as f64;
                            }
                            _ => {}
                        }
                    }
                    if let Some(l) = labels {
                        let lab = (0..8).map(|k| {
                            let (dz, dy, dx) = (k >> 2, (k >> 1) & 1, k & 1);
                            l[f.idx(z + dz, (y + dy) % ny, (x + dx) % nx)]
                        }).find(|&v| v != 0).unwrap_or(0) as usize;
                        if lab < nl {
                            per[lab] += area - before;
                        }
                    }
                }
            }
            (area, per)
        })
        .reduce(|| (0.0, vec![0f64; nl]), |(a, mut pa), (b, pb)| {
            for (x, y) in pa.iter_mut().zip(&pb) {
                *x += y;
            }
            (a + b, pa)
        })
}
