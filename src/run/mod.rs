//! The run driver: scene → backend → stages → outputs.
//!
//! Two schemes (`time.scheme`). Semi-implicit (default): one step per reduction, an
//! adaptive dt from the step's error estimate, and a try rejected and retried
//! (from a saved copy of the fields) on NaN, a negative fraction, an energy rise or
//! too large an error (`Driver::semi_implicit_step`). Explicit: dt at or below the
//! stability bound of `solver::stability`, recomputed from the reduction made every
//! `time.reduce_every` steps (the only readback between snapshots). Each reduction
//! checks the fields: NaN/runaway values or mass drift in a closed stage stop the
//! run with the step, time and field named, keeping the last good checkpoint and
//! everything written so far. All files are written whole or not at all.

pub mod checkpoint;
pub mod energy;
pub mod initial;
pub mod section;

use crate::gpu::{engine::GpuSolver, GpuContext};
use crate::scene::{Config, Stage};
use crate::solver::params::{Params, StepInfo};
use crate::solver::{implicit, stability, Backend, CpuBackend, ImplicitStep, Totals};
use crate::util::atomic_write;
use crate::volume::Volume;
use anyhow::{bail, Context, Result};
use checkpoint::DriverState;
use energy::EnergyRow;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Which backend runs the kernels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// The best GPU adapter, else the CPU twins (with a notice).
    #[default]
    Auto,
    /// A wgpu adapter (hardware or software); an error if none.
    Gpu,
    /// The CPU twins (rayon).
    Cpu,
}

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub out_dir: PathBuf,
    pub backend: BackendChoice,
    pub adapter: Option<String>,
    pub quiet: bool,
    /// Stop (with a checkpoint) once the simulated time reaches this many seconds.
    pub until_s: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Completed,
    Stopped,
}

#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub status: Status,
    pub steps: u64,
    pub time_s: f64,
    pub wall_s: f64,
    pub voxel_updates_per_s: f64,
    pub backend: String,
}

/// A numerical failure found at a reduction.
#[derive(thiserror::Error, Debug)]
pub enum RunError {
    #[error("numerical failure at step {step}, t = {time_s:.6e} s: field {field} is {value} at voxel (z={z}, y={y}, x={x}); {bad} voxels are NaN, infinite or outside [-1, 2]. The last good checkpoint and all earlier outputs are kept in {dir}")]
    NotFinite { step: u64, time_s: f64, field: String, value: f32, z: usize, y: usize, x: usize, bad: u64, dir: String },
    #[error("mass drift at step {step}, t = {time_s:.6e} s: the total of field {field} changed by {drift:.3e} (relative) in a closed stage, more than time.mass_tolerance = {tol:.1e}. The last good checkpoint and all earlier outputs are kept in {dir}")]
    MassDrift { step: u64, time_s: f64, field: String, drift: f64, tol: f64, dir: String },
}

/// Creates the backend; `Auto` falls back to the CPU with a notice.
pub fn make_backend(choice: BackendChoice, adapter: Option<&str>, params: &Params) -> Result<Box<dyn Backend>> {
    make_backend_for(choice, adapter, params, false)
}

/// Like [`make_backend`]; with `semi_implicit` a GPU that cannot run the scheme on
/// this grid hands over to the CPU twins with a notice.
pub fn make_backend_for(choice: BackendChoice, adapter: Option<&str>, params: &Params, semi_implicit: bool) -> Result<Box<dyn Backend>> {
    let gpu = || -> Result<Box<dyn Backend>> {
        let ctx = GpuContext::new(adapter)?;
        if ctx.is_software() {
            log::warn!("using the software adapter {} (no hardware GPU adapter found); runs are much slower than on a GPU", ctx.info.name);
        }
        let software = ctx.is_software();
        let g: Box<dyn Backend> = Box::new(GpuSolver::new(ctx, params)?);
        if semi_implicit && software && choice == BackendChoice::Auto {
            log::warn!("the software adapter runs the semi-implicit scheme's transforms slower than the CPU twins do; using the CPU twins (--backend gpu runs it on the software adapter anyway)");
            return Ok(Box::new(CpuBackend::new(params)));
        }
        if semi_implicit {
            if let Err(why) = g.semi_implicit_support() {
                log::warn!("the GPU cannot run the semi-implicit scheme here ({why}); using the CPU twins for this run");
                return Ok(Box::new(CpuBackend::new(params)));
            }
        }
        Ok(g)
    };
    let b: Box<dyn Backend> = match choice {
        BackendChoice::Cpu => Box::new(CpuBackend::new(params)),
        BackendChoice::Gpu => gpu()?,
        BackendChoice::Auto => match gpu() {
            Ok(b) => b,
            Err(e) => {
                log::warn!("no usable GPU ({e:#}); falling back to the CPU backend");
                Box::new(CpuBackend::new(params))
            }
        },
    };
    log::info!("backend: {} — {}", b.kind(), b.description());
    Ok(b)
}

/// The semi-implicit scheme diagonalises x and y: every stage's faces must allow it.
pub fn check_scheme(cfg: &Config) -> Result<()> {
    if cfg.time.scheme != crate::scene::Scheme::SemiImplicit {
        return Ok(());
    }
    for (k, st) in cfg.stages.iter().enumerate() {
        if let Err(why) = implicit::layout(&cfg.params(st)) {
            bail!("{}: stages.{k}.boundary: {why}", cfg.source);
        }
    }
    Ok(())
}

/// Picks an unused run folder `base/name`, `base/name-2`, ...
pub fn default_out_dir(base: &Path, name: &str) -> PathBuf {
    let mut p = base.join(name);
    let mut k = 2;
    while p.exists() {
        p = base.join(format!("{name}-{k}"));
        k += 1;
    }
    p
}

/// Runs a scene from its initial state into `opts.out_dir`.
pub fn run(cfg: &Config, opts: &RunOptions) -> Result<RunOutcome> {
    check_scheme(cfg)?;
    let params = cfg.params(&cfg.stages[0]);
    let backend = make_backend_for(opts.backend, opts.adapter.as_deref(), &params, cfg.time.scheme == crate::scene::Scheme::SemiImplicit)?;
    run_with_backend(cfg, opts, backend)
}

