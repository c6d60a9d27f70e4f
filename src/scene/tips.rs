//! Thermally induced phase separation (TIPS): the dissolution and cooling
//! recipe of a scene resolved into the thermal model's parameters.
//!
//! A scene turns the thermal model on with a `[crystallization]` table; the
//! recipe is `[dissolution]` (polymer, diluent, weights, dissolution
//! temperature Ts) and `[cooling]` (the medium at the top face, its
//! temperature, what touches the back face). Material data (χ(T), melting
//! point, heat of fusion, molar volumes, thermal properties, heat-transfer
//! coefficients) come from `data/materials.toml`; the model equations and
//! every scaling are in `docs/model.md` §7.
//!
//! Scalings that a scientist should know about (all logged and written to
//! run.json):
//! - the film is cooled as a whole: the simulated column is `film_thickness_um`
//!   thick in its heat balance (the Newton coefficient of its faces is scaled
//!   by the column-to-film thickness ratio), so a pore-scale column cools at the
//!   rate of the real film;
//! - the thermal diffusivity in model units is capped at `max_lewis` times the
//!   diluent mobility (the real ratio, ~10³, would need ~10³ times more explicit
//!   steps); temperature still relaxes `max_lewis` times faster than
//!   composition, and the face coefficient is scaled with the cap so that the
//!   heat flux out of the film is unchanged.

use super::SceneError;
use serde::{Deserialize, Serialize};

