//! Headerless raw binary volumes, and the sample decoding shared by all readers.

use std::path::Path;

use super::{check_voxel, checked_len, LoadedVolume, ReadError};
use crate::volume::Volume;

/// Sample types accepted for raw binary input (little endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawDtype {
    U8,
    U16,
    F32,
}

impl std::str::FromStr for RawDtype {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "u8" | "uint8" => Ok(RawDtype::U8),
            "u16" | "uint16" => Ok(RawDtype::U16),
            "f32" | "float32" => Ok(RawDtype::F32),
            _ => Err(format!("unknown dtype '{s}': expected u8, u16 or f32")),
        }
    }
}

/// Everything a raw file does not say about itself.
#[derive(Clone, Debug)]
pub struct RawSpec {
    /// `[nz, ny, nx]`, x fastest.
    pub shape: [usize; 3],
    pub dtype: RawDtype,
    /// Voxel edge in µm (NaN = not given).
    pub voxel_um: f64,
}

/// One on-disk sample type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sample {
    pub kind: SampleKind,
    pub size: usize,
    pub big_endian: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SampleKind {
    Bool,
    UInt,
    Int,
    Float,
}

impl Sample {
    pub fn new(kind: SampleKind, size: usize, big_endian: bool) -> Self {
        Self { kind, size, big_endian }
    }

    /// Decodes `bytes` (exactly `n * size` of them) into f32.
    pub fn decode(self, bytes: &[u8]) -> Vec<f32> {
        let s = self.size;
        let be = self.big_endian;
        let word = |c: &[u8]| -> u64 {
            let mut v = 0u64;
            if be {
                for &b in c {
                    v = (v << 8) | b as u64;
                }
            } else {
                for &b in c.iter().rev() {
                    v = (v << 8) | b as u64;
                }
            }
            v
        };
        bytes
            .chunks_exact(s)
            .map(|c| {
                let w = word(c);
                match (self.kind, s) {
                    (SampleKind::Bool, _) => (w != 0) as u8 as f32,
                    (SampleKind::UInt, _) => w as f32,
                    (SampleKind::Int, 1) => w as u8 as i8 as f32,
                    (SampleKind::Int, 2) => w as u16 as i16 as f32,
                    (SampleKind::Int, 4) => w as u32 as i32 as f32,
                    (SampleKind::Int, _) => w as i64 as f32,
                    (SampleKind::Float, 4) => f32::from_bits(w as u32),
                    (SampleKind::Float, 8) => f64::from_bits(w) as f32,
                    (SampleKind::Float, _) => f32::NAN, // excluded by the parsers
                }
            })
            .collect()
    }
}

/// Reads a headerless little-endian volume. The file size must match exactly.
pub fn read_raw(path: &Path, spec: &RawSpec) -> Result<LoadedVolume, ReadError> {
    check_voxel(path, spec.voxel_um)?;
    let n = checked_len(path, spec.shape)?;
    let (sample, name) = match spec.dtype {
        RawDtype::U8 => (Sample::new(SampleKind::UInt, 1, false), "u8"),
        RawDtype::U16 => (Sample::new(SampleKind::UInt, 2, false), "u16"),
        RawDtype::F32 => (Sample::new(SampleKind::Float, 4, false), "f32"),
    };
    let expected = n
        .checked_mul(sample.size)
        .ok_or_else(|| ReadError::format(path, "shape too large"))? as u64;
    let found = std::fs::metadata(path).map_err(|e| ReadError::io(path, e))?.len();
    if found != expected {
        return Err(ReadError::format(
            path,
            format!(
                "raw {name} volume of shape {:?} needs {expected} bytes, the file has {found}",
                spec.shape
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| ReadError::io(path, e))?;
    if bytes.len() as u64 != expected {
        return Err(ReadError::Truncated { path: path.to_path_buf(), what: "raw data".into(), expected, found: bytes.len() as u64 });
    }
    let data = sample.decode(&bytes);
    let volume = Volume::from_vec(spec.shape, spec.voxel_um, data).expect("length checked");
    Ok(LoadedVolume { volume, dtype: name.into(), source: format!("raw {name}"), meta: serde_json::Value::Null })
}