/// Like [`run`], on a backend the caller made (tests inject faults this way).
pub fn run_with_backend(cfg: &Config, opts: &RunOptions, backend: Box<dyn Backend>) -> Result<RunOutcome> {
    let dir = &opts.out_dir;
    if dir.join("run.json").exists() || dir.join("checkpoint.bin").exists() {
        bail!("{} already holds a run; continue it with `phasecast run --resume {}` or choose another --out", dir.display(), dir.display());
    }
    std::fs::create_dir_all(dir.join("fields")).with_context(|| format!("creating {}", dir.display()))?;
    let scene_text = toml::to_string_pretty(&cfg.raw_table)?;
    atomic_write(&dir.join("scene.toml"), scene_text.as_bytes())?;
    let phi = initial::initial_fields(cfg);
    let aux = initial::initial_aux(cfg);
    let state = DriverState {
        shape: cfg.grid.shape(),
        step: 0,
        time: 0.0,
        stage: 0,
        stage_time: 0.0,
        dt: 0.0,
        next_output: 0.0,
        stage_mass: [0.0; 2],
        compute_s: 0.0,
        thermal: aux.is_some(),
        err_prev: 0.0,
        rejected: 0,
        dt_prev: 0.0,
        increments: false,
    };
    Driver::new(cfg, opts, backend, state, phi, aux, Vec::new(), true)?.drive()
}

/// Continues the run stored in `dir` from its checkpoint.
pub fn resume(dir: &Path, opts: &RunOptions, overrides: &[String]) -> Result<RunOutcome> {
    let cfg = crate::scene::load(Some(&dir.join("scene.toml")), overrides)?;
    let (state, phi, aux, incr) = checkpoint::read_with_increments(&dir.join("checkpoint.bin"))?;
    if aux.is_some() != cfg.thermal.is_some() {
        bail!("{}: the checkpoint {} temperature and crystallinity fields but the scene {} the thermal model", dir.display(), if aux.is_some() { "has" } else { "has no" }, if cfg.thermal.is_some() { "has" } else { "does not have" });
    }
    if state.shape != cfg.grid.shape() {
        bail!("{}: checkpoint shape {:?} does not match the scene grid {:?}", dir.display(), state.shape, cfg.grid.shape());
    }
    let rows: Vec<EnergyRow> = energy::read(&dir.join("energy.csv"))?.into_iter().filter(|r| r.step <= state.step).collect();
    let mut o = opts.clone();
    o.out_dir = dir.to_path_buf();
    if !opts.quiet {
        log::info!("resuming {} at step {}, t = {:.6e} s", dir.display(), state.step, state.time * cfg.units.time_s);
    }
    check_scheme(&cfg)?;
    let backend = make_backend_for(opts.backend, opts.adapter.as_deref(), &cfg.params(&cfg.stages[state.stage.min(cfg.stages.len() - 1)]), cfg.time.scheme == crate::scene::Scheme::SemiImplicit)?;
    let mut driver = Driver::new(&cfg, &o, backend, state, phi, aux, rows, false)?;
    driver.dt_prev = driver.state.dt_prev;
    driver.backend.upload_increments(incr.as_deref());
    driver.drive()
}

struct Driver<'a> {
    cfg: &'a Config,
    opts: &'a RunOptions,
    dir: PathBuf,
    backend: Box<dyn Backend>,
    params: Params,
    state: DriverState,
    rows: Vec<EnergyRow>,
    fresh: bool,
    last_snapshot_step: Option<u64>,
    final_fields: serde_json::Value,
    /// `phase_diagram(cfg)`, computed once for the log and every run.json.
    phase_diagram: serde_json::Value,
    started: Instant,
    warned_dt: bool,
    /// Semi-implicit scheme: the reduction of the last accepted state, the error
    /// estimate of the last step and its dt.
    last_totals: Option<Totals>,
    /// The smallest volume fraction at the start of the current stage.
    stage_min_fraction: f64,
    last_error: Option<f64>,
    dt_prev: f64,
    /// Liquid–liquid nucleation: the nuclei inserted so far, the summed
    /// expectation, the draws not inserted (unresolved, rejected), and the step
    /// and model time of the last pass. Passes fall at the first reduction at
    /// or after each multiple of `every_steps`, so a resumed run makes the same ones.
    nuclei: Vec<crate::solver::nucleation::Event>,
    nuc_expected: f64,
    nuc_unresolved: usize,
    nuc_rejected: usize,
    nuc_rejected_by: [usize; crate::solver::nucleation::Reject::COUNT],
    last_nuc_step: u64,
    last_nuc_time: f64,
    /// Wall time spent in nucleation passes this session (download, pass, upload).
    nuc_wall_s: f64,
}