/// Gas constant, J/(mol·K).
const R: f64 = 8.314_462_618;
/// 0 °C in K.
pub const KELVIN: f64 = 273.15;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDissolution {
    pub polymer: Option<String>,
    pub diluent: String,
    pub polymer_wt: f64,
    pub diluent_wt: f64,
    /// Dissolution (or extrusion) temperature Ts, °C: the initial temperature.
    pub temperature_c: f64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCooling {
    /// Medium at the top face (z = 0): a liquid of data/materials.toml, "air"
    /// or "roll" (a chill roll or press plate).
    pub medium: String,
    /// Medium temperature, °C.
    pub temperature_c: f64,
    /// What touches the back face: "same" (the film is immersed; default),
    /// "insulated", or another medium name (at the same temperature).
    pub back: Option<String>,
    /// Heat-transfer coefficients, W/(m²·K) (default: from the medium's class).
    pub heat_transfer_w_m2_k: Option<f64>,
    pub back_heat_transfer_w_m2_k: Option<f64>,
    /// Thickness of the cast film whose heat the faces remove, µm (default:
    /// the simulated column).
    pub film_thickness_um: Option<f64>,
    /// Let the liquid medium exchange with the film's diluent through the faces
    /// it touches (default false): the medium enters in the non-solvent channel
    /// with its own χ, the diluent leaves, the polymer stays (docs/model.md §7).
    pub exchange: Option<bool>,
    /// Diluent already in the bath, volume fraction (default 0.01).
    pub bath_diluent_fraction: Option<f64>,
    /// How the column loses heat: "conducting" (default: Newton cooling through
    /// its z faces, conducted through the column) or "lumped" (the same heat
    /// drawn evenly from every voxel: a column much thinner than the film's
    /// thermal length, docs/model.md §7).
    pub column: Option<String>,
}

/// Diluent/medium exchange at the faces a liquid medium touches (`cooling.exchange`).
#[derive(Clone, Debug, Serialize)]
pub struct MediumExchange {
    pub medium: String,
    /// Exchange through the top face and through the back face.
    pub top: bool,
    pub back: bool,
    /// χ of the polymer with the medium, per diluent-sized lattice site:
    /// χ_ps(T) + delta_b_k / T (the fitted diluent χ plus the difference of the
    /// materials file's estimates for the medium and the diluent).
    pub delta_b_k: f64,
    /// χ_pn at the medium temperature (for the record).
    pub chi_pn_at_medium: f64,
    /// χ of the diluent with the medium per diluent site, from Hansen solubility
    /// parameters at the medium temperature: V₁ Ra² / (4 R T).
    pub chi_sn: f64,
    /// Bath composition (φ_p, φ_n): medium with a little diluent.
    pub bath: [f64; 2],
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCrystallization {
    /// χ_PD(T) = chi_a + chi_b_k / T (default: the materials file's value for
    /// the pair, plus `chi_shift`).
    pub chi_a: Option<f64>,
    pub chi_b_k: Option<f64>,
    /// Added to the materials file's χ_a (the one global χ calibration).
    pub chi_shift: Option<f64>,
    /// Melting point of the pure polymer Tm0 in the Flory relation, °C.
    pub melting_point_c: Option<f64>,
    /// Double-well barrier of the crystallinity field, kT per site.
    pub barrier_kt: Option<f64>,
    /// Gradient coefficient of the crystallinity field (model units).
    pub kappa_psi: Option<f64>,
    /// Allen–Cahn mobility of the crystallinity field, per model time.
    pub mobility: Option<f64>,
    /// Crystallinity at which the mobility drops (gelation) and by how much.
    pub gel_crystallinity: Option<f64>,
    pub gel_factor: Option<f64>,
    pub gel_width: Option<f64>,
    /// Residual-crystal (seed) density per µm³ when Ts lies
    /// `seed_reference_superheat_k` above the solution's melting point
    /// T_m(φ_P) (Flory); it rises as exp((reference − superheat) / seed_decay_k)
    /// and is zero when Ts is more than `seed_vanish_superheat_k` above T_m.
    pub seed_density_per_um3: Option<f64>,
    pub seed_reference_superheat_k: Option<f64>,
    pub seed_decay_k: Option<f64>,
    pub seed_vanish_superheat_k: Option<f64>,
    /// Undercooling at which a seed starts a crystal, K.
    pub seed_undercooling_k: Option<f64>,
    /// Thermal (sporadic) nucleation rate I = I0 φ_p exp(−K / (T ΔT²)).
    pub nucleation_rate_per_um3_s: Option<f64>,
    pub nucleation_barrier_k3: Option<f64>,
    /// Volume fraction of cooling medium taken up by the layer that touches it
    /// (scales the medium's melting-point depression at the surface).
    pub medium_uptake: Option<f64>,
    /// Cap on the thermal diffusivity in units of the diluent mobility.
    pub max_lewis: Option<f64>,
    /// Let a temperature gradient alone drive a mass flux through the χ(T) and
    /// crystal-drive terms (thermodiffusion, default false: the flux follows the
    /// isothermal potential difference; see docs/model.md §7).
    pub soret: Option<bool>,
}

/// One face's cooling.
#[derive(Clone, Debug, Serialize)]
pub struct FaceCooling {
    pub medium: String,
    pub temperature_c: f64,
    /// W/(m²·K); 0 = insulated.
    pub heat_transfer_w_m2_k: f64,
    /// χ of the polymer with the medium at the medium temperature (None: air/insulated).
    pub chi_medium: Option<f64>,
    /// Medium taken up by the touching layer (swelling equilibrium, capped).
    pub uptake: f64,
    /// Shift of 1/Tm in the touching voxel layer, 1/K (> 0 depresses Tm).
    pub inv_tm_shift_per_k: f64,
    /// The same as a melting-point change at the polymer's Tm, K (< 0: depressed).
    pub melting_point_change_k: f64,
}

/// The thermal model of a scene, in physical units (model units where named).
#[derive(Clone, Debug, Serialize)]
pub struct Thermal {
    pub polymer: String,
    pub diluent: String,
    pub weight_fractions: [f64; 2],
    pub volume_fraction_polymer: f64,
    pub dissolution_temperature_c: f64,
    pub chi_a: f64,
    pub chi_b_k: f64,
    pub melting_point_c: f64,
    /// L = ΔH_u V_1 / (V_u R), K: crystallization free energy per site is L (1/Tm − 1/T) kT.
    pub latent_k: f64,
    pub barrier_kt: f64,
    pub kappa_psi: f64,
    pub mobility: f64,
    pub gel_crystallinity: f64,
    pub gel_factor: f64,
    pub gel_width: f64,
    pub seed_density_per_um3: f64,
    /// Flory melting point of the cast solution, °C (seeds follow Ts − this).
    pub solution_melting_point_c: f64,
    pub seed_law: String,
    pub seed_undercooling_k: f64,
    pub nucleation_rate_per_um3_s: f64,
    pub nucleation_barrier_k3: f64,
    /// Film heat properties.
    pub conductivity_w_m_k: f64,
    pub rho_cp_j_m3_k: f64,
    pub diffusivity_m2_s: f64,
    /// Temperature rise per unit of crystallized polymer volume fraction, K.
    pub latent_rise_k: f64,
    pub film_thickness_um: f64,
    pub max_lewis: f64,
    /// Thermodiffusion through χ(T) on (true) or taken out of the mass flux.
    pub soret: bool,
    /// `cooling.column = "lumped"`.
    pub lumped: bool,
    /// Medium/diluent exchange at the faces (None: the faces pass no mass).
    pub exchange: Option<MediumExchange>,
    pub top: FaceCooling,
    pub back: FaceCooling,
}

/// Kernel-ready values (model units) computed by `Config::params`.
pub struct ThermalModelUnits {
    pub alpha: f64,
    pub alpha_capped: bool,
    pub beta_top: f64,
    pub beta_back: f64,
}

fn materials() -> toml::Table {
    super::recipe::MATERIALS.parse().expect("data/materials.toml parses (checked by tests)")
}

/// Looks `name` up among the polymers, diluents, solvents and non-solvents.
fn entry<'a>(m: &'a toml::Table, name: &str) -> Option<&'a toml::Table> {
    ["polymers", "diluents", "solvents", "nonsolvents"].iter().find_map(|k| m.get(*k)?.as_table()?.get(name)?.as_table())
}

