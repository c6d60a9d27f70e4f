//! The measurement pipeline shared by `phasecast run` and `phasecast analyze`:
//! the analysis stage (structure, sizes, skeletons, class) and the lab's
//! measurements (porometry, permeability, SEM) on one segmented volume,
//! written to one `analysis.json` with its plots and micrographs.

use crate::analysis::{self, AnalysisOptions, AnalysisReport};
use crate::lab::{self, LabOptions};
use crate::volume::Volume;
use anyhow::{Context, Result};
use std::path::Path;

/// A z layer with less than this fraction of polymer voxels at the top or the
/// bottom of a volume is liquid (bath, cooling medium or extracted diluent that
/// the film has left), not membrane.
pub const LIQUID_LAYER_MAX_SOLID: f64 = 0.01;

/// How many whole layers at the top and at the bottom of `seg` (1 = pore) hold
/// less than [`LIQUID_LAYER_MAX_SOLID`] polymer voxels. A film that shrinks
/// away from a bath face (medium exchange, a receding polymer, an explicit
/// slab) leaves such layers; a washed and dried membrane has none, so its
/// surfaces are where the polymer starts. A volume that is liquid throughout
/// is returned whole (0, 0).
pub fn liquid_layers(seg: &Volume<u8>) -> (usize, usize) {
    let nz = seg.nz();
    let layer = seg.nx() * seg.ny();
    let liquid = |z: usize| {
        let solid = seg.data[z * layer..(z + 1) * layer].iter().filter(|&&v| v == 0).count();
        (solid as f64) < LIQUID_LAYER_MAX_SOLID * layer as f64
    };
    let top = (0..nz).take_while(|&z| liquid(z)).count();
    if top == nz {
        return (0, 0);
    }
    let bottom = (0..nz).rev().take_while(|&z| liquid(z)).count();
    (top, bottom)
}

/// Measures `seg` (1 = pore, 0 = polymer); unless `lab` is None, also runs the
/// lab measurements and writes the SEM images and the porometry chart into
/// `dir`. Liquid layers at the top and bottom ([`liquid_layers`]) are dropped
/// first and counted in the report (`film`). The caller adds what it knows and
/// writes the report with `analysis::write_outputs`.
pub fn measure(seg: &Volume<u8>, opts: &AnalysisOptions, lab: Option<&LabOptions>, dir: &Path) -> Result<AnalysisReport> {
    let (top, bottom) = liquid_layers(seg);
    let trimmed;
    let seg = if top + bottom > 0 {
        log::info!(
            "analysis: {top} layer(s) at the top and {bottom} at the bottom hold less than {:.0} % polymer (liquid the film has left); measuring the {} layers of film between them",
            LIQUID_LAYER_MAX_SOLID * 100.0,
            seg.nz() - top - bottom
        );
        trimmed = seg.z_range(top, bottom);
        &trimmed
    } else {
        seg
    };
    let mut report = analysis::analyze(seg, opts).context("analysing the structure")?;
    report.extra.insert(
        "film".into(),
        serde_json::json!({
            "liquid_layers_top": top,
            "liquid_layers_bottom": bottom,
            "thickness_um": seg.nz() as f64 * seg.voxel_um,
            "max_solid_fraction_of_a_liquid_layer": LIQUID_LAYER_MAX_SOLID,
        }),
    );
    if let Some(lab_opts) = lab {
        let lab_opts = LabOptions { periodic_xy: opts.periodic_xy, ..lab_opts.clone() };
        let measured = lab::measure(seg, &lab_opts).context("porometry, permeability and SEM")?;
        if let serde_json::Value::Object(m) = serde_json::to_value(&measured)? {
            report.extra.extend(m);
        }
        lab::write_images(seg, &measured, dir, &lab_opts)?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(nz: usize, solid_per_layer: &[usize]) -> Volume<u8> {
        let (ny, nx) = (10, 10);
        let mut v = Volume::filled([nz, ny, nx], 0.1, 1u8);
        for (z, &k) in solid_per_layer.iter().enumerate() {
            for i in 0..k {
                v.set(z, i / nx, i % nx, 0);
            }
        }
        v
    }

    #[test]
    fn liquid_layers_are_counted_from_both_ends_only() {
        // 0 solid in layers 0–2, one voxel (1 %, not liquid) in layer 3, half
        // solid inside, a liquid layer in the middle (kept: it is inside the
        // film), and two liquid layers at the bottom.
        let v = column(10, &[0, 0, 0, 1, 50, 0, 50, 50, 0, 0]);
        assert_eq!(liquid_layers(&v), (3, 2));
        let film = v.z_range(3, 2);
        assert_eq!(film.shape, [5, 10, 10]);
        assert_eq!(film.get(0, 0, 0), 0);
        // No liquid layer: nothing dropped; all liquid: nothing dropped either.
        assert_eq!(liquid_layers(&column(4, &[5, 5, 5, 5])), (0, 0));
        assert_eq!(liquid_layers(&column(4, &[0, 0, 0, 0])), (0, 0));
    }

    #[test]
    fn the_report_measures_the_film_between_liquid_layers() {
        let v = column(12, &[0, 0, 0, 0, 50, 50, 50, 50, 50, 50, 50, 50]);
        let dir = std::env::temp_dir().join(format!("phasecast-liquid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let r = measure(&v, &AnalysisOptions::default(), None, &dir).unwrap();
        let film = &r.extra["film"];
        assert_eq!(film["liquid_layers_top"], 4);
        assert_eq!(film["liquid_layers_bottom"], 0);
        assert!((film["thickness_um"].as_f64().unwrap() - 0.8).abs() < 1e-9);
        // Porosity of the film alone (half pore), not of film plus liquid.
        assert!((r.porosity - 0.5).abs() < 1e-9, "porosity {}", r.porosity);
        std::fs::remove_dir_all(&dir).ok();
    }
}
