//! Twin of `shaders/reduce_fields.wgsl` and `shaders/reduce_partials.wgsl`.
//!
//! The CPU sums in f64 (the GPU uses f32 tree sums with a compensated final
//! pass); the per-voxel records are the same.

use super::free_energy::{f_bulk, hessian, max_eig_product, max_eig_sym, mobility};
use super::{coords, neighbor, CHUNK};
use crate::solver::params::{Params, Reduction};
use rayon::prelude::*;

fn finite(x: f32) -> bool {
    x.is_finite()
}

/// Twin of `voxel_record` in reduce_fields.wgsl.
pub fn voxel_record(p: &Params, phi: &[[f32; 2]], i: u32) -> Reduction {
    let pos = coords(p, i);
    let c = phi[i as usize];
    let bad = !finite(c[0]) || !finite(c[1]) || c[0] < -1.0 || c[0] > 2.0 || c[1] < -1.0 || c[1] > 2.0;
    let mut g2 = [0.0f32; 2];
    for f in [1, 3, 5] {
        let j = neighbor(p, pos, f);
        if j >= 0 {
            let n = phi[j as usize];
            g2[0] += (n[0] - c[0]) * (n[0] - c[0]);
            g2[1] += (n[1] - c[1]) * (n[1] - c[1]);
        }
    }
    let fe = (f_bulk(p, c) + 0.5 * p.inv_h2 * (p.kappa_p * g2[0] + p.kappa_n * g2[1])) * p.cell_volume;
    let m = mobility(p, c);
    let h = hessian(p, c);
    Reduction {
        a: [c[0], c[1], fe, if bad { 1.0 } else { 0.0 }],
        b: [max_eig_product(m, h), max_eig_sym(m), c[0], c[1]],
    }
}

/// Sums and maxima over the whole field (sums rounded to f32 like the GPU record).
pub fn reduce(p: &Params, phi: &[[f32; 2]]) -> Reduction {
    let (sums, maxs) = reduce_f64(p, phi);
    Reduction { a: [sums[0] as f32, sums[1] as f32, sums[2] as f32, sums[3] as f32], b: maxs }
}

/// Sums in full f64 precision, and maxima.
pub fn reduce_f64(p: &Params, phi: &[[f32; 2]]) -> ([f64; 4], [f32; 4]) {
    let n = p.n_total as usize;
    let (sums, maxs) = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|k| {
            let mut s = [0.0f64; 4];
            let mut m = Reduction::empty().b;
            for i in k * CHUNK..((k + 1) * CHUNK).min(n) {
                let r = voxel_record(p, phi, i as u32);
                for q in 0..4 {
                    s[q] += r.a[q] as f64;
                    m[q] = m[q].max(r.b[q]);
                }
            }
            (s, m)
        })
        .reduce(
            || ([0.0f64; 4], Reduction::empty().b),
            |(sa, ma), (sb, mb)| {
                let mut s = sa;
                let mut m = ma;
                for q in 0..4 {
                    s[q] += sb[q];
                    m[q] = m[q].max(mb[q]);
                }
                (s, m)
            },
        );
    (sums, maxs)
}
