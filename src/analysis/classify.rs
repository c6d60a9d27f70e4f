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
    /// Pore network of each phase: median throat/body radius ratio over the
    /// throats between two bodies, and mean coordination number.
    pub pore_throat_to_body: f64,
    pub polymer_throat_to_body: f64,
    pub pore_coordination: f64,
    pub polymer_coordination: f64,
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
            pore_throat_to_body: r.network.pore.throat_to_body_median,
            polymer_throat_to_body: r.network.polymer.throat_to_body_median,
            pore_coordination: r.network.pore.coordination,
            polymer_coordination: r.network.polymer.coordination,
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

/// windows(q): 1 when the network's throats are much narrower than its bodies; an
/// unknown ratio (no throat between two bodies) is undecided (0.5).
fn windows(q: f64) -> f64 {
    if q.is_finite() {
        1.0 - ramp(q, 0.6, 0.8)
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
    let bp = (thin(f.polymer_neck_to_node) + bodies(f.euler_density_polymer) + windows(f.polymer_throat_to_body)) / 3.0;
    let bv = (thin(f.pore_neck_to_node) + bodies(f.euler_density_pore) + windows(f.pore_throat_to_body)) / 3.0;
    let mut scores = std::collections::BTreeMap::new();
    scores.insert("non_porous".to_string(), np);
    scores.insert("spherical_particle".to_string(), open * bp);
    scores.insert("cellular".to_string(), open * bv);
    scores.insert("percolation".to_string(), open * (1.0 - bp.max(bv)));
    // Highest score. A tie (within 1e-9) is broken by the pore network alone (the
    // same rules with body = windows(q)); if that ties too, the order percolation,
    // spherical_particle, cellular, non_porous decides, and the reasons say so.
    let (wp, wv) = (windows(f.polymer_throat_to_body), windows(f.pore_throat_to_body));
    let network_only = |k: &str| match k {
        "non_porous" => np,
        "spherical_particle" => open * wp,
        "cellular" => open * wv,
        _ => open * (1.0 - wp.max(wv)),
    };
    let order = ["percolation", "spherical_particle", "cellular", "non_porous"];
    let best = order.iter().map(|k| scores[*k]).fold(f64::NEG_INFINITY, f64::max);
    let tied: Vec<&str> = order.iter().copied().filter(|k| best - scores[*k] <= 1e-9).collect();
    let mut reasons = Vec::new();
    let class = if tied.len() == 1 {
        tied[0].to_string()
    } else {
        let b2 = tied.iter().map(|k| network_only(k)).fold(f64::NEG_INFINITY, f64::max);
        let still: Vec<&str> = tied.iter().copied().filter(|k| b2 - network_only(k) <= 1e-9).collect();
        let list = tied.iter().map(|k| format!("{k} {:.2}", scores[*k])).collect::<Vec<_>>().join(", ");
        if still.len() == 1 {
            reasons.push(format!(
                "the scores tie ({list}); the pore network decides: throat/body ratio {} in the pore space and {} in the polymer gives {} {:.2}",
                fmt_ratio(f.pore_throat_to_body),
                fmt_ratio(f.polymer_throat_to_body),
                still[0],
                network_only(still[0])
            ));
        } else {
            reasons.push(format!(
                "the scores tie ({list}) and the pore network does not separate them either; {} is reported by the fixed order percolation, spherical_particle, cellular, non_porous",
                still[0]
            ));
        }
        still[0].to_string()
    };

    let mut ranked: Vec<(&String, &f64)> = scores.iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(a.1));
    if ranked.len() > 1 && ranked[0].1 - ranked[1].1 < 0.1 && tied.len() == 1 {
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
    if f.pore_throat_to_body.is_finite() || f.polymer_throat_to_body.is_finite() {
        reasons.push(format!(
            "pore network: throats are {}× the bodies they join in the pore space (coordination {:.1}) and {}× in the polymer (coordination {:.1})",
            fmt_ratio(f.pore_throat_to_body),
            f.pore_coordination,
            fmt_ratio(f.polymer_throat_to_body),
            f.polymer_coordination
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn open_features() -> Features {
        Features {
            porosity: 0.5,
            through_pore_fraction: 1.0,
            pore_largest_fraction: 1.0,
            polymer_largest_fraction: 1.0,
            polymer_neck_to_node: 1.0,
            pore_neck_to_node: 0.4,
            euler_density_pore: -1.7,
            euler_density_polymer: -0.5,
            closed_pore_sphericity: f64::NAN,
            closed_pore_share: 0.0,
            pore_throat_to_body: 0.8,
            polymer_throat_to_body: 0.9,
            pore_coordination: 4.0,
            polymer_coordination: 4.0,
        }
    }

    #[test]
    fn a_tie_is_broken_by_the_network_and_said_so() {
        // body(pore) = (1 + 0.5 + 0)/3 = 0.5, body(polymer) = 0: cellular 0.5 = percolation 0.5.
        let f = open_features();
        let s = classify(&f);
        assert!((s.scores["cellular"] - 0.5).abs() < 1e-12 && (s.scores["percolation"] - 0.5).abs() < 1e-12, "{:?}", s.scores);
        assert_eq!(s.class, "percolation");
        assert!(s.reasons[0].contains("tie") && s.reasons[0].contains("pore network decides"), "{:?}", s.reasons);
        // Narrow windows turn the same skeleton and Euler figures into cells.
        let cells = classify(&Features { pore_throat_to_body: 0.4, ..f.clone() });
        assert_eq!(cells.class, "cellular");
        assert!(cells.scores["cellular"] > cells.scores["percolation"] + 0.1);
    }

    #[test]
    fn an_unresolvable_tie_names_the_rule_that_decided() {
        // No network figure for the pore space: windows undecided (0.5); a
        // skeleton ratio of 1 and no loops make body(pore) = (0 + 1 + 0.5)/3 …
        let f = Features {
            pore_neck_to_node: 0.4,
            euler_density_pore: -1.2,
            pore_throat_to_body: f64::NAN,
            ..open_features()
        };
        let s = classify(&f);
        assert!((s.scores["cellular"] - 0.5).abs() < 1e-12, "{:?}", s.scores);
        assert_eq!(s.class, "percolation");
        assert!(s.reasons[0].contains("does not separate them"), "{:?}", s.reasons);
    }
}
