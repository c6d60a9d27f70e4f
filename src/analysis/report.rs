//! Report output: `analysis.json`, `skeleton_<phase>.json` (branch lengths and
//! thickness profiles), PNG plots (pore-size distribution of both phases, depth
//! profile), and the terminal table. Every file is written atomically.

use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;

use super::AnalysisReport;
use crate::util::atomic_write;

fn register_font() {
    // Fails only on a malformed font, which the bundled file rules out.
    let _ = crate::util::register_plot_font();
}

fn fmt(v: f64, prec: usize) -> String {
    if v.is_finite() {
        format!("{v:.prec$}")
    } else {
        "n/a".into()
    }
}

impl AnalysisReport {
    /// A short table of the main figures on stdout.
    pub fn print_table(&self) {
        print!("{}", self.table());
    }

    /// The table [`print_table`](Self::print_table) prints.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let [nz, ny, nx] = self.shape_zyx;
        let row = |s: &mut String, k: &str, v: String| s.push_str(&format!("  {k:<34} {v}\n"));
        s.push_str(&format!("Microstructure ({nz}×{ny}×{nx} voxels of {} µm)\n", self.voxel_um));
        row(&mut s, "porosity", format!("{:.3}", self.porosity));
        row(&mut s, "through-pore fraction (of pores)", format!("{:.3}", self.through_pore_fraction));
        row(&mut s, "closed porosity", format!("{:.4}", self.closed_porosity));
        row(
            &mut s,
            "specific surface area",
            format!(
                "{} µm⁻¹, {} m²/g (ρ = {} g/cm³)",
                fmt(self.specific_surface_area.per_um, 4),
                fmt(self.specific_surface_area.m2_per_g, 2),
                self.specific_surface_area.polymer_density_g_cm3
            ),
        );
        row(&mut s, "Euler characteristic pore/polymer", format!("{} / {}", self.euler_characteristic.pore, self.euler_characteristic.polymer));
        for (name, t) in [("pore", &self.local_thickness_um.pore), ("polymer", &self.local_thickness_um.polymer)] {
            row(
                &mut s,
                &format!("{name} size mean/median/max (µm)"),
                format!("{} / {} / {}", fmt(t.mean, 3), fmt(t.median, 3), fmt(t.max, 3)),
            );
        }
        for (name, k) in [("pore", &self.skeleton.pore), ("polymer", &self.skeleton.polymer)] {
            row(
                &mut s,
                &format!("{name} skeleton junct/ends/branches"),
                format!("{} / {} / {}, mean branch {} µm", k.junctions, k.end_points, k.branches, fmt(k.mean_branch_length_um, 3)),
            );
        }
        row(
            &mut s,
            "dense layer depth / pore size (µm)",
            format!(
                "{} / {}{}",
                fmt(self.dense_layer.depth_um, 3),
                fmt(self.dense_layer.pore_size_um, 3),
                if self.dense_layer.at_surface { " (at the surface)" } else { "" }
            ),
        );
        let scores: Vec<String> = self.structure.scores.iter().map(|(k, v)| format!("{k} {v:.2}")).collect();
        row(&mut s, "structure", format!("{} ({})", self.structure.class, scores.join(", ")));
        for r in &self.structure.reasons {
            s.push_str(&format!("    - {r}\n"));
        }
        s
    }
}

/// Writes `analysis.json`, `skeleton_pore.json`, `skeleton_polymer.json`,
/// `pore_size_distribution.png` and `depth_profile.png` into `dir` (created if needed).
pub fn write_outputs(report: &AnalysisReport, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_vec_pretty(report)?;
    atomic_write(&dir.join("analysis.json"), &json)?;
    for (name, g) in [("pore", &report.graphs.pore), ("polymer", &report.graphs.polymer)] {
        atomic_write(&dir.join(format!("skeleton_{name}.json")), &serde_json::to_vec(g)?)?;
    }
    register_font();
    let psd = plot_psd(report).context("drawing the pore-size distribution")?;
    atomic_write(&dir.join("pore_size_distribution.png"), &psd)?;
    let prof = plot_profile(report).context("drawing the depth profile")?;
    atomic_write(&dir.join("depth_profile.png"), &prof)?;
    Ok(())
}