impl<'a> Driver<'a> {
    fn new(
        cfg: &'a Config,
        opts: &'a RunOptions,
        mut backend: Box<dyn Backend>,
        state: DriverState,
        phi: Vec<[f32; 2]>,
        aux: Option<Vec<[f32; 2]>>,
        rows: Vec<EnergyRow>,
        fresh: bool,
    ) -> Result<Self> {
        let stage = state.stage.min(cfg.stages.len() - 1);
        let params = cfg.params(&cfg.stages[stage]);
        backend.set_params(&params);
        backend.upload(&phi);
        if let Some(a) = &aux {
            backend.upload_aux(a);
        }
        let pd = phase_diagram(cfg);
        if cfg.thermal.is_none() {
            if let (Some(p), Some(n)) = (pd.get("phi_p").and_then(|v| v.as_f64()), pd.get("phi_n").and_then(|v| v.as_f64())) {
                match pd.get("spinodal_phi_n").and_then(|v| v.as_f64()) {
                    Some(s) => log::info!("dope φ_P = {p:.3}, φ_N = {n:.4}: taking up non-solvent in place of solvent, it reaches its spinodal at φ_N = {s:.4} ({:+.4})", s - n),
                    None => log::info!("dope φ_P = {p:.3}, φ_N = {n:.4}: already inside its spinodal, or stable up to φ_S = 0"),
                }
            }
        }
        if let Some(th) = &cfg.thermal {
            let u = cfg.thermal_units();
            if u.alpha_capped {
                log::info!(
                    "thermal model: diffusivity capped at {} x the diluent mobility ({:.3e} model units; physical {:.3e} m²/s); face coefficients scaled to keep the heat flux",
                    th.max_lewis,
                    u.alpha,
                    th.diffusivity_m2_s
                );
            }
            log::info!(
                "thermal model: {} / {} φ_p = {:.3}, Ts = {} °C, seeds {:.3e} µm⁻³, top {} (h = {} W/m²K, Tm shift {:+.2} K), back {}",
                th.polymer,
                th.diluent,
                th.volume_fraction_polymer,
                th.dissolution_temperature_c,
                th.seed_density_per_um3,
                th.top.medium,
                th.top.heat_transfer_w_m2_k,
                th.top.melting_point_change_k,
                th.back.medium
            );
            match &th.exchange {
                Some(x) => log::info!(
                    "thermal model: {} exchanges with the diluent through the {} face(s): χ_pn = χ_ps(T) {:+.0} K / T ({:.3} at the medium temperature), χ_sn = {:.3}, bath φ_n = {}",
                    x.medium,
                    match (x.top, x.back) {
                        (true, true) => "top and back",
                        (true, false) => "top",
                        _ => "back",
                    },
                    x.delta_b_k,
                    x.chi_pn_at_medium,
                    x.chi_sn,
                    x.bath[1]
                ),
                None => log::info!("thermal model: the faces pass no mass (cooling.exchange = false)"),
            }
            if th.lumped {
                log::info!("thermal model: lumped column (cooling.column = \"lumped\"): the faces' heat is drawn evenly from every voxel");
            }
            log::info!("thermal model: thermodiffusion {}", if th.soret { "on (crystallization.soret = true)" } else { "off: the mass flux follows the isothermal potential difference" });
            let c = |k: &str| pd.get(k).and_then(|v| v.as_f64()).map_or("none".to_string(), |t| format!("{t:.1} °C"));
            log::info!(
                "thermal model: the φ_P = {:.3} solution clouds (binodal) at {} and reaches its spinodal at {}; the Cahn–Hilliard model demixes only below the spinodal",
                th.volume_fraction_polymer,
                c("cloud_point_c"),
                c("spinodal_c")
            );
        }
        let nuclei = if fresh { Vec::new() } else { read_nuclei(&opts.out_dir.join("nucleation.csv"), state.step)? };
        if let Some(ns) = &cfg.nucleation {
            let t = ns.temperature_c + crate::solver::nucleation::KELVIN;
            log::info!(
                "droplet nucleation: J0 = {:.3e} µm⁻³ s⁻¹, σ = {} mN/m, site volume {} cm³/mol ({}), a pass every {} steps, nuclei of {}–{} voxels radius",
                ns.rate_per_um3_s,
                ns.interfacial_tension_mn_m,
                ns.site_volume_cm3_mol,
                if cfg.thermal.is_some() {
                    "kT from each voxel's temperature".to_string()
                } else {
                    format!("σ̃ = {:.3e} kT per site face at {:.1} °C", ns.reduced_tension(t), ns.temperature_c)
                },
                ns.every_steps,
                ns.min_radius_voxels,
                ns.max_radius_voxels
            );
        }
        // The last pass before a resume: the last multiple of every_steps passed,
        // at the time the energy table recorded for it.
        let every = cfg.nucleation.as_ref().map_or(1, |n| n.every_steps);
        let last_nuc_step = state.step / every * every;
        let last_nuc_time = rows.iter().rev().find(|r| r.step <= last_nuc_step).map_or(0.0, |r| r.time_s / cfg.units.time_s);
        Ok(Self {
            nuclei,
            nuc_expected: 0.0,
            nuc_unresolved: 0,
            nuc_rejected: 0,
            nuc_rejected_by: [0; crate::solver::nucleation::Reject::COUNT],
            last_nuc_step,
            last_nuc_time,
            nuc_wall_s: 0.0,
            cfg,
            opts,
            dir: opts.out_dir.clone(),
            backend,
            params,
            state,
            rows,
            fresh,
            last_snapshot_step: None,
            final_fields: serde_json::Value::Null,
            phase_diagram: pd,
            started: Instant::now(),
            warned_dt: false,
            last_totals: None,
            stage_min_fraction: 0.0,
            last_error: None,
            dt_prev: 0.0,
        })
    }

    /// One liquid–liquid nucleation pass on the current fields (solver::nucleation).
    /// True when it inserted a nucleus.
    fn nucleation_pass(&mut self, ns: &crate::solver::nucleation::Settings) -> bool {
        let started = Instant::now();
        let inserted = self.nucleation_pass_inner(ns);
        self.nuc_wall_s += started.elapsed().as_secs_f64();
        inserted
    }

    fn nucleation_pass_inner(&mut self, ns: &crate::solver::nucleation::Settings) -> bool {
        let mut phi = self.backend.download();
        let aux = if self.cfg.thermal.is_some() { self.backend.download_aux() } else { Vec::new() };
        let dt_s = self.seconds(self.state.time - self.last_nuc_time);
        let time_s = self.seconds(self.state.time);
        let rep = crate::solver::nucleation::pass(ns, &self.params, &mut phi, &aux, self.cfg.grid.voxel_um, dt_s, self.state.step, time_s);
        self.last_nuc_time = self.state.time;
        self.last_nuc_step = self.state.step;
        self.nuc_expected += rep.expected;
        self.nuc_unresolved += rep.unresolved;
        self.nuc_rejected += rep.rejected;
        for (a, b) in self.nuc_rejected_by.iter_mut().zip(rep.rejected_by) {
            *a += b;
        }
        if !rep.events.is_empty() {
            self.backend.upload(&phi);
            for e in &rep.events {
                log::debug!(
                    "droplet nucleation: t = {:.4e} s, nucleus at (z={}, y={}, x={}) of radius {:.3} µm, φ = ({:.4}, {:.4}) in a host at ({:.4}, {:.4}), Δg = {:.3e} kT/site, ΔG* = {:.1} kT",
                    e.time_s, e.z, e.y, e.x, e.radius_um, e.inside[0], e.inside[1], e.host[0], e.host[1], e.dg_kt, e.barrier_kt
                );
            }
            self.nuclei.extend(rep.events);
            return true;
        }
        false
    }

