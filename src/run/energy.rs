//! `energy.csv`: one row per reduction.

use crate::util::atomic_write;
use std::path::Path;

pub const HEADER: &str = "step,time_s,dt_s,free_energy,mass_polymer_um3,mass_nonsolvent_um3,max_phi_p,max_phi_n,mean_temperature_c,min_temperature_c,crystallinity,step_error,rejected_steps";

/// The header before the semi-implicit columns existed (still read).
const HEADER_V2: &str = "step,time_s,dt_s,free_energy,mass_polymer_um3,mass_nonsolvent_um3,max_phi_p,max_phi_n,mean_temperature_c,min_temperature_c,crystallinity";

/// The header before the thermal columns existed (still read).
const HEADER_V1: &str = "step,time_s,dt_s,free_energy,mass_polymer_um3,mass_nonsolvent_um3,max_phi_p,max_phi_n";

#[derive(Clone, Debug, PartialEq)]
pub struct EnergyRow {
    pub step: u64,
    pub time_s: f64,
    pub dt_s: f64,
    /// Total free energy in model units (kT per site × model volume).
    pub free_energy: f64,
    /// Integral of phi_p over the domain, in µm³.
    pub mass_polymer_um3: f64,
    /// Integral of phi_n over the domain, in µm³.
    pub mass_nonsolvent_um3: f64,
    pub max_phi_p: f64,
    pub max_phi_n: f64,
    /// Thermal model (empty in the file otherwise): mean and lowest temperature,
    /// and the crystallized fraction of the polymer (sum φ_p ψ / sum φ_p).
    pub thermal: Option<[f64; 3]>,
    /// Semi-implicit scheme: the error estimate of the step that ended here (empty
    /// in the file for the explicit scheme and where none exists), and the steps
    /// rejected so far in the run.
    pub step_error: Option<f64>,
    pub rejected_steps: u64,
}

impl EnergyRow {
    fn line(&self) -> String {
        let th = match self.thermal {
            Some([m, lo, c]) => format!("{m:.4},{lo:.4},{c:.6}"),
            None => ",,".into(),
        };
        let e = self.step_error.map_or(String::new(), |e| format!("{e:.4e}"));
        format!(
            "{},{:.9e},{:.6e},{:.9e},{:.9e},{:.9e},{:.6},{:.6},{th},{e},{}",
            self.step, self.time_s, self.dt_s, self.free_energy, self.mass_polymer_um3, self.mass_nonsolvent_um3, self.max_phi_p, self.max_phi_n, self.rejected_steps
        )
    }
}

pub fn write(path: &Path, rows: &[EnergyRow]) -> std::io::Result<()> {
    let mut s = String::with_capacity(64 * (rows.len() + 1));
    s.push_str(HEADER);
    s.push('\n');
    for r in rows {
        s.push_str(&r.line());
        s.push('\n');
    }
    atomic_write(path, s.as_bytes())
}

/// Reads rows back (for `--resume`).
pub fn read(path: &Path) -> anyhow::Result<Vec<EnergyRow>> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut lines = text.lines();
    let header = lines.next();
    let cols = match header {
        Some(HEADER) => 13,
        Some(HEADER_V2) => 11,
        Some(HEADER_V1) => 8,
        _ => anyhow::bail!("{}: expected the header `{HEADER}`", path.display()),
    };
    lines
        .enumerate()
        .map(|(k, l)| {
            let v: Vec<&str> = l.split(',').collect();
            let bad = || anyhow::anyhow!("{}: line {}: expected {cols} comma-separated fields, found `{l}`", path.display(), k + 2);
            if v.len() != cols {
                return Err(bad());
            }
            let f = |i: usize| v[i].parse::<f64>().map_err(|_| bad());
            Ok(EnergyRow {
                step: v[0].parse().map_err(|_| bad())?,
                time_s: f(1)?,
                dt_s: f(2)?,
                free_energy: f(3)?,
                mass_polymer_um3: f(4)?,
                mass_nonsolvent_um3: f(5)?,
                max_phi_p: f(6)?,
                max_phi_n: f(7)?,
                thermal: if cols >= 11 && !v[8].is_empty() { Some([f(8)?, f(9)?, f(10)?]) } else { None },
                step_error: if cols == 13 && !v[11].is_empty() { Some(f(11)?) } else { None },
                rejected_steps: if cols == 13 { v[12].parse().map_err(|_| bad())? } else { 0 },
            })
        })
        .collect()
}
