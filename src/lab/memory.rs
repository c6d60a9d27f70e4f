//! Memory estimate of an analysis, checked before a large volume is loaded
//! and measured (issue 27): the peak bytes per voxel of `phasecast analyze`
//! were measured (docs/benchmarks.md) and are used here with a margin.

use super::FlowMethod;
use anyhow::{bail, Result};

/// Peak bytes per voxel of the structure analysis alone, whole process (measured
/// 27 B/voxel at 256³ with the networks of both phases, 2026-12-04).
pub const ANALYSIS_BYTES_PER_VOXEL: u64 = 30;
/// Peak bytes per voxel of the lab with the pore-network porometer: drainage maps
/// (EDT², widest path, invasion radii: 12 B), the network's labels (4 B) and
/// faces, pore mask and spanning sets; whole process measured 39 B/voxel at
/// 256³ and 34 B/voxel at 512³ (2026-12-04).
pub const LAB_NETWORK_BYTES_PER_VOXEL: u64 = 42;
/// Peak bytes per voxel of the lab with the lattice-Boltzmann porometer
/// (populations, source table and warm-start state per pore node; measured
/// ≈ 240 B/voxel on a 200³ volume).
pub const LAB_LBM_BYTES_PER_VOXEL: u64 = 250;

/// Estimated peak bytes of `phasecast analyze` on `voxels` voxels.
pub fn analyze_peak_bytes(voxels: u64, lab: bool, method: FlowMethod) -> u64 {
    let per = if !lab {
        ANALYSIS_BYTES_PER_VOXEL
    } else {
        match method {
            FlowMethod::Network => ANALYSIS_BYTES_PER_VOXEL.max(LAB_NETWORK_BYTES_PER_VOXEL),
            FlowMethod::Lbm => ANALYSIS_BYTES_PER_VOXEL.max(LAB_LBM_BYTES_PER_VOXEL),
        }
    };
    voxels.saturating_mul(per)
}

/// Memory available to this process (Linux: `MemAvailable` of /proc/meminfo);
/// `None` where unknown.
pub fn available_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Refuses, with the figures, when `need` exceeds `limit`; logs the estimate otherwise.
pub fn check(voxels: u64, need: u64, limit: Option<u64>) -> Result<()> {
    let gb = |b: u64| b as f64 / 1e9;
    match limit {
        Some(l) if need > l => bail!(
            "the analysis of {voxels} voxels needs an estimated {:.1} GB at its peak ({:.0} B/voxel), more than the {:.1} GB \
             available; use --max-memory-gb to set the limit, --flow network (the default) instead of lbm, --no-lab, or a smaller volume",
            gb(need),
            need as f64 / voxels.max(1) as f64,
            gb(l)
        ),
        Some(l) => {
            log::info!("memory: estimated peak {:.2} GB of {:.1} GB available", gb(need), gb(l));
            Ok(())
        }
        None => {
            log::info!("memory: estimated peak {:.2} GB", gb(need));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_volume_that_does_not_fit() {
        let voxels = 512u64.pow(3);
        let need = analyze_peak_bytes(voxels, true, FlowMethod::Network);
        assert_eq!(need, voxels * 42);
        assert!(check(voxels, need, Some(need - 1)).is_err());
        assert!(check(voxels, need, Some(need)).is_ok());
        assert!(check(voxels, need, None).is_ok());
        let lbm = analyze_peak_bytes(voxels, true, FlowMethod::Lbm);
        assert!(lbm > 5 * need);
        let msg = check(voxels, lbm, Some(need)).unwrap_err().to_string();
        assert!(msg.contains("GB") && msg.contains("--flow network"), "{msg}");
        assert!(available_bytes().map_or(true, |b| b > 0));
    }
}