const W: u32 = 900;
const H: u32 = 600;

fn encode_png(buf: Vec<u8>) -> Result<Vec<u8>> {
    let img = image::RgbImage::from_raw(W, H, buf).context("plot buffer size")?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

fn plot_psd(r: &AnalysisReport) -> Result<Vec<u8>> {
    let mut buf = vec![255u8; (W * H * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
        root.fill(&WHITE)?;
        let series = [("pore", &r.local_thickness_um.pore, BLUE), ("polymer", &r.local_thickness_um.polymer, RED)];
        let xmax = series.iter().filter_map(|(_, t, _)| t.bin_edges_um.last().copied()).fold(0.0, f64::max).max(1e-9);
        // Each phase has its own bins; plot fraction per µm so the curves compare.
        let density = |t: &super::ThicknessStats| -> Vec<(f64, f64)> {
            t.volume_fraction
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let w = t.bin_edges_um[i + 1] - t.bin_edges_um[i];
                    ((t.bin_edges_um[i] + t.bin_edges_um[i + 1]) / 2.0, if w > 0.0 { v / w } else { 0.0 })
                })
                .collect()
        };
        let ymax = series.iter().flat_map(|(_, t, _)| density(t)).map(|p| p.1).fold(0.0, f64::max).max(1e-9);
        let mut chart = ChartBuilder::on(&root)
            .caption("Local thickness distribution (volume weighted)", ("sans-serif", 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..xmax * 1.02, 0.0..ymax * 1.1)?;
        chart.configure_mesh().x_desc("local thickness (diameter), µm").y_desc("volume fraction per µm").label_style(("sans-serif", 16)).draw()?;
        for (name, t, color) in series {
            let pts = density(t);
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                .label(format!("{name} (mean {} µm)", fmt(t.mean, 3)))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).label_font(("sans-serif", 16)).draw()?;
        root.present()?;
    }
    encode_png(buf)
}

fn plot_profile(r: &AnalysisReport) -> Result<Vec<u8>> {
    let mut buf = vec![255u8; (W * H * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
        root.fill(&WHITE)?;
        let p = &r.profile;
        let zmax = p.z_um.last().copied().unwrap_or(1.0) + r.voxel_um / 2.0;
        let smax = p.pore_size_um.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max).max(1e-9);
        let mut chart = ChartBuilder::on(&root)
            .caption("Depth profile (z = 0: top surface)", ("sans-serif", 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .right_y_label_area_size(60)
            .build_cartesian_2d(0.0..zmax, 0.0..smax * 1.1)?
            .set_secondary_coord(0.0..zmax, 0.0..1.0);
        chart.configure_mesh().x_desc("depth, µm").y_desc("mean pore size, µm").label_style(("sans-serif", 16)).draw()?;
        chart.configure_secondary_axes().y_desc("porosity").label_style(("sans-serif", 16)).draw()?;
        let size: Vec<(f64, f64)> = p.z_um.iter().zip(&p.pore_size_um).filter(|(_, s)| s.is_finite()).map(|(&z, &s)| (z, s)).collect();
        chart
            .draw_series(LineSeries::new(size, BLUE.stroke_width(2)))?
            .label("mean pore size")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        chart
            .draw_secondary_series(LineSeries::new(p.z_um.iter().copied().zip(p.porosity.iter().copied()), GREEN.stroke_width(2)))?
            .label("porosity")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN.stroke_width(2)));
        if r.dense_layer.depth_um.is_finite() {
            let d = r.dense_layer.depth_um;
            chart
                .draw_series(std::iter::once(PathElement::new(vec![(d, 0.0), (d, smax * 1.1)], BLACK.stroke_width(1))))?
                .label(format!("dense layer {} µm", fmt(d, 2)))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).label_font(("sans-serif", 16)).draw()?;
        root.present()?;
    }
    encode_png(buf)
}