    fn seconds(&self, model_time: f64) -> f64 {
        model_time * self.cfg.units.time_s
    }

    fn voxel_um3(&self) -> f64 {
        self.cfg.grid.voxel_um.powi(3)
    }

    fn record(&mut self, t: &Totals) {
        self.rows.push(EnergyRow {
            step: self.state.step,
            time_s: self.seconds(self.state.time),
            dt_s: self.seconds(self.state.dt),
            free_energy: t.free_energy,
            mass_polymer_um3: t.sum_p * self.voxel_um3(),
            mass_nonsolvent_um3: t.sum_n * self.voxel_um3(),
            max_phi_p: t.max_p,
            max_phi_n: t.max_n,
            thermal: self.cfg.thermal.as_ref().map(|_| {
                let n = self.cfg.grid.voxels() as f64;
                [t.sum_t / n - crate::scene::tips::KELVIN, t.min_t - crate::scene::tips::KELVIN, t.crystallinity()]
            }),
            step_error: if self.semi_implicit() { self.last_error } else { None },
            rejected_steps: self.state.rejected,
        });
    }

    /// The time step after a reduction: the stability bound times the safety
    /// factor, or the fixed step when it is below the bound.
    fn choose_dt(&mut self, t: &Totals) -> f64 {
        let bound = stability::dt_bound(&self.params, t);
        let auto = self.cfg.time.safety * bound;
        match self.cfg.time.dt_s {
            Some(d) => {
                let d = self.cfg.model_time(d);
                if d > bound {
                    if !self.warned_dt {
                        log::warn!(
                            "time.dt_s = {:.3e} s exceeds the stability bound {:.3e} s at step {}; using {:.3e} s",
                            self.seconds(d),
                            self.seconds(bound),
                            self.state.step,
                            self.seconds(auto)
                        );
                        self.warned_dt = true;
                    }
                    auto
                } else {
                    d
                }
            }
            None => auto,
        }
    }

    fn check(&mut self, t: &Totals, stage: &Stage) -> Result<()> {
        if t.bad_voxels > 0 || !t.sum_p.is_finite() || !t.free_energy.is_finite() {
            let phi = self.backend.download();
            let [_, ny, nx] = self.cfg.grid.shape();
            let names = self.cfg.field_names();
            let (i, f, v) = phi
                .iter()
                .enumerate()
                .find_map(|(i, c)| (0..names.len()).find(|&f| !c[f].is_finite() || c[f] < -1.0 || c[f] > 2.0).map(|f| (i, f, c[f])))
                .unwrap_or((0, 0, f32::NAN));
            return Err(RunError::NotFinite {
                step: self.state.step,
                time_s: self.seconds(self.state.time),
                field: names[f].to_string(),
                value: v,
                z: i / (nx * ny),
                y: (i / nx) % ny,
                x: i % nx,
                bad: t.bad_voxels.max(1),
                dir: self.dir.display().to_string(),
            }
            .into());
        }
        if stage.is_closed() {
            let names = self.cfg.field_names();
            for (f, (now, then)) in [(t.sum_p, self.state.stage_mass[0]), (t.sum_n, self.state.stage_mass[1])].into_iter().enumerate().take(names.len()) {
                if then.abs() > 0.0 {
                    let drift = (now - then).abs() / then.abs();
                    if drift > self.cfg.time.mass_tolerance {
                        return Err(RunError::MassDrift {
                            step: self.state.step,
                            time_s: self.seconds(self.state.time),
                            field: names[f].to_string(),
                            drift,
                            tol: self.cfg.time.mass_tolerance,
                            dir: self.dir.display().to_string(),
                        }
                        .into());
                    }
                }
            }
        }
        Ok(())
    }

