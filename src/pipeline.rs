//! The measurement pipeline shared by `phasecast run` and `phasecast analyze`:
//! the analysis stage (structure, sizes, skeletons, class) and the lab's
//! measurements (porometry, permeability, SEM) on one segmented volume,
//! written to one `analysis.json` with its plots and micrographs.

use crate::analysis::{self, AnalysisOptions, AnalysisReport};
use crate::lab::{self, LabOptions};
use crate::volume::Volume;
use anyhow::{Context, Result};
use std::path::Path;

/// Measures `seg` (1 = pore, 0 = polymer); unless `lab` is None, also runs the
/// lab measurements and writes the SEM images and the porometry chart into
/// `dir`. The caller adds what it knows and writes the report with
/// `analysis::write_outputs`.
pub fn measure(seg: &Volume<u8>, opts: &AnalysisOptions, lab: Option<&LabOptions>, dir: &Path) -> Result<AnalysisReport> {
    let mut report = analysis::analyze(seg, opts).context("analysing the structure")?;
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
