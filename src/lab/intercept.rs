//! Pore sizes as measured on micrographs.
//!
//! - [`line_intercept`]: the SEM average pore size of seed 002, literally:
//!   50 parallel straight lines drawn across the image, and the average length
//!   of the line segments that lie inside voids. Segments cut by the image
//!   border are counted as drawn (as an image processor does).
//! - [`surface_pores`]: surface openings of seed 003 — opening ratio (the
//!   porosity of the surface), the pore-diameter distribution (mean D and
//!   σ_D/D of area-equivalent diameters of the openings) and the share of
//!   openings that are through-pores (their pore space reaches the opposite
//!   face).

use super::flow::reach;
use super::sem::Side;
use crate::volume::{Volume, PORE};
use serde::Serialize;

/// Result of a line-intercept measurement.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Intercept {
    /// Mean void segment length in µm; `None` when no line crosses a void.
    pub mean_um: Option<f64>,
    /// Number of void segments on all lines.
    pub segments: usize,
    /// Number of lines drawn.
    pub lines: usize,
}

/// Mean length of void segments on `n_lines` horizontal lines evenly spread
/// over a `w`×`h` binary image (`true` = void) with square pixels of
/// `pixel_um`. Line i runs along row ⌊(i + ½)·h/n⌋.
pub fn line_intercept(map: &[bool], w: usize, h: usize, pixel_um: f64, n_lines: usize) -> Intercept {
    assert_eq!(map.len(), w * h);
    let mut total = 0usize;
    let mut segments = 0usize;
    for i in 0..n_lines {
        let row = (((i as f64 + 0.5) * h as f64 / n_lines as f64).floor() as usize).min(h.saturating_sub(1));
        let line = &map[row * w..row * w + w];
        let mut run = 0usize;
        for &v in line.iter().chain(std::iter::once(&false)) {
            if v {
                run += 1;
            } else if run > 0 {
                total += run;
                segments += 1;
                run = 0;
            }
        }
    }
    Intercept {
        mean_um: (segments > 0).then(|| total as f64 * pixel_um / segments as f64),
        segments,
        lines: n_lines,
    }
}

/// Openings of one free surface.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SurfacePores {
    /// Pore fraction of the surface layer.
    pub opening_ratio: f64,
    /// Number of openings (4-connected pore regions of the surface layer).
    pub count: usize,
    /// Mean area-equivalent diameter D = 2√(A/π), µm.
    pub mean_diameter_um: Option<f64>,
    /// Standard deviation of D over its mean (σ_D/D).
    pub sigma_over_mean: Option<f64>,
    /// Share of openings whose pore space reaches the opposite face.
    pub through_pore_fraction: Option<f64>,
}

/// Measures the openings of the top (z = 0) or bottom (last z) surface layer.
pub fn surface_pores(seg: &Volume<u8>, side: Side, periodic_xy: bool) -> SurfacePores {
    let [nz, ny, nx] = seg.shape;
    let plane = ny * nx;
    if nz == 0 || plane == 0 {
        return SurfacePores::default();
    }
    let (z0, z1) = match side {
        Side::Top => (0, nz - 1),
        Side::Bottom => (nz - 1, 0),
    };
    let layer: Vec<bool> = seg.data[z0 * plane..(z0 + 1) * plane]
        .iter()
        .map(|&s| s == PORE)
        .collect();
    let pore: Vec<bool> = seg.data.iter().map(|&s| s == PORE).collect();
    let from_other = reach(&pore, seg.shape, periodic_xy, z1);
    // 4-connected components of the surface layer.
    let mut label = vec![u32::MAX; plane];
    let mut areas: Vec<usize> = Vec::new();
    let mut through: Vec<bool> = Vec::new();
    let mut stack = Vec::new();
    for start in 0..plane {
        if !layer[start] || label[start] != u32::MAX {
            continue;
        }
        let id = areas.len() as u32;
        areas.push(0);
        through.push(false);
        label[start] = id;
        stack.push(start);
        while let Some(i) = stack.pop() {
            areas[id as usize] += 1;
            if from_other[z0 * plane + i] {
                through[id as usize] = true;
            }
            let (y, x) = (i / nx, i % nx);
            let mut nbs: [Option<usize>; 4] = [None; 4];
            if y > 0 {
                nbs[0] = Some(i - nx);
            } else if periodic_xy {
                nbs[0] = Some(i + (ny - 1) * nx);
            }
            if y + 1 < ny {
                nbs[1] = Some(i + nx);
            } else if periodic_xy {
                nbs[1] = Some(i - (ny - 1) * nx);
            }
            if x > 0 {
                nbs[2] = Some(i - 1);
            } else if periodic_xy {
                nbs[2] = Some(i + nx - 1);
            }
            if x + 1 < nx {
                nbs[3] = Some(i + 1);
            } else if periodic_xy {
                nbs[3] = Some(i + 1 - nx);
            }
            for j in nbs.into_iter().flatten() {
                if layer[j] && label[j] == u32::MAX {
                    label[j] = id;
                    stack.push(j);
                }
            }
        }
    }
    let open = layer.iter().filter(|&&b| b).count();
    let count = areas.len();
    let vox = seg.voxel_um;
    let ds: Vec<f64> = areas
        .iter()
        .map(|&a| 2.0 * (a as f64 / std::f64::consts::PI).sqrt() * vox)
        .collect();
    let (mean, cv) = if count > 0 {
        let m = ds.iter().sum::<f64>() / count as f64;
        let var = ds.iter().map(|d| (d - m).powi(2)).sum::<f64>() / count as f64;
        (Some(m), Some(var.sqrt() / m))
    } else {
        (None, None)
    };
    SurfacePores {
        opening_ratio: open as f64 / plane as f64,
        count,
        mean_diameter_um: mean,
        sigma_over_mean: cv,
        through_pore_fraction: (count > 0).then(|| through.iter().filter(|&&t| t).count() as f64 / count as f64),
    }
}