    fn volumes(&self, phi: &[[f32; 2]], aux: Option<&[[f32; 2]]>) -> Vec<(&'static str, Volume<f32>)> {
        let shape = self.cfg.grid.shape();
        let vox = self.cfg.grid.voxel_um;
        let mut v: Vec<(&'static str, Volume<f32>)> = self
            .cfg
            .field_names()
            .iter()
            .enumerate()
            .map(|(f, name)| (*name, Volume { data: phi.iter().map(|c| c[f]).collect(), shape, voxel_um: vox }))
            .collect();
        if let Some(a) = aux {
            let k = crate::scene::tips::KELVIN as f32;
            v.push(("temperature_c", Volume { data: a.iter().map(|c| c[0] - k).collect(), shape, voxel_um: vox }));
            v.push(("crystallinity", Volume { data: a.iter().map(|c| c[1]).collect(), shape, voxel_um: vox }));
        }
        v
    }

    /// Writes the selected fields, the energy table and a checkpoint.
    fn snapshot(&mut self, phi: &[[f32; 2]]) -> Result<()> {
        let stem = format!("step_{:07}", self.state.step);
        let fields_dir = self.dir.join("fields");
        let aux = self.cfg.thermal.as_ref().map(|_| self.backend.download_aux());
        let vols = self.volumes(phi, aux.as_deref());
        let chosen: Vec<&(&str, Volume<f32>)> = vols.iter().filter(|(n, _)| self.cfg.outputs.fields.iter().any(|f| f == n)).collect();
        let mut npy = serde_json::Map::new();
        let mut vti = serde_json::Value::Null;
        let time_s = self.seconds(self.state.time);
        if self.cfg.outputs.formats.iter().any(|f| f == "npy") {
            for (name, vol) in &chosen {
                let rel = format!("fields/{stem}_{name}.npy");
                let meta = json!({"field": name, "step": self.state.step, "time_s": time_s, "scene": self.cfg.name});
                crate::volume_io::write_npy(&self.dir.join(&rel), vol, &meta)?;
                npy.insert(name.to_string(), json!(rel));
            }
        }
        if self.cfg.outputs.formats.iter().any(|f| f == "vti") {
            let rel = format!("fields/{stem}.vti");
            let arrays: Vec<(&str, &Volume<f32>)> = chosen.iter().map(|(n, v)| (*n, v)).collect();
            crate::volume_io::write_vti(&fields_dir.join(format!("{stem}.vti")), &arrays)?;
            vti = json!(rel);
        }
        self.final_fields = json!({"npy": npy, "vti": vti, "step": self.state.step, "time_s": time_s});
        energy::write(&self.dir.join("energy.csv"), &self.rows)?;
        self.write_nuclei()?;
        if self.cfg.outputs.checkpoint {
            // The semi-implicit scheme's last increments go along, so a resume takes
            // the same steps.
            let incr = if self.semi_implicit() { self.backend.download_increments() } else { None };
            self.state.dt_prev = self.dt_prev;
            checkpoint::write_with_increments(&self.dir.join("checkpoint.bin"), &self.state, phi, aux.as_deref(), incr.as_deref())?;
        }
        self.last_snapshot_step = Some(self.state.step);
        Ok(())
    }

    /// `nucleation.csv`: one row per inserted nucleus (scenes with [droplet_nucleation]).
    fn write_nuclei(&self) -> Result<()> {
        if self.cfg.nucleation.is_none() {
            return Ok(());
        }
        let vox = self.cfg.grid.voxel_um;
        let mut text = String::from(NUCLEI_HEADER);
        text.push('\n');
        for e in &self.nuclei {
            text.push_str(&format!(
                "{},{:.6e},{},{},{},{:.4},{:.4},{:.4},{:.6},{:.6},{:.6},{:.6},{:.6e},{:.3},{:.3}\n",
                e.step,
                e.time_s,
                e.z,
                e.y,
                e.x,
                (e.z as f64 + 0.5) * vox,
                e.radius_um,
                e.radius_um / vox,
                e.inside[0],
                e.inside[1],
                e.host[0],
                e.host[1],
                e.dg_kt,
                e.barrier_kt,
                e.temperature_c
            ));
        }
        atomic_write(&self.dir.join("nucleation.csv"), text.as_bytes())?;
        Ok(())
    }

    fn write_run_json(&self, status: &str, error: Option<String>) -> Result<()> {
        let voxels = self.cfg.grid.voxels() as f64;
        let vups = if self.state.compute_s > 0.0 { self.state.step as f64 * voxels / self.state.compute_s } else { 0.0 };
        let doc = json!({
            "phasecast_version": env!("CARGO_PKG_VERSION"),
            "wgpu_version": "30",
            "status": status,
            "error": error,
            "scene_file": self.cfg.source,
            "scene": self.cfg,
            "backend": self.backend.kind(),
            "adapter": self.backend.description(),
            "steps": self.state.step,
            "time_scheme": self.cfg.time.scheme,
            "rejected_steps": self.state.rejected,
            "time_s": self.seconds(self.state.time),
            "dt_s_last": self.seconds(self.state.dt),
            "wall_time_s": self.started.elapsed().as_secs_f64(),
            "compute_time_s": self.state.compute_s,
            "voxels": self.cfg.grid.voxels(),
            "voxel_um": self.cfg.grid.voxel_um,
            "film_top_layer": self.cfg.bath_slab.as_ref().map_or(0, |b| b.layers),
            "phase_diagram": self.phase_diagram,
            "droplet_nucleation": self.cfg.nucleation.as_ref().map(|_| json!({
                "nuclei": self.nuclei.len(),
                "expected_this_session": self.nuc_expected,
                "unresolved_this_session": self.nuc_unresolved,
                "rejected_this_session": self.nuc_rejected,
                "rejected_by_reason_this_session": crate::solver::nucleation::Reject::NAMES.iter().zip(self.nuc_rejected_by).map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
                "pass_wall_time_s_this_session": self.nuc_wall_s,
                "table": "nucleation.csv",
            })),
            "periodic_xy": self.cfg.stages.last().is_some_and(|s| s.boundary[..4].iter().all(|b| *b == crate::scene::Bc::Periodic)),
            "voxel_updates_per_s": vups,
            "final_fields": self.final_fields,
            "outputs": {
                "energy": "energy.csv",
                "scene": "scene.toml",
                "checkpoint": if self.cfg.outputs.checkpoint { json!("checkpoint.bin") } else { serde_json::Value::Null },
                "section_png": if self.cfg.outputs.section_png { json!("section.png") } else { serde_json::Value::Null },
            },
        });
        atomic_write(&self.dir.join("run.json"), serde_json::to_string_pretty(&doc)?.as_bytes())?;
        Ok(())
    }

    fn progress_bar(&self) -> indicatif::ProgressBar {
        let total: f64 = self.cfg.stages.iter().map(|s| self.cfg.model_time(s.duration_s)).sum();
        if self.opts.quiet {
            return indicatif::ProgressBar::hidden();
        }
        let pb = indicatif::ProgressBar::new(1000);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {percent:>3}% ETA {eta_precise} {msg}")
                .expect("template")
                .progress_chars("=> "),
        );
        pb.set_position(((self.state.time / total) * 1000.0) as u64);
        pb
    }

    fn drive(mut self) -> Result<RunOutcome> {
        let result = self.drive_inner();
        if let Err(e) = &result {
            let _ = energy::write(&self.dir.join("energy.csv"), &self.rows);
            let _ = self.write_nuclei();
            let _ = self.write_run_json("failed", Some(format!("{e:#}")));
        }
        result
    }

