//! Voxel volumes shared by the simulation outputs and the analysis stage.
//!
//! Every volume is stored in C order `[z][y][x]` with x fastest. z is the
//! thickness direction: z = 0 is the free surface (air, bath or cooling medium
//! side) and the last z is the substrate/back side. Voxels are cubes whose edge
//! length `voxel_um` travels with the data, so every measurement can be given in
//! physical units. Segmented volumes use 1 = pore, 0 = polymer.

use rayon::prelude::*;

/// A 3D voxel volume in C order `[z][y][x]`, x fastest.
#[derive(Clone, Debug, PartialEq)]
pub struct Volume<T> {
    /// Samples, `shape[0] * shape[1] * shape[2]` of them.
    pub data: Vec<T>,
    /// `[nz, ny, nx]`.
    pub shape: [usize; 3],
    /// Edge length of a (cubic) voxel in micrometres.
    pub voxel_um: f64,
}

/// Pore label in segmented volumes.
pub const PORE: u8 = 1;
/// Polymer label in segmented volumes.
pub const POLYMER: u8 = 0;

/// Linear index of voxel (z + dz, y + dy, x + dx) in a volume of `shape`
/// (`[nz, ny, nx]`), with x and y wrapping when `periodic_xy`; `None` outside the
/// volume (z never wraps: it is the thickness direction).
#[inline]
pub fn neighbor_index(shape: [usize; 3], (z, y, x): (i64, i64, i64), (dz, dy, dx): (i64, i64, i64), periodic_xy: bool) -> Option<usize> {
    let [nz, ny, nx] = shape.map(|n| n as i64);
    let zz = z + dz;
    if zz < 0 || zz >= nz {
        return None;
    }
    let (mut yy, mut xx) = (y + dy, x + dx);
    if periodic_xy {
        yy = yy.rem_euclid(ny);
        xx = xx.rem_euclid(nx);
    } else if yy < 0 || yy >= ny || xx < 0 || xx >= nx {
        return None;
    }
    Some(((zz * ny + yy) * nx + xx) as usize)
}

impl<T: Copy> Volume<T> {
    /// A volume filled with `value`.
    pub fn filled(shape: [usize; 3], voxel_um: f64, value: T) -> Self {
        Self { data: vec![value; shape[0] * shape[1] * shape[2]], shape, voxel_um }
    }

    /// Wraps `data`; `None` when its length does not match `shape`.
    pub fn from_vec(shape: [usize; 3], voxel_um: f64, data: Vec<T>) -> Option<Self> {
        (data.len() == shape[0] * shape[1] * shape[2]).then_some(Self { data, shape, voxel_um })
    }