fn num(t: &toml::Table, key: &str) -> Option<f64> {
    t.get(key).and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
}

/// χ(T) = a + b/T of a pair from the [[chi]] list: (a, b).
fn chi_pair(m: &toml::Table, a: &str, b: &str) -> Option<(f64, f64)> {
    let list = m.get("chi")?.as_array()?;
    list.iter().filter_map(|v| v.as_table()).find_map(|t| {
        let pair = t.get("pair")?.as_array()?;
        let names: Vec<&str> = pair.iter().filter_map(|v| v.as_str()).collect();
        if !(names == [a, b] || names == [b, a]) {
            return None;
        }
        match t.get("form").and_then(|f| f.as_str()) {
            Some("a + b/T") => Some((num(t, "a")?, num(t, "b")?)),
            None => Some((num(t, "value")?, 0.0)),
            _ => None,
        }
    })
}

/// Medium taken up by a polymer layer from a liquid with interaction χ:
/// Flory–Huggins swelling equilibrium ln φ + (1 − φ) + χ(1 − φ)² = 0 of an
/// uncrosslinked amorphous network (N → ∞), capped at `cap` (χ ≤ ½ means
/// complete miscibility: the cap applies).
pub fn swelling_uptake(chi: f64, cap: f64) -> f64 {
    if chi <= 0.5 {
        return cap;
    }
    let f = |p: f64| p.ln() + (1.0 - p) + chi * (1.0 - p) * (1.0 - p);
    // f < 0 for small φ and changes sign once below 1 when χ > ½.
    let (mut lo, mut hi) = (1e-12, 1.0 - 1e-9);
    if f(hi) <= 0.0 {
        return cap;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo.min(cap)
}

/// Flory's melting point of a polymer with a diluent of volume fraction `phi1`:
/// 1/Tm = 1/Tm0 + (R/ΔHu)(Vu/V1)(φ1 − χφ1²) (Flory, Principles of Polymer
/// Chemistry, 1953, ch. XIII). Temperatures in K.
pub fn flory_melting_point(tm0_k: f64, dhu_j_mol: f64, vu: f64, v1: f64, chi: f64, phi1: f64) -> f64 {
    1.0 / (1.0 / tm0_k + R / dhu_j_mol * vu / v1 * (phi1 - chi * phi1 * phi1))
}

pub(super) struct Ctx<'a> {
    pub file: &'a str,
}

