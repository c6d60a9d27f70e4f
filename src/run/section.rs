//! PNG of a section: the mid-plane perpendicular to the surface (x across,
//! z down with the free surface at the top), or the xy plane of a 2D run.

use crate::util::atomic_write;
use crate::volume::Volume;
use std::path::Path;

/// Viridis control points (matplotlib's colormap, sampled at 0, 1/8, ..., 1).
const VIRIDIS: [[f32; 3]; 9] = [
    [68.0, 1.0, 84.0],
    [71.0, 44.0, 123.0],
    [59.0, 82.0, 139.0],
    [44.0, 113.0, 142.0],
    [33.0, 145.0, 140.0],
    [39.0, 173.0, 129.0],
    [92.0, 200.0, 99.0],
    [170.0, 220.0, 50.0],
    [253.0, 231.0, 37.0],
];

pub fn viridis(t: f32) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0) * 8.0;
    let k = (t.floor() as usize).min(7);
    let f = t - k as f32;
    let a = VIRIDIS[k];
    let b = VIRIDIS[k + 1];
    [0, 1, 2].map(|c| (a[c] + (b[c] - a[c]) * f).round() as u8)
}

/// The plane shown and its pixels: (width, height, values row-major).
pub fn mid_section(vol: &Volume<f32>) -> (usize, usize, Vec<f32>) {
    let [nz, ny, nx] = vol.shape;
    if nz == 1 {
        (nx, ny, (0..ny).flat_map(|y| (0..nx).map(move |x| (y, x))).map(|(y, x)| vol.get(0, y, x)).collect())
    } else {
        let y = ny / 2;
        (nx, nz, (0..nz).flat_map(|z| (0..nx).map(move |x| (z, x))).map(|(z, x)| vol.get(z, y, x)).collect())
    }
}

/// Writes the mid-plane section of `vol` as a viridis PNG scaled to at least
/// 480 pixels wide (bilinear between voxel centres); the colour range is the
/// plane's own min..max.
pub fn write_section_png(path: &Path, vol: &Volume<f32>) -> anyhow::Result<()> {
    let (w, h, v) = mid_section(vol);
    let lo = v.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let s = (480 / w.max(1)).max(1);
    let mut img = image::RgbImage::new((w * s) as u32, (h * s) as u32);
    let at = |x: usize, y: usize| v[y.min(h - 1) * w + x.min(w - 1)];
    for (px, py, p) in img.enumerate_pixels_mut() {
        let fx = ((px as f32 + 0.5) / s as f32 - 0.5).max(0.0);
        let fy = ((py as f32 + 0.5) / s as f32 - 0.5).max(0.0);
        let (x0, y0) = (fx as usize, fy as usize);
        let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
        let top = at(x0, y0) * (1.0 - tx) + at(x0 + 1, y0) * tx;
        let bottom = at(x0, y0 + 1) * (1.0 - tx) + at(x0 + 1, y0 + 1) * tx;
        let val = top * (1.0 - ty) + bottom * ty;
        *p = image::Rgb(viridis((val - lo) / span));
    }
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)?;
    atomic_write(path, &bytes)?;
    Ok(())
}
