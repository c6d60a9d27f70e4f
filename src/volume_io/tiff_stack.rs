//! ImageJ/Fiji multi-page TIFF stacks: one page per z slice, 8/16-bit gray or
//! 32-bit float.
//!
//! Voxel size, in order of preference: the caller's `--voxel-um`; the ImageJ
//! description (`unit=micron|nm|mm`, XResolution in pixels per unit, `spacing=` for z);
//! a plain TIFF with ResolutionUnit = centimetre. Inch-based resolution is ignored,
//! because 72 dpi is what most writers put there by default, not a measurement.

use std::io::{BufReader, Cursor};
use std::path::Path;

use tiff::decoder::{Decoder, DecodingResult};
use tiff::encoder::{colortype, Rational, TiffEncoder};
use tiff::tags::{ResolutionUnit, Tag};

use super::{LoadedVolume, ReadError};
use crate::util::atomic_write_with;
use crate::volume::Volume;

/// At most this many pages; stops cyclic IFD chains in corrupt files.
const MAX_PAGES: usize = 1 << 16;

/// µm per unit for the unit names ImageJ writes.
fn unit_um(unit: &str) -> Option<f64> {
    match unit.trim() {
        "micron" | "microns" | "um" | "µm" | "\\u00B5m" | "μm" => Some(1.0),
        "nm" | "nanometer" | "nanometre" => Some(1e-3),
        "mm" | "millimeter" | "millimetre" => Some(1e3),
        "cm" => Some(1e4),
        _ => None,
    }
}

/// Reads a multi-page TIFF as a volume (page = z slice).
pub fn read_tiff_stack(path: &Path, voxel_um: Option<f64>) -> Result<LoadedVolume, ReadError> {
    let terr = |e: tiff::TiffError| ReadError::format(path, format!("TIFF: {e}"));
    let file = std::fs::File::open(path).map_err(|e| ReadError::io(path, e))?;
    let mut dec = Decoder::new(BufReader::new(file)).map_err(terr)?;
    let (w, h) = dec.dimensions().map_err(terr)?;
    let desc = dec.get_tag_ascii_string(Tag::ImageDescription).ok();
    let xres = rational_tag(&mut dec, Tag::XResolution);
    let yres = rational_tag(&mut dec, Tag::YResolution);
    let res_unit = dec.find_tag_unsigned::<u32>(Tag::ResolutionUnit).ok().flatten();
    let mut data: Vec<f32> = Vec::new();
    let mut dtype = String::new();
    let mut pages = 0usize;
    loop {
        let (pw, ph) = dec.dimensions().map_err(terr)?;
        if (pw, ph) != (w, h) {
            return Err(ReadError::format(path, format!("page {pages} is {pw}×{ph} pixels, page 0 is {w}×{h}; a stack needs equal pages")));
        }
        let img = dec.read_image().map_err(|e| ReadError::format(path, format!("TIFF page {pages}: {e}")))?;
        let (vals, t): (Vec<f32>, &str) = match img {
            DecodingResult::U8(v) => (v.into_iter().map(f32::from).collect(), "u8"),
            DecodingResult::U16(v) => (v.into_iter().map(f32::from).collect(), "u16"),
            DecodingResult::I8(v) => (v.into_iter().map(f32::from).collect(), "i8"),
            DecodingResult::I16(v) => (v.into_iter().map(f32::from).collect(), "i16"),
            DecodingResult::U32(v) => (v.into_iter().map(|x| x as f32).collect(), "u32"),
            DecodingResult::I32(v) => (v.into_iter().map(|x| x as f32).collect(), "i32"),
            DecodingResult::F32(v) => (v, "f32"),
            DecodingResult::F64(v) => (v.into_iter().map(|x| x as f32).collect(), "f64"),
            _ => return Err(ReadError::format(path, format!("TIFF page {pages}: unsupported sample type; expected 8/16-bit gray or 32-bit float"))),
        };
        if vals.len() != w as usize * h as usize {
            return Err(ReadError::format(
                path,
                format!("TIFF page {pages} has {} samples for {w}×{h} pixels: only single-channel (gray) stacks are supported", vals.len()),
            ));
        }
        if pages == 0 {
            dtype = t.to_owned();
        } else if t != dtype {
            return Err(ReadError::format(path, format!("page {pages} is {t}, page 0 is {dtype}")));
        }
        data.extend_from_slice(&vals);
        pages += 1;
        if !dec.more_images() {
            break;
        }
        if pages >= MAX_PAGES {
            return Err(ReadError::format(path, format!("more than {MAX_PAGES} pages (corrupt IFD chain?)")));
        }
        dec.next_image().map_err(|e| ReadError::format(path, format!("TIFF page {pages}: {e}")))?;
    }
    let shape = [pages, h as usize, w as usize];
    let voxel = match voxel_um {
        Some(v) => v,
        None => voxel_from_tags(path, desc.as_deref(), xres, yres, res_unit)?,
    };
    let meta = match &desc {
        Some(d) => serde_json::json!({ "ImageDescription": d }),
        None => serde_json::Value::Null,
    };
    let volume = Volume::from_vec(shape, voxel, data).expect("pages checked");
    Ok(LoadedVolume { volume, dtype, source: "TIFF stack".into(), meta })
}

