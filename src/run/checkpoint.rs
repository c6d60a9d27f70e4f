//! Checkpoints: the fields plus everything the driver needs to continue
//! exactly where it stopped (`phasecast run --resume DIR`).
//!
//! Layout: the 8 bytes `PHASECK1`, a little-endian u64 header length, a JSON
//! header, then phi_p/phi_n interleaved per voxel as little-endian f32, and in
//! the thermal model (T, psi) interleaved per voxel after them.

use crate::util::atomic_write_with;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 8] = b"PHASECK1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriverState {
    /// `[nz, ny, nx]`.
    pub shape: [usize; 3],
    pub step: u64,
    /// Model time.
    pub time: f64,
    pub stage: usize,
    /// Model time elapsed in the current stage.
    pub stage_time: f64,
    /// Model time step chosen at the last reduction.
    pub dt: f64,
    /// Model time of the next snapshot.
    pub next_output: f64,
    /// Sums of phi_p and phi_n at the start of the current closed stage.
    pub stage_mass: [f64; 2],
    /// Wall-clock seconds spent stepping so far.
    pub compute_s: f64,
    /// Whether (T, psi) follow the fields.
    #[serde(default)]
    pub thermal: bool,
    /// Semi-implicit scheme: the error estimate of the last accepted step (0 = none),
    /// and the steps rejected so far.
    #[serde(default)]
    pub err_prev: f64,
    #[serde(default)]
    pub rejected: u64,
    /// Semi-implicit scheme: the last accepted step's dt, and whether the last
    /// increments (P, N, ψ per voxel, f32) follow the fields in the file.
    #[serde(default)]
    pub dt_prev: f64,
    #[serde(default)]
    pub increments: bool,
}

pub fn write(path: &Path, state: &DriverState, phi: &[[f32; 2]], aux: Option<&[[f32; 2]]>) -> std::io::Result<()> {
    write_with_increments(path, state, phi, aux, None)
}

/// Like [`write`], with the semi-implicit scheme's last increments (so a resume
/// continues with the same error estimate and steps).
pub fn write_with_increments(path: &Path, state: &DriverState, phi: &[[f32; 2]], aux: Option<&[[f32; 2]]>, incr: Option<&[[f32; 3]]>) -> std::io::Result<()> {
    let mut st = state.clone();
    st.thermal = aux.is_some();
    st.increments = incr.is_some();
    let header = serde_json::to_vec(&st).expect("serializable state");
    atomic_write_with(path, |w| {
        w.write_all(MAGIC)?;
        w.write_all(&(header.len() as u64).to_le_bytes())?;
        w.write_all(&header)?;
        w.write_all(bytemuck::cast_slice(phi))?;
        if let Some(a) = aux {
            w.write_all(bytemuck::cast_slice(a))?;
        }
        if let Some(d) = incr {
            w.write_all(bytemuck::cast_slice(d))?;
        }
        Ok(())
    })
}

/// The driver state, the fields and, in the thermal model, (T, psi).
pub type Checkpoint = (DriverState, Vec<[f32; 2]>, Option<Vec<[f32; 2]>>);

pub fn read(path: &Path) -> anyhow::Result<Checkpoint> {
    let (s, p, a, _) = read_with_increments(path)?;
    Ok((s, p, a))
}

/// A checkpoint with the semi-implicit increments when it holds them.
pub type CheckpointWithIncrements = (DriverState, Vec<[f32; 2]>, Option<Vec<[f32; 2]>>, Option<Vec<[f32; 3]>>);

pub fn read_with_increments(path: &Path) -> anyhow::Result<CheckpointWithIncrements> {
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let ctx = |m: String| anyhow::anyhow!("{}: not a phasecast checkpoint: {m}", path.display());
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(ctx("missing the PHASECK1 signature".into()));
    }
    let hlen = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
    if bytes.len() < 16 + hlen {
        return Err(ctx(format!("header of {hlen} bytes but the file has {}", bytes.len())));
    }
    let state: DriverState = serde_json::from_slice(&bytes[16..16 + hlen]).map_err(|e| ctx(e.to_string()))?;
    let n = state.shape.iter().product::<usize>();
    let data = &bytes[16 + hlen..];
    let blocks = if state.thermal { 2 } else { 1 };
    let want = n * 8 * blocks + if state.increments { n * 12 } else { 0 };
    if data.len() != want {
        return Err(ctx(format!("expected {want} bytes of fields for shape {:?}, found {}", state.shape, data.len())));
    }
    let phi = bytemuck::pod_collect_to_vec(&data[..n * 8]);
    let aux = state.thermal.then(|| bytemuck::pod_collect_to_vec(&data[n * 8..n * 16]));
    let incr = state.increments.then(|| bytemuck::pod_collect_to_vec(&data[n * 8 * blocks..]));
    Ok((state, phi, aux, incr))
}
