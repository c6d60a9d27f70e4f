//! Side-by-side of the porometer's two flow methods on the lab test volumes:
//! pore network (default) and lattice Boltzmann (reference). Prints bubble
//! point, mean-flow diameter, Darcy permeability, tortuosity and times, and
//! the network's deviation from the reference (docs/validation.md §5).
//!
//! `cargo run --release --example network_vs_lbm [-- NAME...]`, NAME from
//! the list printed with `--list`; a `.npy`/`.vti`/`.tif` path is read and
//! segmented as `phasecast analyze` does (binary 0/1: 1 = pore).

use phasecast::analysis::synthetic;
use phasecast::lab::porometry::{porometry, FlowMethod, PorometryOptions};
use phasecast::lab::synth;
use phasecast::volume::Volume;

fn volumes() -> Vec<(&'static str, Box<dyn Fn() -> Volume<u8>>)> {
    vec![
        ("channels_16_12_8", Box::new(|| {
            let mut diameters = vec![16.0];
            diameters.extend([12.0; 4]);
            diameters.extend([8.0; 9]);
            let ch: Vec<_> = diameters.iter().enumerate().map(|(i, &d)| (10.5 + 20.0 * (i % 4) as f64, 10.5 + 20.0 * (i / 4) as f64, d)).collect();
            synth::channels([40, 80, 80], 0.05, &ch)
        })),
        ("spheres_r4_p60_96x24", Box::new(|| synth::pore_spheres([96, 24, 24], 0.02, 4.0, 0.6, 3))),
        ("sponge_r6_p60_32", Box::new(|| synth::pore_spheres([32, 32, 32], 0.02, 6.0, 0.6, 42))),
        ("sponge_r6_p60_64", Box::new(|| synth::pore_spheres([64, 64, 64], 0.02, 6.0, 0.6, 42))),
        ("spheres_r5_p45_64", Box::new(|| synth::pore_spheres([64, 64, 64], 0.02, 5.0, 0.45, 7))),
        ("spheres_r3_p70_64", Box::new(|| synth::pore_spheres([64, 64, 64], 0.02, 3.0, 0.7, 11))),
        ("grf_s3_p50_64", Box::new(|| synthetic::level_set(&synthetic::gaussian_random_field([64, 64, 64], 3.0, 5), 0.5))),
        ("grf_s4_p40_64", Box::new(|| synthetic::level_set(&synthetic::gaussian_random_field([64, 64, 64], 4.0, 9), 0.4))),
    ]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = volumes();
    if args.iter().any(|a| a == "--list") {
        for (n, _) in &all {
            println!("{n}");
        }
        return Ok(());
    }
    let chosen: Vec<(String, Volume<u8>)> = if args.is_empty() {
        all.iter().map(|(n, f)| (n.to_string(), f())).collect()
    } else {
        args.iter()
            .map(|a| {
                if let Some((n, f)) = all.iter().find(|(n, _)| n == a) {
                    Ok((n.to_string(), f()))
                } else {
                    let vox = std::env::var("VOXEL_UM").ok().and_then(|s| s.parse().ok()).or(Some(0.02));
                    let v = phasecast::volume_io::read_volume(std::path::Path::new(a), &phasecast::volume_io::ReadOptions { voxel_um: vox, ..Default::default() })?;
                    let seg = phasecast::analysis::segment(&v.volume, None, phasecast::analysis::PoreValue::High).volume;
                    Ok((a.clone(), seg))
                }
            })
            .collect::<anyhow::Result<_>>()?
    };
    println!("| volume | shape | method | bubble point µm | mean flow µm | k (m²) | tortuosity | time s |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, mut seg) in chosen {
        if seg.voxel_um <= 0.0 || !seg.voxel_um.is_finite() {
            seg.voxel_um = 1.0;
        }
        let mut res = Vec::new();
        let methods = if std::env::var("NVL_ONLY").as_deref() == Ok("network") { vec![FlowMethod::Network] } else { vec![FlowMethod::Network, FlowMethod::Lbm] };
        for method in methods {
            let opts = PorometryOptions { n_pressures: 20, method, ..Default::default() };
            let t = std::time::Instant::now();
            let (p, dry) = porometry(&seg, &opts)?;
            let dt = t.elapsed().as_secs_f64();
            let k = dry.k_vox2 * (seg.voxel_um * 1e-6).powi(2);
            let f = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.4}"));
            println!(
                "| {name} | {:?} | {} | {} | {} | {k:.4e} | {:.3} | {dt:.2} |",
                seg.shape,
                method.name(),
                f(p.bubble_point_diameter_um),
                f(p.mean_flow_diameter_um),
                dry.tortuosity
            );
            res.push((p.bubble_point_diameter_um, p.mean_flow_diameter_um, k, dt));
        }
        if res.len() < 2 {
            continue;
        }
        let rel = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:+.1} %", 100.0 * (a / b - 1.0)),
            _ => "–".into(),
        };
        println!(
            "| {name} | | network − lbm | {} | {} | {} | | {:.0}× faster |",
            rel(res[0].0, res[1].0),
            rel(res[0].1, res[1].1),
            rel(Some(res[0].2), Some(res[1].2)),
            res[1].3 / res[0].3.max(1e-9)
        );
    }
    Ok(())
}
