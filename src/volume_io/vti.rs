//! VTK XML ImageData (`.vti`): writer (appended raw, UInt64 headers, CellData) and a
//! reader for appended raw/base64, inline base64 binary and ascii arrays.
//!
//! VTK orders samples x fastest, then y, then z — the same as our C order `[z][y][x]`,
//! so data is copied without reordering.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use super::raw::{Sample, SampleKind};
use super::{checked_len, LoadedVolume, ReadError};
use crate::util::atomic_write_with;
use crate::volume::Volume;

/// Writes the arrays as CellData of one ImageData piece. All arrays must share one
/// shape; the spacing is the first array's `voxel_um` in every direction.
pub fn write_vti(path: &Path, arrays: &[(&str, &Volume<f32>)]) -> std::io::Result<()> {
    let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
    let (_, first) = arrays.first().ok_or_else(|| invalid("write_vti: no arrays".into()))?;
    let shape = first.shape;
    for (name, v) in arrays {
        if v.shape != shape {
            return Err(invalid(format!("write_vti: array '{name}' has shape {:?}, expected {shape:?}", v.shape)));
        }
        if name.is_empty() || name.contains(['"', '<', '>', '&']) {
            return Err(invalid(format!("write_vti: array name '{name}' is not a plain name")));
        }
    }
    let [nz, ny, nx] = shape;
    let s = first.voxel_um;
    let mut xml = String::new();
    xml.push_str("<?xml version=\"1.0\"?>\n");
    xml.push_str("<VTKFile type=\"ImageData\" version=\"1.0\" byte_order=\"LittleEndian\" header_type=\"UInt64\">\n");
    xml.push_str(&format!(
        "  <ImageData WholeExtent=\"0 {nx} 0 {ny} 0 {nz}\" Origin=\"0 0 0\" Spacing=\"{s} {s} {s}\">\n"
    ));
    xml.push_str(&format!("    <Piece Extent=\"0 {nx} 0 {ny} 0 {nz}\">\n      <PointData>\n      </PointData>\n"));
    xml.push_str(&format!("      <CellData Scalars=\"{}\">\n", arrays[0].0));
    let mut offset = 0u64;
    for (name, v) in arrays {
        xml.push_str(&format!(
            "        <DataArray type=\"Float32\" Name=\"{name}\" NumberOfComponents=\"1\" format=\"appended\" offset=\"{offset}\"/>\n"
        ));
        offset += 8 + 4 * v.data.len() as u64;
    }
    xml.push_str("      </CellData>\n    </Piece>\n  </ImageData>\n  <AppendedData encoding=\"raw\">\n   _");
    atomic_write_with(path, |w| {
        w.write_all(xml.as_bytes())?;
        let mut buf = Vec::with_capacity(1 << 16);
        for (_, v) in arrays {
            w.write_all(&(4 * v.data.len() as u64).to_le_bytes())?;
            for chunk in v.data.chunks(1 << 14) {
                buf.clear();
                for x in chunk {
                    buf.extend_from_slice(&x.to_le_bytes());
                }
                w.write_all(&buf)?;
            }
        }
        w.write_all(b"\n  </AppendedData>\n</VTKFile>\n")
    })
}

/// One XML start tag: its name and attributes.
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: HashMap<String, String>,
    /// Byte position just after the closing `>`.
    end: usize,
    self_closing: bool,
}

/// Parses the tag starting at `text[start] == '<'`.
fn parse_tag(text: &str, start: usize) -> Option<Tag> {
    let close = start + text[start..].find('>')?;
    let inner = &text[start + 1..close];
    let self_closing = inner.ends_with('/');
    let inner = inner.trim_end_matches('/');
    let mut parts = inner.splitn(2, char::is_whitespace);
    let name = parts.next()?.to_owned();
    let mut attrs = HashMap::new();
    let mut rest = parts.next().unwrap_or("");
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().to_owned();
        let after = rest[eq + 1..].trim_start();
        let quote = after.chars().next()?;
        if quote != '"' && quote != '\'' {
            return None;
        }
        let val_end = after[1..].find(quote)?;
        attrs.insert(key, after[1..1 + val_end].to_owned());
        rest = &after[1 + val_end + 1..];
    }
    Some(Tag { name, attrs, end: close + 1, self_closing })
}

