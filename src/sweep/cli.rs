//! `phasecast sweep`: the command line of batch studies.
//!
//! ```text
//! phasecast sweep [SCENE] --vary KEY=V1,V2,... [--vary ...] [--zip] [--set KEY=VALUE]...
//!                 [--out DIR] [--jobs N] [--devices 0,1] [--backend B] [--adapter NAME]
//!                 [--emit slurm [--slurm-time T] [--slurm-mem M] ...]
//! phasecast sweep gather DIR          # summary.csv/json, plots, index.html from the point folders
//! phasecast sweep point DIR K         # run point K of the sweep in DIR (one Slurm array task)
//! ```

use super::runner::{self, Worker};
use super::slurm::{self, SlurmResources};
use super::{summary, Manifest, Vary};
use crate::run::BackendChoice;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Run a scene at many points of its parameter space (a batch study).
///
/// Each point runs into DIR/points/<name>/ (a normal run folder with report.html);
/// DIR gets summary.csv, summary.json, plots/ and index.html. Running the same
/// command again resumes: finished points are skipped, interrupted ones continued.
#[derive(clap::Args, Debug, Default)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub action: Option<SweepAction>,
    /// Scene file (TOML). Without one, the embedded scenes/quickstart.toml.
    pub scene: Option<PathBuf>,
    /// A scene key and its values, e.g. `--vary initial.phi_p=0.2,0.25,0.3`. Repeatable; commas inside [..], {..} or quotes do not split.
    #[arg(long, value_name = "KEY=V1,V2,...", required = true)]
    pub vary: Vec<String>,
    /// Pair the i-th values of every --vary list instead of running every combination.
    #[arg(long)]
    pub zip: bool,
    /// Override a scene key for every point, e.g. `--set grid.nx=64`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Sweep folder (default: sweeps/<scene name>). An existing folder holding the same sweep is resumed.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Points run at once: N CPU workers with --backend cpu, or N workers sharing the chosen adapter.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// GPU adapters to spread the points over, by position in `phasecast info` (0 = best), e.g. `--devices 0,1`; one point per adapter at a time.
    #[arg(long, value_delimiter = ',', value_name = "I,J,...", conflicts_with_all = ["adapter"])]
    pub devices: Vec<usize>,
    /// Where the kernels run (without --devices).
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Use the first adapter whose name contains NAME (without --devices).
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
    /// Instead of running, write a cluster job: `slurm` writes DIR/sweep.sbatch (one array task per point) and DIR/points.tsv.
    #[arg(long, value_enum, value_name = "SCHEDULER")]
    pub emit: Option<Emit>,
    /// Slurm: wall-clock limit per point (`--time`).
    #[arg(long, default_value = "02:00:00", value_name = "HH:MM:SS")]
    pub slurm_time: String,
    /// Slurm: host memory per point (`--mem`).
    #[arg(long, default_value = "16G", value_name = "MEM")]
    pub slurm_mem: String,
    /// Slurm: CPU cores per point (`--cpus-per-task`).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub slurm_cpus: u32,
    /// Slurm: partition (`--partition`).
    #[arg(long, value_name = "NAME")]
    pub slurm_partition: Option<String>,
    /// Slurm: account (`--account`).
    #[arg(long, value_name = "NAME")]
    pub slurm_account: Option<String>,
    /// Slurm: at most this many points at once (`--array=0-N%M`).
    #[arg(long, value_name = "M")]
    pub slurm_max_parallel: Option<usize>,
}

/// Cluster schedulers `--emit` writes jobs for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    Slurm,
}

#[derive(clap::Subcommand, Debug)]
pub enum SweepAction {
    /// Gather the point folders of the sweep in DIR into summary.csv, summary.json, plots/ and index.html.
    Gather {
        /// The sweep folder.
        dir: PathBuf,
    },
    /// Run one point of the sweep in DIR (what each Slurm array task runs); skips it if complete.
    Point {
        /// The sweep folder.
        dir: PathBuf,
        /// Point index (the array task id; see DIR/points.tsv).
        index: usize,
        /// Where the kernels run.
        #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
        backend: BackendChoice,
        /// Use the first adapter whose name contains NAME.
        #[arg(long, value_name = "NAME")]
        adapter: Option<String>,
    },
}

