//! Casting recipes: materials by name and weight fractions, turned into the
//! model's initial volume fractions with the densities in `data/materials.toml`.
//!
//! Only the polymer, one solvent and one non-solvent are modelled. Additives
//! (PVP, LiCl, ...) are recorded but not modelled: their weight is left out and the
//! three modelled components are renormalised. Their expected effect (seed 000:
//! PVP and LiCl raise the viscosity and the water affinity of the dope, making
//! pores larger and more connected) is therefore missing from the simulation.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The bundled materials file (literature values with sources: docs/materials.md).
pub const MATERIALS: &str = include_str!("../../data/materials.toml");

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecipe {
    pub polymer: String,
    pub solvent: String,
    pub nonsolvent: String,
    pub polymer_wt: f64,
    pub solvent_wt: f64,
    #[serde(default)]
    pub nonsolvent_wt: f64,
    /// Additives by name and weight; recorded, not modelled.
    #[serde(default)]
    pub additives_wt: BTreeMap<String, f64>,
}

/// A recipe resolved to volume fractions.
#[derive(Clone, Debug, Serialize)]
pub struct Recipe {
    pub polymer: String,
    pub solvent: String,
    pub nonsolvent: String,
    /// Weight fractions of the three modelled components (renormalised).
    pub weight_fractions: [f64; 3],
    /// Densities used, g/cm³ (polymer, solvent, non-solvent).
    pub densities_g_cm3: [f64; 3],
    /// Volume fractions (polymer, solvent, non-solvent).
    pub volume_fractions: [f64; 3],
    pub additives_wt_not_modelled: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
struct Entry {
    density_g_cm3: Option<f64>,
}

#[derive(Deserialize)]
struct Materials {
    #[serde(default)]
    polymers: BTreeMap<String, toml::Value>,
    #[serde(default)]
    solvents: BTreeMap<String, toml::Value>,
    #[serde(default)]
    nonsolvents: BTreeMap<String, toml::Value>,
}

/// Density of `name` in `table`, or a message naming what is allowed.
fn density(table: &BTreeMap<String, toml::Value>, name: &str, what: &str) -> Result<f64, String> {
    let v = table.get(name).ok_or_else(|| format!("unknown {what}; data/materials.toml has {:?}", table.keys().collect::<Vec<_>>()))?;
    let e: Entry = v.clone().try_into().map_err(|e| format!("data/materials.toml entry {name}: {e}"))?;
    e.density_g_cm3.filter(|d| *d > 0.0).ok_or_else(|| format!("data/materials.toml has no density_g_cm3 for {name}"))
}

/// Resolves a recipe; errors are (key, value, message).
pub fn resolve(r: &RawRecipe) -> Result<Recipe, (String, String, String)> {
    let m: Materials = toml::from_str(MATERIALS).map_err(|e| ("recipe".to_string(), "data/materials.toml".to_string(), e.to_string()))?;
    let bad = |k: &str, v: &str, msg: String| (format!("recipe.{k}"), v.to_string(), msg);
    let dp = density(&m.polymers, &r.polymer, "polymer").map_err(|e| bad("polymer", &format!("\"{}\"", r.polymer), e))?;
    let ds = density(&m.solvents, &r.solvent, "solvent").map_err(|e| bad("solvent", &format!("\"{}\"", r.solvent), e))?;
    let dn = density(&m.nonsolvents, &r.nonsolvent, "non-solvent").map_err(|e| bad("nonsolvent", &format!("\"{}\"", r.nonsolvent), e))?;
    for (k, v) in [("polymer_wt", r.polymer_wt), ("solvent_wt", r.solvent_wt), ("nonsolvent_wt", r.nonsolvent_wt)] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(bad(k, &v.to_string(), "must be a weight (any unit) >= 0".into()));
        }
    }
    if r.polymer_wt <= 0.0 || r.solvent_wt <= 0.0 {
        return Err(bad("polymer_wt", &r.polymer_wt.to_string(), "polymer and solvent weights must be > 0".into()));
    }
    let w = [r.polymer_wt, r.solvent_wt, r.nonsolvent_wt];
    let wsum: f64 = w.iter().sum();
    let d = [dp, ds, dn];
    let vol: Vec<f64> = w.iter().zip(&d).map(|(w, d)| w / d).collect();
    let vsum: f64 = vol.iter().sum();
    Ok(Recipe {
        polymer: r.polymer.clone(),
        solvent: r.solvent.clone(),
        nonsolvent: r.nonsolvent.clone(),
        weight_fractions: [w[0] / wsum, w[1] / wsum, w[2] / wsum],
        densities_g_cm3: d,
        volume_fractions: [vol[0] / vsum, vol[1] / vsum, vol[2] / vsum],
        additives_wt_not_modelled: r.additives_wt.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_000_example_1_dope_in_volume_fractions() {
        // 15 PSf / 70 NMP / 1.6 water (+ 15 PVP, 2 LiCl not modelled).
        let r = RawRecipe {
            polymer: "PSf".into(),
            solvent: "NMP".into(),
            nonsolvent: "water".into(),
            polymer_wt: 15.0,
            solvent_wt: 70.0,
            nonsolvent_wt: 1.6,
            additives_wt: [("PVP".to_string(), 15.0), ("LiCl".to_string(), 2.0)].into(),
        };
        let x = resolve(&r).unwrap();
        // By hand: 15/1.24 = 12.097, 70/1.028 = 68.093, 1.6/0.99705 = 1.605; sum 81.795.
        assert!((x.volume_fractions[0] - 12.097 / 81.795).abs() < 1e-4, "{:?}", x.volume_fractions);
        assert!((x.volume_fractions[2] - 1.605 / 81.795).abs() < 1e-4);
        assert!((x.volume_fractions.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(x.additives_wt_not_modelled.len(), 2);
    }

    #[test]
    fn unknown_material_names_what_exists() {
        let r = RawRecipe {
            polymer: "PTFE".into(),
            solvent: "NMP".into(),
            nonsolvent: "water".into(),
            polymer_wt: 1.0,
            solvent_wt: 1.0,
            nonsolvent_wt: 0.0,
            additives_wt: Default::default(),
        };
        let (key, _, msg) = resolve(&r).unwrap_err();
        assert_eq!(key, "recipe.polymer");
        assert!(msg.contains("PSf") && msg.contains("PVDF"), "{msg}");
    }
}