impl Ctx<'_> {
    fn bad(&self, key: &str, value: impl std::fmt::Display, allowed: &str) -> SceneError {
        SceneError::Invalid { file: self.file.into(), key: key.into(), value: value.to_string(), allowed: allowed.into() }
    }
    fn range(&self, key: &str, v: f64, lo: f64, hi: f64) -> Result<f64, SceneError> {
        if !v.is_finite() || v < lo || v > hi {
            return Err(self.bad(key, v, &format!("must be from {lo} to {hi}")));
        }
        Ok(v)
    }
}

/// The polymer's melting data the media's melting-point depression needs.
struct Fusion<'a> {
    polymer: &'a str,
    tm0_k: f64,
    /// Heat of fusion per mole of repeat units, J/mol.
    dhu: f64,
    /// Molar volume of the repeat unit, cm³/mol.
    vu: f64,
    /// Cap on the medium taken up by the touching layer.
    uptake_cap: f64,
}

fn face(c: &Ctx, m: &toml::Table, key: &str, medium: &str, temperature_c: f64, h_override: Option<f64>, f: &Fusion) -> Result<FaceCooling, SceneError> {
    let Fusion { polymer, tm0_k, dhu, vu, uptake_cap } = *f;
    if medium == "insulated" {
        return Ok(FaceCooling {
            medium: medium.into(),
            temperature_c,
            heat_transfer_w_m2_k: 0.0,
            chi_medium: None,
            uptake: 0.0,
            inv_tm_shift_per_k: 0.0,
            melting_point_change_k: 0.0,
        });
    }
    let cooling = m.get("cooling").and_then(|v| v.as_table());
    let class_h = |class: &str| cooling.and_then(|t| t.get(class)).and_then(|v| v.as_table()).and_then(|t| num(t, "heat_transfer_coefficient_w_m2_k"));
    let (h_default, chi, v1) = if medium == "air" {
        (class_h("air_forced_1m_s").unwrap_or(30.0), None, None)
    } else if medium == "roll" {
        // A chill roll or press plate: contact conduction, no liquid to take up.
        (class_h("roll_contact").unwrap_or(1000.0), None, None)
    } else {
        let e = entry(m, medium).ok_or_else(|| {
            let mut names: Vec<String> = ["diluents", "nonsolvents"]
                .iter()
                .filter_map(|k| m.get(*k).and_then(|v| v.as_table()))
                .flat_map(|t| t.keys().cloned())
                .collect();
            names.push("air".into());
            names.push("roll".into());
            names.push("insulated".into());
            c.bad(key, format!("\"{medium}\""), &format!("a cooling medium of data/materials.toml: {names:?}"))
        })?;
        let v1 = num(e, "molar_volume_cm3_mol").ok_or_else(|| c.bad(key, format!("\"{medium}\""), "has no molar_volume_cm3_mol in data/materials.toml"))?;
        let (a, b) = chi_pair(m, polymer, medium)
            .ok_or_else(|| c.bad(key, format!("\"{medium}\""), &format!("has no χ with {polymer} in data/materials.toml ([[chi]] pair)")))?;
        let class = if medium == "water" { "water_bath" } else { "organic_bath" };
        (class_h(class).unwrap_or(300.0), Some(a + b / (temperature_c + KELVIN)), Some(v1))
    };
    let h = match h_override {
        Some(h) => c.range(&format!("{key} heat transfer"), h, 0.0, 1e6)?,
        None => h_default,
    };
    let (uptake, shift, dtm) = match (chi, v1) {
        (Some(chi), Some(v1)) => {
            // A measured uptake of the medium by the polymer, where the materials
            // file has one, beats the swelling-equilibrium estimate from χ.
            let measured = entry(&m, medium).and_then(|e| num(e, &format!("uptake_in_{polymer}_volume_fraction")));
            let u = measured.unwrap_or_else(|| swelling_uptake(chi, uptake_cap)).min(uptake_cap);
            let shift = R / dhu * vu / v1 * (u - chi * u * u);
            (u, shift, 1.0 / (1.0 / tm0_k + shift) - tm0_k)
        }
        _ => (0.0, 0.0, 0.0),
    };
    Ok(FaceCooling { medium: medium.into(), temperature_c, heat_transfer_w_m2_k: h, chi_medium: chi, uptake, inv_tm_shift_per_k: shift, melting_point_change_k: dtm })
}

