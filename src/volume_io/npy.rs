//! NumPy `.npy` files (format versions 1.0, 2.0, 3.0) with a JSON sidecar.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::raw::{Sample, SampleKind};
use super::{checked_len, LoadedVolume, ReadError};
use crate::util::{atomic_write, atomic_write_with};
use crate::volume::Volume;

/// Path of the sidecar: same folder and stem, extension `.json`.
pub fn sidecar_path(path: &Path) -> PathBuf {
    path.with_extension("json")
}

/// Writes `vol` as `.npy` v1.0 (`<f4`, C order, shape `(nz, ny, nx)`) and a sidecar
/// `<stem>.json` holding `voxel_um`, `shape_zyx` and every key of `meta` (an object;
/// anything else is stored under `"meta"`).
pub fn write_npy(path: &Path, vol: &Volume<f32>, meta: &serde_json::Value) -> std::io::Result<()> {
    let [nz, ny, nx] = vol.shape;
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({nz}, {ny}, {nx}), }}");
    // Magic (6) + version (2) + header length (2) + dict + padding + '\n' is a multiple of 64.
    let unpadded = 10 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    let mut header = Vec::with_capacity(unpadded + pad);
    header.extend_from_slice(b"\x93NUMPY\x01\x00");
    let hlen = (dict.len() + pad + 1) as u16;
    header.extend_from_slice(&hlen.to_le_bytes());
    header.extend_from_slice(dict.as_bytes());
    header.extend(std::iter::repeat_n(b' ', pad));
    header.push(b'\n');
    atomic_write_with(path, |w| {
        w.write_all(&header)?;
        let mut buf = Vec::with_capacity(1 << 16);
        for chunk in vol.data.chunks(1 << 14) {
            buf.clear();
            for v in chunk {
                buf.extend_from_slice(&v.to_le_bytes());
            }
            w.write_all(&buf)?;
        }
        Ok(())
    })?;
    let mut side = serde_json::Map::new();
    side.insert("voxel_um".into(), vol.voxel_um.into());
    side.insert("shape_zyx".into(), serde_json::json!([nz, ny, nx]));
    match meta {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                if k != "voxel_um" && k != "shape_zyx" {
                    side.insert(k.clone(), v.clone());
                }
            }
        }
        serde_json::Value::Null => {}
        other => {
            side.insert("meta".into(), other.clone());
        }
    }
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(side)).map_err(std::io::Error::other)?;
    atomic_write(&sidecar_path(path), text.as_bytes())
}

/// Parsed `.npy` header.
#[derive(Debug)]
struct NpyHeader {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
    data_offset: usize,
}

fn parse_header(path: &Path, bytes: &[u8]) -> Result<NpyHeader, ReadError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(ReadError::format(path, "not a .npy file: missing the \\x93NUMPY magic"));
    }
    let (hlen, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(ReadError::Truncated { path: path.into(), what: "npy header".into(), expected: 12, found: bytes.len() as u64 });
            }
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        v => return Err(ReadError::format(path, format!("unsupported .npy format version {v}.{}", bytes[7]))),
    };
    let end = start.checked_add(hlen).ok_or_else(|| ReadError::format(path, "header length overflows"))?;
    if bytes.len() < end {
        return Err(ReadError::Truncated { path: path.into(), what: "npy header".into(), expected: end as u64, found: bytes.len() as u64 });
    }
    let text = std::str::from_utf8(&bytes[start..end]).map_err(|_| ReadError::format(path, "npy header is not text"))?;
    let descr = dict_value(text, "descr")
        .and_then(|v| v.trim().strip_prefix('\'').and_then(|s| s.split('\'').next()).map(str::to_owned))
        .ok_or_else(|| ReadError::format(path, format!("npy header has no 'descr': {}", text.trim())))?;
    let fortran_order = match dict_value(text, "fortran_order").map(|v| v.trim().to_owned()) {
        Some(v) if v.starts_with("True") => true,
        Some(v) if v.starts_with("False") => false,
        _ => return Err(ReadError::format(path, format!("npy header has no 'fortran_order': {}", text.trim()))),
    };
    let shape_text = dict_value(text, "shape")
        .and_then(|v| {
            let v = v.trim_start().strip_prefix('(')?;
            Some(v[..v.find(')')?].to_owned())
        })
        .ok_or_else(|| ReadError::format(path, format!("npy header has no 'shape' tuple: {}", text.trim())))?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ReadError::format(path, format!("npy shape '({shape_text})' is not a tuple of sizes")))?;
    Ok(NpyHeader { descr, fortran_order, shape, data_offset: end })
}

