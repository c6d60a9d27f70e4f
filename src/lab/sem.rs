//! Simulated scanning electron micrographs (secondary-electron images) of a
//! segmented volume: a freeze-fracture cross-section, or the top or bottom
//! surface.
//!
//! The picture is built the way SE contrast arises, simplified:
//! - the viewer looks orthographically into the material from the cut plane
//!   (sections) or from outside the free surface (surfaces); for each image
//!   column the first polymer voxel along the view is found, up to a few
//!   attenuation lengths deep;
//! - SE yield grows with the local tilt of the surface (secant law, Y ∝ 1/cos θ,
//!   θ between surface normal and beam), with the normal estimated from the
//!   3×3×3 polymer neighbourhood, and an edge term for voxels exposed on many
//!   sides (SEs escape from edges and thin struts: the bright rims of SEM);
//! - structure behind the cut plane is darkened with depth, exp(−d/λ), because
//!   SEs from inside a pore are partly collected; pore with nothing in reach is
//!   near black;
//! - a small Gaussian beam blur and seeded shot noise (σ ∝ √I) finish it.
//!
//! The field of view is physical (µm). Magnification follows the convention of
//! SEM data bars: the FOV width shown on a 96 mm wide print, so 16 µm is
//! 6000× as in seed 002. A data bar below the image carries the magnification,
//! the FOV and a scale bar.

use super::plot::draw_text;
use super::rng::SplitMix64;
use crate::volume::{Volume, PORE};
use image::GrayImage;

/// Print width that defines the magnification (mm): M = 96 mm / FOV width.
pub const REFERENCE_WIDTH_MM: f64 = 96.0;

/// Magnification for a field of view `fov_um` wide.
pub fn magnification(fov_um: f64) -> f64 {
    REFERENCE_WIDTH_MM * 1000.0 / fov_um
}

/// Axis normal to a section plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Axis {
    Z,
    Y,
    X,
}

/// Which free surface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Side {
    /// z = 0, the free (air/bath) surface.
    Top,
    /// The last z, the substrate side.
    Bottom,
}

/// What the micrograph shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// A fracture plane normal to `axis` at voxel index `pos`; the material on
    /// the high side of the plane remains and is seen. For `Y` and `X` the
    /// image shows the thickness vertically, top surface up.
    Section { axis: Axis, pos: usize },
    /// A free surface seen from outside. The bottom surface is seen from
    /// below, i.e. mirrored left–right with respect to the top view.
    Surface(Side),
}

/// Settings of a simulated micrograph.
#[derive(Clone, Debug)]
pub struct SemOptions {
    /// Field of view width in µm (default 16 µm: 6000×).
    pub fov_um: f64,
    /// Field of view height in µm; `None`: square, except for sections that
    /// show the thickness, which then show the full thickness.
    pub fov_height_um: Option<f64>,
    /// Image width in pixels (the height follows the FOV's aspect).
    pub width_px: u32,
    /// Seed of the shot noise.
    pub seed: u64,
    /// Depth attenuation length λ in µm; `None`: FOV width / 16.
    pub depth_um: Option<f64>,
    /// Relative shot noise at full brightness (standard deviation).
    pub noise: f64,
    /// Treat x and y as periodic (FOVs wider than the volume tile it).
    pub periodic_xy: bool,
    /// Draw the data bar (magnification, FOV, scale bar).
    pub data_bar: bool,
}

impl Default for SemOptions {
    fn default() -> Self {
        Self {
            fov_um: 16.0,
            fov_height_um: None,
            width_px: 1024,
            seed: 1,
            depth_um: None,
            noise: 0.06,
            periodic_xy: true,
            data_bar: true,
        }
    }
}

/// The geometry of one view: image axes u (right), v (down) and depth d (into
/// the material), all in voxels.
struct Frame<'a> {
    seg: &'a Volume<u8>,
    view: View,
    periodic_xy: bool,
}

impl<'a> Frame<'a> {
    /// Image extent (nu, nv) in voxels.
    fn dims(&self) -> (usize, usize) {
        let [nz, ny, nx] = self.seg.shape;
        match self.view {
            View::Section { axis: Axis::Y, .. } => (nx, nz),
            View::Section { axis: Axis::X, .. } => (ny, nz),
            View::Section { axis: Axis::Z, .. } | View::Surface(_) => (nx, ny),
        }
    }

    /// Whether the image's vertical axis is the thickness (z), which does not
    /// wrap.
    fn v_is_z(&self) -> bool {
        matches!(
            self.view,
            View::Section {
                axis: Axis::Y | Axis::X,
                ..
            }
        )
    }

