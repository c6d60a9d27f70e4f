//! Reading and writing voxel volumes.
//!
//! Writers (used by the simulation to save fields):
//! - [`write_npy`]: NumPy `.npy` v1.0, `<f4`, C order, shape `(nz, ny, nx)`, plus a
//!   sidecar `<stem>.json` with `voxel_um`, `shape_zyx` and the caller's metadata
//!   (NumPy rejects extra keys in the `.npy` header itself).
//! - [`write_vti`]: VTK XML ImageData, one value per voxel (CellData), appended raw
//!   binary with a UInt64 block header; ParaView opens it.
//! - [`write_tiff_stack`]: ImageJ-style multi-page 32-bit float TIFF.
//!
//! Readers (used by `phasecast analyze`): [`read_volume`] dispatches on what the
//! path is — a phasecast run folder, `.npy`, `.vti`, `.tif`/`.tiff`, or raw binary
//! when [`ReadOptions::raw`] is set. Every reader checks sizes against the header
//! before touching data, and reports what it expected and what it found instead of
//! panicking.

mod npy;
mod raw;
mod run_folder;
mod tiff_stack;
mod vti;

use std::path::{Path, PathBuf};

use crate::volume::Volume;

pub use npy::{read_npy, write_npy};
pub use raw::{read_raw, RawDtype, RawSpec};
pub use run_folder::read_run_folder;
pub use tiff_stack::{read_tiff_stack, write_tiff_stack};
pub use vti::{read_vti, write_vti};

/// Why a volume could not be read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {msg}")]
    Format { path: PathBuf, msg: String },
    #[error("{path}: file is too short: {what} needs {expected} bytes, found {found}")]
    Truncated { path: PathBuf, what: String, expected: u64, found: u64 },
    #[error("{path}: no voxel size in the file; give it with --voxel-um")]
    NoVoxelSize { path: PathBuf },
}

impl ReadError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ReadError::Io { path: path.to_path_buf(), source }
    }
    pub(crate) fn format(path: &Path, msg: impl Into<String>) -> Self {
        ReadError::Format { path: path.to_path_buf(), msg: msg.into() }
    }
}

/// A volume as read from disk, with what is known about where it came from.
#[derive(Clone, Debug)]
pub struct LoadedVolume {
    /// Samples converted to f32 (integer data keeps its exact values up to 2^24).
    pub volume: Volume<f32>,
    /// The on-disk sample type, e.g. `"<f4"`, `"u8"`, `"Float32"`.
    pub dtype: String,
    /// Human description of the source ("run folder …, field phi_p", "npy", …).
    pub source: String,
    /// Metadata found next to the data (npy sidecar, run.json), or `null`.
    pub meta: serde_json::Value,
}

/// How to read a volume whose file does not say everything.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Voxel edge in µm; overrides the file's own value, required where the file has none.
    pub voxel_um: Option<f64>,
    /// Name of the array to read from a `.vti` (default: `phi_p` if present, else the first).
    pub array: Option<String>,
    /// Set for headerless raw binary.
    pub raw: Option<RawSpec>,
}

/// Reads any supported volume: a run folder, `.npy`, `.vti`, `.tif`/`.tiff`, or raw
/// binary when `opts.raw` is set.
pub fn read_volume(path: &Path, opts: &ReadOptions) -> Result<LoadedVolume, ReadError> {
    if let Some(spec) = &opts.raw {
        let mut spec = spec.clone();
        if let Some(v) = opts.voxel_um {
            spec.voxel_um = v;
        }
        return read_raw(path, &spec);
    }
    let meta = std::fs::metadata(path).map_err(|e| ReadError::io(path, e))?;
    if meta.is_dir() {
        return read_run_folder(path, opts);
    }
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let mut loaded = match ext.as_str() {
        "npy" => read_npy(path, opts.voxel_um)?,
        "vti" => read_vti(path, opts.array.as_deref())?,
        "tif" | "tiff" => read_tiff_stack(path, opts.voxel_um)?,
        "raw" | "bin" | "dat" => {
            return Err(ReadError::format(path, "raw binary needs --shape Z,Y,X --dtype u8|u16|f32 --voxel-um X"))
        }
        other => {
            return Err(ReadError::format(
                path,
                format!("unknown volume type '.{other}': expected a run folder, .npy, .vti, .tif/.tiff, or raw binary with --shape/--dtype"),
            ))
        }
    };
    if let Some(v) = opts.voxel_um {
        loaded.volume.voxel_um = v;
    }
    check_voxel(path, loaded.volume.voxel_um)?;
    Ok(loaded)
}

/// Voxel size must be a finite positive length; NaN marks "not in the file".
pub(crate) fn check_voxel(path: &Path, v: f64) -> Result<(), ReadError> {
    if v.is_nan() {
        return Err(ReadError::NoVoxelSize { path: path.to_path_buf() });
    }
    if !(v.is_finite() && v > 0.0) {
        return Err(ReadError::format(path, format!("voxel size must be a positive length in µm, found {v}")));
    }
    Ok(())
}

/// Product of the dimensions, or an error when it overflows or is zero.
pub(crate) fn checked_len(path: &Path, shape: [usize; 3]) -> Result<usize, ReadError> {
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| ReadError::format(path, format!("shape {shape:?} is too large")))?;
    if n == 0 {
        return Err(ReadError::format(path, format!("shape {shape:?} has no voxels")));
    }
    Ok(n)
}
