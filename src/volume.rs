//! Voxel volumes shared by the simulation outputs and the analysis stage.
//!
//! Every volume is stored in C order `[z][y][x]` with x fastest. z is the
//! thickness direction: z = 0 is the free surface (air, bath or cooling medium
//! side) and the last z is the substrate/back side. Voxels are cubes whose edge
//! length `voxel_um` travels with the data, so every measurement can be given in
//! physical units. Segmented volumes use 1 = pore, 0 = polymer.

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
