//! Microstructure analysis (issue 3): the figures a membrane lab measures, computed
//! on a voxel volume in physical units.
//!
//! Pipeline: [`segment`] a continuous composition field (φ_polymer) into pore/polymer,
//! then [`analyze`] the segmented volume (1 = pore, 0 = polymer) into an
//! [`AnalysisReport`], then [`write_outputs`] (`analysis.json`, skeleton branch files,
//! PNG plots) and [`AnalysisReport::print_table`]. `phasecast analyze` ([`cli`]) and
//! `phasecast run` call the same functions.
//!
//! Public kernels other stages build on:
//! - [`distance::edt`]`(mask, phase, periodic_xy) -> Volume<f32>`: exact Euclidean
//!   distance in voxels.
//! - [`thickness::local_thickness`]`(mask, phase, periodic_xy) -> Volume<f32>`:
//!   diameter in voxels.
//! - [`label::label`], [`euler::euler_characteristic`], [`surface::interface_area`],
//!   [`skeleton::skeletonize`] and [`skeleton::graph`].
//!
//! Conventions: pore is 6-connected, polymer 26-connected; z = 0 is the top (free)
//! surface; with `periodic_xy` the lateral faces wrap (as in the simulation).

pub mod chords;
pub mod classify;
pub mod cli;
pub mod distance;
pub mod euler;
pub mod label;
mod report;
pub mod skeleton;
pub mod surface;
pub mod synthetic;
pub mod thickness;

use anyhow::{bail, Result};
use rayon::prelude::*;
use serde::Serialize;

use crate::volume::{Volume, POLYMER, PORE};
pub use report::write_outputs;

/// Which end of the field's range is pore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PoreValue {
    /// Pore is where the field is below the threshold (φ_polymer: the polymer-lean phase).
    #[default]
    Low,
    /// Pore is where the field is above the threshold (e.g. a solvent or non-solvent field).
    High,
}

/// A segmented volume (1 = pore, 0 = polymer) and how it was obtained.
#[derive(Clone, Debug)]
pub struct Segmentation {
    pub volume: Volume<u8>,
    /// Threshold used (NaN when the input was already segmented).
    pub threshold: f32,
    /// One sentence saying how.
    pub how: String,
}

/// `field` resampled `k` times finer for segmentation ([`Volume::refined`]), with a
/// log line naming `what`; `None` when `k` is 1 (measure the field as it is).
pub fn refine_for_segmentation(field: &Volume<f32>, k: usize, periodic_xy: bool, what: &str) -> Option<Volume<f32>> {
    (k > 1).then(|| {
        log::info!("{what}: refined {k}× (trilinear) to {:?} voxels of {:.4} µm", field.shape.map(|n| n * k), field.voxel_um / k as f64);
        field.refined(k, periodic_xy)
    })
}

/// Segments `field` into pore (1) and polymer (0).
///
/// Default threshold: the midpoint between the two phase compositions, each estimated
/// as the mean of its class (Ridler–Calvard isodata iteration: t = (mean below t +
/// mean above t)/2). For a phase-separated φ_polymer field the two classes are the
/// polymer-lean and polymer-rich coexisting phases, so this is the midpoint of the
/// tie line; it does not depend on the phase fractions, unlike a median split.
/// A field holding only 0 and 1 is taken as already segmented (1 = pore) unless a
/// threshold is given. NaN samples are counted as polymer and reported in `how`.
pub fn segment(field: &Volume<f32>, threshold: Option<f32>, pore_value: PoreValue) -> Segmentation {
    let nan = field.data.iter().filter(|v| v.is_nan()).count();
    let binary = field.data.iter().all(|&v| v == 0.0 || v == 1.0);
    if threshold.is_none() && binary {
        return Segmentation {
            volume: field.map(|v| (v == 1.0) as u8),
            threshold: f32::NAN,
            how: "input already segmented (1 = pore, 0 = polymer)".into(),
        };
    }
    let (t, how) = match threshold {
        Some(t) => (t, format!("threshold {t} given by the user")),
        None => {
            let (t, lo, hi) = isodata(&field.data);
            (
                t,
                format!("threshold {t:.4} = midpoint between the two phase compositions {lo:.4} and {hi:.4} (class means, isodata)"),
            )
        }
    };
    let side = match pore_value {
        PoreValue::Low => "below",
        PoreValue::High => "above",
    };
    let mut how = format!("{how}; pore where the field is {side} it");
    if nan > 0 {
        how.push_str(&format!("; {nan} NaN samples counted as polymer"));
    }
    let volume = field.map(|v| match pore_value {
        PoreValue::Low => (v < t) as u8,
        PoreValue::High => (v > t) as u8,
    });
    Segmentation { volume, threshold: t, how }
}