fn decode_base64(path: &Path, text: &str) -> Result<Vec<u8>, ReadError> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return Err(ReadError::format(path, format!("invalid base64 character {:?} in binary data", c as char))),
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

fn sample_of(path: &Path, ty: &str, big: bool) -> Result<Sample, ReadError> {
    let (kind, size) = match ty {
        "Float32" => (SampleKind::Float, 4),
        "Float64" => (SampleKind::Float, 8),
        "UInt8" => (SampleKind::UInt, 1),
        "Int8" => (SampleKind::Int, 1),
        "UInt16" => (SampleKind::UInt, 2),
        "Int16" => (SampleKind::Int, 2),
        "UInt32" => (SampleKind::UInt, 4),
        "Int32" => (SampleKind::Int, 4),
        "UInt64" => (SampleKind::UInt, 8),
        "Int64" => (SampleKind::Int, 8),
        _ => return Err(ReadError::format(path, format!("unsupported DataArray type '{ty}'"))),
    };
    Ok(Sample::new(kind, size, big))
}

struct ArrayTag {
    tag: Tag,
    cell: bool,
    /// Inline content (between `>` and `</DataArray>`), when not appended.
    content: Option<(usize, usize)>,
}

/// Reads one array of a `.vti` file: `array` by name, else `phi_p`, else the first
/// (cell data preferred over point data).
pub fn read_vti(path: &Path, array: Option<&str>) -> Result<LoadedVolume, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| ReadError::io(path, e))?;
    // The XML part ends where raw appended data starts; raw bytes are not UTF-8.
    let appended_at = find_bytes(&bytes, b"<AppendedData");
    let xml_end = appended_at.unwrap_or(bytes.len());
    let text = String::from_utf8_lossy(&bytes[..xml_end]).into_owned();
    let mut file_tag = None;
    let mut image_tag = None;
    let mut arrays: Vec<ArrayTag> = Vec::new();
    let mut in_cell: Option<bool> = None;
    let mut pos = 0;
    while let Some(off) = text[pos..].find('<') {
        let start = pos + off;
        if text[start..].starts_with("<?") || text[start..].starts_with("<!") || text[start..].starts_with("</") {
            if text[start..].starts_with("</CellData") || text[start..].starts_with("</PointData") {
                in_cell = None;
            }
            pos = start + 1;
            continue;
        }
        let tag = parse_tag(&text, start).ok_or_else(|| ReadError::format(path, format!("malformed XML tag at byte {start}")))?;
        pos = tag.end;
        match tag.name.as_str() {
            "VTKFile" => file_tag = Some(tag),
            "ImageData" => image_tag = Some(tag),
            "CellData" if !tag.self_closing => in_cell = Some(true),
            "PointData" if !tag.self_closing => in_cell = Some(false),
            "DataArray" => {
                let Some(cell) = in_cell else { continue };
                let content = if tag.self_closing {
                    None
                } else {
                    let close = text[tag.end..]
                        .find("</DataArray>")
                        .ok_or_else(|| ReadError::format(path, "DataArray without </DataArray>"))?;
                    pos = tag.end + close;
                    Some((tag.end, tag.end + close))
                };
                arrays.push(ArrayTag { tag, cell, content });
            }
            _ => {}
        }
    }
    let file_tag = file_tag.ok_or_else(|| ReadError::format(path, "not a VTK XML file: no <VTKFile> element"))?;
    if file_tag.attrs.get("type").map(String::as_str) != Some("ImageData") {
        return Err(ReadError::format(
            path,
            format!("VTK file type is {:?}, expected ImageData", file_tag.attrs.get("type")),
        ));
    }
    if let Some(c) = file_tag.attrs.get("compressor") {
        return Err(ReadError::format(path, format!("compressed VTK data ({c}) is not supported; save uncompressed")));
    }
    let big = file_tag.attrs.get("byte_order").map(String::as_str) == Some("BigEndian");
    let header_size = match file_tag.attrs.get("header_type").map(String::as_str) {
        None | Some("UInt32") => 4,
        Some("UInt64") => 8,
        Some(o) => return Err(ReadError::format(path, format!("unsupported header_type '{o}'"))),
    };
    let image = image_tag.ok_or_else(|| ReadError::format(path, "no <ImageData> element"))?;
    let ext = parse_numbers::<i64>(path, &image.attrs, "WholeExtent", 6)?;
    let spacing = parse_numbers::<f64>(path, &image.attrs, "Spacing", 3).unwrap_or(vec![f64::NAN; 3]);
    let cells = [ext[5] - ext[4], ext[3] - ext[2], ext[1] - ext[0]];
    if cells.iter().any(|&c| c < 0) {
        return Err(ReadError::format(path, format!("WholeExtent {ext:?} is inverted")));
    }

    let chosen = match array {
        Some(name) => arrays.iter().find(|a| a.tag.attrs.get("Name").map(String::as_str) == Some(name)).ok_or_else(|| {
            let names: Vec<_> = arrays.iter().filter_map(|a| a.tag.attrs.get("Name").cloned()).collect();
            ReadError::format(path, format!("no array named '{name}'; the file has {names:?}"))
        })?,
        None => arrays
            .iter()
            .find(|a| a.tag.attrs.get("Name").map(String::as_str) == Some("phi_p"))
            .or_else(|| arrays.iter().find(|a| a.cell))
            .or(arrays.first())
            .ok_or_else(|| ReadError::format(path, "the file has no CellData or PointData arrays"))?,
    };
    let a = &chosen.tag.attrs;
    let name = a.get("Name").cloned().unwrap_or_default();
    let ncomp: usize = a.get("NumberOfComponents").map(|s| s.parse().unwrap_or(0)).unwrap_or(1);
    if ncomp != 1 {
        return Err(ReadError::format(path, format!("array '{name}' has {ncomp} components; expected a scalar")));
    }
    let ty = a.get("type").ok_or_else(|| ReadError::format(path, format!("array '{name}' has no type")))?;
    let sample = sample_of(path, ty, big)?;
    let shape = if chosen.cell {
        [cells[0] as usize, cells[1] as usize, cells[2] as usize]
    } else {
        [cells[0] as usize + 1, cells[1] as usize + 1, cells[2] as usize + 1]
    };
    let n = checked_len(path, shape)?;
    let need = n.checked_mul(sample.size).ok_or_else(|| ReadError::format(path, "extent too large"))?;
    let format = a.get("format").map(String::as_str).unwrap_or("ascii");
    let what = format!("array '{name}' ({ty}, {} {shape:?})", if chosen.cell { "cells" } else { "points" });

    let data = match (format, chosen.content) {
        ("appended", _) => {
            let at = appended_at.ok_or_else(|| ReadError::format(path, "format=\"appended\" but no <AppendedData>"))?;
            let tag_text = String::from_utf8_lossy(&bytes[at..bytes.len().min(at + 256)]).into_owned();
            let app = parse_tag(&tag_text, 0).ok_or_else(|| ReadError::format(path, "malformed <AppendedData> tag"))?;
            // The tag text was decoded lossily: in a damaged file its length in
            // characters need not match bytes, so index the bytes checked.
            let after_tag = bytes.get(at + app.end..).ok_or_else(|| ReadError::format(path, "malformed <AppendedData> tag"))?;
            let underscore = find_bytes(after_tag, b"_").ok_or_else(|| ReadError::format(path, "<AppendedData> without the '_' marker"))?;
            let base = at + app.end + underscore + 1;
            let offset: usize = a
                .get("offset")
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| ReadError::format(path, format!("appended array '{name}' has no valid offset")))?;
            match app.attrs.get("encoding").map(String::as_str) {
                Some("raw") => {
                    let hstart = base.checked_add(offset).ok_or_else(|| ReadError::format(path, "offset overflows"))?;
                    let dstart = hstart + header_size;
                    if bytes.len() < dstart {
                        return Err(ReadError::Truncated { path: path.into(), what: format!("block header of {what}"), expected: dstart as u64, found: bytes.len() as u64 });
                    }
                    let declared = read_uint(&bytes[hstart..dstart], big);
                    if declared != need as u64 {
                        return Err(ReadError::format(path, format!("{what}: block header says {declared} bytes, the extent needs {need}")));
                    }
                    if bytes.len() < dstart + need {
                        return Err(ReadError::Truncated { path: path.into(), what, expected: (dstart + need) as u64, found: bytes.len() as u64 });
                    }
                    sample.decode(&bytes[dstart..dstart + need])
                }
                Some("base64") => {
                    let rest = &bytes[base.saturating_add(offset).min(bytes.len())..];
                    let stop = rest.iter().position(|&b| b == b'<' || b == b'_').unwrap_or(rest.len());
                    let txt = String::from_utf8_lossy(&rest[..stop]).into_owned();
                    decode_block(path, &decode_base64(path, &txt)?, header_size, big, need, sample, &what)?
                }
                e => return Err(ReadError::format(path, format!("unsupported AppendedData encoding {e:?}"))),
            }
        }
        ("binary", Some((s, e))) => decode_block(path, &decode_base64(path, &text[s..e])?, header_size, big, need, sample, &what)?,
        ("ascii", Some((s, e))) => {
            let vals: Vec<f32> = text[s..e]
                .split_ascii_whitespace()
                .map(|t| t.parse::<f64>().map(|v| v as f32))
                .collect::<Result<_, _>>()
                .map_err(|_| ReadError::format(path, format!("{what}: ascii data has a non-number")))?;
            if vals.len() != n {
                return Err(ReadError::format(path, format!("{what}: expected {n} ascii values, found {}", vals.len())));
            }
            vals
        }
        (f, _) => return Err(ReadError::format(path, format!("array '{name}': unsupported format '{f}'"))),
    };
    let voxel = if spacing.iter().all(|s| s.is_finite()) {
        let s0 = spacing[0];
        if spacing.iter().any(|&s| (s - s0).abs() > 1e-6 * s0.abs()) {
            return Err(ReadError::format(path, format!("Spacing {spacing:?} is not isotropic; cubic voxels are required")));
        }
        s0
    } else {
        f64::NAN
    };
    let volume = Volume::from_vec(shape, voxel, data).expect("length checked");
    Ok(LoadedVolume { volume, dtype: ty.clone(), source: format!("vti array '{name}'"), meta: serde_json::Value::Null })
}

