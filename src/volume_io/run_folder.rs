//! phasecast run folders: `run.json` names the final fields; the analysed field is
//! `phi_p` (polymer volume fraction), from the `.npy` if listed, else the `.vti`.

use std::path::Path;

use super::{check_voxel, read_npy, read_vti, LoadedVolume, ReadError, ReadOptions};

/// Reads `phi_p` of the final state of a run folder.
pub fn read_run_folder(dir: &Path, opts: &ReadOptions) -> Result<LoadedVolume, ReadError> {
    let run_json = dir.join("run.json");
    let text = std::fs::read(&run_json).map_err(|e| {
        ReadError::format(dir, format!("a folder is read as a phasecast run folder, but {} cannot be read: {e}", run_json.display()))
    })?;
    let run: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| ReadError::format(&run_json, format!("not valid JSON: {e}")))?;
    let ff = run
        .get("final_fields")
        .ok_or_else(|| ReadError::format(&run_json, "no \"final_fields\" key (did the run finish?)"))?;
    let field = opts.array.as_deref().unwrap_or("phi_p");
    let run_voxel = run.get("voxel_um").and_then(|v| v.as_f64());
    let mut loaded = if let Some(rel) = ff.get("npy").and_then(|n| n.get(field)).and_then(|p| p.as_str()) {
        let mut l = read_npy(&dir.join(rel), opts.voxel_um)?;
        l.source = format!("run folder {}, field {field} ({rel})", dir.display());
        l
    } else if let Some(rel) = ff.get("vti").and_then(|p| p.as_str()) {
        let mut l = read_vti(&dir.join(rel), Some(field))?;
        l.source = format!("run folder {}, field {field} ({rel})", dir.display());
        l
    } else {
        return Err(ReadError::format(
            &run_json,
            format!("\"final_fields\" lists neither npy.{field} nor a vti file"),
        ));
    };
    if let Some(v) = opts.voxel_um {
        loaded.volume.voxel_um = v;
    } else if loaded.volume.voxel_um.is_nan() {
        if let Some(v) = run_voxel {
            loaded.volume.voxel_um = v;
        }
    }
    check_voxel(&run_json, loaded.volume.voxel_um)?;
    loaded.meta = serde_json::json!({ "run": run, "field": loaded.meta });
    Ok(loaded)
}