/// Isodata threshold and the two class means, on a 4096-bin histogram.
fn isodata(data: &[f32]) -> (f32, f32, f32) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &v in data.iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !(lo < hi) {
        return (if lo.is_finite() { lo } else { 0.0 }, lo, hi);
    }
    const B: usize = 4096;
    let w = (hi - lo) as f64 / B as f64;
    let mut hist = vec![0u64; B];
    for &v in data.iter().filter(|v| v.is_finite()) {
        hist[(((v - lo) as f64 / w) as usize).min(B - 1)] += 1;
    }
    let centre = |b: usize| lo as f64 + (b as f64 + 0.5) * w;
    let mut t = (lo as f64 + hi as f64) / 2.0;
    let (mut m0, mut m1) = (lo as f64, hi as f64);
    for _ in 0..200 {
        let (mut s0, mut n0, mut s1, mut n1) = (0.0, 0u64, 0.0, 0u64);
        for (b, &c) in hist.iter().enumerate() {
            if centre(b) <= t {
                s0 += centre(b) * c as f64;
                n0 += c;
            } else {
                s1 += centre(b) * c as f64;
                n1 += c;
            }
        }
        if n0 == 0 || n1 == 0 {
            break;
        }
        m0 = s0 / n0 as f64;
        m1 = s1 / n1 as f64;
        let nt = (m0 + m1) / 2.0;
        if (nt - t).abs() < w * 0.01 {
            t = nt;
            break;
        }
        t = nt;
    }
    (t as f32, m0 as f32, m1 as f32)
}

/// What [`analyze`] needs beyond the volume.
#[derive(Clone, Debug, Serialize)]
pub struct AnalysisOptions {
    /// x and y wrap around (the simulation's lateral boundary condition).
    pub periodic_xy: bool,
    /// Polymer density for m²/g (PSf 1.24, PES 1.37, PVDF 1.78 g/cm³).
    pub polymer_density_g_cm3: f64,
    /// Compute skeletons and their graphs (the slowest step).
    pub skeleton: bool,
    /// Number of bins of the thickness histograms.
    pub histogram_bins: usize,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        Self { periodic_xy: false, polymer_density_g_cm3: 1.24, skeleton: true, histogram_bins: 40 }
    }
}

/// A value for each phase.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PerPhase<T> {
    pub pore: T,
    pub polymer: T,
}

/// Connectivity of one phase.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PhaseConnectivity {
    /// 6 (faces) or 26 (faces, edges, corners).
    pub connectivity: u32,
    pub components: usize,
    /// Share of the phase's volume in its largest component.
    pub largest_fraction: f64,
    /// Share of the phase's volume connected from the top face to the bottom face.
    pub spanning_fraction: f64,
}

/// Specific surface area.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SpecificSurface {
    /// Interface area per total volume, µm²/µm³.
    pub per_um: f64,
    /// Interface area per polymer mass.
    pub m2_per_g: f64,
    pub interface_area_um2: f64,
    pub polymer_density_g_cm3: f64,
    pub method: String,
}

/// Pore chord lengths per axis.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChordLengths {
    pub x: chords::ChordStats,
    pub y: chords::ChordStats,
    pub z: chords::ChordStats,
}

/// Local thickness statistics, volume weighted (every voxel of the phase counts once).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ThicknessStats {
    pub mean: f64,
    pub median: f64,
    pub max: f64,
    /// Histogram: `bin_edges_um` (bins + 1) and the volume fraction of the phase per bin.
    pub bin_edges_um: Vec<f64>,
    pub volume_fraction: Vec<f64>,
}

