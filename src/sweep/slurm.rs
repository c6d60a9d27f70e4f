//! `--emit slurm`: hands the sweep to the scheduler the cluster already has.
//!
//! Writes, into the prepared sweep folder, `points.tsv` (the point manifest:
//! array index, folder name, overrides) and `sweep.sbatch`, a job-array script
//! with one array task per point. Each task runs `phasecast sweep point DIR K`,
//! which has the same skip/resume/failure rules as a local sweep, so
//! resubmitting the array after a partial run redoes nothing finished. The
//! gather step (`phasecast sweep gather DIR`) is printed and written into the
//! script's header. We write no scheduler of our own.

use super::Manifest;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Resources each array task asks for.
#[derive(Clone, Debug)]
pub struct SlurmResources {
    /// `--time`, e.g. `02:00:00`.
    pub time: String,
    /// `--mem`, e.g. `16G`.
    pub mem: String,
    pub cpus_per_task: u32,
    pub partition: Option<String>,
    /// At most this many tasks at once (`--array=0-N%M`).
    pub max_parallel: Option<usize>,
    /// `--account`, where the cluster requires one.
    pub account: Option<String>,
}

/// Quotes a string for bash: single quotes, with embedded ones closed and escaped.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// What was written.
pub struct Emitted {
    pub script: PathBuf,
    pub manifest: PathBuf,
    pub gather_command: String,
    pub submit_command: String,
}

/// Writes `points.tsv` and `sweep.sbatch` into the (absolute) sweep folder.
/// `phasecast` is the path of the executable the tasks run.
pub fn emit(dir: &Path, m: &Manifest, res: &SlurmResources, phasecast: &Path) -> Result<Emitted> {
    let n = m.points.len();
    let mut tsv = String::from("# array_index\tpoint_folder\toverrides (applied after the base --set overrides)\n");
    for p in &m.points {
        let ov: Vec<String> = p.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        tsv += &format!("{}\t{}/{}\t{}\n", p.index, super::POINTS_DIR, p.name, ov.join(" "));
    }
    let manifest = dir.join("points.tsv");
    crate::util::atomic_write(&manifest, tsv.as_bytes())?;

    let d = dir.display().to_string();
    let exe = phasecast.display().to_string();
    let gather_command = format!("{} sweep gather {}", sh_quote(&exe), sh_quote(&d));
    let script = dir.join("sweep.sbatch");
    let submit_command = format!("sbatch {}", sh_quote(&script.display().to_string()));
    let name: String = dir.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| "sweep".into());
    let name: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    let throttle = res.max_parallel.map(|m| format!("%{m}")).unwrap_or_default();
    let mut s = String::new();
    s += "#!/bin/bash\n";
    s += &format!("# phasecast sweep as a Slurm job array: {n} points, one array task each.\n");
    s += &format!("# Submit:  {submit_command}\n");
    s += &format!("# Gather when the array is done (also safe to run while it runs):\n#   {gather_command}\n");
    s += &format!("#   or: sbatch --dependency=afterany:<JOBID> --wrap {}\n", sh_quote(&gather_command));
    s += "# Resubmitting skips finished points and continues interrupted ones.\n";
    s += &format!("#SBATCH --job-name=phasecast-{name}\n");
    s += &format!("#SBATCH --array=0-{}{throttle}\n", n.saturating_sub(1));
    s += "#SBATCH --gres=gpu:1\n";
    s += "#SBATCH --ntasks=1\n";
    s += &format!("#SBATCH --cpus-per-task={}\n", res.cpus_per_task);
    s += &format!("#SBATCH --mem={}\n", res.mem);
    s += &format!("#SBATCH --time={}\n", res.time);
    if let Some(p) = &res.partition {
        s += &format!("#SBATCH --partition={p}\n");
    }
    if let Some(a) = &res.account {
        s += &format!("#SBATCH --account={a}\n");
    }
    s += &format!("#SBATCH --output={d}/slurm/%A_%a.out\n");
    s += "set -euo pipefail\n";
    s += &format!("PHASECAST=\"${{PHASECAST:-{}}}\"\n", exe.replace(['"', '$', '`', '\\'], "_"));
    s += &format!("SWEEP_DIR={}\n", sh_quote(&d));
    s += "TASK=\"${SLURM_ARRAY_TASK_ID:?submit this script with sbatch: SLURM_ARRAY_TASK_ID is not set}\"\n";
    s += "# Task K runs point K of sweep.json (its folder and overrides: points.tsv).\n";
    s += "exec \"$PHASECAST\" sweep point \"$SWEEP_DIR\" \"$TASK\" --backend gpu\n";
    std::fs::create_dir_all(dir.join("slurm"))?;
    crate::util::atomic_write(&script, s.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(Emitted { script, manifest, gather_command, submit_command })
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoting() {
        assert_eq!(super::sh_quote("a b"), "'a b'");
        assert_eq!(super::sh_quote("it's"), "'it'\\''s'");
    }
}
