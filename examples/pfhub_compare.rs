//! Compares a PFHub benchmark 1a run with the published free-energy curves:
//! `cargo run --release --example pfhub_compare -- runs/pfhub_bm1a`.
//! Prints a Markdown table (our F interpolated at each published time) and
//! writes docs/images/pfhub_bm1a.png.

use anyhow::{Context, Result};
use plotters::prelude::*;
use std::collections::BTreeMap;

fn main() -> Result<()> {
    let run = std::env::args().nth(1).unwrap_or_else(|| "runs/pfhub_bm1a".into());
    let ours = phasecast::run::energy::read(&std::path::Path::new(&run).join("energy.csv"))?;
    let refs = std::fs::read_to_string("docs/reference/pfhub_bm1a_reference.csv").context("reference data")?;
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for l in refs.lines().filter(|l| !l.starts_with('#') && !l.starts_with("source")) {
        let v: Vec<&str> = l.split(',').collect();
        series.entry(v[0].to_string()).or_default().push((v[1].parse()?, v[2].parse()?));
    }
    let ours_t: Vec<(f64, f64)> = ours.iter().map(|r| (r.time_s, r.free_energy)).collect();
    let interp = |t: f64| -> Option<f64> {
        ours_t.windows(2).find(|w| w[0].0 <= t && t <= w[1].0).map(|w| {
            let f = if w[1].0 > w[0].0 { (t - w[0].0) / (w[1].0 - w[0].0) } else { 0.0 };
            w[0].1 + f * (w[1].1 - w[0].1)
        })
    };
    println!("| source | t | published F | phasecast F | difference | relative |");
    println!("|---|---|---|---|---|---|");
    for (s, pts) in &series {
        let mut worst: f64 = 0.0;
        for &(t, f) in pts {
            if let Some(o) = interp(t) {
                worst = worst.max(((o - f) / f).abs());
                println!("| {s} | {t:.2} | {f:.3} | {o:.3} | {:+.3} | {:+.2} % |", o - f, 100.0 * (o - f) / f);
            }
        }
        eprintln!("{s}: largest relative difference {:.2} %", 100.0 * worst);
    }

    let _ = phasecast::util::register_plot_font();
    std::fs::create_dir_all("docs/images")?;
    let root = BitMapBackend::new("docs/images/pfhub_bm1a.png", (900, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let tmax = ours_t.last().map(|p| p.0).unwrap_or(1000.0).max(1.0);
    let mut chart = ChartBuilder::on(&root)
        .caption("PFHub benchmark 1a: total free energy", ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((0.5f64..tmax).log_scale(), 60f64..340f64)?;
    chart.configure_mesh().x_desc("time t").y_desc("F").label_style(("sans-serif", 15)).draw()?;
    chart
        .draw_series(LineSeries::new(ours_t.iter().filter(|p| p.0 > 0.0).copied(), BLACK.stroke_width(2)))?
        .label("phasecast (explicit Euler, 200x200)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    let names = [
        ("S1", "MOOSE (CHiMaD hackathon, Schwen)"),
        ("S2", "MOOSE (adaptive mesh, Frichtl)"),
        ("S3", "FiPy (PFHub upload)"),
        ("S4", "MMSP (PFHub upload)"),
    ];
    for (k, (s, label)) in names.iter().enumerate() {
        if let Some(pts) = series.get(*s) {
            let c = Palette99::pick(k).to_rgba();
            chart
                .draw_series(pts.iter().filter(|p| p.0 > 0.0).map(|&(t, f)| Circle::new((t, f), 4, c.filled())))?
                .label(*label)
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
        }
    }
    chart.configure_series_labels().position(SeriesLabelPosition::LowerLeft).background_style(WHITE.mix(0.8)).border_style(BLACK).label_font(("sans-serif", 15)).draw()?;
    root.present()?;
    eprintln!("wrote docs/images/pfhub_bm1a.png");
    Ok(())
}
