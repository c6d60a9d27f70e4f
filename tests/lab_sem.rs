//! SEM measurements on shapes with analytic answers, and golden images of the
//! simulated micrographs.
//!
//! Golden images: `PHASECAST_BLESS=1 cargo test --release --test lab_sem`
//! rewrites `tests/golden/*.png`; a mismatch writes the rendered image and a
//! difference image to `tests/golden_failures/` (ignored by git).

use phasecast::lab::intercept::{line_intercept, surface_pores};
use phasecast::lab::rng::SplitMix64;
use phasecast::lab::sem::{self, Axis, SemOptions, Side, View};
use phasecast::lab::synth;
use std::f64::consts::PI;
use std::path::PathBuf;

/// Non-overlapping discs of diameter `d` px at random positions in a w×w map.
fn discs(w: usize, d: f64, count: usize, seed: u64) -> Vec<bool> {
    let mut rng = SplitMix64::new(seed);
    let mut centres: Vec<(f64, f64)> = Vec::new();
    let mut tries = 0;
    while centres.len() < count && tries < 100_000 {
        tries += 1;
        let c = (
            d + rng.next_f64() * (w as f64 - 2.0 * d),
            d + rng.next_f64() * (w as f64 - 2.0 * d),
        );
        if centres.iter().all(|o| (o.0 - c.0).hypot(o.1 - c.1) > d + 2.0) {
            centres.push(c);
        }
    }
    let mut map = vec![false; w * w];
    for y in 0..w {
        for x in 0..w {
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            map[y * w + x] = centres.iter().any(|c| (c.0 - px).hypot(c.1 - py) < d / 2.0);
        }
    }
    map
}

/// Parallel lines through discs placed at random: mean chord πD/4.
#[test]
fn line_intercept_on_discs_is_pi_d_over_4() {
    let (w, d) = (1200usize, 40.0);
    let mut total = 0.0;
    let mut n = 0usize;
    // Several independent images: the seed's 50 lines on each.
    for seed in 0..6 {
        let map = discs(w, d, 250, seed);
        let r = line_intercept(&map, w, w, 0.01, 50);
        total += r.mean_um.unwrap() * r.segments as f64;
        n += r.segments;
    }
    let mean_px = total / n as f64 / 0.01;
    let exact = PI * d / 4.0;
    println!(
        "discs D = {d} px: mean chord {mean_px:.2} px vs πD/4 = {exact:.2} px ({:+.2} %), {n} chords",
        100.0 * (mean_px / exact - 1.0)
    );
    assert!((mean_px / exact - 1.0).abs() < 0.04);
}

/// Squares aligned with the lines: every chord is the side.
#[test]
fn line_intercept_on_squares_is_the_side() {
    let w = 200;
    let mut map = vec![false; w * w];
    for (x0, y0) in [(10, 10), (100, 30), (50, 120), (150, 150)] {
        for y in y0..y0 + 25 {
            for x in x0..x0 + 25 {
                map[y * w + x] = true;
            }
        }
    }
    let r = line_intercept(&map, w, w, 0.5, 50);
    assert_eq!(r.mean_um, Some(12.5));
    assert_eq!(r.lines, 50);
}

/// Sections through isolated spherical pores: the lines are isotropic with
/// respect to each sphere, so the mean chord is 4V/S = 2D/3.
#[test]
fn section_intercept_through_spheres_is_two_thirds_d() {
    let d = 16.0;
    let seg = synth::isolated_pore_spheres([96, 96, 96], 0.1, d, 60, 11);
    let opts = SemOptions {
        fov_um: 9.6,
        width_px: 96,
        periodic_xy: false,
        ..Default::default()
    };
    let (mut total, mut n) = (0.0, 0usize);
    for pos in (4..92).step_by(4) {
        for axis in [Axis::Y, Axis::X] {
            let (map, w, h, px) = sem::void_map(&seg, View::Section { axis, pos }, &opts);
            let r = line_intercept(&map, w as usize, h as usize, px, 50);
            if let Some(m) = r.mean_um {
                total += m * r.segments as f64;
                n += r.segments;
            }
        }
    }
    let mean_vox = total / n as f64 / 0.1;
    // The digital sphere's own 4V/S uses its voxel volume and the exact
    // sphere surface of the same volume.
    let exact = 2.0 * d / 3.0;
    println!(
        "spheres D = {d} vox: section mean chord {mean_vox:.2} vox vs 2D/3 = {exact:.2} ({:+.2} %), {n} chords",
        100.0 * (mean_vox / exact - 1.0)
    );
    assert!((mean_vox / exact - 1.0).abs() < 0.06);
}