    fn drive_inner(&mut self) -> Result<RunOutcome> {
        let cfg = self.cfg;
        let total: f64 = cfg.stages.iter().map(|s| cfg.model_time(s.duration_s)).sum();
        let every = cfg.outputs.every_s.map(|e| cfg.model_time(e));
        let pb = self.progress_bar();
        let voxels = cfg.grid.voxels() as f64;

        if self.fresh {
            let t = self.backend.reduce();
            self.state.stage_mass = [t.sum_p, t.sum_n];
            self.check(&t, &cfg.stages[0])?;
            // The semi-implicit scheme starts from the explicit step and grows it.
            self.state.dt = self.choose_dt(&t);
            self.last_totals = Some(t);
            self.record(&t);
            if every.is_some() {
                let phi = self.backend.download();
                self.snapshot(&phi)?;
                self.state.next_output = every.unwrap_or(f64::INFINITY);
            }
        }

        while self.state.stage < cfg.stages.len() {
            let stage = &cfg.stages[self.state.stage];
            let duration = cfg.model_time(stage.duration_s);
            self.params = cfg.params(stage);
            self.backend.set_params(&self.params);
            if self.semi_implicit() {
                // New boundary conditions: the last increment says nothing about the next
                // (a resume in the middle of a stage keeps the checkpoint's).
                if self.state.stage_time == 0.0 {
                    self.backend.forget_increments();
                    self.state.err_prev = 0.0;
                }
                if self.last_totals.is_none() {
                    self.last_totals = Some(self.backend.reduce());
                }
                self.stage_min_fraction = self.last_totals.map_or(0.0, |t| t.min_fraction.min(0.0));
            }
            while self.state.stage_time < duration * (1.0 - 1e-12) {
                let t = if self.semi_implicit() { self.semi_implicit_step(stage, duration, every)? } else { self.explicit_stretch(duration) };
                self.check(&t, stage)?;
                if !self.semi_implicit() {
                    self.state.dt = self.choose_dt(&t);
                }
                self.record(&t);
                self.last_totals = Some(t);
                if let Some(ns) = &cfg.nucleation {
                    if self.state.step / ns.every_steps > self.last_nuc_step / ns.every_steps && self.nucleation_pass(ns) {
                        // New interfaces and dilute droplets stiffen the bulk: take the time step again.
                        let t = self.backend.reduce();
                        if self.semi_implicit() {
                            self.restart_controller(&t);
                        } else {
                            self.state.dt = self.choose_dt(&t);
                        }
                        self.last_totals = Some(t);
                    }
                }
                pb.set_position(((self.state.time / total) * 1000.0).min(1000.0) as u64);
                let rate = if self.state.compute_s > 0.0 { self.state.step as f64 * voxels / self.state.compute_s } else { 0.0 };
                pb.set_message(format!("step {} t={:.3e} s F={:.5e} {:.2e} vox/s", self.state.step, self.seconds(self.state.time), t.free_energy, rate));

                let stage_done = self.state.stage_time >= duration * (1.0 - 1e-12);
                if stage_done {
                    // Advance the stage before any checkpoint so a resume starts the next one.
                    self.state.stage += 1;
                    self.state.stage_time = 0.0;
                    self.state.stage_mass = [t.sum_p, t.sum_n];
                }
                let due = every.is_some_and(|_| self.state.time >= self.state.next_output * (1.0 - 1e-9));
                let stop = self.opts.until_s.is_some_and(|u| self.seconds(self.state.time) >= u * (1.0 - 1e-9)) && self.state.stage < cfg.stages.len();
                if due || stop {
                    let phi = self.backend.download();
                    self.snapshot(&phi)?;
                    if let Some(e) = every {
                        while self.state.next_output <= self.state.time * (1.0 + 1e-9) {
                            self.state.next_output += e;
                        }
                    }
                }
                if stop {
                    pb.finish_and_clear();
                    self.write_run_json("stopped", None)?;
                    return Ok(self.outcome(Status::Stopped));
                }
                if stage_done {
                    break;
                }
            }
        }
        pb.finish_and_clear();

        let phi = self.backend.download();
        if self.last_snapshot_step != Some(self.state.step) {
            self.snapshot(&phi)?;
        }
        energy::write(&self.dir.join("energy.csv"), &self.rows)?;
        self.write_nuclei()?;
        let aux = self.cfg.thermal.as_ref().map(|_| self.backend.download_aux());
        let vols = self.volumes(&phi, aux.as_deref());
        if cfg.outputs.section_png {
            section::write_section_png(&self.dir.join("section.png"), &vols[0].1)?;
        }
        if cfg.outputs.analyze {
            analysis_hook(cfg, &self.dir, &vols[0].1)?;
        }
        self.write_run_json("completed", None)?;
        Ok(self.outcome(Status::Completed))
    }


    fn semi_implicit(&self) -> bool {
        self.cfg.time.scheme == crate::scene::Scheme::SemiImplicit
    }

    /// The operators of one semi-implicit step of `dt` from the constants of the last
    /// reduction (`solver::implicit`).
    fn implicit_step_info(&self, dt: f64, t: &Totals) -> ImplicitStep {
        let p = &self.params;
        let info = StepInfo { step: self.state.step as u32, dt: dt as f32, noise_scale: stability::noise_scale(p, dt), dt_prev: self.dt_prev as f32 };
        ImplicitStep::new(p, t, info)
    }

    /// After the fields changed by other means (a nucleation pass, a snapshot that a
    /// resume starts from, a new stage): the next step has no error estimate and
    /// keeps the current dt.
    fn restart_controller(&mut self, t: &Totals) {
        self.backend.forget_increments();
        self.state.err_prev = 0.0;
        self.last_error = None;
        self.last_totals = Some(*t);
    }