/// Uncompressed binary block: a header with the byte count, then the data.
fn decode_block(path: &Path, raw: &[u8], header: usize, big: bool, need: usize, sample: Sample, what: &str) -> Result<Vec<f32>, ReadError> {
    if raw.len() < header + need {
        return Err(ReadError::Truncated { path: path.into(), what: what.to_owned(), expected: (header + need) as u64, found: raw.len() as u64 });
    }
    let declared = read_uint(&raw[..header], big);
    if declared != need as u64 {
        return Err(ReadError::format(path, format!("{what}: block header says {declared} bytes, the extent needs {need}")));
    }
    Ok(sample.decode(&raw[header..header + need]))
}

fn read_uint(b: &[u8], big: bool) -> u64 {
    let mut v = 0u64;
    if big {
        for &x in b {
            v = (v << 8) | x as u64;
        }
    } else {
        for &x in b.iter().rev() {
            v = (v << 8) | x as u64;
        }
    }
    v
}

fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_numbers<T: std::str::FromStr>(path: &Path, attrs: &HashMap<String, String>, key: &str, n: usize) -> Result<Vec<T>, ReadError> {
    let s = attrs.get(key).ok_or_else(|| ReadError::format(path, format!("<ImageData> has no {key}")))?;
    let v: Vec<T> = s
        .split_ascii_whitespace()
        .map(|t| t.parse::<T>())
        .collect::<Result<_, _>>()
        .map_err(|_| ReadError::format(path, format!("{key}=\"{s}\" is not {n} numbers")))?;
    if v.len() != n {
        return Err(ReadError::format(path, format!("{key}=\"{s}\" has {} numbers, expected {n}", v.len())));
    }
    Ok(v)
}