/// Surface openings: channels through the slab and blind holes from the top.
#[test]
fn surface_pores_count_size_and_through_share() {
    let mut seg = synth::channels(
        [20, 64, 64],
        0.05,
        &[(16.5, 16.5, 10.0), (48.5, 16.5, 10.0), (16.5, 48.5, 10.0)],
    );
    // A blind hole of the same size, 8 voxels deep from the top.
    for z in 0..8 {
        for y in 0..64 {
            for x in 0..64 {
                if (x as f64 + 0.5 - 48.5).hypot(y as f64 + 0.5 - 48.5) < 5.0 {
                    seg.set(z, y, x, 1);
                }
            }
        }
    }
    let top = surface_pores(&seg, Side::Top, true);
    let bottom = surface_pores(&seg, Side::Bottom, true);
    assert_eq!(top.count, 4);
    assert_eq!(bottom.count, 3);
    assert_eq!(top.through_pore_fraction, Some(0.75));
    assert_eq!(bottom.through_pore_fraction, Some(1.0));
    // All openings alike: σ_D/D = 0 and D is the area-equivalent diameter.
    let area = (0..64 * 64).filter(|&i| seg.data[i] == 1).count() as f64 / 4.0;
    let d_eq = 2.0 * (area / PI).sqrt() * 0.05;
    assert!((top.mean_diameter_um.unwrap() - d_eq).abs() < 1e-12);
    assert!(top.sigma_over_mean.unwrap() < 1e-12);
    assert!((top.opening_ratio - 4.0 * area / 4096.0).abs() < 1e-12);
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compares with a golden PNG: mean absolute difference ≤ 1.5 grey levels and
/// at most 0.5 % of pixels off by more than 32 (font rasterization and float
/// summation order may differ slightly between platforms).
fn check_golden(name: &str, img: &image::GrayImage) {
    let path = golden_dir().join(name);
    if std::env::var("PHASECAST_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(golden_dir()).unwrap();
        phasecast::lab::plot::save_gray(img, &path).unwrap();
        return;
    }
    let golden = image::open(&path)
        .unwrap_or_else(|e| {
            panic!(
                "missing golden image {} ({e}); run with PHASECAST_BLESS=1",
                path.display()
            )
        })
        .to_luma8();
    let same_size = golden.dimensions() == img.dimensions();
    let (mad, bad) = if same_size {
        let diffs: Vec<i32> = golden
            .iter()
            .zip(img.iter())
            .map(|(&a, &b)| (a as i32 - b as i32).abs())
            .collect();
        let mad = diffs.iter().sum::<i32>() as f64 / diffs.len() as f64;
        let bad = diffs.iter().filter(|&&d| d > 32).count() as f64 / diffs.len() as f64;
        (mad, bad)
    } else {
        (f64::INFINITY, 1.0)
    };
    if mad > 1.5 || bad > 0.005 {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden_failures");
        std::fs::create_dir_all(&dir).unwrap();
        phasecast::lab::plot::save_gray(img, &dir.join(name)).unwrap();
        if same_size {
            let diff = image::GrayImage::from_fn(img.width(), img.height(), |x, y| {
                image::Luma([(golden.get_pixel(x, y)[0] as i32 - img.get_pixel(x, y)[0] as i32)
                    .unsigned_abs()
                    .min(255) as u8])
            });
            phasecast::lab::plot::save_gray(&diff, &dir.join(format!("diff_{name}"))).unwrap();
        }
        panic!(
            "{name}: differs from golden (mean |Δ| {mad:.2}, {:.2} % pixels > 32); see tests/golden_failures/",
            100.0 * bad
        );
    }
}

fn golden_volume() -> phasecast::volume::Volume<u8> {
    synth::pore_spheres([48, 64, 64], 0.1, 5.0, 0.55, 5)
}

#[test]
fn golden_section() {
    let opts = SemOptions {
        fov_um: 6.4,
        width_px: 256,
        seed: 3,
        ..Default::default()
    };
    let img = sem::render(&golden_volume(), View::Section { axis: Axis::Y, pos: 20 }, &opts).unwrap();
    check_golden("sem_section.png", &img);
}

#[test]
fn golden_top_surface() {
    let opts = SemOptions {
        fov_um: 6.4,
        width_px: 256,
        seed: 3,
        ..Default::default()
    };
    let img = sem::render(&golden_volume(), View::Surface(Side::Top), &opts).unwrap();
    check_golden("sem_top.png", &img);
}

#[test]
fn render_is_reproducible_and_noise_is_seeded() {
    let seg = golden_volume();
    let opts = SemOptions {
        fov_um: 6.4,
        width_px: 96,
        seed: 3,
        data_bar: false,
        ..Default::default()
    };
    let a = sem::render(&seg, View::Surface(Side::Bottom), &opts).unwrap();
    let b = sem::render(&seg, View::Surface(Side::Bottom), &opts).unwrap();
    let c = sem::render(
        &seg,
        View::Surface(Side::Bottom),
        &SemOptions {
            seed: 4,
            ..opts.clone()
        },
    )
    .unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}
