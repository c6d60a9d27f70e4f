//! Process physics computed on the host: the water uptake of a cast film from
//! humid air (vapour exposure) in physical units.
//!
//! Water enters the free surface at the volume flux
//!
//!   j = K (a_air - a_surface),   K = k_g · p_sat(T) / (R T) · V_w,
//!
//! where a_air = RH/100 is the water activity of the air (film at air
//! temperature), a_surface the water activity of the film's surface voxel from
//! the Flory–Huggins chemical potential (computed per voxel in the kernel),
//! p_sat the saturation pressure of water, V_w its molar volume and k_g the
//! gas-side mass-transfer coefficient of a laminar boundary layer on a flat
//! plate of length L: Sh = k_g L / D = 0.664 Re^(1/2) Sc^(1/3), Re = v L / ν,
//! Sc = ν / D (Incropera & DeWitt, Fundamentals of Heat and Mass Transfer,
//! laminar flat plate, average coefficient, Re < 5e5).
//! Solvent evaporation is neglected: NMP's vapour pressure at 25 °C (0.04 kPa)
//! is about 1/80 of water's (3.17 kPa), so the water that enters displaces
//! solvent volume for volume and the polymer does not cross the surface.

use serde::Serialize;

/// Gas constant, J/(mol K).
const R: f64 = 8.314_462_618;
/// Molar volume of liquid water at 25 °C, m³/mol (18.015 g/mol / 0.997 g/cm³).
const WATER_MOLAR_VOLUME_M3: f64 = 18.07e-6;

/// Saturation pressure of water in Pa, Antoine equation with the constants for
/// 1–100 °C (log10 p/mmHg = 8.07131 − 1730.63 / (233.426 + T/°C); NIST/CRC).
pub fn water_saturation_pressure_pa(t_c: f64) -> f64 {
    10f64.powf(8.07131 - 1730.63 / (233.426 + t_c)) * 133.322
}

/// Kinematic viscosity of air at 1 atm, m²/s: 1.568e-5 at 25 °C (air tables,
/// Incropera & DeWitt Table A.4), scaled as T^1.75 (Sutherland-type fit, ±3 %
/// over 0–100 °C).
pub fn air_kinematic_viscosity(t_c: f64) -> f64 {
    1.568e-5 * ((t_c + 273.15) / 298.15).powf(1.75)
}

/// Diffusivity of water vapour in air at 1 atm, m²/s: 2.56e-5 at 25 °C
/// (Marrero & Mason, J. Phys. Chem. Ref. Data 1 (1972) 3), scaled as T^1.75
/// (Fuller et al. temperature dependence).
pub fn water_diffusivity_in_air(t_c: f64) -> f64 {
    2.56e-5 * ((t_c + 273.15) / 298.15).powf(1.75)
}

/// Conditions of the conditioned air blown over the film.
#[derive(Clone, Debug, Serialize)]
pub struct AirConditions {
    pub temperature_c: f64,
    /// Relative humidity in %.
    pub relative_humidity: f64,
    pub velocity_m_s: f64,
    /// Length of the film along the air flow (boundary-layer length), m.
    pub plate_length_m: f64,
}

/// The water-uptake law of a vapour stage, physical units.
#[derive(Clone, Debug, Serialize)]
pub struct WaterUptake {
    pub reynolds: f64,
    pub schmidt: f64,
    pub sherwood: f64,
    /// Gas-side mass-transfer coefficient k_g, m/s.
    pub k_gas_m_s: f64,
    /// K: liquid-volume flux per unit activity difference, µm/s.
    pub k_volume_um_s: f64,
    /// Water activity of the air, RH/100.
    pub air_activity: f64,
    /// Largest possible uptake (dry surface), µm of water per second.
    pub max_flux_um_s: f64,
}

pub fn water_uptake(air: &AirConditions) -> WaterUptake {
    let nu = air_kinematic_viscosity(air.temperature_c);
    let d = water_diffusivity_in_air(air.temperature_c);
    let re = air.velocity_m_s * air.plate_length_m / nu;
    let sc = nu / d;
    let sh = 0.664 * re.sqrt() * sc.cbrt();
    let k_gas = sh * d / air.plate_length_m;
    let c_sat = water_saturation_pressure_pa(air.temperature_c) / (R * (air.temperature_c + 273.15));
    let k_volume = k_gas * c_sat * WATER_MOLAR_VOLUME_M3 * 1e6;
    let a = air.relative_humidity / 100.0;
    WaterUptake { reynolds: re, schmidt: sc, sherwood: sh, k_gas_m_s: k_gas, k_volume_um_s: k_volume, air_activity: a, max_flux_um_s: k_volume * a }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturation_pressure_matches_steam_tables() {
        // 3.169 kPa at 25 °C, 7.384 kPa at 40 °C, 19.95 kPa at 60 °C (steam tables).
        for (t, p) in [(25.0, 3169.0), (40.0, 7384.0), (60.0, 19946.0)] {
            let got = water_saturation_pressure_pa(t);
            assert!((got - p).abs() / p < 0.01, "{t} °C: {got} Pa vs {p}");
        }
    }

    #[test]
    fn boundary_layer_uptake_is_physical_for_seed_000_air() {
        // Seed 000, Table 1: 25 °C, 50 % RH, 1 m/s.
        let u = water_uptake(&AirConditions { temperature_c: 25.0, relative_humidity: 50.0, velocity_m_s: 1.0, plate_length_m: 0.1 });
        assert!(u.reynolds > 6000.0 && u.reynolds < 7000.0, "{}", u.reynolds);
        assert!((u.schmidt - 0.61).abs() < 0.02, "{}", u.schmidt);
        // k_g of order 1 cm/s for a laminar layer at 1 m/s over 10 cm.
        assert!(u.k_gas_m_s > 5e-3 && u.k_gas_m_s < 2e-2, "{}", u.k_gas_m_s);
        // Uptake of order 0.1 µm of liquid water per second into a dry surface.
        assert!(u.max_flux_um_s > 0.05 && u.max_flux_um_s < 0.5, "{}", u.max_flux_um_s);
        // Faster air, higher humidity: more uptake (k ∝ sqrt(v)).
        let fast = water_uptake(&AirConditions { velocity_m_s: 4.0, ..AirConditions { temperature_c: 25.0, relative_humidity: 50.0, velocity_m_s: 1.0, plate_length_m: 0.1 } });
        assert!((fast.k_gas_m_s / u.k_gas_m_s - 2.0).abs() < 1e-9);
    }
}