/// Skeleton graph summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SkeletonSummary {
    pub voxels: usize,
    pub junctions: usize,
    pub end_points: usize,
    pub branches: usize,
    pub isolated_points: usize,
    pub mean_branch_length_um: f64,
    pub mean_junction_degree: f64,
    /// Junction count by degree: `{"3": n, "4": m, …}`.
    pub junction_degrees: std::collections::BTreeMap<String, usize>,
    /// Median over junction-to-junction branches of (thinnest diameter along the branch)
    /// / (thinner of its two junction diameters), both less one voxel (the EDT reaches
    /// to voxel centres, half a voxel beyond the interface). NaN (null) with no such branch.
    pub neck_to_node_ratio: f64,
    /// Number of branches that ratio is taken over.
    pub neck_branches: usize,
}

/// Depth profile along z (z = 0: top surface).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Profile {
    /// Slice centre depth.
    pub z_um: Vec<f64>,
    pub porosity: Vec<f64>,
    /// Mean pore local thickness in the slice (null where the slice has no pore).
    pub pore_size_um: Vec<f64>,
}

/// The layer of minimum pore size.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DenseLayer {
    pub depth_um: f64,
    pub pore_size_um: f64,
    /// The minimum lies within one of its own pore sizes of the top surface.
    pub at_surface: bool,
}

/// Everything [`analyze`] measures. Other stages add keys to `extra`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AnalysisReport {
    pub voxel_um: f64,
    pub shape_zyx: [usize; 3],
    pub periodic_xy: bool,
    pub porosity: f64,
    /// Share of the pore volume connected (6-connectivity) from the top face to the bottom face.
    pub through_pore_fraction: f64,
    /// Volume of pores touching no open face of the sample, per total volume.
    pub closed_porosity: f64,
    pub connectivity: PerPhase<PhaseConnectivity>,
    pub specific_surface_area: SpecificSurface,
    /// Mean pore chord length along x, y (parallel to the surface, as SEM lines on a
    /// micrograph) and z, border-cut chords dropped.
    pub chord_length_um: ChordLengths,
    pub euler_characteristic: PerPhase<i64>,
    pub local_thickness_um: PerPhase<ThicknessStats>,
    pub skeleton: PerPhase<SkeletonSummary>,
    /// Pore network of each phase (watershed of its distance map into bodies
    /// and throats, `lab::network`): body/throat sizes and coordination.
    pub network: PerPhase<crate::lab::network::NetworkStats>,
    pub structure: classify::Structure,
    pub profile: Profile,
    pub dense_layer: DenseLayer,
    /// Seconds per step, for the curious and the benchmark. The per-phase EDT, local
    /// thickness and skeleton steps of pore and polymer run side by side, so their
    /// times overlap; `phases_edt_thickness_skeleton` is their joint wall time.
    pub timings_s: std::collections::BTreeMap<String, f64>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Full skeleton graphs (branch profiles), written to `skeleton_<phase>.json`.
    #[serde(skip)]
    pub graphs: PerPhase<skeleton::SkeletonGraph>,
}

