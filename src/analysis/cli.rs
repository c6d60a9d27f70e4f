//! `phasecast analyze VOLUME`: reads a volume, segments it, analyses it, prints a
//! table (or the JSON) and writes the report files.
//!
//! Parsing only collects the flags ([`AnalyzeArgs`]); [`run`] validates them into
//! read, segmentation and analysis options and then does the work.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{segment, write_outputs, AnalysisOptions, PoreValue};
use crate::volume_io::{read_volume, RawDtype, RawSpec, ReadOptions};

/// Arguments of `phasecast analyze`.
#[derive(Clone, Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Volume to analyse: a phasecast run folder (its final phi_p), .npy, .vti,
    /// ImageJ/Fiji .tif stack, or raw binary (with --shape and --dtype).
    pub volume: PathBuf,
    /// Output folder for analysis.json and the plots [default: the run folder, or
    /// <volume stem>_analysis next to a file].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the report as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Threshold between pore and polymer [default: midpoint between the two phase
    /// compositions, estimated as class means].
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Whether pores are the low or the high values of the field (low for phi_p).
    #[arg(long, value_enum, default_value_t = PoreValue::Low)]
    pub pore_value: PoreValue,
    /// Voxel edge in µm; overrides the file's value, required when the file has none.
    #[arg(long)]
    pub voxel_um: Option<f64>,
    /// Shape of a raw binary volume, slowest first: Z,Y,X.
    #[arg(long, value_parser = parse_shape)]
    pub shape: Option<[usize; 3]>,
    /// Sample type of a raw binary volume (little endian): u8, u16 or f32.
    #[arg(long)]
    pub dtype: Option<RawDtype>,
    /// Array to read from a .vti file or run folder [default: phi_p, else the first].
    #[arg(long)]
    pub array: Option<String>,
    /// Treat x and y as periodic (the simulation's lateral boundaries) [default: as
    /// recorded in run.json, else not periodic].
    #[arg(long)]
    pub periodic_xy: Option<bool>,
    /// Polymer density in g/cm³ for the specific surface area per mass (PSf 1.24,
    /// PES 1.37, PVDF 1.78).
    #[arg(long, default_value_t = 1.24)]
    pub density: f64,
    /// Skip the skeletons (faster; the classification then lacks neck ratios).
    #[arg(long)]
    pub no_skeleton: bool,
    /// Skip the lab measurements (porometry, permeability, SEM images).
    #[arg(long)]
    pub no_lab: bool,
    /// Porometer wetting liquid: ethanol (γ 22.3 mN/m), water (72.0) or porefluid (16).
    #[arg(long, default_value = "ethanol")]
    pub fluid: String,
    /// Real membrane thickness in µm for the water permeability (default: the volume's thickness).
    #[arg(long, value_name = "UM")]
    pub thickness_um: Option<f64>,
    /// Resample a continuous field K times finer (trilinear, 1–4) before segmenting it,
    /// so that pore sizes move in steps of voxel/K instead of a voxel; costs K³ memory
    /// and time.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub refine: usize,
    /// Flow method of the porometer and the permeability: the pore network
    /// (seconds; default) or the lattice-Boltzmann reference (`lbm`, hours at 256³).
    #[arg(long, value_enum, default_value_t = crate::lab::FlowMethod::Network)]
    pub flow: crate::lab::FlowMethod,
    /// Memory the analysis may use, in GB (default: the machine's available memory).
    /// A volume whose estimated peak exceeds it is refused before it is processed.
    #[arg(long, value_name = "GB")]
    pub max_memory_gb: Option<f64>,
}

/// Largest `--refine` factor (64× the memory and time of the input).
pub const MAX_REFINE: usize = 4;

fn parse_shape(s: &str) -> Result<[usize; 3], String> {
    let v: Vec<usize> = s
        .split(',')
        .map(|t| t.trim().parse::<usize>().map_err(|_| format!("'{t}' is not a size")))
        .collect::<Result<_, _>>()?;
    match v.as_slice() {
        [z, y, x] if *z > 0 && *y > 0 && *x > 0 => Ok([*z, *y, *x]),
        _ => Err(format!("expected Z,Y,X (three positive sizes), got '{s}'")),
    }
}

