//! Writes a synthetic segmented test volume (u8, 1 = pore) as `.npy` with its
//! sidecar JSON, for the `analyze` benchmarks and the PoreSpy side-by-side
//! (benches/crosscheck_network.sh).
//!
//! `cargo run --release --example write_test_volume -- KIND N OUT.npy [VOXEL_UM]`
//! with KIND `sponge` (pore spheres r = 6, porosity 0.6, as benches/lab.rs) or
//! `grf` (Gaussian random field σ = 3, porosity 0.5).

use phasecast::analysis::synthetic;
use phasecast::lab::synth;

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(a.len() >= 3, "usage: write_test_volume sponge|grf N OUT.npy [VOXEL_UM]");
    let n: usize = a[1].parse()?;
    let vox: f64 = a.get(3).map(|s| s.parse()).transpose()?.unwrap_or(0.02);
    let mut seg = match a[0].as_str() {
        "sponge" => synth::pore_spheres([n, n, n], vox, 6.0, 0.6, 42),
        "grf" => synthetic::level_set(&synthetic::gaussian_random_field([n, n, n], 3.0, 7), 0.5),
        k => anyhow::bail!("unknown kind {k}"),
    };
    seg.voxel_um = vox;
    let path = std::path::Path::new(&a[2]);
    let mut bytes = Vec::new();
    let header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': ({}, {}, {}), }}", n, n, n);
    let pad = 64 - (10 + header.len() + 1) % 64;
    let header = format!("{header}{}\n", " ".repeat(pad % 64));
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&seg.data);
    std::fs::write(path, bytes)?;
    std::fs::write(path.with_extension("json"), format!("{{\"voxel_um\": {vox}, \"shape_zyx\": [{n}, {n}, {n}]}}\n"))?;
    println!("{}: {n}³ {} porosity {:.3}", path.display(), a[0], seg.data.iter().filter(|&&v| v == 1).count() as f64 / seg.len() as f64);
    Ok(())
}
