//! Structure classification: percolation, spherical_particle, cellular or non_porous,
//! with a score per class and the reasons in a membrane scientist's words.
//!
//! Rules (see `docs/analysis.md` for their justification):
//! - **non_porous** — pores do not cross the film: score = 1 − ramp(through-pore
//!   fraction; 0.1 → 0.5), raised to 1 − ramp(porosity; 0.05 → 0.15) when porosity is
//!   very low.
//! - The three open classes are weighted by open = 1 − non_porous and told apart by
//!   two signs of "round bodies joined at narrow contacts" in a phase:
//!   - the neck-to-node thickness ratio r (thinnest diameter along a junction-to-junction
//!     skeleton branch / thinner junction diameter, median over branches):
//!     thin(r) = 1 at r ≤ 0.55, 0 at r ≥ 0.75, linear between. Two spheres of radius R
//!     overlapping to a neck of radius a give r = a/R (≈ 0.3–0.55 for particles joined
//!     at contacts); spinodal networks have tubes whose thickness changes little
//!     between nodes (r ≈ 0.8–1);
//!   - the Euler characteristic per typical feature volume e = χ·t³/V (t the mean local
//!     thickness, V the phase volume): bodies(e) = 0 at e ≥ −1.2, 1 at e ≤ −2.2. Bodies
//!     touching six or so neighbours close many loops per body volume (e ≈ −3), tube
//!     networks few (e ≈ −0.3 to −1).
//!   body(phase) = (thin(r) + bodies(e)) / 2;
//!   **spherical_particle** = open · body(polymer); **cellular** = open · body(pore);
//!   **percolation** = open · (1 − max(body(polymer), body(pore))).
//! - Phase connectivity and closed-pore sphericity are reported as supporting evidence.

use serde::Serialize;

use super::AnalysisReport;

/// The measured features the rules use.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Features {
    pub porosity: f64,
    pub through_pore_fraction: f64,
    pub pore_largest_fraction: f64,
    pub polymer_largest_fraction: f64,
    /// Neck-to-node thickness ratio along polymer branches.
    pub polymer_neck_to_node: f64,
    /// Neck-to-node thickness ratio along pore branches (window / cell).
    pub pore_neck_to_node: f64,
    /// χ per (mean local thickness)³ of the phase's volume: < 0 many loops (network),
    /// > 0 separate objects.
    pub euler_density_pore: f64,
    pub euler_density_polymer: f64,
    /// Volume-weighted sphericity of closed pores (NaN: none).
    pub closed_pore_sphericity: f64,
    /// Closed porosity / porosity.
    pub closed_pore_share: f64,
}

impl Features {
    pub fn from_report(r: &AnalysisReport, closed_pore_sphericity: f64) -> Self {
        let n: f64 = r.shape_zyx.iter().map(|&v| v as f64).product::<f64>() * r.voxel_um.powi(3);
        let dens = |chi: i64, frac: f64, t: f64| -> f64 {
            if t.is_finite() && t > 0.0 && frac > 0.0 {
                chi as f64 / (frac * n / t.powi(3))
            } else {
                f64::NAN
            }
        };
        Features {
            porosity: r.porosity,
            through_pore_fraction: r.through_pore_fraction,
            pore_largest_fraction: r.connectivity.pore.largest_fraction,
            polymer_largest_fraction: r.connectivity.polymer.largest_fraction,
            polymer_neck_to_node: r.skeleton.polymer.neck_to_node_ratio,
            pore_neck_to_node: r.skeleton.pore.neck_to_node_ratio,
            euler_density_pore: dens(r.euler_characteristic.pore, r.porosity, r.local_thickness_um.pore.mean),
            euler_density_polymer: dens(r.euler_characteristic.polymer, 1.0 - r.porosity, r.local_thickness_um.polymer.mean),
            closed_pore_sphericity,
            closed_pore_share: if r.porosity > 0.0 { r.closed_porosity / r.porosity } else { 0.0 },
        }
    }
}

/// Result of the classification.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Structure {
    pub class: String,
    pub scores: std::collections::BTreeMap<String, f64>,
    pub reasons: Vec<String>,
    pub features: Features,
}

fn ramp(x: f64, a: f64, b: f64) -> f64 {
    ((x - a) / (b - a)).clamp(0.0, 1.0)
}

/// thin(r): 1 for thin necks, 0 for thick; an unknown ratio (no junction-to-junction
/// branch) counts as undecided (0.5).
fn thin(r: f64) -> f64 {
    if r.is_finite() {
        1.0 - ramp(r, 0.55, 0.75)
    } else {
        0.5
    }
}

/// bodies(e): 1 when the phase closes many loops per feature volume.
fn bodies(e: f64) -> f64 {
    if e.is_finite() {
        ramp(-e, 1.2, 2.2)
    } else {
        0.0
    }
}

