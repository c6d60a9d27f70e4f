//! Chord lengths: the SEM "50 parallel lines" average pore size. Along every line of
//! voxels parallel to an axis, each maximal run of the phase is a chord. As in
//! PoreSpy's `apply_chords(trim_edges=True)`, chords touching the volume border are
//! dropped (they are cut short by the field of view), unless the axis is periodic.

use rayon::prelude::*;
use serde::Serialize;

use crate::volume::Volume;

/// Chord statistics along one axis.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChordStats {
    /// Mean chord length in µm (NaN/null without chords).
    pub mean_um: f64,
    pub count: u64,
}

/// Chords of `phase` along `axis` (0 = z, 1 = y, 2 = x). With `periodic` the runs
/// wrap around the line (x/y of a periodic volume) and nothing is trimmed.
pub fn chords(mask: &Volume<u8>, phase: u8, axis: usize, periodic: bool) -> ChordStats {
    let [nz, ny, nx] = mask.shape;
    let len = mask.shape[axis];
    let stride = match axis {
        0 => ny * nx,
        1 => nx,
        _ => 1,
    };
    // Line starts: all voxels with coordinate 0 along `axis`.
    let starts: Vec<usize> = (0..nz)
        .flat_map(|z| (0..ny).flat_map(move |y| (0..nx).map(move |x| (z, y, x))))
        .filter(|&(z, y, x)| [z, y, x][axis] == 0)
        .map(|(z, y, x)| (z * ny + y) * nx + x)
        .collect();
    let (sum, count) = starts
        .par_iter()
        .map(|&s| {
            let at = |i: usize| mask.data[s + i * stride] == phase;
            let (mut sum, mut count) = (0u64, 0u64);
            if periodic {
                // Start just after a non-phase voxel so runs are not split by the seam.
                let Some(off) = (0..len).find(|&i| !at(i)) else { return (0, 0) };
                let mut run = 0u64;
                for k in 1..=len {
                    if at((off + k) % len) {
                        run += 1;
                    } else if run > 0 {
                        sum += run;
                        count += 1;
                        run = 0;
                    }
                }
            } else {
                let mut i = 0;
                while i < len {
                    if at(i) {
                        let a = i;
                        while i < len && at(i) {
                            i += 1;
                        }
                        if a > 0 && i < len {
                            sum += (i - a) as u64;
                            count += 1;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            (sum, count)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    ChordStats { mean_um: if count > 0 { sum as f64 / count as f64 * mask.voxel_um } else { f64::NAN }, count }
}