    fn wrap(&self, i: i64, n: usize) -> Option<usize> {
        if i >= 0 && i < n as i64 {
            Some(i as usize)
        } else if self.periodic_xy {
            Some(i.rem_euclid(n as i64) as usize)
        } else {
            None
        }
    }

    /// Voxel (z, y, x) at image position (u, v) and depth d; `None` outside
    /// the sample (or in front of the cut plane, d < 0).
    fn voxel(&self, u: i64, v: i64, d: i64) -> Option<(usize, usize, usize)> {
        if d < 0 {
            return None;
        }
        let [nz, ny, nx] = self.seg.shape;
        let in_z = |z: i64| (z >= 0 && z < nz as i64).then_some(z as usize);
        match self.view {
            View::Section { axis: Axis::Y, pos } => Some((in_z(v)?, self.wrap(pos as i64 + d, ny)?, self.wrap(u, nx)?)),
            View::Section { axis: Axis::X, pos } => Some((in_z(v)?, self.wrap(u, ny)?, self.wrap(pos as i64 + d, nx)?)),
            View::Section { axis: Axis::Z, pos } => Some((in_z(pos as i64 + d)?, self.wrap(v, ny)?, self.wrap(u, nx)?)),
            View::Surface(Side::Top) => Some((in_z(d)?, self.wrap(v, ny)?, self.wrap(u, nx)?)),
            View::Surface(Side::Bottom) => Some((
                in_z(nz as i64 - 1 - d)?,
                self.wrap(v, ny)?,
                self.wrap(nx as i64 - 1 - u, nx)?,
            )),
        }
    }

    fn solid(&self, u: i64, v: i64, d: i64) -> bool {
        self.voxel(u, v, d)
            .is_some_and(|(z, y, x)| self.seg.get(z, y, x) != PORE)
    }

    /// Whether (u, v) lies on the sample at all (sections can extend past the
    /// thickness).
    fn on_sample(&self, u: i64, v: i64) -> bool {
        self.voxel(u, v, 0).is_some()
    }
}

/// SE brightness of each image column at voxel resolution; negative marks
/// "outside the sample".
fn shade_columns(frame: &Frame, lambda_vox: f64) -> Vec<f32> {
    use rayon::prelude::*;
    let (nu, nv) = frame.dims();
    let max_depth = (4.0 * lambda_vox).ceil().max(2.0) as i64;
    (0..nu * nv)
        .into_par_iter()
        .map(|i| {
            let (u, v) = ((i % nu) as i64, (i / nu) as i64);
            if !frame.on_sample(u, v) {
                return -1.0;
            }
            let Some(d) = (0..max_depth).find(|&d| frame.solid(u, v, d)) else {
                return 0.02;
            };
            // Normal from the polymer neighbourhood: points from polymer to
            // pore. Removed material in front of the cut plane counts as pore.
            let (mut gu, mut gv, mut gd) = (0f64, 0f64, 0f64);
            let mut empty = 0u32;
            for dd in -1..=1i64 {
                for dv in -1..=1i64 {
                    for du in -1..=1i64 {
                        if du == 0 && dv == 0 && dd == 0 {
                            continue;
                        }
                        let s = frame.solid(u + du, v + dv, d + dd);
                        if !s {
                            empty += 1;
                            // Weight face neighbours more than edges/corners.
                            let w = 1.0 / ((du * du + dv * dv + dd * dd) as f64).sqrt();
                            gu += du as f64 * w;
                            gv += dv as f64 * w;
                            gd += dd as f64 * w;
                        }
                    }
                }
            }
            let norm = (gu * gu + gv * gv + gd * gd).sqrt();
            // Viewer looks along +d, so the beam hits faces whose normal has
            // negative d.
            let cos_t = if norm > 1e-9 { (-gd / norm).max(0.15) } else { 1.0 };
            let secant = (1.0 / cos_t).powf(0.9).min(4.0);
            // A flat fracture face has the 9 voxels in front of it empty;
            // more empty neighbours means an edge or a thin strut.
            let edge = ((empty as f64 - 9.0) / 17.0).max(0.0);
            let brightness = (0.32 * secant + 0.55 * edge) * (-(d as f64) / lambda_vox).exp();
            brightness as f32
        })
        .collect()
}

/// Pixel geometry shared by the micrograph and the line-intercept void map.
struct Raster {
    w: u32,
    h: u32,
    /// µm per pixel.
    pixel_um: f64,
}