/// Runs every measurement on a segmented volume (1 = pore, 0 = polymer).
pub fn analyze(seg: &Volume<u8>, opts: &AnalysisOptions) -> Result<AnalysisReport> {
    let [nz, ny, nx] = seg.shape;
    if seg.is_empty() {
        bail!("the volume has no voxels (shape {:?})", seg.shape);
    }
    if seg.data.len() != nz * ny * nx {
        bail!("volume data has {} samples for shape {:?}", seg.data.len(), seg.shape);
    }
    if !(seg.voxel_um.is_finite() && seg.voxel_um > 0.0) {
        bail!("voxel size must be a positive length in µm, found {}", seg.voxel_um);
    }
    if let Some(v) = seg.data.iter().find(|&&v| v > 1) {
        bail!("segmented volume must hold only 0 (polymer) and 1 (pore), found {v}");
    }
    if !(opts.polymer_density_g_cm3 > 0.0) {
        bail!("polymer density must be positive, found {}", opts.polymer_density_g_cm3);
    }
    let vu = seg.voxel_um;
    let n = seg.len() as f64;
    let mut rep = AnalysisReport { voxel_um: vu, shape_zyx: seg.shape, periodic_xy: opts.periodic_xy, ..Default::default() };
    let mut timer = Timer { last: Some(std::time::Instant::now()), laps: Default::default() };

    let n_pore = seg.data.iter().filter(|&&v| v == PORE).count() as f64;
    let n_poly = n - n_pore;
    rep.porosity = n_pore / n;

    // Connectivity; keep pore labels for the per-pore sphericity.
    // Union–find is sequential: label the two phases side by side.
    let (pore_cc, poly_cc) = rayon::join(
        || label::label(seg, PORE, label::Connectivity::Face6, opts.periodic_xy),
        || label::label(seg, POLYMER, label::Connectivity::Full26, opts.periodic_xy),
    );
    let conn = |cc: &label::Components, total: f64, c: u32| -> PhaseConnectivity {
        let spanning: u64 = (1..cc.sizes.len())
            .filter(|&i| cc.touches[i] & label::TOP != 0 && cc.touches[i] & label::BOTTOM != 0)
            .map(|i| cc.sizes[i])
            .sum();
        PhaseConnectivity {
            connectivity: c,
            components: cc.count(),
            largest_fraction: if total > 0.0 { cc.largest() as f64 / total } else { 0.0 },
            spanning_fraction: if total > 0.0 { spanning as f64 / total } else { 0.0 },
        }
    };
    rep.connectivity = PerPhase { pore: conn(&pore_cc, n_pore, 6), polymer: conn(&poly_cc, n_poly, 26) };
    rep.through_pore_fraction = rep.connectivity.pore.spanning_fraction;
    let closed: u64 = (1..pore_cc.sizes.len()).filter(|&i| pore_cc.touches[i] == 0).map(|i| pore_cc.sizes[i]).sum();
    rep.closed_porosity = closed as f64 / n;
    drop(poly_cc);
    timer.lap("components");

    // Interface area on the smoothed pore indicator; per closed pore for sphericity.
    let smooth = surface::smoothed_indicator(seg, PORE, opts.periodic_xy);
    let (area_vox, per_label) = surface::iso_area_by_label(&smooth, 0.5, opts.periodic_xy, &pore_cc.labels, pore_cc.sizes.len());
    drop(smooth);
    let area_um2 = area_vox * vu * vu;
    rep.specific_surface_area = SpecificSurface {
        per_um: area_um2 / (n * vu * vu * vu),
        m2_per_g: if n_poly > 0.0 { area_um2 / (n_poly * vu * vu * vu) / opts.polymer_density_g_cm3 } else { f64::NAN },
        interface_area_um2: area_um2,
        polymer_density_g_cm3: opts.polymer_density_g_cm3,
        method: format!("marching tetrahedra on the pore indicator smoothed with a Gaussian of σ = {} voxel, level 0.5", surface::SIGMA),
    };
    let sphericity = closed_pore_sphericity(&pore_cc, &per_label);
    drop(pore_cc);
    timer.lap("surface");

    rep.euler_characteristic = PerPhase {
        pore: euler::euler_characteristic(seg, PORE, label::Connectivity::Face6, opts.periodic_xy),
        polymer: euler::euler_characteristic(seg, POLYMER, label::Connectivity::Full26, opts.periodic_xy),
    };
    timer.lap("euler");
    rep.chord_length_um = ChordLengths {
        x: chords::chords(seg, PORE, 2, opts.periodic_xy),
        y: chords::chords(seg, PORE, 1, opts.periodic_xy),
        z: chords::chords(seg, PORE, 0, false),
    };
    timer.lap("chords");

    // Per phase: EDT → local thickness → (pore) depth profile → skeleton and graph.
    // The two phases run side by side: their kernels are parallel already, this fills
    // the cores during their sequential parts (thinning re-checks, graph, statistics).
    let per_phase = |phase: u8| -> PhaseResult {
        let name = if phase == PORE { "pore" } else { "polymer" };
        let mut laps = Vec::new();
        let t = std::time::Instant::now();
        let mut d2 = distance::edt_squared(seg, phase, opts.periodic_xy);
        laps.push((format!("edt_{name}"), t.elapsed().as_secs_f64()));
        let t = std::time::Instant::now();
        let lt = thickness::local_thickness_from_edt2(&d2, opts.periodic_xy);
        let stats = thickness_stats(seg, &lt, phase, opts.histogram_bins);
        let mut slice_size = vec![f64::NAN; nz];
        if phase == PORE {
            let plane = ny * nx;
            for (z, s) in slice_size.iter_mut().enumerate() {
                let (mut sum, mut cnt) = (0f64, 0usize);
                for i in z * plane..(z + 1) * plane {
                    if seg.data[i] == PORE && lt.data[i].is_finite() {
                        sum += lt.data[i] as f64;
                        cnt += 1;
                    }
                }
                if cnt > 0 {
                    *s = sum / cnt as f64 * vu;
                }
            }
        }
        drop(lt);
        laps.push((format!("local_thickness_{name}"), t.elapsed().as_secs_f64()));
        let t = std::time::Instant::now();
        let network = crate::lab::network::extract(&d2.data, seg.shape, vu, opts.periodic_xy, None).stats();
        laps.push((format!("network_{name}"), t.elapsed().as_secs_f64()));
        let t = std::time::Instant::now();
        let (summary, graph) = if opts.skeleton {
            d2.data.par_iter_mut().for_each(|v| *v = v.sqrt());
            let sk = skeleton::skeletonize(seg, phase, opts.periodic_xy);
            let g = skeleton::graph(&sk, &d2, opts.periodic_xy);
            (summarize(&g, vu), g)
        } else {
            (SkeletonSummary { neck_to_node_ratio: f64::NAN, ..Default::default() }, skeleton::SkeletonGraph::default())
        };
        drop(d2);
        laps.push((format!("skeleton_{name}"), t.elapsed().as_secs_f64()));
        PhaseResult { stats, slice_size, summary, graph, network, laps }
    };
    let (pore, polymer) = rayon::join(|| per_phase(PORE), || per_phase(POLYMER));
    timer.lap("phases_edt_thickness_skeleton");
    let slice_pore_size = pore.slice_size;
    for (k, v) in pore.laps.into_iter().chain(polymer.laps) {
        // Per-phase times overlap (the phases run side by side).
        timer.laps.insert(k, v);
    }
    rep.local_thickness_um = PerPhase { pore: pore.stats, polymer: polymer.stats };
    rep.skeleton = PerPhase { pore: pore.summary, polymer: polymer.summary };
    rep.network = PerPhase { pore: pore.network, polymer: polymer.network };
    rep.graphs = PerPhase { pore: pore.graph, polymer: polymer.graph };

    // Depth profile and dense layer.
    let plane = (ny * nx) as f64;
    rep.profile = Profile {
        z_um: (0..nz).map(|z| (z as f64 + 0.5) * vu).collect(),
        porosity: seg.data.chunks(ny * nx).map(|s| s.iter().filter(|&&v| v == PORE).count() as f64 / plane).collect(),
        pore_size_um: slice_pore_size,
    };
    rep.dense_layer = dense_layer(&rep.profile);
    timer.lap("profile");

    rep.structure = classify::classify(&classify::Features::from_report(&rep, sphericity));
    timer.lap("classify");
    rep.timings_s = timer.laps;
    Ok(rep)
}

