//! Twin of `shaders/reduce_fields.wgsl` and `shaders/reduce_partials.wgsl`.
//!
//! The CPU sums in f64 (the GPU uses f32 tree sums with a compensated final
//! pass); the per-voxel records are the same.

use super::free_energy::{chi_at, chi_pn_at, chi_tm, d2fc_dp2, f_bulk, f_bulk_chi, f_cryst, floor_f, floor_h, gel, hessian, hessian_chi, max_eig_product, max_eig_sym, medium_shift, mobility};
use super::{coords, neighbor, CHUNK};
use crate::solver::params::{Params, Reduction};
use rayon::prelude::*;

fn finite(x: f32) -> bool {
    x.is_finite()
}

/// Twin of `voxel_record` in reduce_fields.wgsl.
pub fn voxel_record(p: &Params, phi: &[[f32; 2]], aux: &[[f32; 2]], i: u32) -> Reduction {
    let pos = coords(p, i);
    let c = phi[i as usize];
    let mut bad = !finite(c[0]) || !finite(c[1]) || c[0] < -1.0 || c[0] > 2.0 || c[1] < -1.0 || c[1] > 2.0;
    let mut g2 = [0.0f32; 2];
    for f in [1, 3, 5] {
        let j = neighbor(p, pos, f);
        if j >= 0 {
            let n = phi[j as usize];
            g2[0] += (n[0] - c[0]) * (n[0] - c[0]);
            g2[1] += (n[1] - c[1]) * (n[1] - c[1]);
        }
    }
    if p.is_thermal() {
        let [t, psi] = aux[i as usize];
        let chi = chi_at(p, t);
        let cpn = chi_pn_at(p, t);
        let ctm = chi_tm(p, c, t);
        let mut gpsi = 0.0f32;
        for f in [1, 3, 5] {
            let j = neighbor(p, pos, f);
            if j >= 0 {
                let d = aux[j as usize][1] - psi;
                gpsi += d * d;
            }
        }
        bad |= !finite(t) || !finite(psi);
        let fe = (f_bulk_chi(p, c, chi, cpn)
            + floor_f(c)
            + f_cryst(p, c[0], psi, t, ctm, medium_shift(p, pos[2]))
            + 0.5 * p.inv_h2 * (p.kappa_p * g2[0] + p.kappa_n * g2[1] + p.th_cryst[2] * gpsi))
            * p.cell_volume;
        let g = gel(p, psi);
        let m0 = mobility(p, c);
        let m = [m0[0] * g, m0[1] * g, m0[2] * g];
        let mut h = hessian_chi(p, c, chi, cpn);
        let fh = floor_h(c);
        h = [h[0] + fh[0], h[1] + fh[1], h[2] + fh[2]];
        h[0] += d2fc_dp2(c[0], psi, ctm);
        return Reduction {
            a: [c[0], c[1], fe, if bad { 1.0 } else { 0.0 }],
            b: [max_eig_product(m, h), max_eig_sym(m), c[0], c[1]],
            c: [t, c[0].clamp(0.0, 1.0) * psi, psi, 0.0],
            d: [t, -t, psi, neg_fraction(p, c)],
        };
    }
    let fe = (f_bulk(p, c) + 0.5 * p.inv_h2 * (p.kappa_p * g2[0] + p.kappa_n * g2[1])) * p.cell_volume;
    let m = mobility(p, c);
    let h = hessian(p, c);
    let e = Reduction::empty();
    Reduction {
        a: [c[0], c[1], fe, if bad { 1.0 } else { 0.0 }],
        b: [max_eig_product(m, h), max_eig_sym(m), c[0], c[1]],
        c: e.c,
        d: [e.d[0], e.d[1], e.d[2], neg_fraction(p, c)],
    }
}

/// Twin of `neg_fraction` in reduce_fields.wgsl.
pub fn neg_fraction(p: &Params, c: [f32; 2]) -> f32 {
    if p.model != crate::solver::params::MODEL_TERNARY {
        return -1e30;
    }
    -(c[0].min(c[1]).min(1.0 - c[0] - c[1]))
}

/// Sums and maxima over the whole field (sums rounded to f32 like the GPU record).
pub fn reduce(p: &Params, phi: &[[f32; 2]], aux: &[[f32; 2]]) -> Reduction {
    let (sums, maxs) = reduce_f64(p, phi, aux);
    let f = |k: usize| [sums[k] as f32, sums[k + 1] as f32, sums[k + 2] as f32, sums[k + 3] as f32];
    let m = |k: usize| [maxs[k], maxs[k + 1], maxs[k + 2], maxs[k + 3]];
    Reduction { a: f(0), b: m(0), c: f(4), d: m(4) }
}

/// Sums (`a` then `c`) in full f64 precision, and maxima (`b` then `d`).
pub fn reduce_f64(p: &Params, phi: &[[f32; 2]], aux: &[[f32; 2]]) -> ([f64; 8], [f32; 8]) {
    let n = p.n_total as usize;
    let e = Reduction::empty();
    let init_m = [e.b[0], e.b[1], e.b[2], e.b[3], e.d[0], e.d[1], e.d[2], e.d[3]];
    (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|k| {
            let mut s = [0.0f64; 8];
            let mut m = init_m;
            for i in k * CHUNK..((k + 1) * CHUNK).min(n) {
                let r = voxel_record(p, phi, aux, i as u32);
                for q in 0..4 {
                    s[q] += r.a[q] as f64;
                    s[q + 4] += r.c[q] as f64;
                    m[q] = m[q].max(r.b[q]);
                    m[q + 4] = m[q + 4].max(r.d[q]);
                }
            }
            (s, m)
        })
        .reduce(
            || ([0.0f64; 8], init_m),
            |(sa, ma), (sb, mb)| {
                let mut s = sa;
                let mut m = ma;
                for q in 0..8 {
                    s[q] += sb[q];
                    m[q] = m[q].max(mb[q]);
                }
                (s, m)
            },
        )
}