fn raster(seg: &Volume<u8>, frame: &Frame, opts: &SemOptions) -> Raster {
    let (_, nv) = frame.dims();
    let height_um = opts.fov_height_um.unwrap_or(if frame.v_is_z() {
        nv as f64 * seg.voxel_um
    } else {
        opts.fov_um
    });
    let w = opts.width_px.max(8);
    let pixel_um = opts.fov_um / w as f64;
    let h = ((height_um / pixel_um).round() as u32).max(1);
    Raster { w, h, pixel_um }
}

/// Binary void map of the cut plane (or of the surface layer) over the same
/// field of view and pixels as the micrograph: true where the plane is pore.
/// Pixels off the sample are false. Returns (map, width, height, µm/pixel).
pub fn void_map(seg: &Volume<u8>, view: View, opts: &SemOptions) -> (Vec<bool>, u32, u32, f64) {
    let frame = Frame {
        seg,
        view,
        periodic_xy: opts.periodic_xy,
    };
    let r = raster(seg, &frame, opts);
    let vox = seg.voxel_um;
    let mut map = vec![false; (r.w * r.h) as usize];
    for py in 0..r.h {
        for px in 0..r.w {
            let u = ((px as f64 + 0.5) * r.pixel_um / vox).floor() as i64;
            let v = ((py as f64 + 0.5) * r.pixel_um / vox).floor() as i64;
            map[(py * r.w + px) as usize] = frame.voxel(u, v, 0).is_some() && !frame.solid(u, v, 0);
        }
    }
    (map, r.w, r.h, r.pixel_um)
}

/// Renders a simulated SE micrograph. The image has `opts.width_px` columns;
/// with `data_bar` a black strip with magnification, FOV and scale bar is
/// added below it.
pub fn render(seg: &Volume<u8>, view: View, opts: &SemOptions) -> anyhow::Result<GrayImage> {
    let frame = Frame {
        seg,
        view,
        periodic_xy: opts.periodic_xy,
    };
    let r = raster(seg, &frame, opts);
    let vox = seg.voxel_um;
    let lambda_um = opts.depth_um.unwrap_or(opts.fov_um / 16.0);
    let lambda_vox = (lambda_um / vox).max(0.5);
    let cols = shade_columns(&frame, lambda_vox);
    let (nu, nv) = frame.dims();

    // Bilinear resampling of the column brightness at pixel centres; u wraps
    // (lateral), v wraps unless it is the thickness.
    let col = |u: i64, v: i64| -> f32 {
        let uu = if frame.periodic_xy || frame.v_is_z() {
            u.rem_euclid(nu as i64)
        } else {
            u.clamp(0, nu as i64 - 1)
        };
        let vv = if frame.v_is_z() {
            if v < 0 || v >= nv as i64 {
                return -1.0;
            }
            v
        } else if frame.periodic_xy {
            v.rem_euclid(nv as i64)
        } else {
            v.clamp(0, nv as i64 - 1)
        };
        cols[vv as usize * nu + uu as usize]
    };
    let (w, h) = (r.w as usize, r.h as usize);
    let mut img = vec![0f32; w * h];
    for py in 0..h {
        for px in 0..w {
            let fu = (px as f64 + 0.5) * r.pixel_um / vox - 0.5;
            let fv = (py as f64 + 0.5) * r.pixel_um / vox - 0.5;
            let (u0, v0) = (fu.floor() as i64, fv.floor() as i64);
            let (tu, tv) = ((fu - u0 as f64) as f32, (fv - v0 as f64) as f32);
            let s = [col(u0, v0), col(u0 + 1, v0), col(u0, v0 + 1), col(u0 + 1, v0 + 1)];
            let centre = col(fu.round() as i64, fv.round() as i64);
            img[py * w + px] = if centre < 0.0 {
                0.0
            } else {
                let s = s.map(|x| if x < 0.0 { centre } else { x });
                (s[0] * (1.0 - tu) + s[1] * tu) * (1.0 - tv) + (s[2] * (1.0 - tu) + s[3] * tu) * tv
            };
        }
    }
    // Beam blur; at least a third of a voxel so that voxel steps do not show
    // at high magnification.
    let px_per_voxel = vox / r.pixel_um;
    let img = gaussian_blur(&img, w, h, (0.35 * px_per_voxel).max(0.7));
    let mut rng = SplitMix64::new(opts.seed);
    let mut out = GrayImage::new(r.w, r.h);
    for (p, &i) in out.iter_mut().zip(&img) {
        let noisy = i as f64 + opts.noise * (i.max(0.0) as f64).sqrt() * rng.normal();
        *p = ((noisy / 1.25).clamp(0.0, 1.0).powf(0.85) * 255.0).round() as u8;
    }
    if opts.data_bar {
        out = add_data_bar(out, opts.fov_um, r.pixel_um)?;
    }
    Ok(out)
}

