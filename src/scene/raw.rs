//! The scene file as written: every key optional where a default exists,
//! unknown keys rejected. Nothing here is checked beyond its TOML type; see
//! `resolve.rs` for validation.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawScene {
    pub name: Option<String>,
    pub description: Option<String>,
    pub grid: RawGrid,
    #[serde(default)]
    pub units: RawUnits,
    pub model: RawModel,
    #[serde(default)]
    pub mobility: RawMobility,
    pub initial: RawInitial,
    #[serde(default)]
    pub noise: RawNoise,
    #[serde(default)]
    pub time: RawTime,
    #[serde(default)]
    pub stages: Vec<RawStage>,
    #[serde(default)]
    pub outputs: RawOutputs,
    #[serde(default)]
    pub analysis: RawAnalysis,
    /// Casting recipe (materials by name, weights); used by initial.kind = "recipe".
    pub recipe: Option<super::recipe::RawRecipe>,
    /// TIPS: dissolution recipe (polymer, diluent, weights, Ts).
    pub dissolution: Option<super::tips::RawDissolution>,
    /// TIPS: the cooling medium at the faces.
    pub cooling: Option<super::tips::RawCooling>,
    /// TIPS: turns the thermal model (temperature, crystallinity) on.
    pub crystallization: Option<super::tips::RawCrystallization>,
    /// Liquid–liquid nucleation in the metastable gap (solver::nucleation).
    pub droplet_nucleation: Option<RawDropletNucleation>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDropletNucleation {
    /// CNT prefactor J0, nuclei per µm³ per s.
    pub rate_per_um3_s: f64,
    /// Interfacial tension between the coexisting liquid phases, mN/m.
    pub interfacial_tension_mn_m: f64,
    /// Lattice-site volume (the solvent's or diluent's molar volume), cm³/mol.
    pub site_volume_cm3_mol: f64,
    /// Temperature for kT where the scene has no temperature field (°C, default 25).
    pub temperature_c: Option<f64>,
    /// Steps between passes (default: time.reduce_every).
    pub every_steps: Option<i64>,
    pub min_radius_voxels: Option<f64>,
    pub max_radius_voxels: Option<f64>,
    pub homogeneity: Option<f64>,
    /// "whole" (default): ball and shell must be homogeneous and uncrystallized;
    /// "ball": only the ball, the shell passes over the voxels that are not.
    pub footprint: Option<String>,
    /// Crystallinity from which a voxel counts as crystallized (default 0.01).
    pub crystal_psi: Option<f64>,
    /// Crystallinity from which a voxel is not a nucleation site (default crystal_psi).
    pub site_psi: Option<f64>,
    pub seed: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrid {
    pub nx: i64,
    pub ny: i64,
    pub nz: i64,
    pub voxel_um: f64,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawUnits {
    /// Model length unit in µm (default: one voxel).
    pub length_um: Option<f64>,
    /// Model time unit in seconds (default 1).
    pub time_s: Option<f64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// "ternary" (Flory–Huggins) or "double_well" (PFHub benchmark 1).
    pub kind: String,
    pub n_polymer: Option<f64>,
    pub chi_ps: Option<f64>,
    pub chi_pn: Option<f64>,
    pub chi_sn: Option<f64>,
    pub kappa_p: Option<f64>,
    pub kappa_n: Option<f64>,
    pub phi_min: Option<f64>,
    pub rho: Option<f64>,
    pub alpha: Option<f64>,
    pub beta: Option<f64>,
    pub kappa: Option<f64>,
    pub mobility: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMobility {
    /// "slow_mode" (default) or "constant".
    pub model: Option<String>,
    pub d_polymer: Option<f64>,
    pub d_solvent: Option<f64>,
    pub d_nonsolvent: Option<f64>,
    pub vitrification_phi: Option<f64>,
    pub vitrification_factor: Option<f64>,
    pub vitrification_width: Option<f64>,
    /// Mobility on a face between two voxels: "mean" (default) or "harmonic".
    pub face: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawInitial {
    /// "uniform" (default), "recipe" (from [recipe]) or "pfhub_bm1".
    pub kind: Option<String>,
    pub phi_p: Option<f64>,
    pub phi_n: Option<f64>,
    /// Amplitude of the uniform random perturbation of the initial fields.
    pub noise: Option<f64>,
    pub seed: Option<i64>,
    /// Explicit bath slab: this many top z layers start as the first stage's
    /// bath (its reservoir composition) above the film; analysis drops them.
    pub bath_layers: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawNoise {
    /// Strength of the conserved thermal noise (0 = off).
    pub amplitude: Option<f64>,
    pub seed: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawTime {
    /// Fixed time step in seconds; adaptive when absent.
    pub dt_s: Option<f64>,
    /// Fraction of the stability bound used by the adaptive step.
    pub safety: Option<f64>,
    /// Steps between reductions (mass, energy, health, dt).
    pub reduce_every: Option<i64>,
    /// Largest relative mass drift tolerated in a closed stage.
    pub mass_tolerance: Option<f64>,
    /// "semi_implicit" (default) or "explicit".
    pub scheme: Option<String>,
    /// Semi-implicit: the local error the adaptive step aims at.
    pub tolerance: Option<f64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    /// "anneal", "vapor" or "immersion".
    pub kind: String,
    pub duration_s: f64,
    #[serde(default)]
    pub boundary: RawBoundary,
    pub reservoir: Option<RawReservoir>,
    /// Vapour exposure: air temperature, relative humidity (%), velocity and
    /// the length of the film along the flow.
    pub air_temperature_c: Option<f64>,
    pub relative_humidity: Option<f64>,
    pub air_velocity_m_s: Option<f64>,
    pub plate_length_m: Option<f64>,
    /// Immersion: bath composition (phi_p defaults to 0) and temperature.
    pub bath: Option<RawBath>,
    pub bath_temperature_c: Option<f64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawBath {
    pub phi_n: f64,
    pub phi_p: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawBoundary {
    pub x: Option<String>,
    pub y: Option<String>,
    pub x_min: Option<String>,
    pub x_max: Option<String>,
    pub y_min: Option<String>,
    pub y_max: Option<String>,
    /// Top face (z = 0, the free surface).
    pub z_min: Option<String>,
    /// Back face (substrate).
    pub z_max: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawReservoir {
    pub phi_p: f64,
    pub phi_n: f64,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutputs {
    pub every_s: Option<f64>,
    pub fields: Option<Vec<String>>,
    pub formats: Option<Vec<String>>,
    pub section_png: Option<bool>,
    pub checkpoint: Option<bool>,
    pub analyze: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnalysis {
    /// Density of the polymer in g/cm³ (for m²/g).
    pub polymer_density_g_cm3: Option<f64>,
    /// Segmentation threshold on phi_p (default: automatic).
    pub threshold: Option<f64>,
    /// Resample phi_p this many times finer before segmenting (default 1).
    pub refine: Option<i64>,
}
