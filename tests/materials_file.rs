//! Validation of `data/materials.toml`: every material the recipes can name has
//! the numbers the model needs, every number has its source next to it, and
//! every χ pair names materials that exist (or the model_* reference set).

use std::collections::BTreeSet;

fn file() -> toml::Table {
    phasecast::scene::recipe::MATERIALS.parse().expect("data/materials.toml is valid TOML")
}

const TABLES: [&str; 4] = ["polymers", "solvents", "nonsolvents", "diluents"];

#[test]
fn every_number_has_a_source() {
    let m = file();
    let mut checked = 0;
    for t in TABLES.iter().chain(["cooling"].iter()) {
        for (name, entry) in m[*t].as_table().unwrap() {
            let e = entry.as_table().unwrap();
            for (k, v) in e {
                if !(v.is_float() || v.is_integer()) || k.starts_with("hsp_") || k.starts_with("antoine_") {
                    continue;
                }
                checked += 1;
                let src = e.get(&format!("{k}_source")).and_then(|s| s.as_str());
                assert!(src.is_some_and(|s| !s.trim().is_empty()), "{t}.{name}.{k} has no {k}_source");
            }
            if e.keys().any(|k| k.starts_with("hsp_d")) {
                assert!(e.contains_key("hsp_source"), "{t}.{name}: Hansen parameters without hsp_source");
            }
            if e.keys().any(|k| k == "antoine_a") {
                assert!(e.contains_key("antoine_source") && e.contains_key("antoine_form"), "{t}.{name}: Antoine constants without form/source");
            }
        }
    }
    assert!(checked > 100, "only {checked} numbers checked");
}

#[test]
fn recipe_materials_have_density_and_molar_volume() {
    let m = file();
    for t in TABLES {
        for (name, entry) in m[t].as_table().unwrap() {
            let e = entry.as_table().unwrap();
            let num = |k: &str| e.get(k).and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)));
            let d = num("density_g_cm3").unwrap_or_else(|| panic!("{t}.{name}: no density_g_cm3"));
            assert!(d > 0.5 && d < 2.5, "{t}.{name}: density {d} g/cm³ is not a liquid or polymer density");
            let v = num("molar_volume_cm3_mol").unwrap_or_else(|| panic!("{t}.{name}: no molar_volume_cm3_mol"));
            if let Some(mm) = num("molar_mass_g_mol").or(num("mw_g_mol")) {
                let rel = (mm / d - v).abs() / v;
                assert!(rel < 0.06, "{t}.{name}: molar volume {v} differs from mass/density {} by {:.1} %", mm / d, 100.0 * rel);
            }
        }
    }
    // The list: four polymers, three NIPS solvents, two non-solvents.
    for (t, names) in [("polymers", &["PSf", "PES", "PVDF", "CA"][..]), ("solvents", &["NMP", "DMAc", "DMF"][..]), ("nonsolvents", &["water", "ethanol"][..])] {
        for n in names {
            assert!(m[t].as_table().unwrap().contains_key(*n), "data/materials.toml lacks {t}.{n}");
        }
    }
}

#[test]
fn chi_pairs_name_known_materials_and_a_valid_form() {
    let m = file();
    let mut known: BTreeSet<String> = BTreeSet::new();
    for t in TABLES {
        known.extend(m[t].as_table().unwrap().keys().cloned());
    }
    let chis = m["chi"].as_array().expect("[[chi]] list");
    assert!(chis.len() > 30);
    for c in chis {
        let c = c.as_table().unwrap();
        let pair: Vec<&str> = c["pair"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(pair.len(), 2);
        for p in &pair {
            assert!(known.contains(*p) || p.starts_with("model_"), "χ pair {pair:?}: {p} is not in the materials file");
        }
        let value = c["value"].as_float().or(c["value"].as_integer().map(|i| i as f64)).unwrap();
        assert!(value.is_finite() && value > -5.0 && value < 10.0, "χ {pair:?} = {value}");
        assert!(c.get("value_source").and_then(|s| s.as_str()).is_some_and(|s| !s.is_empty()), "χ {pair:?} has no value_source");
        let f = |k: &str| c.get(k).and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)));
        match c.get("form").and_then(|s| s.as_str()).unwrap_or("constant") {
            "constant" => {}
            "a + b/T" => {
                // The stated value is the form at 25 °C (or the stated temperature) to within rounding.
                let (a, b) = (f("a").unwrap(), f("b").unwrap());
                assert!(a.is_finite() && b.is_finite(), "{pair:?}");
            }
            "g(u2) = a + b*u2" => {
                let (a, b) = (f("a").unwrap(), f("b").unwrap());
                assert!((a + 0.5 * b - value).abs() < 0.01, "χ {pair:?}: value {value} is not g(0.5) = {}", a + 0.5 * b);
            }
            "g(u2) = c0 + c1*u2 + c2*u2^2 + c3*u2^3 + c4*u2^4" => {
                let g: f64 = (0..5).map(|k| f(&format!("c{k}")).unwrap() * 0.5f64.powi(k)).sum();
                assert!((g - value).abs() < 0.01, "χ {pair:?}: value {value} is not g(0.5) = {g}");
            }
            "g(u2) = alpha + beta/(1 - gamma*u2)" => {
                let g = f("alpha").unwrap() + f("beta").unwrap() / (1.0 - f("gamma").unwrap() * 0.5);
                assert!((g - value).abs() < 0.02, "χ {pair:?}: value {value} is not g(0.5) = {g}");
            }
            other => panic!("χ {pair:?}: unknown form {other:?}"),
        }
        if let Some(r) = c.get("range").and_then(|r| r.as_array()) {
            let lo = r[0].as_float().unwrap();
            let hi = r[1].as_float().unwrap();
            assert!(lo <= hi, "χ {pair:?} range");
        }
    }
}

#[test]
fn a_wrong_material_name_is_a_clear_error() {
    let r = phasecast::scene::recipe::RawRecipe {
        polymer: "PSf".into(),
        solvent: "NMP".into(),
        nonsolvent: "wter".into(),
        polymer_wt: 15.0,
        solvent_wt: 70.0,
        nonsolvent_wt: 1.0,
        additives_wt: Default::default(),
    };
    let (key, value, msg) = phasecast::scene::recipe::resolve(&r).unwrap_err();
    assert_eq!(key, "recipe.nonsolvent");
    assert!(value.contains("wter") && msg.contains("water") && msg.contains("ethanol"), "{msg}");
}