fn gaussian_blur(img: &[f32], w: usize, h: usize, sigma: f64) -> Vec<f32> {
    let rad = (3.0 * sigma).ceil() as i64;
    let k: Vec<f32> = (-rad..=rad)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp() as f32)
        .collect();
    let ks: f32 = k.iter().sum();
    let k: Vec<f32> = k.iter().map(|x| x / ks).collect();
    let pass = |src: &[f32], horizontal: bool| -> Vec<f32> {
        let mut dst = vec![0f32; src.len()];
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0f32;
                for (j, kv) in k.iter().enumerate() {
                    let o = j as i64 - rad;
                    let (sx, sy) = if horizontal {
                        ((x as i64 + o).clamp(0, w as i64 - 1) as usize, y)
                    } else {
                        (x, (y as i64 + o).clamp(0, h as i64 - 1) as usize)
                    };
                    acc += kv * src[sy * w + sx];
                }
                dst[y * w + x] = acc;
            }
        }
        dst
    };
    pass(&pass(img, true), false)
}

/// A round scale-bar length (1, 2 or 5 × 10ⁿ µm) about a fifth of the FOV.
pub fn scale_bar_um(fov_um: f64) -> f64 {
    let target = fov_um / 5.0;
    let p = 10f64.powf(target.log10().floor());
    [5.0, 2.0, 1.0]
        .iter()
        .map(|m| m * p)
        .find(|&l| l <= target)
        .unwrap_or(p)
}

fn fmt_len(um: f64) -> String {
    if um >= 1.0 {
        format!("{} µm", trim(um))
    } else {
        format!("{} nm", trim(um * 1000.0))
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn add_data_bar(img: GrayImage, fov_um: f64, pixel_um: f64) -> anyhow::Result<GrayImage> {
    let (w, h) = img.dimensions();
    let bar_h = (w / 18).max(22);
    let mut out = GrayImage::new(w, h + bar_h);
    for (x, y, p) in img.enumerate_pixels() {
        out.put_pixel(x, y, *p);
    }
    // Narrow images get a smaller font and no FOV text, so the magnification
    // and the scale bar do not overlap.
    let narrow = w < 240;
    let font = if narrow { (w as f64 / 20.0).max(6.0) } else { bar_h as f64 * 0.55 };
    let ty = (h + bar_h / 2) as i32 - (font * 0.55) as i32;
    let mag = magnification(fov_um);
    let mag_txt = format!("SE  ×{}", group_thousands(mag.round() as u64));
    draw_text(&mut out, &mag_txt, (bar_h / 3) as i32, ty, font, 255)?;
    let bar_um = scale_bar_um(fov_um);
    let bar_px = (bar_um / pixel_um).round() as u32;
    let x1 = w - bar_h / 3;
    let x0 = x1.saturating_sub(bar_px);
    let by0 = h + bar_h / 2 + 1;
    for y in by0..(by0 + (bar_h / 7).max(2)).min(h + bar_h) {
        for x in x0..x1 {
            out.put_pixel(x, y, image::Luma([255]));
        }
    }
    let label = fmt_len(bar_um);
    draw_text(&mut out, &label, x0 as i32, (h + 2) as i32, font * 0.8, 255)?;
    if !narrow {
        let fov_txt = format!("FOV {} µm", trim(fov_um));
        draw_text(&mut out, &fov_txt, (w / 2) as i32 - (font * 2.5) as i32, ty, font, 255)?;
    }
    Ok(out)
}

fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magnification_convention() {
        assert!((magnification(16.0) - 6000.0).abs() < 1e-9);
        assert_eq!(scale_bar_um(16.0), 2.0);
        assert_eq!(scale_bar_um(3.0), 0.5);
        assert_eq!(group_thousands(6000), "6,000");
    }

    #[test]
    fn section_shows_thickness_and_is_reproducible() {
        let seg = super::super::synth::pore_spheres([24, 32, 32], 0.25, 3.0, 0.5, 3);
        let opts = SemOptions {
            fov_um: 8.0,
            width_px: 64,
            data_bar: false,
            ..Default::default()
        };
        let a = render(&seg, View::Section { axis: Axis::Y, pos: 5 }, &opts).unwrap();
        let b = render(&seg, View::Section { axis: Axis::Y, pos: 5 }, &opts).unwrap();
        assert_eq!(a, b);
        // 24 voxels × 0.25 µm = 6 µm tall at 8 µm / 64 px.
        assert_eq!(a.dimensions(), (64, 48));
        let mean = a.iter().map(|&p| p as f64).sum::<f64>() / a.len() as f64;
        assert!(mean > 20.0 && mean < 200.0, "mean {mean}");
    }
}