/// What one phase's chain of kernels yields.
struct PhaseResult {
    stats: ThicknessStats,
    slice_size: Vec<f64>,
    summary: SkeletonSummary,
    graph: skeleton::SkeletonGraph,
    network: crate::lab::network::NetworkStats,
    laps: Vec<(String, f64)>,
}

/// Volume-weighted mean sphericity ψ = π^{1/3}(6V)^{2/3}/A of closed pores (pores
/// touching no face, ≥ 27 voxels so that the area is meaningful); NaN when none.
fn closed_pore_sphericity(cc: &label::Components, area: &[f64]) -> f64 {
    let (mut s, mut w) = (0.0, 0.0);
    for i in 1..cc.sizes.len() {
        if cc.touches[i] != 0 || cc.sizes[i] < 27 || area[i] <= 0.0 {
            continue;
        }
        let v = cc.sizes[i] as f64;
        let psi = std::f64::consts::PI.powf(1.0 / 3.0) * (6.0 * v).powf(2.0 / 3.0) / area[i];
        s += psi.min(1.0) * v;
        w += v;
    }
    if w > 0.0 {
        s / w
    } else {
        f64::NAN
    }
}

fn thickness_stats(seg: &Volume<u8>, lt: &Volume<f32>, phase: u8, bins: usize) -> ThicknessStats {
    let vu = seg.voxel_um;
    let mut v: Vec<f32> = seg.data.iter().zip(&lt.data).filter(|(&m, t)| m == phase && t.is_finite()).map(|(_, &t)| t).collect();
    if v.is_empty() {
        return ThicknessStats { mean: f64::NAN, median: f64::NAN, max: f64::NAN, ..Default::default() };
    }
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64 * vu;
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f32::total_cmp);
    let median = *m as f64 * vu;
    let max = v.iter().copied().fold(0f32, f32::max) as f64 * vu;
    let bins = bins.max(1);
    let w = max / bins as f64;
    let mut counts = vec![0u64; bins];
    for &x in &v {
        let b = if w > 0.0 { ((x as f64 * vu / w) as usize).min(bins - 1) } else { 0 };
        counts[b] += 1;
    }
    ThicknessStats {
        mean,
        median,
        max,
        bin_edges_um: (0..=bins).map(|i| i as f64 * w).collect(),
        volume_fraction: counts.iter().map(|&c| c as f64 / v.len() as f64).collect(),
    }
}