    /// One accepted semi-implicit step. A try is rejected and retried with a smaller
    /// dt when it leaves NaN or runaway values, takes a volume fraction below −1e-3
    /// (further than the fields already were), raises the free energy of a closed,
    /// noise-free isothermal stage, or has an error estimate above 1.5 × time.tolerance.
    /// Accepted steps set the next dt with a PI controller (exponents 0.35 / 0.2),
    /// growing at most 1.5× per step. Steps end exactly at stage ends and snapshot
    /// times; `--until-s` stops after the step that reaches it (so that a resumed run
    /// takes the same steps as an uninterrupted one).
    fn semi_implicit_step(&mut self, stage: &Stage, duration: f64, every: Option<f64>) -> Result<Totals> {
        let cfg = self.cfg;
        let tol = cfg.time.tolerance;
        let fixed = cfg.time.dt_s.map(|d| cfg.model_time(d));
        let quiet_closed = stage.is_closed() && self.params.noise_amp <= 0.0 && !self.params.is_thermal();
        let mut tries = 0u32;
        loop {
            let prev = self.last_totals.expect("a reduction before the first step");
            let want = fixed.unwrap_or(self.state.dt);
            let mut dt = want.min(duration - self.state.stage_time);
            if every.is_some() {
                let to = self.state.next_output - self.state.time;
                if to > 1e-9 * want {
                    dt = dt.min(to);
                }
            }
            let clipped = dt < want * (1.0 - 1e-9);
            let step = self.implicit_step_info(dt, &prev);
            let t0 = Instant::now();
            if fixed.is_none() {
                self.backend.save_state();
            }
            self.backend.advance_semi_implicit(&[step]);
            let t = self.backend.reduce();
            let e = self.backend.step_error();
            self.state.compute_s += t0.elapsed().as_secs_f64();
            // A step may not take a fraction below −1e-3 (−0.05 in the thermal model, whose
            // soft floor lets the pore phase undershoot slightly by design) or below where
            // it was at the start of the stage, by more than 1e-4 at once: an overshoot of
            // too large a step. A slower creep is the model's own and is let through (a
            // strict floor stalled the quickstart at ever smaller steps).
            let base: f64 = if self.params.is_thermal() { -0.05 } else { -1e-3 };
            let neg_floor = base.min(self.stage_min_fraction);
            let why = if t.bad_voxels > 0 || !t.free_energy.is_finite() || !t.sum_p.is_finite() {
                Some("NaN or runaway values".to_string())
            } else if t.min_fraction < neg_floor && t.min_fraction < prev.min_fraction - 1e-4 {
                Some(format!("a volume fraction reached {:.3e}", t.min_fraction))
            } else if quiet_closed && t.free_energy > prev.free_energy + 1e-6 * prev.free_energy.abs() {
                Some(format!("the free energy rose from {:.9e} to {:.9e}", prev.free_energy, t.free_energy))
            } else if e.is_some_and(|e| e > 1.5 * tol) {
                Some(format!("error estimate {:.3e} > 1.5 × time.tolerance {tol:.1e}", e.unwrap_or(0.0)))
            } else {
                None
            };
            if let (Some(why), None) = (&why, fixed) {
                let broken = t.bad_voxels > 0 || !t.free_energy.is_finite() || !t.sum_p.is_finite();
                if broken && tries + 1 >= MAX_NAN_TRIES {
                    // Smaller steps did not help: a fault, not a step size. Name it.
                    self.state.rejected += 1;
                    self.check(&t, stage)?;
                }
                self.backend.restore_state();
                self.state.rejected += 1;
                tries += 1;
                let shrink = match e {
                    Some(e) if e > 1.5 * tol => (0.9 * (tol / e).sqrt()).clamp(0.1, 0.9),
                    _ => 0.25,
                };
                log::debug!("step {} rejected at dt = {:.3e} s: {why}; retrying at {:.3e} s", self.state.step, self.seconds(dt), self.seconds(dt * shrink));
                self.state.dt = dt * shrink;
                if tries > 40 {
                    bail!(
                        "the semi-implicit step was rejected 40 times in a row at step {}, t = {:.6e} s (last: {why}, dt = {:.3e} s); the fields are as after step {}. Try time.scheme = \"explicit\" for this scene. Earlier outputs are kept in {}",
                        self.state.step,
                        self.seconds(self.state.time),
                        self.seconds(dt),
                        self.state.step,
                        self.dir.display()
                    );
                }
                continue;
            }
            if let (Some(why), Some(_)) = (&why, fixed) {
                if t.bad_voxels > 0 {
                    log::warn!("fixed time.dt_s: step {} went wrong ({why})", self.state.step);
                }
            }
            self.state.step += 1;
            self.state.stage_time += dt;
            self.state.time += dt;
            self.dt_prev = dt;
            self.last_error = e;
            if fixed.is_none() {
                let factor = match e {
                    None => 1.0,
                    Some(e) if e <= 0.0 => 1.5,
                    Some(e) => {
                        let pi = if self.state.err_prev > 0.0 { (self.state.err_prev / tol).powf(0.2) } else { 1.0 };
                        (0.9 * (tol / e).powf(0.35) * pi).clamp(0.2, 1.5)
                    }
                };
                self.state.dt = if clipped && factor >= 1.0 { want.max(dt) } else { dt * factor };
                self.state.err_prev = e.unwrap_or(0.0);
            } else {
                self.state.dt = fixed.expect("fixed");
            }
            return Ok(t);
        }
    }

    /// The explicit scheme: a stretch of steps at the current dt up to the next
    /// multiple of `time.reduce_every`, then a reduction.
    fn explicit_stretch(&mut self, duration: f64) -> Totals {
        let re = self.cfg.time.reduce_every;
        let n = (re - self.state.step % re) as usize;
        let mut steps = Vec::with_capacity(n);
        let mut stage_time = self.state.stage_time;
        let mut time = self.state.time;
        for k in 0..n {
            let remaining = duration - stage_time;
            if remaining <= duration * 1e-12 {
                break;
            }
            let dt = self.state.dt.min(remaining);
            steps.push(StepInfo {
                step: (self.state.step + k as u64) as u32,
                dt: dt as f32,
                noise_scale: stability::noise_scale(&self.params, dt),
                dt_prev: 0.0,
            });
            stage_time += dt;
            time += dt;
        }
        let t0 = Instant::now();
        self.backend.advance(&steps);
        let t = self.backend.reduce();
        self.state.compute_s += t0.elapsed().as_secs_f64();
        self.state.step += steps.len() as u64;
        self.state.stage_time = stage_time;
        self.state.time = time;
        t
    }

