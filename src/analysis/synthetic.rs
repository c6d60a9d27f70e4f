//! Synthetic microstructures with known character, for tests, benchmarks and the
//! PoreSpy cross-check: Gaussian-random-field level sets and gyroids (percolation),
//! overlapping polymer spheres (spherical particles), overlapping spherical voids
//! (cellular), dense polymer with isolated voids (non-porous), and simple solids
//! (sphere, cylinder, torus, cross) with analytic answers. All use 1 = pore.

use crate::volume::{Volume, POLYMER, PORE};

/// SplitMix64: small, seedable, good enough for geometry.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.f64().max(1e-300);
        let v = self.f64();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Voxels where `f(z, y, x)` holds are pore.
pub fn from_fn(shape: [usize; 3], voxel_um: f64, f: impl Fn(f64, f64, f64) -> bool) -> Volume<u8> {
    let [nz, ny, nx] = shape;
    let mut data = Vec::with_capacity(nz * ny * nx);
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                data.push(if f(z as f64, y as f64, x as f64) { PORE } else { POLYMER });
            }
        }
    }
    Volume::from_vec(shape, voxel_um, data).expect("sized")
}

/// Threshold a field so that the share `porosity` of voxels with the lowest values is pore.
pub fn level_set(field: &Volume<f32>, porosity: f64) -> Volume<u8> {
    let mut v = field.data.clone();
    let k = ((porosity * v.len() as f64) as usize).min(v.len() - 1);
    let (_, t, _) = v.select_nth_unstable_by(k, f32::total_cmp);
    let t = *t;
    field.map(|x| (x < t) as u8)
}

/// White noise smoothed by a periodic Gaussian of standard deviation `sigma` voxels.
pub fn gaussian_random_field(shape: [usize; 3], sigma: f64, seed: u64) -> Volume<f32> {
    let mut rng = Rng::new(seed);
    let n: usize = shape.iter().product();
    let mut a: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
    let r = (3.0 * sigma).ceil() as i64;
    let k: Vec<f32> = (-r..=r).map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp() as f32).collect();
    let [nz, ny, nx] = shape;
    let mut b = vec![0f32; n];
    for axis in 0..3 {
        let (len, stride) = match axis {
            0 => (nx, 1),
            1 => (ny, nx),
            _ => (nz, nx * ny),
        };
        for i in 0..n {
            let c = (i / stride) % len;
            let base = i - c * stride;
            let mut acc = 0.0;
            for (t, w) in k.iter().enumerate() {
                let cc = (c as i64 + t as i64 - r).rem_euclid(len as i64) as usize;
                acc += w * a[base + cc * stride];
            }
            b[i] = acc;
        }
        std::mem::swap(&mut a, &mut b);
    }
    Volume::from_vec(shape, 1.0, a).expect("sized")
}

/// Gyroid level function with `period` voxels.
pub fn gyroid(shape: [usize; 3], period: f64) -> Volume<f32> {
    let w = 2.0 * std::f64::consts::PI / period;
    let [nz, ny, nx] = shape;
    let mut d = Vec::with_capacity(nz * ny * nx);
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let (x, y, z) = (x as f64 * w, y as f64 * w, z as f64 * w);
                d.push((x.sin() * y.cos() + y.sin() * z.cos() + z.sin() * x.cos()) as f32);
            }
        }
    }
    Volume::from_vec(shape, 1.0, d).expect("sized")
}

/// Sphere centres on a simple cubic lattice of spacing `spacing`, each moved by up to
/// `jitter` × spacing in every direction.
pub fn jittered_lattice(shape: [usize; 3], spacing: f64, jitter: f64, seed: u64) -> Vec<[f64; 3]> {
    let mut rng = Rng::new(seed);
    let mut c = Vec::new();
    let cnt = |n: usize| (n as f64 / spacing).ceil() as usize + 1;
    for iz in 0..cnt(shape[0]) {
        for iy in 0..cnt(shape[1]) {
            for ix in 0..cnt(shape[2]) {
                let j = |rng: &mut Rng| (rng.f64() * 2.0 - 1.0) * jitter * spacing;
                c.push([iz as f64 * spacing + j(&mut rng), iy as f64 * spacing + j(&mut rng), ix as f64 * spacing + j(&mut rng)]);
            }
        }
    }
    c
}

/// Union of balls (radius `r`) as pore (`balls_are_pore`) or as polymer.
pub fn balls(shape: [usize; 3], centres: &[[f64; 3]], r: f64, balls_are_pore: bool) -> Volume<u8> {
    let [nz, ny, nx] = shape;
    let inside = if balls_are_pore { PORE } else { POLYMER };
    let mut v = Volume::filled(shape, 1.0, if balls_are_pore { POLYMER } else { PORE });
    for c in centres {
        let lo = |a: f64| (a - r).floor().max(0.0) as usize;
        let hi = |a: f64, n: usize| ((a + r).ceil() as i64).clamp(-1, n as i64 - 1);
        for z in lo(c[0])..=hi(c[0], nz).max(0) as usize {
            for y in lo(c[1])..=hi(c[1], ny).max(0) as usize {
                for x in lo(c[2])..=hi(c[2], nx).max(0) as usize {
                    if z >= nz || y >= ny || x >= nx {
                        continue;
                    }
                    let d2 = (z as f64 - c[0]).powi(2) + (y as f64 - c[1]).powi(2) + (x as f64 - c[2]).powi(2);
                    if d2 <= r * r {
                        v.set(z, y, x, inside);
                    }
                }
            }
        }
    }
    v
}

/// Non-overlapping random voids of radius `r` (gap ≥ 2 voxels between them) until
/// `porosity` is reached or no room is left.
pub fn isolated_voids(shape: [usize; 3], r: f64, porosity: f64, seed: u64) -> Volume<u8> {
    let mut rng = Rng::new(seed);
    let n: f64 = shape.iter().product::<usize>() as f64;
    let vol = 4.0 / 3.0 * std::f64::consts::PI * r.powi(3);
    let want = (porosity * n / vol).round() as usize;
    let mut c: Vec<[f64; 3]> = Vec::new();
    let mut tries = 0;
    while c.len() < want && tries < 100_000 {
        tries += 1;
        let p = [
            r + 1.0 + rng.f64() * (shape[0] as f64 - 2.0 * r - 2.0),
            r + 1.0 + rng.f64() * (shape[1] as f64 - 2.0 * r - 2.0),
            r + 1.0 + rng.f64() * (shape[2] as f64 - 2.0 * r - 2.0),
        ];
        if c.iter().all(|q| (0..3).map(|i| (p[i] - q[i]).powi(2)).sum::<f64>() > (2.0 * r + 2.0).powi(2)) {
            c.push(p);
        }
    }
    balls(shape, &c, r, true)
}