    pub fn nz(&self) -> usize {
        self.shape[0]
    }
    pub fn ny(&self) -> usize {
        self.shape[1]
    }
    pub fn nx(&self) -> usize {
        self.shape[2]
    }
    pub fn len(&self) -> usize {
        self.data.len()
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Linear index of voxel (z, y, x).
    #[inline]
    pub fn idx(&self, z: usize, y: usize, x: usize) -> usize {
        (z * self.shape[1] + y) * self.shape[2] + x
    }

    #[inline]
    pub fn get(&self, z: usize, y: usize, x: usize) -> T {
        self.data[self.idx(z, y, x)]
    }

    #[inline]
    pub fn set(&mut self, z: usize, y: usize, x: usize, v: T) {
        let i = self.idx(z, y, x);
        self.data[i] = v;
    }

    /// The volume without its first `k` z layers (e.g. an explicit bath slab
    /// above the film); `k` must leave at least one layer.
    pub fn without_top(&self, k: usize) -> Volume<T> {
        self.z_range(k, 0)
    }

    /// The z layers `top..nz - bottom`; `top + bottom` must leave at least one.
    pub fn z_range(&self, top: usize, bottom: usize) -> Volume<T> {
        assert!(top + bottom < self.shape[0], "cannot drop {top} + {bottom} of {} layers", self.shape[0]);
        let layer = self.shape[1] * self.shape[2];
        let end = (self.shape[0] - bottom) * layer;
        Volume { data: self.data[top * layer..end].to_vec(), shape: [self.shape[0] - top - bottom, self.shape[1], self.shape[2]], voxel_um: self.voxel_um }
    }

    /// Applies `f` to every sample, keeping shape and voxel size.
    pub fn map<U: Copy>(&self, f: impl Fn(T) -> U) -> Volume<U> {
        Volume { data: self.data.iter().map(|&v| f(v)).collect(), shape: self.shape, voxel_um: self.voxel_um }
    }

    /// Physical extent `[z, y, x]` in micrometres.
    pub fn extent_um(&self) -> [f64; 3] {
        [
            self.shape[0] as f64 * self.voxel_um,
            self.shape[1] as f64 * self.voxel_um,
            self.shape[2] as f64 * self.voxel_um,
        ]
    }
}

impl Volume<f32> {
    /// The field resampled on a grid `k` times finer in each direction, by trilinear
    /// interpolation between voxel centres: the same extent, `k³` sub-voxels per
    /// voxel, a voxel edge of `voxel_um / k`. Sub-voxel centres sit at
    /// `(i + (s + ½)/k − ½)` in the original voxel-centre coordinates; x and y wrap
    /// when `periodic_xy`, and otherwise (and always in z) the outermost half voxel
    /// takes the value of the outermost centre.
    ///
    /// A segmentation of the refined field follows the interface of a smooth
    /// phase-field between the lattice sites, so sizes measured on it (the porometer's
    /// inscribed spheres above all) move in steps of `voxel_um / k` instead of
    /// `voxel_um`. NaN samples stay NaN wherever they take part. `k = 1` is a copy.
    pub fn refined(&self, k: usize, periodic_xy: bool) -> Volume<f32> {
        assert!(k >= 1, "refinement factor must be at least 1");
        if k == 1 {
            return self.clone();
        }
        let [nz, ny, nx] = self.shape;
        // For each fine index along an axis of n voxels: the two coarse neighbours and
        // the weight of the second.
        let axis = |n: usize, wrap: bool| -> Vec<(usize, usize, f32)> {
            (0..n * k)
                .map(|f| {
                    let c = (f as f64 + 0.5) / k as f64 - 0.5;
                    let lo = c.floor();
                    let w = (c - lo) as f32;
                    let lo = lo as i64;
                    let (a, b) = if wrap {
                        (lo.rem_euclid(n as i64) as usize, (lo + 1).rem_euclid(n as i64) as usize)
                    } else {
                        (lo.clamp(0, n as i64 - 1) as usize, (lo + 1).clamp(0, n as i64 - 1) as usize)
                    };
                    (a, b, w)
                })
                .collect()
        };
        let (az, ay, ax) = (axis(nz, false), axis(ny, periodic_xy), axis(nx, periodic_xy));
        let (fz, fy, fx) = (nz * k, ny * k, nx * k);
        let mut data = vec![0f32; fz * fy * fx];
        let src = &self.data;
        let at = |z: usize, y: usize, x: usize| src[(z * ny + y) * nx + x];
        let lerp = |a: f32, b: f32, w: f32| if w == 0.0 { a } else { a + (b - a) * w };
        data.par_chunks_mut(fy * fx).enumerate().for_each(|(z, plane)| {
            let (z0, z1, wz) = az[z];
            for (y, row) in plane.chunks_mut(fx).enumerate() {
                let (y0, y1, wy) = ay[y];
                for (x, out) in row.iter_mut().enumerate() {
                    let (x0, x1, wx) = ax[x];
                    let c00 = lerp(at(z0, y0, x0), at(z0, y0, x1), wx);
                    let c01 = lerp(at(z0, y1, x0), at(z0, y1, x1), wx);
                    let c10 = lerp(at(z1, y0, x0), at(z1, y0, x1), wx);
                    let c11 = lerp(at(z1, y1, x0), at(z1, y1, x1), wx);
                    *out = lerp(lerp(c00, c01, wy), lerp(c10, c11, wy), wz);
                }
            }
        });
        Volume { data, shape: [fz, fy, fx], voxel_um: self.voxel_um / k as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linear(shape: [usize; 3]) -> Volume<f32> {
        let mut v = Volume::filled(shape, 0.1, 0f32);
        for z in 0..shape[0] {
            for y in 0..shape[1] {
                for x in 0..shape[2] {
                    v.set(z, y, x, 0.5 * z as f32 - 0.25 * y as f32 + 0.125 * x as f32);
                }
            }
        }
        v
    }

    #[test]
    fn refinement_reproduces_a_linear_field_between_centres() {
        let v = linear([5, 6, 7]);
        let r = v.refined(2, false);
        assert_eq!(r.shape, [10, 12, 14]);
        assert!((r.voxel_um - 0.05).abs() < 1e-12);
        // Fine voxel (Z, Y, X) sits at coarse coordinate (F + ½)/2 − ½; inside the
        // outer half voxel a linear field is reproduced exactly.
        for z in 1..9 {
            for y in 1..11 {
                for x in 1..13 {
                    let c = |f: usize| (f as f32 + 0.5) / 2.0 - 0.5;
                    let want = 0.5 * c(z) - 0.25 * c(y) + 0.125 * c(x);
                    assert!((r.get(z, y, x) - want).abs() < 1e-5, "({z},{y},{x}): {} vs {want}", r.get(z, y, x));
                }
            }
        }
        // The outermost half voxel takes the outermost centre's value.
        // (z = 0 sits at coarse z −¼, clamped to the centre at 0; z = 1 at +¼.)
        assert!((r.get(0, 5, 5) - (r.get(1, 5, 5) - 0.5 * 0.25)).abs() < 1e-5);
        // The mean of each block of k³ sub-voxels is the coarse value in the interior.
        let block: f32 = (0..2).flat_map(|a| (0..2).flat_map(move |b| (0..2).map(move |c| (a, b, c)))).map(|(a, b, c)| r.get(4 + a, 4 + b, 4 + c)).sum::<f32>() / 8.0;
        assert!((block - v.get(2, 2, 2)).abs() < 1e-5);
    }

    #[test]
    fn refinement_wraps_periodic_sides_and_keeps_constants() {
        let c = Volume::filled([2, 4, 4], 0.04, 0.3f32).refined(3, true);
        assert_eq!(c.shape, [6, 12, 12]);
        assert!(c.data.iter().all(|&s| (s - 0.3).abs() < 1e-7));
        let mut v = Volume::filled([2, 4, 4], 0.04, 0f32);
        // A one-voxel stripe at x = 0: with wrapping the sub-voxels left of the first
        // centre lean toward x = 3 (0); without, they copy x = 0 (1).
        for z in 0..2 {
            for y in 0..4 {
                v.set(z, y, 0, 1.0);
            }
        }
        let p = v.refined(2, true);
        let q = v.refined(2, false);
        assert!((p.get(1, 3, 0) - 0.75).abs() < 1e-6, "{}", p.get(1, 3, 0));
        assert_eq!(q.get(1, 3, 0), 1.0);
        // The last fine column (x = 7, coarse 3.25) leans toward x = 0 when wrapping.
        assert!((p.get(1, 3, 7) - 0.25).abs() < 1e-6);
        assert_eq!(q.get(1, 3, 7), 0.0);
        assert_eq!(v.refined(1, true), v);
    }
}
