//! The `phasecast` command line.

use anyhow::Result;
use clap::{Parser, Subcommand};
use phasecast::run::{self, BackendChoice, RunOptions, Status};
use std::path::PathBuf;

/// Grows porous polymer membranes in a computer: GPU phase-field simulation
/// of membrane formation and the measurements a membrane lab makes.
#[derive(Parser, Debug)]
#[command(name = "phasecast", version, about, long_about = None)]
struct Cli {
    /// Only errors and warnings; no progress bar.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Log level: error, warn, info, debug or trace (RUST_LOG also works).
    #[arg(long, global = true, default_value = "info")]
    log_level: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scene (the embedded quickstart when no scene is given).
    Run(RunArgs),
    /// List GPU adapters, backends, limits and features.
    Info,
    /// Time the ternary step and report voxel-updates/s and memory bandwidth.
    Bench(BenchArgs),
    /// Measure and classify a voxel microstructure (run folder, .vti, .npy, TIFF stack or raw).
    Analyze(phasecast::analysis::cli::AnalyzeArgs),
    /// Render a simulated SEM micrograph of a section or surface of any volume.
    Render(phasecast::lab::cli::RenderArgs),
    /// Run a scene over a grid of parameter values (batch study; see docs/batch.md).
    Sweep(phasecast::sweep::cli::SweepArgs),
}

#[derive(clap::Args, Debug, Default)]
struct RunArgs {
    /// Scene file (TOML). Without one, runs the embedded scenes/quickstart.toml.
    scene: Option<PathBuf>,
    /// Override a scene key, e.g. `--set grid.nx=32` or `--set stages.0.duration_s=2`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Run folder to write (default: runs/<scene name>, numbered if taken).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where the kernels run.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    backend: BackendChoice,
    /// Use the first adapter whose name contains NAME (see `phasecast info`; WGPU_ADAPTER_NAME also works).
    #[arg(long, value_name = "NAME")]
    adapter: Option<String>,
    /// Continue the stopped run in DIR from its checkpoint.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["scene", "out"])]
    resume: Option<PathBuf>,
    /// Stop once the simulated time reaches this many seconds, with a checkpoint to resume from.
    #[arg(long, value_name = "SECONDS")]
    until_s: Option<f64>,
}

#[derive(clap::Args, Debug)]
struct BenchArgs {
    /// Edge of the cubic grid in voxels.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Steps in the timed region.
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// Backend to time.
    #[arg(long, value_enum, default_value_t = BackendChoice::Gpu)]
    backend: BackendChoice,
    /// Adapter name filter (see `phasecast info`).
    #[arg(long, value_name = "NAME")]
    adapter: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Time the TIPS step (temperature, crystallinity and the ternary fields) instead of the isothermal ternary step.
    #[arg(long)]
    tips: bool,
    /// Run the standard benchmark cases (ternary step 128³/256³/512³ as memory allows, crystallization step, porometry, analysis 256³) and print them as JSON.
    #[arg(long)]
    suite: bool,
    /// With --suite: small sizes (seconds).
    #[arg(long, requires = "suite")]
    quick: bool,
}

fn main() {
    // Mesa's implicit device-select Vulkan layer probes for a Wayland display and
    // prints "error: XDG_RUNTIME_DIR is invalid" on headless machines. wgpu ranks
    // the adapters itself, so the layer is not needed; users can still set the
    // variable themselves. Set before any thread exists.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
    let cli = Cli::parse();
    let level = if cli.quiet { "warn".to_string() } else { cli.log_level.clone() };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level)).format_timestamp(None).format_target(false).init();
    if let Err(e) = dispatch(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(a) => run_cmd(a, cli.quiet),
        Command::Info => {
            print!("{}", phasecast::gpu::info_report());
            Ok(())
        }
        Command::Analyze(a) => phasecast::analysis::cli::run(&a),
        Command::Render(a) => phasecast::lab::cli::render(&a),
        Command::Sweep(a) => phasecast::sweep::cli::run(&a, cli.quiet),
        Command::Bench(a) if a.suite => {
            let r = phasecast::bench_suite::run_suite(a.backend, a.adapter.as_deref(), a.quick)?;
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(())
        }
        Command::Bench(a) => {
            let r = if a.tips {
                phasecast::bench::bench_tips(a.size, a.steps, a.backend, a.adapter.as_deref())?
            } else {
                phasecast::bench::bench(a.size, a.steps, a.backend, a.adapter.as_deref())?
            };
            if a.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!("backend   {} — {}", r.backend, r.device);
                println!("grid      {}^3 = {} voxels, {} steps in {:.3} s", r.size, r.voxels, r.steps, r.seconds);
                println!("rate      {:.3e} voxel-updates/s", r.voxel_updates_per_s);
                println!("bandwidth {:.2} GB/s effective ({} B per voxel-update)", r.effective_bandwidth_gb_s, r.bytes_per_voxel_update);
                for s in &r.schemes {
                    println!(
                        "{:<13} {:.3e} simulated s in {} steps ({} rejected), {:.3} s computing: {:.3e} simulated s per wall s, {:.3e} voxel-updates/s",
                        s.scheme, s.simulated_s, s.steps, s.rejected_steps, s.compute_s, s.simulated_s_per_wall_s, s.voxel_updates_per_s
                    );
                }
            }
            Ok(())
        }
    }
}

fn run_cmd(a: RunArgs, quiet: bool) -> Result<()> {
    let mut opts = RunOptions { out_dir: PathBuf::new(), backend: a.backend, adapter: a.adapter, quiet, until_s: a.until_s };
    let outcome = if let Some(dir) = a.resume {
        run::resume(&dir, &opts, &a.set)?
    } else {
        let cfg = phasecast::scene::load(a.scene.as_deref(), &a.set)?;
        opts.out_dir = a.out.unwrap_or_else(|| run::default_out_dir(std::path::Path::new("runs"), &cfg.name));
        log::info!(
            "scene {} ({}): {}x{}x{} voxels of {} µm, {} stage(s), {} s",
            cfg.name,
            cfg.source,
            cfg.grid.nx,
            cfg.grid.ny,
            cfg.grid.nz,
            cfg.grid.voxel_um,
            cfg.stages.len(),
            cfg.stages.iter().map(|s| s.duration_s).sum::<f64>()
        );
        run::run(&cfg, &opts)?
    };
    let what = match outcome.status {
        Status::Completed => "completed",
        Status::Stopped => "stopped (resume with --resume)",
    };
    if outcome.status == Status::Completed {
        let report = phasecast::report::write_run_report(&outcome.dir)?;
        log::info!("report: {}", report.display());
    }
    log::info!(
        "run {what}: {} steps to t = {:.4e} s in {:.1} s on {} ({:.3e} voxel-updates/s); outputs in {}",
        outcome.steps,
        outcome.time_s,
        outcome.wall_s,
        outcome.backend,
        outcome.voxel_updates_per_s,
        outcome.dir.display()
    );
    Ok(())
}