fn summarize(g: &skeleton::SkeletonGraph, voxel_um: f64) -> SkeletonSummary {
    let mut degrees = std::collections::BTreeMap::new();
    for j in &g.junctions {
        *degrees.entry(j.degree.to_string()).or_insert(0) += 1;
    }
    let mut ratios: Vec<f64> = g
        .branches
        .iter()
        .filter_map(|b| {
            let (Some(a), Some(c)) = (b.junctions[0], b.junctions[1]) else { return None };
            if a == c || b.thickness_um.len() < 3 {
                return None;
            }
            // Diameters are 2 × EDT, measured to the centre of the nearest other-phase
            // voxel; the interface lies half a voxel closer, so one voxel comes off
            // each diameter before taking the ratio.
            let node = g.junctions[a as usize].thickness_um.min(g.junctions[c as usize].thickness_um) as f64 - voxel_um;
            let neck = b.thickness_um.iter().copied().fold(f32::INFINITY, f32::min) as f64 - voxel_um;
            (node > 0.0).then(|| (neck.max(0.0) / node).min(1.0))
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    SkeletonSummary {
        voxels: g.voxels,
        junctions: g.junctions.len(),
        end_points: g.end_points,
        branches: g.branches.len(),
        isolated_points: g.isolated_points,
        mean_branch_length_um: if g.branches.is_empty() {
            0.0
        } else {
            g.branches.iter().map(|b| b.length_um).sum::<f64>() / g.branches.len() as f64
        },
        mean_junction_degree: if g.junctions.is_empty() {
            0.0
        } else {
            g.junctions.iter().map(|j| j.degree as f64).sum::<f64>() / g.junctions.len() as f64
        },
        junction_degrees: degrees,
        neck_to_node_ratio: if ratios.is_empty() { f64::NAN } else { ratios[ratios.len() / 2] },
        neck_branches: ratios.len(),
    }
}

/// Minimum of the pore-size profile (3-slice running mean, so one odd slice does
/// not make a layer). At the surface when its depth is less than its pore size.
fn dense_layer(p: &Profile) -> DenseLayer {
    let n = p.pore_size_um.len();
    let smooth: Vec<f64> = (0..n)
        .map(|z| {
            let w: Vec<f64> = (z.saturating_sub(1)..(z + 2).min(n)).map(|i| p.pore_size_um[i]).filter(|v| v.is_finite()).collect();
            if w.is_empty() || !p.pore_size_um[z].is_finite() {
                f64::NAN
            } else {
                w.iter().sum::<f64>() / w.len() as f64
            }
        })
        .collect();
    match (0..n).filter(|&z| smooth[z].is_finite()).min_by(|&a, &b| smooth[a].total_cmp(&smooth[b])) {
        Some(z) => {
            // Slice centre depth below the top face (z = 0).
            let depth = p.z_um[z];
            DenseLayer { depth_um: depth, pore_size_um: smooth[z], at_surface: depth < smooth[z] }
        }
        None => DenseLayer { depth_um: f64::NAN, pore_size_um: f64::NAN, at_surface: false },
    }
}

#[derive(Default)]
struct Timer {
    last: Option<std::time::Instant>,
    laps: std::collections::BTreeMap<String, f64>,
}

impl Timer {
    fn lap(&mut self, name: &str) {
        let now = std::time::Instant::now();
        let start = *self.last.get_or_insert(now);
        self.laps.insert(name.to_owned(), (now - start).as_secs_f64());
        self.last = Some(now);
        // Progress of long analyses (issue 27): steps over the lab's quiet limit are shown.
        let dt = (now - start).as_secs_f64();
        let level = if dt > crate::lab::progress::QUIET_S { log::Level::Info } else { log::Level::Debug };
        log::log!(level, "analysis step {name}: {dt:.3} s");
    }
}