fn fmt_ratio(r: f64) -> String {
    if r.is_finite() {
        format!("{r:.2}")
    } else {
        "n/a".into()
    }
}

/// Applies the rules.
pub fn classify(f: &Features) -> Structure {
    let np = (1.0 - ramp(f.through_pore_fraction, 0.1, 0.5)).max(1.0 - ramp(f.porosity, 0.05, 0.15));
    let open = 1.0 - np;
    let bp = (thin(f.polymer_neck_to_node) + bodies(f.euler_density_polymer)) / 2.0;
    let bv = (thin(f.pore_neck_to_node) + bodies(f.euler_density_pore)) / 2.0;
    let mut scores = std::collections::BTreeMap::new();
    scores.insert("non_porous".to_string(), np);
    scores.insert("spherical_particle".to_string(), open * bp);
    scores.insert("cellular".to_string(), open * bv);
    scores.insert("percolation".to_string(), open * (1.0 - bp.max(bv)));
    // Highest score; ties go to the first in the order percolation, spherical_particle,
    // cellular, non_porous.
    let order = ["percolation", "spherical_particle", "cellular", "non_porous"];
    let class = order
        .iter()
        .copied()
        .fold(None::<(&str, f64)>, |best, k| match best {
            Some((_, b)) if b >= scores[k] => best,
            _ => Some((k, scores[k])),
        })
        .map(|(k, _)| k.to_string())
        .unwrap_or_default();

    let mut reasons = Vec::new();
    let mut ranked: Vec<(&String, &f64)> = scores.iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(a.1));
    if ranked.len() > 1 && ranked[0].1 - ranked[1].1 < 0.1 {
        reasons.push(format!(
            "the structure lies between {} ({:.2}) and {} ({:.2}); the first is reported",
            ranked[0].0, ranked[0].1, ranked[1].0, ranked[1].1
        ));
    }
    reasons.push(format!(
        "porosity {:.0} %; {:.0} % of the pore volume is connected from the top face to the bottom face{}",
        100.0 * f.porosity,
        100.0 * f.through_pore_fraction,
        if f.through_pore_fraction < 0.1 { ", so liquid cannot pass through the film" } else { "" }
    ));
    if f.closed_pore_share > 0.05 {
        let sph = if f.closed_pore_sphericity.is_finite() {
            format!(" (closed pores have sphericity {:.2})", f.closed_pore_sphericity)
        } else {
            String::new()
        };
        reasons.push(format!("{:.0} % of the pore volume is in closed pores{sph}", 100.0 * f.closed_pore_share));
    }
    match class.as_str() {
        "non_porous" => reasons.push(if f.porosity < 0.1 {
            "the polymer is nearly dense: little void volume and no open path through it".into()
        } else {
            "voids are isolated in the polymer instead of forming channels: a closed-pore, non-porous membrane".into()
        }),
        "spherical_particle" => reasons.push(format!(
            "necks between polymer junctions are {}× the node thickness{}, and the polymer closes {:.1} loops per particle-sized volume: polymer spheres joined at contact points",
            fmt_ratio(f.polymer_neck_to_node),
            if f.polymer_neck_to_node < 0.55 { " (thinner than 0.55×)" } else { "" },
            -f.euler_density_polymer
        )),
        "cellular" => reasons.push(format!(
            "windows between pore cells are {}× the cell size{}, and the pores close {:.1} loops per cell-sized volume: spherical cells joined by small openings",
            fmt_ratio(f.pore_neck_to_node),
            if f.pore_neck_to_node < 0.55 { " (smaller than 0.55×)" } else { "" },
            -f.euler_density_pore
        )),
        _ => reasons.push(format!(
            "polymer branches keep their thickness between junctions (neck/node {}), and so do pore channels ({}): an isotropic three-dimensional network, both phases continuous",
            fmt_ratio(f.polymer_neck_to_node),
            fmt_ratio(f.pore_neck_to_node)
        )),
    }
    reasons.push(format!(
        "{:.0} % of the polymer and {:.0} % of the pore volume lie in one connected piece",
        100.0 * f.polymer_largest_fraction,
        100.0 * f.pore_largest_fraction
    ));
    if f.euler_density_polymer.is_finite() && f.euler_density_pore.is_finite() {
        let word = |d: f64| if d < -0.05 { "many loops (a network)" } else if d > 0.05 { "separate pieces" } else { "few loops" };
        reasons.push(format!(
            "Euler characteristic per typical feature volume: polymer {:+.2} ({}), pore {:+.2} ({})",
            f.euler_density_polymer,
            word(f.euler_density_polymer),
            f.euler_density_pore,
            word(f.euler_density_pore)
        ));
    }
    Structure { class, scores, reasons, features: f.clone() }
}