/// Runs `phasecast analyze`.
pub fn run(args: &AnalyzeArgs) -> Result<()> {
    let raw = match (args.shape, args.dtype) {
        (Some(shape), Some(dtype)) => {
            let voxel_um = args.voxel_um.context("raw binary needs --voxel-um")?;
            Some(RawSpec { shape, dtype, voxel_um })
        }
        (None, None) => None,
        _ => bail!("raw binary needs both --shape Z,Y,X and --dtype u8|u16|f32"),
    };
    let ropts = ReadOptions { voxel_um: args.voxel_um, array: args.array.clone(), raw };
    let loaded = read_volume(&args.volume, &ropts)?;
    let periodic_xy = args.periodic_xy.unwrap_or_else(|| {
        loaded
            .meta
            .pointer("/run/periodic_xy")
            .or_else(|| loaded.meta.pointer("/field/periodic_xy"))
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    });
    // A run with an explicit bath slab: measure the film below it.
    let film_top = loaded.meta.pointer("/run/film_top_layer").and_then(|v| v.as_u64()).unwrap_or(0) as usize;
    let film;
    let volume = if film_top > 0 && film_top < loaded.volume.nz() {
        log::info!("{}: dropping the top {film_top} layers (the run's bath slab)", args.volume.display());
        film = loaded.volume.without_top(film_top);
        &film
    } else {
        &loaded.volume
    };
    anyhow::ensure!((1..=MAX_REFINE).contains(&args.refine), "--refine {}: must be an integer from 1 to {MAX_REFINE}", args.refine);
    if args.refine > 1 {
        anyhow::ensure!(
            !volume.data.iter().all(|&v| v == 0.0 || v == 1.0),
            "--refine {}: {} is already segmented (only 0 and 1); refinement needs the continuous field (e.g. phi_p)",
            args.refine,
            args.volume.display()
        );
    }
    // Memory check before the (refined) volume is built and measured.
    {
        let k = args.refine as u64;
        let voxels = volume.len() as u64 * k * k * k;
        let need = crate::lab::memory::analyze_peak_bytes(voxels, !args.no_lab, args.flow);
        let limit = match args.max_memory_gb {
            Some(gb) => Some((gb * 1e9) as u64),
            None => crate::lab::memory::available_bytes(),
        };
        crate::lab::memory::check(voxels, need, limit)?;
    }
    let fine = super::refine_for_segmentation(volume, args.refine, periodic_xy, &args.volume.display().to_string());
    let volume = fine.as_ref().unwrap_or(volume);
    let seg = segment(volume, args.threshold, args.pore_value);
    log::info!("{}: {}", args.volume.display(), seg.how);
    let opts = AnalysisOptions { periodic_xy, polymer_density_g_cm3: args.density, skeleton: !args.no_skeleton, ..Default::default() };
    let lab = if args.no_lab {
        None
    } else {
        let fluid = crate::lab::Fluid::by_name(&args.fluid)
            .with_context(|| format!("--fluid {}: not a porometer liquid; use ethanol, water or porefluid", args.fluid))?;
        if let Some(t) = args.thickness_um {
            anyhow::ensure!(t.is_finite() && t > 0.0, "--thickness-um {t}: must be a thickness in µm > 0");
        }
        Some(crate::lab::LabOptions {
            fluid,
            thickness_um: args.thickness_um,
            sem_fov_um: crate::lab::default_sem_fov_um(volume),
            flow_method: args.flow,
            ..Default::default()
        })
    };
    let out = args.out.clone().unwrap_or_else(|| default_out(&args.volume));
    let mut report = crate::pipeline::measure(&seg.volume, &opts, lab.as_ref(), &out)?;
    report.extra.insert(
        "input".into(),
        serde_json::json!({
            "path": args.volume.display().to_string(),
            "source": loaded.source,
            "dtype": loaded.dtype,
            "segmentation": seg.how,
            "threshold": if seg.threshold.is_finite() { serde_json::json!(seg.threshold) } else { serde_json::Value::Null },
            "pore_value": args.pore_value,
            "refine": args.refine,
        }),
    );
    write_outputs(&report, &out)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", args.volume.display());
        println!("  segmentation: {}", seg.how);
        report.print_table();
        print_lab_table(&report.extra);
        println!("  report: {}", out.join("analysis.json").display());
    }
    Ok(())
}