/// Resolves the TIPS tables. `column_um` is the simulated thickness (nz × voxel).
pub(super) fn resolve(
    file: &str,
    dis: Option<&RawDissolution>,
    cool: Option<&RawCooling>,
    cr: &RawCrystallization,
    column_um: f64,
) -> Result<Thermal, SceneError> {
    let c = Ctx { file };
    let m = materials();
    let dis = dis.ok_or_else(|| c.bad("dissolution", "(missing)", "a [crystallization] scene needs [dissolution] with diluent, polymer_wt, diluent_wt and temperature_c"))?;
    let cool = cool.ok_or_else(|| c.bad("cooling", "(missing)", "a [crystallization] scene needs [cooling] with medium and temperature_c"))?;
    let polymer = dis.polymer.clone().unwrap_or_else(|| "PVDF".into());
    let pe = m
        .get("polymers")
        .and_then(|v| v.as_table())
        .and_then(|t| t.get(&polymer))
        .and_then(|v| v.as_table())
        .ok_or_else(|| c.bad("dissolution.polymer", format!("\"{polymer}\""), "a polymer of data/materials.toml"))?;
    let need = |t: &toml::Table, k: &str, what: &str| num(t, k).ok_or_else(|| c.bad(what, k, "missing from data/materials.toml"));
    let de = m
        .get("diluents")
        .and_then(|v| v.as_table())
        .and_then(|t| t.get(&dis.diluent))
        .and_then(|v| v.as_table())
        .ok_or_else(|| {
            let names: Vec<String> = m.get("diluents").and_then(|v| v.as_table()).map(|t| t.keys().cloned().collect()).unwrap_or_default();
            c.bad("dissolution.diluent", format!("\"{}\"", dis.diluent), &format!("a diluent of data/materials.toml: {names:?}"))
        })?;
    let wp = c.range("dissolution.polymer_wt", dis.polymer_wt, 0.0, 1e6)?;
    let wd = c.range("dissolution.diluent_wt", dis.diluent_wt, 0.0, 1e6)?;
    if wp + wd <= 0.0 {
        return Err(c.bad("dissolution.polymer_wt", wp, "polymer_wt + diluent_wt must be positive"));
    }
    let ts = c.range("dissolution.temperature_c", dis.temperature_c, 0.0, 400.0)?;
    let rho_p = need(pe, "density_g_cm3", "dissolution.polymer")?;
    let rho_d = need(de, "density_g_cm3", "dissolution.diluent")?;
    let phi_p = (wp / rho_p) / (wp / rho_p + wd / rho_d);
    let (ma, mb) = chi_pair(&m, &polymer, &dis.diluent).ok_or_else(|| c.bad("dissolution.diluent", format!("\"{}\"", dis.diluent), &format!("has no χ with {polymer} in data/materials.toml")))?;
    let chi_a = cr.chi_a.unwrap_or(ma) + cr.chi_shift.unwrap_or(0.0);
    let chi_b = cr.chi_b_k.unwrap_or(mb);
    let tm0 = c.range("crystallization.melting_point_c", cr.melting_point_c.unwrap_or(num(pe, "melting_point_c").unwrap_or(170.0)), -50.0, 400.0)?;
    let dhu_j_g = need(pe, "heat_of_fusion_j_g", "dissolution.polymer")?;
    let ru = need(pe, "repeat_unit_g_mol", "dissolution.polymer")?;
    let vu = need(pe, "repeat_unit_molar_volume_cm3_mol", "dissolution.polymer")?;
    let v1 = need(de, "molar_volume_cm3_mol", "dissolution.diluent")?;
    let dhu = dhu_j_g * ru;
    let latent_k = dhu * v1 / (vu * R);
    // The solution's melting point (Flory, with χ at T_m itself).
    let mut tm_sol = tm0 + KELVIN;
    for _ in 0..100 {
        tm_sol = flory_melting_point(tm0 + KELVIN, dhu, vu, v1, chi_a + chi_b / tm_sol, 1.0 - phi_p);
    }
    let superheat = ts + KELVIN - tm_sol;
    let sh_ref = c.range("crystallization.seed_reference_superheat_k", cr.seed_reference_superheat_k.unwrap_or(0.0), -200.0, 200.0)?;
    let sh_vanish = c.range("crystallization.seed_vanish_superheat_k", cr.seed_vanish_superheat_k.unwrap_or(25.0), -200.0, 400.0)?;
    let seed_decay = c.range("crystallization.seed_decay_k", cr.seed_decay_k.unwrap_or(5.0), 0.1, 100.0)?;
    let seed0 = c.range("crystallization.seed_density_per_um3", cr.seed_density_per_um3.unwrap_or(0.0), 0.0, 1e9)?;
    let seed_density = if superheat >= sh_vanish { 0.0 } else { seed0 * ((sh_ref - superheat) / seed_decay).exp() };
    // Film heat properties: volume-weighted conductivity and heat capacity.
    let kp = num(pe, "thermal_conductivity_w_m_k").unwrap_or(0.19);
    let kd = num(de, "thermal_conductivity_w_m_k").unwrap_or(0.15);
    let cpp = num(pe, "heat_capacity_j_g_k").unwrap_or(1.2);
    let cpd = num(de, "heat_capacity_j_g_k").unwrap_or(1.7);
    let k = phi_p * kp + (1.0 - phi_p) * kd;
    let rho_cp = (phi_p * rho_p * cpp + (1.0 - phi_p) * rho_d * cpd) * 1e6;
    let latent_rise_k = rho_p * 1e6 * dhu_j_g / rho_cp;
    let uptake_cap = c.range("crystallization.medium_uptake", cr.medium_uptake.unwrap_or(0.3), 0.0, 1.0)?;
    let tm0_k = tm0 + KELVIN;
    let tmed = c.range("cooling.temperature_c", cool.temperature_c, -100.0, 400.0)?;
    let fusion = Fusion { polymer: &polymer, tm0_k, dhu, vu, uptake_cap };
    let top = face(&c, &m, "cooling.medium", &cool.medium, tmed, cool.heat_transfer_w_m2_k, &fusion)?;
    let back_name = match cool.back.as_deref() {
        None | Some("same") => cool.medium.clone(),
        Some(b) => b.to_string(),
    };
    let back = face(&c, &m, "cooling.back", &back_name, tmed, cool.back_heat_transfer_w_m2_k.or(cool.heat_transfer_w_m2_k), &fusion)?;
    let exchange = if cool.exchange.unwrap_or(false) {
        let liquid = |f: &FaceCooling| f.chi_medium.is_some();
        let (top_x, back_x) = (liquid(&top), liquid(&back) && back.medium == top.medium);
        if liquid(&back) && back.medium != top.medium && liquid(&top) {
            return Err(c.bad("cooling.exchange", "true", &format!("exchange needs one liquid medium; the faces touch {} and {}", top.medium, back.medium)));
        }
        let medium = if top_x { top.medium.clone() } else { back.medium.clone() };
        if !top_x && !liquid(&back) {
            return Err(c.bad("cooling.exchange", "true", &format!("needs a liquid medium on a face; the faces touch {} and {}", top.medium, back.medium)));
        }
        let me = entry(&m, &medium).expect("a liquid face medium is in the materials file");
        let vm = num(me, "molar_volume_cm3_mol").expect("checked by face()");
        let (am, bm) = chi_pair(&m, &polymer, &medium).expect("checked by face()");
        let (ad, bd) = (ma, mb);
        let tk = tmed + KELVIN;
        // Per diluent-sized site: χ scales with the site volume.
        let r = v1 / vm;
        let delta_b_k = (bm * r - bd) + (am * r - ad) * tk;
        let hsp = |e: &toml::Table, name: &str| -> Result<[f64; 3], SceneError> {
            let g = |k: &str| num(e, k).ok_or_else(|| c.bad("cooling.exchange", "true", &format!("{name} has no {k} in data/materials.toml (Hansen parameters give the diluent–medium χ)")));
            Ok([g("hsp_d")?, g("hsp_p")?, g("hsp_h")?])
        };
        let (hd, hm) = (hsp(de, &dis.diluent)?, hsp(me, &medium)?);
        let ra2 = 4.0 * (hd[0] - hm[0]).powi(2) + (hd[1] - hm[1]).powi(2) + (hd[2] - hm[2]).powi(2);
        let chi_sn = if medium == dis.diluent { 0.0 } else { v1 * ra2 / (4.0 * R * tk) };
        let xb = c.range("cooling.bath_diluent_fraction", cool.bath_diluent_fraction.unwrap_or(0.01), 1e-4, 0.5)?;
        Some(MediumExchange {
            medium,
            top: top_x,
            back: back_x || (!top_x && liquid(&back)),
            delta_b_k,
            chi_pn_at_medium: chi_a + chi_b / tk + delta_b_k / tk,
            chi_sn,
            bath: [0.0, 1.0 - xb],
        })
    } else {
        None
    };
    let film = match cool.film_thickness_um {
        Some(f) => c.range("cooling.film_thickness_um", f, column_um, 1e6)?,
        None => column_um,
    };
    Ok(Thermal {
        polymer,
        diluent: dis.diluent.clone(),
        weight_fractions: [wp / (wp + wd), wd / (wp + wd)],
        volume_fraction_polymer: phi_p,
        dissolution_temperature_c: ts,
        chi_a,
        chi_b_k: chi_b,
        melting_point_c: tm0,
        latent_k,
        barrier_kt: c.range("crystallization.barrier_kt", cr.barrier_kt.unwrap_or(1.0), 0.0, 1e3)?,
        kappa_psi: c.range("crystallization.kappa_psi", cr.kappa_psi.unwrap_or(1.0), 0.0, 1e6)?,
        mobility: c.range("crystallization.mobility", cr.mobility.unwrap_or(1.0), 0.0, 1e9)?,
        gel_crystallinity: c.range("crystallization.gel_crystallinity", cr.gel_crystallinity.unwrap_or(0.5), 0.0, 1.0)?,
        gel_factor: c.range("crystallization.gel_factor", cr.gel_factor.unwrap_or(1e-3), 0.0, 1.0)?,
        gel_width: c.range("crystallization.gel_width", cr.gel_width.unwrap_or(0.05), 1e-4, 1.0)?,
        seed_density_per_um3: seed_density,
        solution_melting_point_c: tm_sol - KELVIN,
        seed_law: format!(
            "n(Ts) = {seed0:.4e} µm⁻³ · exp(({sh_ref} K − (Ts − Tm)) / {seed_decay} K) for Ts − Tm < {sh_vanish} K (residual crystals vanish above), else 0; Tm = {:.2} °C is the solution's Flory melting point",
            tm_sol - KELVIN
        ),
        seed_undercooling_k: c.range("crystallization.seed_undercooling_k", cr.seed_undercooling_k.unwrap_or(2.0), 0.0, 200.0)?,
        nucleation_rate_per_um3_s: c.range("crystallization.nucleation_rate_per_um3_s", cr.nucleation_rate_per_um3_s.unwrap_or(0.0), 0.0, 1e30)?,
        nucleation_barrier_k3: c.range("crystallization.nucleation_barrier_k3", cr.nucleation_barrier_k3.unwrap_or(1e6), 0.0, 1e15)?,
        conductivity_w_m_k: k,
        rho_cp_j_m3_k: rho_cp,
        diffusivity_m2_s: k / rho_cp,
        latent_rise_k,
        film_thickness_um: film,
        max_lewis: c.range("crystallization.max_lewis", cr.max_lewis.unwrap_or(20.0), 1.0, 1e6)?,
        soret: cr.soret.unwrap_or(false),
        lumped: match cool.column.as_deref().unwrap_or("conducting") {
            "conducting" => false,
            "lumped" => true,
            other => return Err(c.bad("cooling.column", format!("\"{other}\""), "must be \"conducting\" or \"lumped\"")),
        },
        exchange,
        top,
        back,
    })
}