/// A RATIONAL (or float) tag as f64; `None` when absent or malformed.
fn rational_tag<R: std::io::Read + std::io::Seek>(dec: &mut Decoder<R>, tag: Tag) -> Option<f64> {
    use tiff::decoder::ifd::Value;
    match dec.find_tag(tag).ok()?? {
        Value::Rational(n, d) if d != 0 => Some(n as f64 / d as f64),
        Value::RationalBig(n, d) if d != 0 => Some(n as f64 / d as f64),
        Value::Float(v) => Some(v as f64),
        Value::Double(v) => Some(v),
        _ => None,
    }
}

fn voxel_from_tags(path: &Path, desc: Option<&str>, xres: Option<f64>, yres: Option<f64>, res_unit: Option<u32>) -> Result<f64, ReadError> {
    let ij = desc.filter(|d| d.starts_with("ImageJ="));
    let key = |k: &str| ij.and_then(|d| d.lines().find_map(|l| l.strip_prefix(k).and_then(|v| v.strip_prefix('=')).map(str::trim)));
    let scale = match (ij, res_unit) {
        (Some(_), _) => key("unit").and_then(unit_um),
        (None, Some(3)) => Some(1e4),
        _ => None,
    };
    let (Some(scale), Some(xr)) = (scale, xres) else { return Ok(f64::NAN) };
    if !(xr.is_finite() && xr > 0.0) {
        return Ok(f64::NAN);
    }
    let px = scale / xr;
    if let Some(yr) = yres {
        let py = scale / yr;
        if (py - px).abs() > 1e-3 * px {
            return Err(ReadError::format(path, format!("pixels are not square ({px} × {py} µm); give --voxel-um to override")));
        }
    }
    if let Some(z) = key("spacing").and_then(|s| s.parse::<f64>().ok()) {
        let pz = z * scale;
        if (pz - px).abs() > 1e-3 * px {
            return Err(ReadError::format(
                path,
                format!("voxels are not cubic (xy {px} µm, z spacing {pz} µm); resample the stack or give --voxel-um to override"),
            ));
        }
    }
    Ok(px)
}

/// Writes `vol` as an ImageJ 32-bit float stack with its voxel size in µm.
pub fn write_tiff_stack(path: &Path, vol: &Volume<f32>) -> std::io::Result<()> {
    let [nz, ny, nx] = vol.shape;
    let e = |e: tiff::TiffError| std::io::Error::other(e.to_string());
    let desc = format!("ImageJ=1.54f\nimages={nz}\nslices={nz}\nunit=micron\nspacing={}\nloop=false\n", vol.voxel_um);
    // Pixels per µm = 10⁶ / (voxel in µm × 10⁶): exact to 1 pm.
    let d = (vol.voxel_um * 1e6).round().clamp(1.0, u32::MAX as f64) as u32;
    let mut buf = Cursor::new(Vec::new());
    {
        let mut enc = TiffEncoder::new(&mut buf).map_err(e)?;
        for z in 0..nz {
            let mut img = enc.new_image::<colortype::Gray32Float>(nx as u32, ny as u32).map_err(e)?;
            if z == 0 {
                img.encoder().write_tag(Tag::ImageDescription, desc.as_str()).map_err(e)?;
            }
            img.resolution(ResolutionUnit::None, Rational { n: 1_000_000, d });
            img.write_data(&vol.data[z * nx * ny..(z + 1) * nx * ny]).map_err(e)?;
        }
    }
    let bytes = buf.into_inner();
    atomic_write_with(path, |w| std::io::Write::write_all(w, &bytes))
}
