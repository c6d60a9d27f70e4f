//! Drawing for the lab reports: text on SEM data bars and the porometer's
//! flow-curve chart. Everything is drawn with plotters into memory and
//! written through [`crate::util::atomic_write`]; the font is the bundled
//! DejaVu Sans so images look the same on every machine.

use anyhow::{anyhow, Context, Result};
use image::{GrayImage, RgbImage};
use plotters::prelude::*;
use std::path::Path;

/// Family name under which the bundled font is registered.
pub const FAMILY: &str = crate::util::PLOT_FONT;

/// Registers the bundled font with plotters once per process.
pub fn ensure_font() -> Result<()> {
    if crate::util::register_plot_font() {
        Ok(())
    } else {
        Err(anyhow!("the bundled font assets/DejaVuSans.ttf could not be loaded"))
    }
}

/// Draws text (top-left anchored) onto a grayscale image at `value`.
pub fn draw_text(img: &mut GrayImage, text: &str, x: i32, y: i32, size_px: f64, value: u8) -> Result<()> {
    ensure_font()?;
    let (w, h) = img.dimensions();
    // plotters draws into RGB; go through a buffer and keep the brightest
    // channel so anti-aliased glyph edges blend with what is underneath.
    let mut rgb: Vec<u8> = img.as_raw().iter().flat_map(|&g| [g, g, g]).collect();
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let style = (FAMILY, size_px).into_font().color(&RGBColor(value, value, value));
        root.draw(&Text::new(text.to_string(), (x, y), style))
            .map_err(|e| anyhow!("drawing text: {e}"))?;
        root.present().map_err(|e| anyhow!("drawing text: {e}"))?;
    }
    for (p, c) in img.iter_mut().zip(rgb.chunks_exact(3)) {
        *p = c[0];
    }
    Ok(())
}

/// Encodes raw pixels as PNG bytes.
pub fn png_bytes(raw: &[u8], w: u32, h: u32, color: image::ExtendedColorType) -> Result<Vec<u8>> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(raw, w, h, color)
        .context("encoding PNG")?;
    Ok(out)
}

/// Writes a grayscale image as a PNG, atomically.
pub fn save_gray(img: &GrayImage, path: &Path) -> Result<()> {
    let bytes = png_bytes(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::L8)?;
    crate::util::atomic_write(path, &bytes)?;
    Ok(())
}

/// Writes an RGB image as a PNG, atomically.
pub fn save_rgb(img: &RgbImage, path: &Path) -> Result<()> {
    let bytes = png_bytes(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgb8)?;
    crate::util::atomic_write(path, &bytes)?;
    Ok(())
}

/// One curve of the porometer chart.
pub struct Series<'a> {
    pub label: &'a str,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    pub dashed: bool,
}

/// A marker drawn as a vertical line with a label (bubble point, mean flow).
pub struct Marker<'a> {
    pub label: &'a str,
    pub x: f64,
    pub color: RGBColor,
}

/// Draws the porometer report chart: flow against pressure.
pub fn flow_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    markers: &[Marker],
    size: (u32, u32),
) -> Result<RgbImage> {
    ensure_font()?;
    let (w, h) = size;
    let mut buf = vec![255u8; (w * h * 3) as usize];
    let xmax = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(0.0f64, f64::max)
        .max(1e-12)
        * 1.02;
    let ymax = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0f64, f64::max)
        .max(1e-12)
        * 1.05;
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| anyhow!("drawing chart: {e}");
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FAMILY, 22.0))
            .margin(14)
            .x_label_area_size(48)
            .y_label_area_size(78)
            .build_cartesian_2d(0f64..xmax, 0f64..ymax)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style((FAMILY, 15.0))
            .axis_desc_style((FAMILY, 17.0))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| err(&e))?;
        for m in markers {
            let c = m.color;
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(m.x, 0.0), (m.x, ymax)],
                    6,
                    4,
                    c.stroke_width(1),
                ))
                .map_err(|e| err(&e))?
                .label(m.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(1)));
        }
        for s in series {
            let c = s.color;
            let style = c.stroke_width(2);
            let drawn = if s.dashed {
                chart
                    .draw_series(DashedLineSeries::new(s.points.clone(), 10, 6, style))
                    .map_err(|e| err(&e))?
            } else {
                chart
                    .draw_series(LineSeries::new(s.points.clone(), style))
                    .map_err(|e| err(&e))?
            };
            drawn
                .label(s.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(2)));
            if !s.dashed {
                chart
                    .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, c.filled())))
                    .map_err(|e| err(&e))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FAMILY, 15.0))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    RgbImage::from_raw(w, h, buf).ok_or_else(|| anyhow!("chart buffer size"))
}
