//! `phasecast render`: a simulated SEM micrograph of any volume.
//!
//! Parsing only fills [`RenderArgs`]; [`render`] validates it into a view and
//! SEM settings, reads the volume through [`crate::volume_io`], segments it
//! and writes the PNG atomically.

use super::sem::{self, Axis, SemOptions, Side, View};
use crate::volume::{Volume, POLYMER, PORE};
use crate::volume_io::{read_volume, ReadOptions};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// A section given as `AXIS@POS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SectionSpec {
    pub axis: Axis,
    pub pos: usize,
}

impl std::str::FromStr for SectionSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, p) = s
            .split_once('@')
            .ok_or_else(|| format!("expected AXIS@POS (e.g. y@64), got {s:?}"))?;
        let axis = match a.trim().to_ascii_lowercase().as_str() {
            "z" => Axis::Z,
            "y" => Axis::Y,
            "x" => Axis::X,
            other => return Err(format!("section axis must be z, y or x, got {other:?}")),
        };
        let pos = p
            .trim()
            .parse()
            .map_err(|_| format!("section position must be a voxel index, got {p:?}"))?;
        Ok(Self { axis, pos })
    }
}

/// Which free surface to image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SurfaceArg {
    Top,
    Bottom,
}

/// Arguments of `phasecast render`.
#[derive(clap::Args, Clone, Debug)]
pub struct RenderArgs {
    /// Volume to image: a phasecast run folder, .npy, .vti or .tif stack.
    /// A volume holding only 0 and 1 is taken as segmented (1 = pore);
    /// any other field as a polymer fraction, thresholded with --threshold.
    pub volume: PathBuf,
    /// Fracture section AXIS@POS (AXIS z, y or x; POS a voxel index). y and x
    /// sections are perpendicular to the surface and show the thickness.
    #[arg(long, value_parser = clap::value_parser!(String))]
    pub section: Option<String>,
    /// Free surface to image: top (z = 0, the free surface) or bottom.
    #[arg(long, value_enum)]
    pub surface: Option<SurfaceArg>,
    /// Field-of-view width in µm; 16 µm is 6000× (96 mm print width).
    #[arg(long, default_value_t = 16.0)]
    pub fov_um: f64,
    /// Field-of-view height in µm (default: square, or the full thickness for
    /// y and x sections).
    #[arg(long)]
    pub fov_height_um: Option<f64>,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1024)]
    pub width_px: u32,
    /// Output PNG (default: sem_<view>.png in the current directory).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Seed of the shot noise (same seed, same image).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Voxel edge in µm, for files that do not carry it.
    #[arg(long)]
    pub voxel_um: Option<f64>,
    /// For non-binary fields: voxels whose value (polymer fraction) is below
    /// this are pore.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
    /// Treat the side faces as walls instead of periodic (FOVs wider than the
    /// volume are then not tiled).
    #[arg(long)]
    pub no_periodic: bool,
}

/// The validated form of [`RenderArgs`].
#[derive(Clone, Debug)]
pub struct RenderConfig {
    pub view: View,
    pub sem: SemOptions,
    pub out: PathBuf,
}

impl RenderArgs {
    /// Checks the arguments and resolves defaults.
    pub fn resolve(&self) -> Result<RenderConfig> {
        let view = match (&self.section, self.surface) {
            (Some(s), None) => {
                let spec: SectionSpec = s.parse().map_err(|e: String| anyhow::anyhow!("--section: {e}"))?;
                View::Section {
                    axis: spec.axis,
                    pos: spec.pos,
                }
            }
            (None, Some(SurfaceArg::Top)) => View::Surface(Side::Top),
            (None, Some(SurfaceArg::Bottom)) => View::Surface(Side::Bottom),
            (Some(_), Some(_)) => bail!("give either --section or --surface, not both"),
            (None, None) => bail!("give --section AXIS@POS or --surface top|bottom"),
        };
        if !(self.fov_um.is_finite() && self.fov_um > 0.0) {
            bail!("--fov-um must be a positive number of µm, got {}", self.fov_um);
        }
        if let Some(h) = self.fov_height_um {
            if !(h.is_finite() && h > 0.0) {
                bail!("--fov-height-um must be a positive number of µm, got {h}");
            }
        }
        if !(8..=16384).contains(&self.width_px) {
            bail!("--width-px must be between 8 and 16384, got {}", self.width_px);
        }
        let out = self.out.clone().unwrap_or_else(|| {
            PathBuf::from(match view {
                View::Section { axis, pos } => format!("sem_section_{}{pos}.png", format!("{axis:?}").to_lowercase()),
                View::Surface(Side::Top) => "sem_top.png".to_string(),
                View::Surface(Side::Bottom) => "sem_bottom.png".to_string(),
            })
        });
        let sem = SemOptions {
            fov_um: self.fov_um,
            fov_height_um: self.fov_height_um,
            width_px: self.width_px,
            seed: self.seed,
            periodic_xy: !self.no_periodic,
            ..Default::default()
        };
        Ok(RenderConfig { view, sem, out })
    }
}

/// Segments a field: binary 0/1 volumes are taken as they are (1 = pore),
/// anything else as a polymer fraction with pore below `threshold`.
pub fn segment(vol: &Volume<f32>, threshold: f32) -> Volume<u8> {
    let binary = vol.data.iter().all(|&v| v == 0.0 || v == 1.0);
    if binary {
        vol.map(|v| if v == 1.0 { PORE } else { POLYMER })
    } else {
        vol.map(|v| if v < threshold { PORE } else { POLYMER })
    }
}

/// Runs `phasecast render`.
pub fn render(args: &RenderArgs) -> Result<()> {
    let cfg = args.resolve()?;
    let loaded = read_volume(
        &args.volume,
        &ReadOptions {
            voxel_um: args.voxel_um,
            ..Default::default()
        },
    )
    .with_context(|| format!("reading {}", args.volume.display()))?;
    let seg = segment(&loaded.volume, args.threshold);
    if let View::Section { axis, pos } = cfg.view {
        let n = match axis {
            Axis::Z => seg.nz(),
            Axis::Y => seg.ny(),
            Axis::X => seg.nx(),
        };
        if pos >= n {
            bail!(
                "--section {:?}@{pos}: the volume has {n} voxels along that axis (0..{})",
                axis,
                n.saturating_sub(1)
            );
        }
    }
    let img = sem::render(&seg, cfg.view, &cfg.sem)?;
    super::plot::save_gray(&img, &cfg.out)?;
    log::info!("wrote {}", cfg.out.display());
    Ok(())
}