impl Thermal {
    /// Model-unit heat parameters for a grid spacing `h_model`, `length_um`
    /// and `time_s` per model unit, `column_um` simulated thickness and the
    /// diluent mobility `d_solvent` (model units).
    pub fn model_units(&self, h_model: f64, length_um: f64, time_s: f64, column_um: f64, d_solvent: f64) -> ThermalModelUnits {
        let alpha_phys = self.diffusivity_m2_s * time_s / (length_um * 1e-6).powi(2);
        let cap = self.max_lewis * d_solvent;
        let (alpha, capped) = if alpha_phys > cap { (cap, true) } else { (alpha_phys, false) };
        // Conductivity in the model scales with the diffusivity (rho c_p kept),
        // and the column stands for the whole film's heat capacity.
        let k_eff = self.conductivity_w_m_k * alpha / alpha_phys;
        let scale = column_um / self.film_thickness_um;
        let beta = |h: f64| {
            let g = h / k_eff * scale * length_um * 1e-6; // per model length
            let hg = h_model * g;
            hg / (1.0 + 0.5 * hg)
        };
        ThermalModelUnits { alpha, alpha_capped: capped, beta_top: beta(self.top.heat_transfer_w_m2_k), beta_back: beta(self.back.heat_transfer_w_m2_k) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swelling_uptake_solves_the_flory_huggins_equilibrium() {
        for chi in [0.8, 1.2, 2.0, 3.0] {
            let p = swelling_uptake(chi, 1.0);
            let f = p.ln() + (1.0 - p) + chi * (1.0 - p) * (1.0 - p);
            assert!(f.abs() < 1e-9, "χ {chi}: φ {p}, residual {f}");
        }
        // Larger χ, less uptake.
        assert!(swelling_uptake(3.0, 1.0) < swelling_uptake(1.0, 1.0));
        assert_eq!(swelling_uptake(0.3, 0.25), 0.25);
    }

    #[test]
    fn flory_relation_depresses_the_melting_point() {
        // PVDF-like numbers: a good diluent depresses Tm, more with more diluent.
        let t1 = flory_melting_point(443.15, 6700.0, 36.0, 198.8, 0.6, 0.3);
        let t2 = flory_melting_point(443.15, 6700.0, 36.0, 198.8, 0.6, 0.6);
        assert!(t1 < 443.15 && t2 < t1, "{t1} {t2}");
    }
}
