//! Euler characteristic χ = b0 − b1 + b2 (components − tunnels + cavities) of one
//! phase, exact, by counting the cells of its cubical complex.
//!
//! - 26-connected phase: the union of closed unit cubes; a lattice vertex, edge or
//!   face belongs to it when any voxel incident to it does. χ = V − E + F − C.
//! - 6-connected phase: the complex on voxel centres; an edge, square or cube belongs
//!   to it when all its voxels do. χ = #voxels − #edges + #squares − #cubes.
//!
//! Outside the volume is not the phase; with periodic x/y the domain wraps (a torus
//! in x and y), which is what a periodic sample means.

use rayon::prelude::*;

use super::label::Connectivity;
use crate::volume::Volume;

/// χ of `phase` with connectivity `conn`.
pub fn euler_characteristic(mask: &Volume<u8>, phase: u8, conn: Connectivity, periodic_xy: bool) -> i64 {
    let [nz, ny, nx] = mask.shape;
    // Voxel (z, y, x) with out-of-range handling: z never wraps.
    let at = |z: i64, y: i64, x: i64| -> bool {
        if z < 0 || z >= nz as i64 {
            return false;
        }
        let (y, x) = if periodic_xy {
            (y.rem_euclid(ny as i64), x.rem_euclid(nx as i64))
        } else {
            if y < 0 || y >= ny as i64 || x < 0 || x >= nx as i64 {
                return false;
            }
            (y, x)
        };
        mask.data[mask.idx(z as usize, y as usize, x as usize)] == phase
    };
    // Every cell is named by its lowest corner (z, y, x) on the lattice of 2×2×2 windows;
    // window at (z, y, x) spans voxels z-1..=z, y-1..=y, x-1..=x.
    let (wy, wx) = if periodic_xy { (ny as i64, nx as i64) } else { (ny as i64 + 1, nx as i64 + 1) };
    (0..=nz as i64)
        .into_par_iter()
        .map(|z| {
            let mut chi = 0i64;
            let interior_z = z >= 1 && z < nz as i64;
            for y in 0..wy {
                for x in 0..wx {
                    let mut b = [false; 8];
                    if interior_z && y >= 1 && y < ny as i64 && x >= 1 && x < nx as i64 {
                        // Fast path: all eight voxels inside, no wrapping.
                        let base = mask.idx((z - 1) as usize, (y - 1) as usize, (x - 1) as usize);
                        let (sy, sz) = (nx, nx * ny);
                        for (k, v) in b.iter_mut().enumerate() {
                            let o = (k >> 2) * sz + ((k >> 1) & 1) * sy + (k & 1);
                            *v = mask.data[base + o] == phase;
                        }
                    } else {
                        for (k, v) in b.iter_mut().enumerate() {
                            let (dz, dy, dx) = ((k >> 2) as i64, ((k >> 1) & 1) as i64, (k & 1) as i64);
                            *v = at(z - 1 + dz, y - 1 + dy, x - 1 + dx);
                        }
                    }
                    chi += window_contribution(&b, conn);
                }
            }
            chi
        })
        .sum()
}

/// Contribution of one 2×2×2 window (voxels z-1..=z, y-1..=y, x-1..=x, index
/// k = dz·4 + dy·2 + dx). Every cell of the complex is counted in exactly one window:
/// the one whose corner voxel (1,1,1) is the cell's largest-index voxel (6-connected,
/// dual complex) or whose centre is the cell's lowest lattice vertex (26-connected,
/// primal complex).
fn window_contribution(b: &[bool; 8], conn: Connectivity) -> i64 {
    // Cells owned (dual, 6-connected form): voxel (1,1,1); the edges from it toward
    // −x, −y, −z; the squares in the three planes through it toward −; the 2×2×2 cube.
    let v = |dz: usize, dy: usize, dx: usize| b[dz * 4 + dy * 2 + dx];
    match conn {
        Connectivity::Face6 => {
            let vox = v(1, 1, 1) as i64;
            let edges = (v(1, 1, 1) && v(1, 1, 0)) as i64 + (v(1, 1, 1) && v(1, 0, 1)) as i64 + (v(1, 1, 1) && v(0, 1, 1)) as i64;
            let sq = (v(1, 1, 1) && v(1, 1, 0) && v(1, 0, 1) && v(1, 0, 0)) as i64
                + (v(1, 1, 1) && v(1, 1, 0) && v(0, 1, 1) && v(0, 1, 0)) as i64
                + (v(1, 1, 1) && v(1, 0, 1) && v(0, 1, 1) && v(0, 0, 1)) as i64;
            let cube = b.iter().all(|&x| x) as i64;
            vox - edges + sq - cube
        }
        Connectivity::Full26 => {
            // Primal complex: this window's centre is a lattice vertex. Own: the vertex
            // (any of 8 voxels), the 3 edges leaving it toward +x/+y/+z (each incident to
            // the 4 voxels on that side), the 3 faces toward +x+y, +x+z, +y+z (2 voxels
            // each), and the voxel (1,1,1).
            let any = |idx: &[(usize, usize, usize)]| idx.iter().any(|&(z, y, x)| v(z, y, x)) as i64;
            let vert = b.iter().any(|&x| x) as i64;
            let edges = any(&[(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1)]) // +x edge
                + any(&[(0, 1, 0), (0, 1, 1), (1, 1, 0), (1, 1, 1)]) // +y edge
                + any(&[(1, 0, 0), (1, 0, 1), (1, 1, 0), (1, 1, 1)]); // +z edge
            let faces = any(&[(0, 1, 1), (1, 1, 1)]) // face ⟂ z spanning +x+y
                + any(&[(1, 0, 1), (1, 1, 1)]) // face ⟂ y spanning +x+z
                + any(&[(1, 1, 0), (1, 1, 1)]); // face ⟂ x spanning +y+z
            let cube = v(1, 1, 1) as i64;
            vert - edges + faces - cube
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_fn(shape: [usize; 3], f: impl Fn(usize, usize, usize) -> bool) -> Volume<u8> {
        let mut v = Volume::filled(shape, 1.0, 0u8);
        for z in 0..shape[0] {
            for y in 0..shape[1] {
                for x in 0..shape[2] {
                    v.set(z, y, x, f(z, y, x) as u8);
                }
            }
        }
        v
    }

    #[test]
    fn single_voxel_ball_and_hollow_box() {
        let one = from_fn([3, 3, 3], |z, y, x| (z, y, x) == (1, 1, 1));
        for c in [Connectivity::Face6, Connectivity::Full26] {
            assert_eq!(euler_characteristic(&one, 1, c, false), 1);
        }
        // Hollow cube: one component, one cavity → χ = 2.
        let hollow = from_fn([5, 5, 5], |z, y, x| !((1..4).contains(&z) && (1..4).contains(&y) && (1..4).contains(&x)));
        for c in [Connectivity::Face6, Connectivity::Full26] {
            assert_eq!(euler_characteristic(&hollow, 1, c, false), 2);
        }
        // Two diagonal voxels: one 26-component, two 6-components.
        let diag = from_fn([2, 2, 2], |z, y, x| (z, y, x) == (0, 0, 0) || (z, y, x) == (1, 1, 1));
        assert_eq!(euler_characteristic(&diag, 1, Connectivity::Full26, false), 1);
        assert_eq!(euler_characteristic(&diag, 1, Connectivity::Face6, false), 2);
    }
}
