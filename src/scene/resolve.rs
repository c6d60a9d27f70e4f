//! Validation of a raw scene into a resolved [`Config`] in physical units.

use super::raw::*;
use super::SceneError;
use crate::solver::params::*;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Grid {
    pub nx: usize,
    pub ny: usize,
    pub nz: usize,
    pub voxel_um: f64,
}

impl Grid {
    /// `[nz, ny, nx]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.nz, self.ny, self.nx]
    }
    pub fn voxels(&self) -> usize {
        self.nx * self.ny * self.nz
    }
    /// Number of axes with more than one voxel.
    pub fn dim(&self) -> u32 {
        [self.nx, self.ny, self.nz].iter().filter(|&&n| n > 1).count() as u32
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Units {
    /// Model length unit in µm.
    pub length_um: f64,
    /// Model time unit in s.
    pub time_s: f64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Model {
    Ternary { n_polymer: f64, chi_ps: f64, chi_pn: f64, chi_sn: f64, kappa_p: f64, kappa_n: f64, phi_min: f64 },
    DoubleWell { rho: f64, alpha: f64, beta: f64, kappa: f64, mobility: f64 },
}

#[derive(Clone, Debug, Serialize)]
pub struct Mobility {
    pub model: String,
    pub d_polymer: f64,
    pub d_solvent: f64,
    pub d_nonsolvent: f64,
    pub vitrification_phi: f64,
    pub vitrification_factor: f64,
    pub vitrification_width: f64,
    /// "mean": the mean of both voxels' mobility matrices; "harmonic": the slow-mode
    /// matrix at the harmonic-mean composition of the face (vanishes where either
    /// side has none of a component, so a depleted voxel is not drained below 0).
    pub face: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Initial {
    Uniform { phi_p: f64, phi_n: f64, noise: f64, seed: u64 },
    PfhubBm1,
}

#[derive(Clone, Debug, Serialize)]
pub struct Noise {
    pub amplitude: f64,
    pub seed: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct TimeControl {
    pub dt_s: Option<f64>,
    pub safety: f64,
    pub reduce_every: u64,
    pub mass_tolerance: f64,
    pub scheme: Scheme,
    /// Semi-implicit: the local error per step the adaptive step aims at
    /// (½ rms of the change of the composition increments, docs/model.md).
    pub tolerance: f64,
}

/// Time integration scheme (`time.scheme`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// Forward Euler at or below the stability bound.
    Explicit,
    /// Linearly stabilised semi-implicit steps with an adaptive, error-controlled dt.
    SemiImplicit,
}

/// The default `time.tolerance` (measured on PFHub 1a, docs/validation.md §1).
pub const DEFAULT_TOLERANCE: f64 = 1e-4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bc {
    Periodic,
    NoFlux,
    Reservoir,
    Vapor,
}

impl Bc {
    pub fn code(self) -> u32 {
        match self {
            Bc::Periodic => BC_PERIODIC,
            Bc::NoFlux => BC_NO_FLUX,
            Bc::Reservoir => BC_RESERVOIR,
            Bc::Vapor => BC_VAPOR,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    pub kind: String,
    pub duration_s: f64,
    /// x_min, x_max, y_min, y_max, z_min (top), z_max (back).
    pub boundary: [Bc; 6],
    pub reservoir: Option<[f64; 2]>,
    /// Vapour exposure (kind = "vapor"): the air and the uptake law it gives.
    pub vapor: Option<VaporStage>,
    /// Immersion (kind = "immersion"): bath temperature, recorded with the run
    /// (the model's χ do not depend on temperature yet).
    pub bath_temperature_c: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct VaporStage {
    pub air: crate::process::AirConditions,
    pub uptake: crate::process::WaterUptake,
}

impl Stage {
    /// True when no face exchanges mass with the outside.
    pub fn is_closed(&self) -> bool {
        !self.boundary.iter().any(|b| matches!(b, Bc::Reservoir | Bc::Vapor))
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Outputs {
    pub every_s: Option<f64>,
    pub fields: Vec<String>,
    pub formats: Vec<String>,
    pub section_png: bool,
    pub checkpoint: bool,
    pub analyze: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct AnalysisSettings {
    pub polymer_density_g_cm3: f64,
    pub threshold: Option<f64>,
    /// Trilinear refinement of phi_p before segmentation (1 = none).
    pub refine: usize,
}

/// A validated scene in physical units.
#[derive(Clone, Debug, Serialize)]
pub struct Config {
    pub name: String,
    pub description: String,
    /// The file it came from.
    pub source: String,
    pub grid: Grid,
    pub units: Units,
    pub model: Model,
    pub mobility: Mobility,
    pub initial: Initial,
    pub noise: Noise,
    pub time: TimeControl,
    pub stages: Vec<Stage>,
    pub outputs: Outputs,
    pub analysis: AnalysisSettings,
    /// The casting recipe, when the initial composition came from one.
    pub recipe: Option<super::recipe::Recipe>,
    /// The thermal (TIPS) model, when the scene has [crystallization].
    pub thermal: Option<super::tips::Thermal>,
    /// Explicit bath slab above the film (`initial.bath_layers`).
    pub bath_slab: Option<BathSlab>,
    /// Liquid–liquid nucleation in the metastable gap (`[droplet_nucleation]`).
    pub nucleation: Option<crate::solver::nucleation::Settings>,
    /// The scene as given, with overrides applied (written to the run folder).
    #[serde(skip)]
    pub raw_table: toml::Table,
}

/// The top `layers` z layers start as bath of composition `phi` (φ_p, φ_n) at
/// `temperature_c` (thermal model: the medium's); the film lies below them.
#[derive(Clone, Debug, Serialize)]
pub struct BathSlab {
    pub layers: usize,
    pub phi: [f64; 2],
    pub temperature_c: Option<f64>,
}

pub const FACE_KEYS: [&str; 6] = ["x_min", "x_max", "y_min", "y_max", "z_min", "z_max"];

struct V<'a> {
    file: &'a str,
}

impl V<'_> {
    fn bad(&self, key: &str, value: impl std::fmt::Display, allowed: &str) -> SceneError {
        SceneError::Invalid { file: self.file.into(), key: key.into(), value: value.to_string(), allowed: allowed.into() }
    }
    fn need(&self, key: &str, v: Option<f64>, what: &str) -> Result<f64, SceneError> {
        v.ok_or_else(|| self.bad(key, "(missing)", what))
    }
    fn positive(&self, key: &str, v: f64) -> Result<f64, SceneError> {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(self.bad(key, v, "must be a finite number > 0"))
        }
    }
    fn range(&self, key: &str, v: f64, lo: f64, hi: f64) -> Result<f64, SceneError> {
        if v.is_finite() && v >= lo && v <= hi {
            Ok(v)
        } else {
            Err(self.bad(key, v, &format!("must be between {lo} and {hi}")))
        }
    }
    fn finite(&self, key: &str, v: f64) -> Result<f64, SceneError> {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(self.bad(key, v, "must be a finite number"))
        }
    }
}

fn bc(v: &V, key: &str, s: &str) -> Result<Bc, SceneError> {
    match s {
        "periodic" => Ok(Bc::Periodic),
        "no_flux" => Ok(Bc::NoFlux),
        "reservoir" => Ok(Bc::Reservoir),
        "vapor" => Ok(Bc::Vapor),
        other => Err(v.bad(key, format!("\"{other}\""), "must be \"periodic\", \"no_flux\", \"reservoir\" or \"vapor\"")),
    }
}

pub(super) fn resolve(file: &str, raw: RawScene, table: toml::Table) -> Result<Config, SceneError> {
    let v = V { file };
    let g = &raw.grid;
    let mut dims = [0usize; 3];
    for (k, (key, n)) in [("grid.nx", g.nx), ("grid.ny", g.ny), ("grid.nz", g.nz)].into_iter().enumerate() {
        if !(1..=4096).contains(&n) {
            return Err(v.bad(key, n, "must be an integer from 1 to 4096"));
        }
        dims[k] = n as usize;
    }
    if dims.iter().product::<usize>() > u32::MAX as usize / 3 {
        return Err(v.bad("grid", format!("{}x{}x{}", dims[0], dims[1], dims[2]), "must have fewer than 1.4e9 voxels"));
    }
    let voxel_um = v.positive("grid.voxel_um", g.voxel_um)?;
    let grid = Grid { nx: dims[0], ny: dims[1], nz: dims[2], voxel_um };
    let units = Units {
        length_um: v.positive("units.length_um", raw.units.length_um.unwrap_or(voxel_um))?,
        time_s: v.positive("units.time_s", raw.units.time_s.unwrap_or(1.0))?,
    };

    let m = &raw.model;
    let model = match m.kind.as_str() {
        "ternary" => Model::Ternary {
            n_polymer: v.range("model.n_polymer", v.need("model.n_polymer", m.n_polymer, "required for the ternary model: polymer chain length (sites), >= 1")?, 1.0, 1e6)?,
            // In a TIPS scene χ_PS follows χ(T) from [crystallization]; model.chi_ps is optional there and unused.
            chi_ps: v.range("model.chi_ps", if raw.crystallization.is_some() { m.chi_ps.unwrap_or(0.0) } else { v.need("model.chi_ps", m.chi_ps, "required: polymer–solvent χ")? }, -10.0, 10.0)?,
            chi_pn: v.range("model.chi_pn", v.need("model.chi_pn", m.chi_pn, "required: polymer–non-solvent χ")?, -10.0, 10.0)?,
            chi_sn: v.range("model.chi_sn", v.need("model.chi_sn", m.chi_sn, "required: solvent–non-solvent χ")?, -10.0, 10.0)?,
            kappa_p: v.range("model.kappa_p", m.kappa_p.unwrap_or(1.0), 0.0, 1e6)?,
            kappa_n: v.range("model.kappa_n", m.kappa_n.unwrap_or(1.0), 0.0, 1e6)?,
            phi_min: v.range("model.phi_min", m.phi_min.unwrap_or(1e-6), 1e-12, 1e-2)?,
        },
        "double_well" => Model::DoubleWell {
            rho: v.positive("model.rho", m.rho.unwrap_or(5.0))?,
            alpha: v.finite("model.alpha", m.alpha.unwrap_or(0.3))?,
            beta: v.finite("model.beta", m.beta.unwrap_or(0.7))?,
            kappa: v.range("model.kappa", m.kappa.unwrap_or(2.0), 0.0, 1e6)?,
            mobility: v.positive("model.mobility", m.mobility.unwrap_or(5.0))?,
        },
        other => return Err(v.bad("model.kind", format!("\"{other}\""), "must be \"ternary\" or \"double_well\"")),
    };
    let ternary = matches!(model, Model::Ternary { .. });
    if ternary {
        for (key, val) in [("model.rho", m.rho), ("model.alpha", m.alpha), ("model.beta", m.beta), ("model.kappa", m.kappa), ("model.mobility", m.mobility)] {
            if let Some(x) = val {
                return Err(v.bad(key, x, "applies only to model.kind = \"double_well\""));
            }
        }
    }

    let mo = &raw.mobility;
    let mob_model = mo.model.clone().unwrap_or_else(|| "slow_mode".into());
    if mob_model != "slow_mode" && mob_model != "constant" {
        return Err(v.bad("mobility.model", format!("\"{mob_model}\""), "must be \"slow_mode\" or \"constant\""));
    }
    let d_solvent = v.positive("mobility.d_solvent", mo.d_solvent.unwrap_or(1.0))?;
    let n_p = if let Model::Ternary { n_polymer, .. } = model { n_polymer } else { 1.0 };
    let mobility = Mobility {
        model: mob_model,
        // Rouse scaling by default: D_P = D_S / N_P.
        d_polymer: v.positive("mobility.d_polymer", mo.d_polymer.unwrap_or(d_solvent / n_p))?,
        d_solvent,
        d_nonsolvent: v.positive("mobility.d_nonsolvent", mo.d_nonsolvent.unwrap_or(1.0))?,
        vitrification_phi: v.range("mobility.vitrification_phi", mo.vitrification_phi.unwrap_or(0.75), 0.0, 1.0)?,
        vitrification_factor: v.range("mobility.vitrification_factor", mo.vitrification_factor.unwrap_or(1.0), 0.0, 1.0)?,
        vitrification_width: v.positive("mobility.vitrification_width", mo.vitrification_width.unwrap_or(0.02))?,
        face: match mo.face.as_deref().unwrap_or("mean") {
            f @ ("mean" | "harmonic") => f.to_string(),
            other => return Err(v.bad("mobility.face", format!("\"{other}\""), "must be \"mean\" or \"harmonic\"")),
        },
    };

    let thermal = match &raw.crystallization {
        Some(cr) => {
            if !ternary {
                return Err(v.bad("crystallization", "(set)", "the thermal (TIPS) model needs model.kind = \"ternary\""));
            }
            let column_um = grid.nz as f64 * voxel_um;
            Some(super::tips::resolve(file, raw.dissolution.as_ref(), raw.cooling.as_ref(), cr, column_um)?)
        }
        None => {
            if raw.dissolution.is_some() || raw.cooling.is_some() {
                return Err(v.bad("crystallization", "(missing)", "[dissolution] and [cooling] describe a TIPS recipe and need a [crystallization] table (it turns the thermal model on; an empty table takes the defaults)"));
            }
            None
        }
    };

    let ini = &raw.initial;
    let mut recipe = None;
    let initial = match ini.kind.as_deref().unwrap_or("uniform") {
        "uniform" => {
            let phi_p = v.range("initial.phi_p", v.need("initial.phi_p", ini.phi_p, "required: initial polymer volume fraction")?, 0.0, 1.0)?;
            let phi_n = if ternary { v.range("initial.phi_n", ini.phi_n.unwrap_or(0.0), 0.0, 1.0)? } else { 0.0 };
            if ternary && phi_p + phi_n >= 1.0 {
                return Err(v.bad("initial.phi_n", phi_n, &format!("initial.phi_p + initial.phi_n must be < 1 (the solvent fraction is 1 - {phi_p} - {phi_n})")));
            }
            let seed = ini.seed.unwrap_or(1);
            if seed < 0 {
                return Err(v.bad("initial.seed", seed, "must be an integer >= 0"));
            }
            Initial::Uniform { phi_p, phi_n, noise: v.range("initial.noise", ini.noise.unwrap_or(0.0), 0.0, 0.5)?, seed: seed as u64 }
        }
        "recipe" => {
            if !ternary {
                return Err(v.bad("initial.kind", "\"recipe\"", "needs model.kind = \"ternary\""));
            }
            let raw_recipe = raw.recipe.as_ref().ok_or_else(|| v.bad("recipe", "(missing)", "initial.kind = \"recipe\" needs a [recipe] table: polymer, solvent, nonsolvent and their weights"))?;
            let r = super::recipe::resolve(raw_recipe).map_err(|(key, value, msg)| v.bad(&key, value, &msg))?;
            if ini.phi_p.is_some() || ini.phi_n.is_some() {
                return Err(v.bad("initial.phi_p", "(set)", "the composition comes from [recipe] when initial.kind = \"recipe\"; remove initial.phi_p / phi_n"));
            }
            let seed = ini.seed.unwrap_or(1);
            if seed < 0 {
                return Err(v.bad("initial.seed", seed, "must be an integer >= 0"));
            }
            let init = Initial::Uniform {
                phi_p: r.volume_fractions[0],
                phi_n: r.volume_fractions[2],
                noise: v.range("initial.noise", ini.noise.unwrap_or(0.0), 0.0, 0.5)?,
                seed: seed as u64,
            };
            recipe = Some(r);
            init
        }
        "dissolution" => {
            let th = thermal.as_ref().ok_or_else(|| v.bad("initial.kind", "\"dissolution\"", "needs [dissolution] and [crystallization] tables"))?;
            if ini.phi_p.is_some() || ini.phi_n.is_some() {
                return Err(v.bad("initial.phi_p", "(set)", "the composition comes from [dissolution] when initial.kind = \"dissolution\"; remove initial.phi_p / phi_n"));
            }
            let seed = ini.seed.unwrap_or(1);
            if seed < 0 {
                return Err(v.bad("initial.seed", seed, "must be an integer >= 0"));
            }
            Initial::Uniform { phi_p: th.volume_fraction_polymer, phi_n: 0.0, noise: v.range("initial.noise", ini.noise.unwrap_or(0.0), 0.0, 0.5)?, seed: seed as u64 }
        }
        "pfhub_bm1" => {
            if ternary {
                return Err(v.bad("initial.kind", "\"pfhub_bm1\"", "needs model.kind = \"double_well\""));
            }
            Initial::PfhubBm1
        }
        other => return Err(v.bad("initial.kind", format!("\"{other}\""), "must be \"uniform\", \"recipe\", \"dissolution\" or \"pfhub_bm1\"")),
    };

    let noise_seed = raw.noise.seed.unwrap_or(1);
    if !(0..=u32::MAX as i64).contains(&noise_seed) {
        return Err(v.bad("noise.seed", noise_seed, "must be an integer from 0 to 4294967295"));
    }
    let noise = Noise { amplitude: v.range("noise.amplitude", raw.noise.amplitude.unwrap_or(0.0), 0.0, 10.0)?, seed: noise_seed as u32 };

    let t = &raw.time;
    let reduce_every = t.reduce_every.unwrap_or(100);
    if !(1..=1_000_000).contains(&reduce_every) {
        return Err(v.bad("time.reduce_every", reduce_every, "must be an integer from 1 to 1000000"));
    }
    let time = TimeControl {
        dt_s: t.dt_s.map(|d| v.positive("time.dt_s", d)).transpose()?,
        safety: v.range("time.safety", t.safety.unwrap_or(0.5), 0.01, 1.0)?,
        reduce_every: reduce_every as u64,
        mass_tolerance: v.positive("time.mass_tolerance", t.mass_tolerance.unwrap_or(1e-3))?,
        scheme: match t.scheme.as_deref() {
            None | Some("semi_implicit") => Scheme::SemiImplicit,
            Some("explicit") => Scheme::Explicit,
            Some(other) => return Err(v.bad("time.scheme", format!("\"{other}\""), "must be \"semi_implicit\" (the default) or \"explicit\"")),
        },
        tolerance: v.range("time.tolerance", t.tolerance.unwrap_or(DEFAULT_TOLERANCE), 1e-9, 1.0)?,
    };

    if raw.stages.is_empty() {
        return Err(v.bad("stages", "(none)", "at least one [[stages]] entry is required, e.g. kind = \"anneal\", duration_s = 1.0"));
    }
    let mut stages = Vec::new();
    for (k, s) in raw.stages.iter().enumerate() {
        let key = |name: &str| format!("stages.{k}.{name}");
        let kind = s.kind.as_str();
        if !["anneal", "vapor", "immersion", "cooling"].contains(&kind) {
            return Err(v.bad(&key("kind"), format!("\"{kind}\""), "must be \"anneal\", \"vapor\", \"immersion\" or \"cooling\""));
        }
        if kind == "cooling" && thermal.is_none() {
            return Err(v.bad(&key("kind"), "\"cooling\"", "a cooling stage needs the thermal model: add [dissolution], [cooling] and [crystallization] tables"));
        }
        if kind != "anneal" && !ternary {
            return Err(v.bad(&key("kind"), format!("\"{kind}\""), "vapour and immersion stages need model.kind = \"ternary\""));
        }
        // A vapour stage of 0 s is no air exposure (straight immersion): it is
        // validated, then left out.
        let duration_s = if kind == "vapor" && s.duration_s == 0.0 { 0.0 } else { v.positive(&key("duration_s"), s.duration_s)? };
        let only = |name: &str, present: bool, owner: &str| -> Result<(), SceneError> {
            if present && kind != owner {
                return Err(v.bad(&key(name), "(set)", &format!("applies only to kind = \"{owner}\" stages")));
            }
            Ok(())
        };
        only("air_temperature_c", s.air_temperature_c.is_some(), "vapor")?;
        only("relative_humidity", s.relative_humidity.is_some(), "vapor")?;
        only("air_velocity_m_s", s.air_velocity_m_s.is_some(), "vapor")?;
        only("plate_length_m", s.plate_length_m.is_some(), "vapor")?;
        only("bath", s.bath.is_some(), "immersion")?;
        only("bath_temperature_c", s.bath_temperature_c.is_some(), "immersion")?;
        let b = &s.boundary;
        // A cooling stage whose medium exchanges with the film (cooling.exchange)
        // makes the faces that medium touches reservoirs of it.
        let exchange = if kind == "cooling" { thermal.as_ref().and_then(|t| t.exchange.as_ref()) } else { None };
        let top_default = match kind {
            "vapor" => "vapor",
            "immersion" => "reservoir",
            _ if exchange.is_some_and(|x| x.top) => "reservoir",
            _ => "no_flux",
        };
        let back_default = if exchange.is_some_and(|x| x.back) { "reservoir" } else { "no_flux" };
        let pick = |face: Option<&String>, axis: Option<&String>, default: &str| face.or(axis).cloned().unwrap_or_else(|| default.to_string());
        let names = [
            pick(b.x_min.as_ref(), b.x.as_ref(), "periodic"),
            pick(b.x_max.as_ref(), b.x.as_ref(), "periodic"),
            pick(b.y_min.as_ref(), b.y.as_ref(), "periodic"),
            pick(b.y_max.as_ref(), b.y.as_ref(), "periodic"),
            pick(b.z_min.as_ref(), None, top_default),
            pick(b.z_max.as_ref(), None, back_default),
        ];
        let mut boundary = [Bc::Periodic; 6];
        for f in 0..6 {
            let face_key = key(&format!("boundary.{}", FACE_KEYS[f]));
            boundary[f] = bc(&v, &face_key, &names[f])?;
            if boundary[f] == Bc::Vapor && (f != 4 || kind != "vapor") {
                return Err(v.bad(&face_key, "\"vapor\"", "only the top face (z_min) of a kind = \"vapor\" stage can be a vapour face"));
            }
        }
        if kind == "vapor" && boundary[4] != Bc::Vapor {
            return Err(v.bad(&key("boundary.z_min"), format!("\"{}\"", names[4]), "a vapour stage blows air on the top face: z_min must be \"vapor\""));
        }
        for axis in 0..3 {
            let (lo, hi) = (boundary[2 * axis], boundary[2 * axis + 1]);
            if (lo == Bc::Periodic) != (hi == Bc::Periodic) {
                return Err(v.bad(
                    &key(&format!("boundary.{}", FACE_KEYS[2 * axis])),
                    format!("\"{}\" with {} = \"{}\"", names[2 * axis], FACE_KEYS[2 * axis + 1], names[2 * axis + 1]),
                    "periodic faces come in pairs: both faces of an axis periodic, or neither",
                ));
            }
        }
        let bath = match &s.bath {
            Some(bt) => {
                let n = v.range(&key("bath.phi_n"), bt.phi_n, 0.0, 1.0)?;
                let p = v.range(&key("bath.phi_p"), bt.phi_p.unwrap_or(0.0), 0.0, 1.0)?;
                if p + n > 1.0 {
                    return Err(v.bad(&key("bath.phi_n"), n, "bath phi_p + phi_n must be <= 1"));
                }
                Some([p, n])
            }
            None if kind == "immersion" => Some([0.0, 1.0]),
            None => None,
        };
        let reservoir = match (&s.reservoir, boundary.contains(&Bc::Reservoir)) {
            (Some(r), _) => {
                let p = v.range(&key("reservoir.phi_p"), r.phi_p, 0.0, 1.0)?;
                let n = v.range(&key("reservoir.phi_n"), r.phi_n, 0.0, 1.0)?;
                if p + n > 1.0 {
                    return Err(v.bad(&key("reservoir.phi_n"), n, "reservoir phi_p + phi_n must be <= 1"));
                }
                Some([p, n])
            }
            (None, true) if bath.is_some() => bath,
            (None, true) if exchange.is_some() => exchange.map(|x| x.bath),
            (None, true) => return Err(v.bad(&key("reservoir"), "(missing)", "a stage with a \"reservoir\" face needs reservoir = { phi_p = .., phi_n = .. }")),
            (None, false) => None,
        };
        let vapor = if kind == "vapor" {
            let air = crate::process::AirConditions {
                temperature_c: v.range(&key("air_temperature_c"), v.need(&key("air_temperature_c"), s.air_temperature_c, "required for a vapour stage: air temperature in °C")?, 0.0, 100.0)?,
                relative_humidity: v.range(&key("relative_humidity"), v.need(&key("relative_humidity"), s.relative_humidity, "required for a vapour stage: relative humidity in %")?, 0.0, 100.0)?,
                velocity_m_s: v.range(&key("air_velocity_m_s"), v.need(&key("air_velocity_m_s"), s.air_velocity_m_s, "required for a vapour stage: air velocity in m/s")?, 1e-3, 50.0)?,
                plate_length_m: v.range(&key("plate_length_m"), s.plate_length_m.unwrap_or(0.1), 1e-3, 10.0)?,
            };
            let uptake = crate::process::water_uptake(&air);
            if uptake.reynolds > 5e5 {
                return Err(v.bad(&key("air_velocity_m_s"), air.velocity_m_s, &format!("gives Re = {:.3e} along plate_length_m = {}: the laminar boundary-layer law holds below 5e5", uptake.reynolds, air.plate_length_m)));
            }
            Some(VaporStage { air, uptake })
        } else {
            None
        };
        let bath_temperature_c = s.bath_temperature_c.map(|t| v.range(&key("bath_temperature_c"), t, 0.0, 100.0)).transpose()?;
        if duration_s == 0.0 {
            continue;
        }
        stages.push(Stage { kind: kind.to_string(), duration_s, boundary, reservoir, vapor, bath_temperature_c });
    }
    if stages.is_empty() {
        return Err(v.bad("stages.0.duration_s", 0, "the only stage is a 0 s vapour stage: add an immersion or anneal stage"));
    }

    let bath_slab = match raw.initial.bath_layers {
        None | Some(0) => None,
        Some(k) => {
            if k < 0 || k as usize >= grid.nz.saturating_sub(1) {
                return Err(v.bad("initial.bath_layers", k, &format!("must be from 0 to {} (the film needs layers below the slab)", grid.nz.saturating_sub(2))));
            }
            let first = &stages[0];
            let phi = match (first.boundary[4], first.reservoir) {
                (Bc::Reservoir, Some(r)) => r,
                _ => return Err(v.bad("initial.bath_layers", k, "an explicit bath slab needs a first stage whose top face (z_min) is a bath: an immersion stage, or a cooling stage with cooling.exchange = true")),
            };
            let temperature_c = thermal.as_ref().map(|t| t.top.temperature_c);
            Some(BathSlab { layers: k as usize, phi, temperature_c })
        }
    };
    let o = &raw.outputs;
    let allowed_fields: &[&str] = if thermal.is_some() {
        &["phi_p", "phi_n", "temperature_c", "crystallinity"]
    } else if ternary {
        &["phi_p", "phi_n"]
    } else {
        &["c"]
    };
    let default_fields: &[&str] = if thermal.is_some() { &["phi_p", "temperature_c", "crystallinity"] } else { allowed_fields };
    let fields = o.fields.clone().unwrap_or_else(|| default_fields.iter().map(|s| s.to_string()).collect());
    for f in &fields {
        if !allowed_fields.contains(&f.as_str()) {
            return Err(v.bad("outputs.fields", format!("\"{f}\""), &format!("fields of this model are {allowed_fields:?}")));
        }
    }
    let formats = o.formats.clone().unwrap_or_else(|| vec!["vti".into(), "npy".into()]);
    for f in &formats {
        if f != "vti" && f != "npy" {
            return Err(v.bad("outputs.formats", format!("\"{f}\""), "formats are \"vti\" and \"npy\""));
        }
    }
    let outputs = Outputs {
        every_s: o.every_s.map(|e| v.positive("outputs.every_s", e)).transpose()?,
        fields,
        formats,
        section_png: o.section_png.unwrap_or(true),
        checkpoint: o.checkpoint.unwrap_or(true),
        analyze: o.analyze.unwrap_or(ternary),
    };
    let analysis = AnalysisSettings {
        polymer_density_g_cm3: v.positive("analysis.polymer_density_g_cm3", raw.analysis.polymer_density_g_cm3.unwrap_or(1.24))?,
        threshold: raw.analysis.threshold.map(|t| v.range("analysis.threshold", t, 0.0, 1.0)).transpose()?,
        refine: match raw.analysis.refine.unwrap_or(1) {
            k @ 1..=4 => k as usize,
            k => return Err(v.bad("analysis.refine", k, "must be an integer from 1 to 4")),
        },
    };

    let nucleation = match &raw.droplet_nucleation {
        None => None,
        Some(d) => {
            if !ternary {
                return Err(v.bad("droplet_nucleation", "(set)", "liquid–liquid nucleation needs model.kind = \"ternary\""));
            }
            let every = d.every_steps.unwrap_or(time.reduce_every as i64);
            if every < 1 {
                return Err(v.bad("droplet_nucleation.every_steps", every, "must be an integer >= 1"));
            }
            let seed = d.seed.unwrap_or(1);
            if !(0..=u32::MAX as i64).contains(&seed) {
                return Err(v.bad("droplet_nucleation.seed", seed, "must be an integer from 0 to 4294967295"));
            }
            let min_r = v.range("droplet_nucleation.min_radius_voxels", d.min_radius_voxels.unwrap_or(1.5), 0.5, 50.0)?;
            let max_r = v.range("droplet_nucleation.max_radius_voxels", d.max_radius_voxels.unwrap_or(6.0), 0.5, 50.0)?;
            let crystal_psi = v.range("droplet_nucleation.crystal_psi", d.crystal_psi.unwrap_or(0.01), 1e-4, 1.0)?;
            if max_r < min_r {
                return Err(v.bad("droplet_nucleation.max_radius_voxels", max_r, &format!("must be >= droplet_nucleation.min_radius_voxels ({min_r})")));
            }
            Some(crate::solver::nucleation::Settings {
                rate_per_um3_s: v.range("droplet_nucleation.rate_per_um3_s", d.rate_per_um3_s, 0.0, 1e40)?,
                interfacial_tension_mn_m: v.positive("droplet_nucleation.interfacial_tension_mn_m", d.interfacial_tension_mn_m)?,
                site_volume_cm3_mol: v.positive("droplet_nucleation.site_volume_cm3_mol", d.site_volume_cm3_mol)?,
                temperature_c: v.range("droplet_nucleation.temperature_c", d.temperature_c.unwrap_or(25.0), -100.0, 400.0)?,
                // A pass falls on a reduction: every_steps is rounded up to a multiple of time.reduce_every.
                every_steps: (every as u64).div_ceil(time.reduce_every) * time.reduce_every,
                min_radius_voxels: min_r,
                max_radius_voxels: max_r,
                homogeneity: v.range("droplet_nucleation.homogeneity", d.homogeneity.unwrap_or(0.02), 1e-4, 0.5)?,
                footprint_ball_only: match d.footprint.as_deref().unwrap_or("whole") {
                    "whole" => false,
                    "ball" => true,
                    other => return Err(v.bad("droplet_nucleation.footprint", format!("\"{other}\""), "\"whole\" or \"ball\"")),
                },
                crystal_psi,
                site_psi: v.range("droplet_nucleation.site_psi", d.site_psi.unwrap_or(crystal_psi), 1e-4, 1.0)?,
                seed: seed as u32,
            })
        }
    };

    Ok(Config {
        name: raw.name.clone().unwrap_or_else(|| "scene".into()),
        description: raw.description.clone().unwrap_or_default(),
        source: file.into(),
        grid,
        units,
        model,
        mobility,
        initial,
        noise,
        time,
        stages,
        outputs,
        analysis,
        recipe,
        thermal,
        bath_slab,
        nucleation,
        raw_table: table,
    })
}

impl Config {
    /// Grid spacing in model length units.
    pub fn h(&self) -> f64 {
        self.grid.voxel_um / self.units.length_um
    }

    /// Model time for a duration in seconds.
    pub fn model_time(&self, seconds: f64) -> f64 {
        seconds / self.units.time_s
    }

    /// The thermal model's heat parameters in model units.
    pub fn thermal_units(&self) -> super::tips::ThermalModelUnits {
        let th = self.thermal.as_ref().expect("thermal model");
        th.model_units(self.h(), self.units.length_um, self.units.time_s, self.grid.nz as f64 * self.grid.voxel_um, self.mobility.d_solvent)
    }

    /// Field names of the model, in storage order.
    pub fn field_names(&self) -> &'static [&'static str] {
        match self.model {
            Model::Ternary { .. } => &["phi_p", "phi_n"],
            Model::DoubleWell { .. } => &["c"],
        }
    }

    /// Kernel parameters for a stage.
    pub fn params(&self, stage: &Stage) -> Params {
        let mut p: Params = bytemuck::Zeroable::zeroed();
        let g = &self.grid;
        p.nx = g.nx as u32;
        p.ny = g.ny as u32;
        p.nz = g.nz as u32;
        p.n_total = g.voxels() as u32;
        p.groups_x = Params::dispatch_size(p.n_total).0;
        p.dim = g.dim().max(1);
        for f in 0..6 {
            let code = stage.boundary[f].code();
            if f < 4 {
                p.bc0[f] = code;
            } else {
                p.bc1[f - 4] = code;
            }
        }
        p.bc1[2] = self.noise.seed;
        let h = self.h();
        p.h = h as f32;
        p.inv_h2 = (1.0 / (h * h)) as f32;
        p.cell_volume = h.powi(p.dim as i32) as f32;
        p.noise_amp = self.noise.amplitude as f32;
        p.vit_factor = 1.0;
        p.vit_width = 1.0;
        match self.model {
            Model::Ternary { n_polymer, chi_ps, chi_pn, chi_sn, kappa_p, kappa_n, phi_min } => {
                p.model = MODEL_TERNARY;
                p.n_p = n_polymer as f32;
                p.chi_ps = chi_ps as f32;
                p.chi_pn = chi_pn as f32;
                p.chi_sn = chi_sn as f32;
                p.kappa_p = kappa_p as f32;
                p.kappa_n = kappa_n as f32;
                p.phi_min = phi_min as f32;
                let m = &self.mobility;
                p.mobility_model = if m.model == "constant" { MOBILITY_CONSTANT } else { MOBILITY_SLOW_MODE };
                p.d_p = m.d_polymer as f32;
                p.d_s = m.d_solvent as f32;
                p.d_n = m.d_nonsolvent as f32;
                p.vit_phi = m.vitrification_phi as f32;
                p.vit_factor = m.vitrification_factor as f32;
                p.vit_width = m.vitrification_width as f32;
                p.bc1[3] = u32::from(m.face == "harmonic");
            }
            Model::DoubleWell { rho, alpha, beta, kappa, mobility } => {
                p.model = MODEL_DOUBLE_WELL;
                p.dw_rho = rho as f32;
                p.dw_alpha = alpha as f32;
                p.dw_beta = beta as f32;
                p.kappa_p = kappa as f32;
                p.kappa_n = 0.0;
                p.d_p = mobility as f32;
                p.phi_min = 1e-6;
                p.n_p = 1.0;
            }
        }
        if let Some(vs) = &stage.vapor {
            // µm/s → model length per model time.
            let k = vs.uptake.k_volume_um_s * self.units.time_s / self.units.length_um;
            p.vap = [k as f32, vs.uptake.air_activity as f32, 0.0, 0.0];
        }
        if let Some(th) = &self.thermal {
            let mu = self.thermal_units();
            p.thermal = [1, u32::from(!th.soret), u32::from(th.lumped), 0];
            p.chi_ps = (th.chi_a + th.chi_b_k / (th.dissolution_temperature_c + super::tips::KELVIN)) as f32;
            p.th_chi = [th.chi_a as f32, th.chi_b_k as f32, (1.0 / (th.melting_point_c + super::tips::KELVIN)) as f32, (1.0 / th.latent_k) as f32];
            p.th_cryst = [th.latent_k as f32, th.barrier_kt as f32, th.kappa_psi as f32, th.mobility as f32];
            p.th_heat = [mu.alpha as f32, th.latent_rise_k as f32, th.gel_crystallinity as f32, th.gel_factor as f32];
            let voxel_um3 = self.grid.voxel_um.powi(3);
            p.th_nuc = [
                (th.seed_density_per_um3 * voxel_um3).min(1.0) as f32,
                th.seed_undercooling_k as f32,
                (th.nucleation_rate_per_um3_s * voxel_um3 * self.units.time_s) as f32,
                th.nucleation_barrier_k3 as f32,
            ];
            p.th_surf = [0.0, 0.0, th.gel_width as f32, 0.0];
            if stage.kind == "cooling" {
                let k = super::tips::KELVIN;
                p.th_face = [mu.beta_top as f32, (th.top.temperature_c + k) as f32, mu.beta_back as f32, (th.back.temperature_c + k) as f32];
                p.th_surf[0] = th.top.inv_tm_shift_per_k as f32;
                p.th_surf[1] = th.back.inv_tm_shift_per_k as f32;
                if let Some(x) = &th.exchange {
                    // The medium in the film carries its own melting-point change
                    // through the composition; no fixed shift on exchanging faces.
                    if x.top {
                        p.th_surf[0] = 0.0;
                    }
                    if x.back {
                        p.th_surf[1] = 0.0;
                    }
                    p.th_surf[3] = x.delta_b_k as f32;
                    p.chi_sn = x.chi_sn as f32;
                }
            }
        }
        if let Some([rp, rn]) = stage.reservoir {
            let c = [rp as f32, rn as f32];
            let mu = match &self.thermal {
                Some(th) if stage.kind == "cooling" => {
                    // The bath at the medium temperature.
                    let tk = (th.top.temperature_c + super::tips::KELVIN) as f32;
                    let fe = crate::solver::cpu::free_energy::chi_at(&p, tk);
                    crate::solver::cpu::free_energy::bulk_mu_chi(&p, c, fe, crate::solver::cpu::free_energy::chi_pn_at(&p, tk))
                }
                _ => crate::solver::cpu::free_energy::bulk_mu(&p, c),
            };
            p.res = [c[0], c[1], mu[0], mu[1]];
        }
        p
    }
}