/// The lab's figures (porometry, permeability, SEM) when they were measured.
fn print_lab_table(extra: &serde_json::Map<String, serde_json::Value>) {
    let num = |v: Option<&serde_json::Value>| v.and_then(|x| x.as_f64());
    let row = |label: &str, v: Option<f64>, unit: &str| match v {
        Some(x) => println!("  {label:<35}{x:.4} {unit}"),
        None => println!("  {label:<35}not measured"),
    };
    if let Some(p) = extra.get("porometry") {
        let fluid = p.get("fluid").and_then(|f| f.as_str()).unwrap_or("?");
        println!("  porometry ({fluid}, ASTM F316)");
        row("  bubble point diameter", num(p.get("bubble_point_diameter_um")), "µm");
        row("  bubble point pressure", num(p.get("bubble_point_pressure_kpa")), "kPa");
        row("  mean-flow diameter", num(p.get("mean_flow_diameter_um")), "µm");
        row("  max/mean-flow ratio", num(p.get("max_to_mean_ratio")), "");
    }
    if let Some(k) = extra.get("permeability") {
        row("Darcy permeability", num(k.get("darcy_m2")), "m²");
        row("water permeability", num(k.get("water_l_per_m2_h_atm")), "L/(m²·h·atm)");
        row("tortuosity", num(k.get("tortuosity")), "");
        if let Some(m) = k.get("flow_method").and_then(|m| m.as_str()) {
            println!("  {:<35}{m}", "flow method");
        }
    }
    if let Some(s) = extra.get("sem") {
        row("SEM pore size internal", num(s.get("internal_pore_size_um")), "µm");
        row("SEM pore size top / bottom", num(s.get("top_surface_pore_size_um")), "µm (top)");
        row("", num(s.get("bottom_surface_pore_size_um")), "µm (bottom)");
        row("top opening ratio", num(s.get("top_opening_ratio")), "");
    }
}

fn default_out(volume: &Path) -> PathBuf {
    if volume.is_dir() {
        volume.to_path_buf()
    } else {
        let stem = volume.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "volume".into());
        volume.with_file_name(format!("{stem}_analysis"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: AnalyzeArgs,
    }

    #[test]
    fn flags_parse() {
        Wrap::command().debug_assert();
        let w = Wrap::try_parse_from([
            "analyze", "v.raw", "--shape", "4,5,6", "--dtype", "u16", "--voxel-um", "0.1", "--pore-value", "high", "--periodic-xy", "true",
            "--threshold", "0.4", "--json",
        ])
        .unwrap();
        assert_eq!(w.args.shape, Some([4, 5, 6]));
        assert_eq!(w.args.dtype, Some(RawDtype::U16));
        assert_eq!(w.args.pore_value, PoreValue::High);
        assert_eq!(w.args.periodic_xy, Some(true));
        assert!(Wrap::try_parse_from(["analyze", "v.raw", "--shape", "4,5"]).is_err());
        assert_eq!(Wrap::try_parse_from(["analyze", "v.npy"]).unwrap().args.flow, crate::lab::FlowMethod::Network);
        assert_eq!(Wrap::try_parse_from(["analyze", "v.npy", "--flow", "lbm"]).unwrap().args.flow, crate::lab::FlowMethod::Lbm);
        assert!(Wrap::try_parse_from(["analyze", "v.npy", "--flow", "darcy"]).is_err());
        assert!(Wrap::try_parse_from(["analyze", "v.raw", "--dtype", "f64"]).is_err());
    }
}