/// Runs `phasecast sweep` as parsed.
pub fn run(args: &SweepArgs, quiet: bool) -> Result<()> {
    match &args.action {
        Some(SweepAction::Gather { dir }) => {
            let s = summary::gather(dir)?;
            print_summary(dir, &s);
            Ok(())
        }
        Some(SweepAction::Point { dir, index, backend, adapter }) => {
            let m = Manifest::read(dir)?;
            let p = m.points.get(*index).with_context(|| format!("{}: point {index} does not exist (the sweep has {} points)", dir.display(), m.points.len()))?;
            let text = std::fs::read_to_string(dir.join(super::BASE_SCENE))?;
            let st = runner::run_point(dir, &m, &text, p, &Worker::Choice(*backend, adapter.clone()));
            match st.error {
                Some(e) if st.status != "completed" => bail!("point {} ({}) {}: {e}", p.index, p.name, st.status),
                _ => {
                    log::info!("point {} ({}): {}", p.index, p.name, st.status);
                    Ok(())
                }
            }
        }
        None => sweep(args, quiet),
    }
}

fn sweep(args: &SweepArgs, quiet: bool) -> Result<()> {
    let varies = args.vary.iter().map(|v| Vary::parse(v)).collect::<Result<Vec<_>>>()?;
    let (source, text) = match &args.scene {
        Some(p) => (p.display().to_string(), std::fs::read_to_string(p).with_context(|| format!("{}: cannot read the scene", p.display()))?),
        None => (crate::scene::QUICKSTART_NAME.to_string(), crate::scene::QUICKSTART.to_string()),
    };
    let base = crate::scene::load_str(&source, &text, &args.set)?;
    let dir = args.out.clone().unwrap_or_else(|| Path::new("sweeps").join(&base.name));
    // Absolute, so the Slurm script and the manifest work from any directory.
    let dir = std::path::absolute(&dir).with_context(|| format!("resolving {}", dir.display()))?;
    let manifest = Manifest::new(source, args.set.clone(), varies, args.zip)?;
    super::prepare(&dir, &manifest, &text)?;
    log::info!("sweep of {} ({} points{}) in {}", base.name, manifest.points.len(), if args.zip { ", zipped" } else { "" }, dir.display());

    if args.emit == Some(Emit::Slurm) {
        let res = SlurmResources {
            time: args.slurm_time.clone(),
            mem: args.slurm_mem.clone(),
            cpus_per_task: args.slurm_cpus,
            partition: args.slurm_partition.clone(),
            max_parallel: args.slurm_max_parallel,
            account: args.slurm_account.clone(),
        };
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("phasecast"));
        let e = slurm::emit(&dir, &manifest, &res, &exe)?;
        println!("wrote {} ({} array tasks) and {}", e.script.display(), manifest.points.len(), e.manifest.display());
        println!("submit:  {}", e.submit_command);
        println!("gather:  {}", e.gather_command);
        return Ok(());
    }

    let workers = workers(args)?;
    log::info!("{} worker(s): {}", workers.len(), workers.iter().map(Worker::describe).collect::<Vec<_>>().join(", "));
    runner::run_all(&dir, &workers, quiet)?;
    let s = summary::gather(&dir)?;
    print_summary(&dir, &s);
    if s.failed > 0 {
        bail!("{} of {} points failed; their errors are in {} (the other points are complete)", s.failed, s.points, dir.join("summary.csv").display());
    }
    Ok(())
}

/// The workers `--devices`, `--jobs` and `--backend` ask for.
pub fn workers(args: &SweepArgs) -> Result<Vec<Worker>> {
    if args.jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    if !args.devices.is_empty() {
        if args.backend == BackendChoice::Cpu {
            bail!("--devices lists GPU adapters; it cannot be used with --backend cpu (use --jobs N)");
        }
        let per = args.jobs.unwrap_or(1);
        return Ok(args.devices.iter().flat_map(|&i| std::iter::repeat_n(Worker::GpuIndex(i), per)).collect());
    }
    let n = args.jobs.unwrap_or(1);
    Ok(match args.backend {
        BackendChoice::Cpu => vec![Worker::Cpu; n],
        b => vec![Worker::Choice(b, args.adapter.clone()); n],
    })
}

fn print_summary(dir: &Path, s: &summary::Summary) {
    println!(
        "{} points: {} completed, {} failed, {} not run; summary in {}, {} plots, index {}",
        s.points,
        s.completed,
        s.failed,
        s.pending,
        dir.join("summary.csv").display(),
        s.plots.len(),
        dir.join("index.html").display()
    );
}