    fn outcome(&self, status: Status) -> RunOutcome {
        let voxels = self.cfg.grid.voxels() as f64;
        RunOutcome {
            dir: self.dir.clone(),
            status,
            steps: self.state.step,
            time_s: self.seconds(self.state.time),
            wall_s: self.started.elapsed().as_secs_f64(),
            voxel_updates_per_s: if self.state.compute_s > 0.0 { self.state.step as f64 * voxels / self.state.compute_s } else { 0.0 },
            backend: self.backend.kind().to_string(),
        }
    }
}

/// Tries of a semi-implicit step that leaves NaN or runaway values before the run
/// stops as the explicit scheme does (naming the field and voxel).
const MAX_NAN_TRIES: u32 = 12;

const NUCLEI_HEADER: &str = "step,time_s,z,y,x,depth_um,radius_um,radius_voxels,phi_p_inside,phi_n_inside,phi_p_host,phi_n_host,dg_kt_per_site,barrier_kt,temperature_c";

/// The nuclei of an earlier session of a run, up to `step` (its checkpoint).
fn read_nuclei(path: &Path, step: u64) -> Result<Vec<crate::solver::nucleation::Event>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (k, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let bad = || anyhow::anyhow!("{}: line {} is not a nucleation row ({NUCLEI_HEADER})", path.display(), k + 1);
        if f.len() != 15 {
            return Err(bad());
        }
        let n = |i: usize| f[i].parse::<f64>().map_err(|_| bad());
        let e = crate::solver::nucleation::Event {
            step: n(0)? as u64,
            time_s: n(1)?,
            z: n(2)? as usize,
            y: n(3)? as usize,
            x: n(4)? as usize,
            radius_um: n(6)?,
            inside: [n(8)? as f32, n(9)? as f32],
            host: [n(10)? as f32, n(11)? as f32],
            dg_kt: n(12)?,
            barrier_kt: n(13)?,
            temperature_c: n(14)?,
        };
        if e.step <= step {
            out.push(e);
        }
    }
    Ok(out)
}

/// For run.json and the log (`thermo`): the cloud point and spinodal of a TIPS
/// scene's solution (Flory–Huggins with its χ(T) and chain length), or the
/// non-solvent fraction at which a ternary casting dope reaches its spinodal;
/// null for other models.
fn phase_diagram(cfg: &Config) -> serde_json::Value {
    let crate::scene::Model::Ternary { n_polymer, chi_ps, chi_pn, chi_sn, .. } = &cfg.model else {
        return serde_json::Value::Null;
    };
    let Some(th) = &cfg.thermal else {
        // A casting dope: how much non-solvent, taken up in place of solvent,
        // brings it to its spinodal.
        let crate::scene::Initial::Uniform { phi_p, phi_n, .. } = cfg.initial else {
            return serde_json::Value::Null;
        };
        let spin = crate::thermo::ternary_spinodal_nonsolvent(phi_p, phi_n, *n_polymer, *chi_ps, *chi_pn, *chi_sn);
        return json!({
            "phi_p": phi_p,
            "phi_n": phi_n,
            "spinodal_phi_n": spin,
            "distance_to_spinodal": spin.map(|s| s - phi_n),
        });
    };
    let (spin, cloud) = crate::thermo::spinodal_and_cloud_point_k(th.volume_fraction_polymer, *n_polymer, th.chi_a, th.chi_b_k);
    let c = |t: Option<f64>| t.map(|t| t - crate::scene::tips::KELVIN);
    json!({
        "phi_p": th.volume_fraction_polymer,
        "n_polymer": n_polymer,
        "chi": format!("{} + {} K / T", th.chi_a, th.chi_b_k),
        "spinodal_c": c(spin),
        "cloud_point_c": c(cloud),
    })
}

/// Runs the analysis stage and the lab measurements on the final polymer
/// field: `analysis.json`, its plots and the SEM images in the run folder, the
/// same as `phasecast analyze DIR`.
fn analysis_hook(cfg: &Config, dir: &Path, phi_p: &Volume<f32>) -> Result<()> {
    use crate::analysis::{self, AnalysisOptions, PoreValue};
    // An explicit bath slab is not membrane: measure the film below it.
    let film;
    let phi_p = match &cfg.bath_slab {
        Some(b) => {
            log::info!("analysis: the top {} layers were bath (initial.bath_layers); measuring the film below", b.layers);
            film = phi_p.without_top(b.layers);
            &film
        }
        None => phi_p,
    };
    let periodic_xy = cfg.stages.last().is_some_and(|s| s.boundary[..4].iter().all(|b| *b == crate::scene::Bc::Periodic));
    let fine = analysis::refine_for_segmentation(phi_p, cfg.analysis.refine, periodic_xy, "analysis: phi_p");
    let phi_p = fine.as_ref().unwrap_or(phi_p);
    let seg = analysis::segment(phi_p, cfg.analysis.threshold.map(|t| t as f32), PoreValue::Low);
    log::info!("analysis: {}", seg.how);
    let opts = AnalysisOptions { periodic_xy, polymer_density_g_cm3: cfg.analysis.polymer_density_g_cm3, ..Default::default() };
    // A simulated domain narrower than the seeds' 16 µm field is shown whole, not tiled.
    let lab_opts = crate::lab::LabOptions { sem_fov_um: crate::lab::default_sem_fov_um(phi_p), ..Default::default() };
    let mut report = crate::pipeline::measure(&seg.volume, &opts, Some(&lab_opts), dir)?;
    report.extra.insert("segmentation".into(), serde_json::json!({"how": seg.how, "threshold": seg.threshold, "refine": cfg.analysis.refine}));
    analysis::write_outputs(&report, dir)?;
    Ok(())
}
