//! CPU twins of the WGSL kernels, in plain Rust that reads like the shaders,
//! parallel with rayon. They are a backend of their own (`--backend cpu`) and
//! the reference the GPU tests compare against.
//!
//! Every function here mirrors a function of the same name in `shaders/`.

pub mod chem_potential;
pub mod free_energy;
pub mod reduce;
pub mod spectral;
pub mod thermal;
pub mod update;

use super::params::*;

/// Neighbour lookups return a voxel index >= 0, or one of these.
pub const WALL: i64 = -1;
pub const RESERVOIR: i64 = -2;
pub const VAPOR: i64 = -3;

/// Voxels handled by one rayon task.
pub(crate) const CHUNK: usize = 4096;

#[inline]
pub fn coords(p: &Params, i: u32) -> [u32; 3] {
    [i % p.nx, (i / p.nx) % p.ny, i / (p.nx * p.ny)]
}

/// Twin of `neighbor` in common.wgsl.
#[inline]
pub fn neighbor(p: &Params, c: [u32; 3], face: usize) -> i64 {
    let mut c = [c[0] as i64, c[1] as i64, c[2] as i64];
    let n = [p.nx as i64, p.ny as i64, p.nz as i64];
    let axis = face / 2;
    let dir = if face & 1 == 1 { 1 } else { -1 };
    c[axis] += dir;
    if c[axis] < 0 || c[axis] >= n[axis] {
        match p.bc_code(face) {
            BC_PERIODIC => c[axis] = (c[axis] + n[axis]) % n[axis],
            BC_RESERVOIR => return RESERVOIR,
            BC_VAPOR => return VAPOR,
            _ => return WALL,
        }
    }
    (c[2] * n[1] + c[1]) * n[0] + c[0]
}

/// Twin of `pcg` in common.wgsl.
#[inline]
pub fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747796405).wrapping_add(2891336453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277803737);
    (word >> 22) ^ word
}

/// Twin of `noise2` in common.wgsl: zero mean, unit variance, uniform.
#[inline]
pub fn noise2(key: u32, step: u32, seed: u32) -> [f32; 2] {
    let h1 = pcg(key ^ pcg(step ^ pcg(seed)));
    let h2 = pcg(h1 ^ 0x9e3779b9);
    let u1 = (h1 >> 8) as f32 * (1.0 / 16777216.0) - 0.5;
    let u2 = (h2 >> 8) as f32 * (1.0 / 16777216.0) - 0.5;
    [u1 * 3.4641016, u2 * 3.4641016]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise2_has_unit_variance_and_zero_mean() {
        let n = 100_000u32;
        let (mut s, mut s2) = (0.0f64, 0.0f64);
        for k in 0..n {
            let g = noise2(k, 7, 3);
            for v in g {
                s += v as f64;
                s2 += (v as f64) * (v as f64);
            }
        }
        let m = s / (2 * n) as f64;
        let var = s2 / (2 * n) as f64 - m * m;
        assert!(m.abs() < 0.01, "mean {m}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
    }
}

/// The binomial low-pass of the semi-implicit error estimate with noise on (twin of
/// `lowpass` in spectral.wgsl): [1 2 1]/4 twice along each axis (response cos⁴(k/2)),
/// mirror ghosts at non-periodic faces. Returns the sum of squares of the result.
pub fn lowpass_sum_sq(p: &Params, buf: &mut [[f32; 2]], tmp: &mut [[f32; 2]]) -> f64 {
    use rayon::prelude::*;
    for axis in 0..3 {
        if [p.nx, p.ny, p.nz][axis] == 1 {
            continue;
        }
        for _ in 0..2 {
            {
                let src = &*buf;
                tmp.par_chunks_mut(CHUNK).enumerate().for_each(|(k, out)| {
                    for (o, dst) in out.iter_mut().enumerate() {
                        let i = (k * CHUNK + o) as u32;
                        let pos = coords(p, i);
                        let c = src[i as usize];
                        let lo = neighbor(p, pos, 2 * axis);
                        let hi = neighbor(p, pos, 2 * axis + 1);
                        let a = if lo >= 0 { src[lo as usize] } else { c };
                        let b = if hi >= 0 { src[hi as usize] } else { c };
                        *dst = [0.25 * (a[0] + b[0]) + 0.5 * c[0], 0.25 * (a[1] + b[1]) + 0.5 * c[1]];
                    }
                });
            }
            buf.copy_from_slice(tmp);
        }
    }
    buf.par_iter().map(|v| (v[0] as f64).powi(2) + (v[1] as f64).powi(2)).sum()
}