/// The text after `'key':` in a Python dict literal.
fn dict_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("'{key}'");
    let i = text.find(&pat)? + pat.len();
    let rest = text[i..].trim_start().strip_prefix(':')?;
    Some(rest)
}

fn parse_descr(path: &Path, descr: &str) -> Result<Sample, ReadError> {
    let bad = || ReadError::format(path, format!("unsupported npy dtype '{descr}': expected b1, u1/i1, u2/i2, u4/i4, u8/i8, f4 or f8"));
    let mut chars = descr.chars();
    let (big, rest) = match chars.next() {
        Some('<') | Some('|') | Some('=') => (false, chars.as_str()),
        Some('>') => (true, chars.as_str()),
        _ => (false, descr),
    };
    // The kind is one ASCII letter; a damaged header may put any character there.
    let k_len = rest.chars().next().map_or(0, char::len_utf8);
    let (k, n) = rest.split_at(k_len);
    let size: usize = n.parse().map_err(|_| bad())?;
    let kind = match k {
        "b" if size == 1 => SampleKind::Bool,
        "u" if matches!(size, 1 | 2 | 4 | 8) => SampleKind::UInt,
        "i" if matches!(size, 1 | 2 | 4 | 8) => SampleKind::Int,
        "f" if matches!(size, 4 | 8) => SampleKind::Float,
        _ => return Err(bad()),
    };
    Ok(Sample::new(kind, size, big))
}

/// Reads a `.npy` volume (2D arrays become one slice). The voxel size comes from
/// `voxel_um` if given, else from the sidecar `<stem>.json`, else it is NaN and the
/// caller must supply one.
pub fn read_npy(path: &Path, voxel_um: Option<f64>) -> Result<LoadedVolume, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| ReadError::io(path, e))?;
    let h = parse_header(path, &bytes)?;
    if h.fortran_order {
        return Err(ReadError::format(path, "npy array is in Fortran order; save it in C order (numpy.ascontiguousarray)"));
    }
    let shape = match h.shape.as_slice() {
        [z, y, x] => [*z, *y, *x],
        [y, x] => [1, *y, *x],
        s => return Err(ReadError::format(path, format!("npy array has {} dimensions (shape {s:?}); expected 3 (z, y, x) or 2", s.len()))),
    };
    let sample = parse_descr(path, &h.descr)?;
    let n = checked_len(path, shape)?;
    let need = n.checked_mul(sample.size).ok_or_else(|| ReadError::format(path, "shape too large"))?;
    let have = bytes.len() - h.data_offset;
    if have < need {
        return Err(ReadError::Truncated {
            path: path.into(),
            what: format!("{} array of shape {shape:?} after a {}-byte header", h.descr, h.data_offset),
            expected: (h.data_offset + need) as u64,
            found: bytes.len() as u64,
        });
    }
    if have > need {
        return Err(ReadError::format(
            path,
            format!("{} array of shape {shape:?} needs {need} data bytes, found {have} (trailing data)", h.descr),
        ));
    }
    let data = sample.decode(&bytes[h.data_offset..]);
    let side = sidecar_path(path);
    let meta = match std::fs::read(&side) {
        Ok(t) => serde_json::from_slice::<serde_json::Value>(&t)
            .map_err(|e| ReadError::format(&side, format!("sidecar is not valid JSON: {e}")))?,
        Err(_) => serde_json::Value::Null,
    };
    let voxel = voxel_um
        .or_else(|| meta.get("voxel_um").and_then(|v| v.as_f64()))
        .unwrap_or(f64::NAN);
    let volume = Volume::from_vec(shape, voxel, data).expect("length checked");
    Ok(LoadedVolume { volume, dtype: h.descr, source: "npy".into(), meta })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dtype_with_a_multibyte_kind_is_an_error_not_a_panic() {
        // Found by tests/volume_io_fuzz.rs: a damaged header put 'ܺ' (2 bytes) where
        // the kind letter goes.
        let p = Path::new("x.npy");
        for descr in ["<\u{73a}4", "\u{73a}", "<", "", "é8", "<f\u{73a}"] {
            assert!(parse_descr(p, descr).is_err(), "{descr:?}");
        }
        assert!(parse_descr(p, "<f4").is_ok());
        assert!(parse_descr(p, "|u1").is_ok());
    }
}
