//! The solver: what to dispatch each time step, independent of where it runs.
//!
//! A [`Backend`] owns the fields and runs whole stretches of steps (the GPU
//! engine in `crate::gpu::engine` or the CPU twins in [`cpu`]). The run driver
//! (`crate::run`) decides the time step, reads the reductions at a chosen
//! interval and writes outputs; nothing is read back between reductions.

pub mod cpu;
pub mod implicit;
pub mod nucleation;
pub mod params;
pub mod stability;

use rayon::prelude::*;
use params::{Params, Reduction, StepInfo, MODEL_TERNARY};

/// Totals over the whole field, read back at each reduction.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    /// Sum of phi_p over voxels.
    pub sum_p: f64,
    /// Sum of phi_n over voxels.
    pub sum_n: f64,
    /// Total free energy in model units (kT per site times model volume).
    pub free_energy: f64,
    /// Voxels that are NaN, infinite or far outside [0, 1].
    pub bad_voxels: u64,
    /// Largest positive eigenvalue of M·H (bulk stiffness).
    pub stiffness: f64,
    /// Largest eigenvalue of M.
    pub max_mobility: f64,
    pub max_p: f64,
    pub max_n: f64,
    /// Thermal model (zero otherwise): sum of T (K) over voxels, sum of
    /// phi_p·psi (crystallized polymer), sum of psi, max T, min T, max psi.
    pub sum_t: f64,
    pub sum_crystal: f64,
    pub sum_psi: f64,
    pub max_t: f64,
    pub min_t: f64,
    pub max_psi: f64,
    /// Smallest volume fraction over voxels and components (ternary; +inf otherwise).
    pub min_fraction: f64,
}

impl Totals {
    /// Crystallized fraction of the polymer.
    pub fn crystallinity(&self) -> f64 {
        if self.sum_p > 0.0 {
            self.sum_crystal / self.sum_p
        } else {
            0.0
        }
    }

    pub fn from_reduction(r: &Reduction) -> Self {
        Self {
            sum_t: r.c[0] as f64,
            sum_crystal: r.c[1] as f64,
            sum_psi: r.c[2] as f64,
            max_t: r.d[0] as f64,
            min_t: -r.d[1] as f64,
            max_psi: r.d[2] as f64,
            min_fraction: if r.d[3] <= -1e29 { f64::INFINITY } else { -r.d[3] as f64 },
            sum_p: r.sum_p(),
            sum_n: r.sum_n(),
            free_energy: r.free_energy(),
            bad_voxels: r.bad_voxels(),
            stiffness: r.stiffness(),
            max_mobility: r.max_mobility(),
            max_p: r.b[2] as f64,
            max_n: r.b[3] as f64,
        }
    }
}

/// One step of the semi-implicit scheme: the step values and the operators the
/// backend inverts (`implicit`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImplicitStep {
    pub info: StepInfo,
    /// Cahn–Hilliard operator per field (P, N) and the reference potentials.
    pub ch: [implicit::Op; 2],
    pub mu_ref: [f32; 2],
    /// Thermal model: the heat and crystallinity operators and S_ψ.
    pub heat: implicit::Op,
    pub psi: implicit::Op,
    pub s_psi: f32,
}

impl ImplicitStep {
    /// The operators of a step described by `info` (dt, noise, step index) with the
    /// stabilisation constants of the reduction `t` of the current fields.
    pub fn new(p: &Params, t: &Totals, info: StepInfo) -> Self {
        let dt = info.dt as f64;
        let mut ch = [implicit::Op::identity(); 2];
        let mut mu_ref = [0.0f32; 2];
        for f in 0..field_count(p) {
            let kappa = if f == 0 { p.kappa_p } else { p.kappa_n } as f64;
            let (a, s) = implicit::constants(t, kappa, dt);
            ch[f] = implicit::ch_op(p, f, dt, a, s);
            mu_ref[f] = implicit::mu_ref(p, f);
        }
        let (heat, psi, s_psi) = if p.is_thermal() {
            let sp = implicit::psi_stabilisation(p, t);
            (implicit::heat_op(p, dt), implicit::psi_op(p, dt, sp), sp as f32)
        } else {
            (implicit::Op::identity(), implicit::Op::identity(), 0.0)
        };
        Self { info, ch, mu_ref, heat, psi, s_psi }
    }
}

/// Conserved fields a model evolves (P and N, or c alone).
pub fn field_count(p: &Params) -> usize {
    if p.model == MODEL_TERNARY {
        2
    } else {
        1
    }
}

/// Where the kernels run.
pub trait Backend {
    /// "gpu" or "cpu".
    fn kind(&self) -> &'static str;
    /// Human description (adapter name and driver, or CPU threads).
    fn description(&self) -> String;
    /// Sets the stage parameters (boundary conditions, model).
    fn set_params(&mut self, p: &Params);
    /// Replaces the fields (phi_p, phi_n interleaved per voxel).
    fn upload(&mut self, phi: &[[f32; 2]]);
    /// Reads the fields back.
    fn download(&mut self) -> Vec<[f32; 2]>;
    /// Replaces the thermal model's (T in K, crystallinity psi) per voxel.
    /// Only called when the parameters have the thermal model on.
    fn upload_aux(&mut self, aux: &[[f32; 2]]);
    /// Reads (T, psi) back.
    fn download_aux(&mut self) -> Vec<[f32; 2]>;
    /// Runs one step per entry of `steps`, without reading anything back.
    fn advance(&mut self, steps: &[StepInfo]);
    /// Reduces mass, free energy, health and stiffness of the current fields.
    fn reduce(&mut self) -> Totals;
    /// Whether this backend can run the semi-implicit scheme on its grid and
    /// boundary conditions (the reason when not).
    fn semi_implicit_support(&self) -> Result<(), String>;
    /// Runs semi-implicit steps, without reading anything back.
    fn advance_semi_implicit(&mut self, steps: &[ImplicitStep]);
    /// The error estimate of the last step, e = ½ rms(δⁿ − (Δtₙ/Δtₙ₋₁) δⁿ⁻¹) over the
    /// deterministic increments of the conserved fields (and of the crystallinity before
    /// nucleation); None before two steps.
    fn step_error(&mut self) -> Option<f64>;
    /// Keeps a copy of the fields (and increments) to return to with `restore_state`.
    fn save_state(&mut self);
    /// Returns to the state of the last `save_state` (a rejected stretch of steps).
    fn restore_state(&mut self);
    /// Forgets the last increment (the fields changed by other means: a nucleation
    /// pass, a new stage), so the next error estimate starts afresh.
    fn forget_increments(&mut self);
    /// The last increments (P, N, ψ per voxel) for a checkpoint; None when there are none.
    fn download_increments(&mut self) -> Option<Vec<[f32; 3]>>;
    /// Restores increments from a checkpoint (None: none).
    fn upload_increments(&mut self, d: Option<&[[f32; 3]]>);
}

/// The CPU twins as a backend.
pub struct CpuBackend {
    params: Params,
    phi: Vec<[f32; 2]>,
    next: Vec<[f32; 2]>,
    mu: Vec<[f32; 2]>,
    /// Thermal model: (T, psi) and the next step's (empty otherwise).
    aux: Vec<[f32; 2]>,
    aux_next: Vec<[f32; 2]>,
    /// Semi-implicit scheme (allocated on first use): the solver, the unit noise
    /// divergence, the last deterministic increments (P, N, ψ), whether they are set,
    /// the last error estimate, and the saved state.
    spectral: Option<cpu::spectral::Spectral>,
    eta: Vec<[f32; 2]>,
    delta: Vec<[f32; 3]>,
    have_delta: bool,
    error: Option<f64>,
    saved: Option<Saved>,
    err_buf: Vec<[f32; 2]>,
    err_tmp: Vec<[f32; 2]>,
}

struct Saved {
    phi: Vec<[f32; 2]>,
    aux: Vec<[f32; 2]>,
    delta: Vec<[f32; 3]>,
    have_delta: bool,
    error: Option<f64>,
}

impl CpuBackend {
    pub fn new(params: &Params) -> Self {
        let n = params.n_total as usize;
        let na = if params.is_thermal() { n } else { 0 };
        Self {
            params: *params,
            phi: vec![[0.0; 2]; n],
            next: vec![[0.0; 2]; n],
            mu: vec![[0.0; 2]; n],
            aux: vec![[0.0; 2]; na],
            aux_next: vec![[0.0; 2]; na],
            spectral: None,
            eta: Vec::new(),
            delta: Vec::new(),
            have_delta: false,
            error: None,
            saved: None,
            err_buf: Vec::new(),
            err_tmp: Vec::new(),
        }
    }

    fn spectral(&mut self) -> &mut cpu::spectral::Spectral {
        let want = implicit::layout(&self.params).expect("semi-implicit layout checked by the driver");
        if self.spectral.as_ref().is_none_or(|s| s.layout != want) {
            self.spectral = Some(cpu::spectral::Spectral::new(&self.params).expect("layout"));
        }
        self.spectral.as_mut().expect("just made")
    }

    /// One semi-implicit step (twin of the GPU engine's sequence of dispatches).
    fn implicit_step(&mut self, st: &ImplicitStep) {
        let n = self.phi.len();
        if self.delta.len() != n {
            self.delta = vec![[0.0; 3]; n];
            self.have_delta = false;
        }
        let p = self.params;
        let s = &st.info;
        let nf = field_count(&p);
        cpu::chem_potential::chem_potential(&p, &self.phi, &self.aux, &mut self.mu);
        let mut mu = std::mem::take(&mut self.mu);
        for (f, op) in st.ch.iter().enumerate().take(nf) {
            self.spectral().solve(&mut mu, f, op, st.mu_ref[f]);
        }
        self.mu = mu;
        let noisy = s.noise_scale > 0.0;
        if noisy {
            if self.eta.len() != n {
                self.eta = vec![[0.0; 2]; n];
            }
            let mut eta = std::mem::take(&mut self.eta);
            cpu::update::update_split(&p, s, &self.phi, &self.mu, &self.aux, &mut self.next, Some(&mut eta));
            for (f, op) in st.ch.iter().enumerate().take(nf) {
                self.spectral().filter(&mut eta, f, op);
            }
            self.eta = eta;
        } else {
            cpu::update::update_split(&p, s, &self.phi, &self.mu, &self.aux, &mut self.next, None);
        }
        let r = if self.have_delta && s.dt_prev > 0.0 { (s.dt / s.dt_prev) as f64 } else { 0.0 };
        let thermal = p.is_thermal();
        let mut psi_err = 0.0;
        if thermal {
            cpu::thermal::thermal_rhs(&p, s, &self.phi, &self.aux, st.s_psi, &mut self.aux_next);
            let mut an = std::mem::take(&mut self.aux_next);
            self.spectral().solve(&mut an, 1, &st.psi, 0.0);
            // The smooth crystallinity increment, before clamping and nucleation.
            psi_err = an
                .par_iter()
                .zip(self.aux.par_iter())
                .zip(self.delta.par_iter_mut())
                .map(|((a, o), d)| {
                    let inc = a[1].clamp(0.0, 1.0) - o[1];
                    let e = inc as f64 - r * d[2] as f64;
                    d[2] = inc;
                    e * e
                })
                .sum::<f64>();
            cpu::thermal::thermal_finish(&p, s, &self.phi, &self.aux, &mut an);
            self.spectral().solve(&mut an, 0, &st.heat, 0.0);
            self.aux_next = an;
            std::mem::swap(&mut self.aux, &mut self.aux_next);
        }
        let ns = s.noise_scale;
        let eta = &self.eta;
        // With noise the change of the increments is low-passed before the norm, so the
        // grid-scale fluctuations (kept at equilibrium by the filtered noise) do not set dt.
        if self.err_buf.len() != n {
            self.err_buf = vec![[0.0; 2]; n];
            self.err_tmp = vec![[0.0; 2]; n];
        }
        let err_buf = &mut self.err_buf;
        let mut err: f64 = self
            .next
            .par_iter_mut()
            .zip(self.phi.par_iter())
            .zip(self.delta.par_iter_mut())
            .zip(err_buf.par_iter_mut())
            .enumerate()
            .map(|(i, (((nx, c), d), eb))| {
                let mut e = 0.0f64;
                let mut ev = [0.0f32; 2];
                for f in 0..nf {
                    let inc = nx[f] - c[f];
                    let x = inc - (r as f32) * d[f];
                    ev[f] = x;
                    e += (x as f64) * (x as f64);
                    d[f] = inc;
                }
                *eb = ev;
                if noisy {
                    nx[0] += ns * eta[i][0];
                    nx[1] += ns * eta[i][1];
                }
                e
            })
            .sum();
        if noisy && r > 0.0 {
            err = cpu::lowpass_sum_sq(&p, &mut self.err_buf, &mut self.err_tmp);
        }
        let comps = (nf + usize::from(thermal)) as f64;
        self.error = if r > 0.0 { Some(0.5 * ((err + psi_err) / (n as f64 * comps)).sqrt()) } else { None };
        self.have_delta = true;
        std::mem::swap(&mut self.phi, &mut self.next);
    }
}

impl Backend for CpuBackend {
    fn kind(&self) -> &'static str {
        "cpu"
    }
    fn description(&self) -> String {
        format!("CPU twins (rayon, {} threads)", rayon::current_num_threads())
    }
    fn set_params(&mut self, p: &Params) {
        assert_eq!(p.n_total, self.params.n_total, "grid size cannot change between stages");
        assert_eq!(p.is_thermal(), self.params.is_thermal(), "the thermal model cannot be switched between stages");
        self.params = *p;
    }
    fn upload(&mut self, phi: &[[f32; 2]]) {
        self.phi.copy_from_slice(phi);
    }
    fn download(&mut self) -> Vec<[f32; 2]> {
        self.phi.clone()
    }
    fn upload_aux(&mut self, aux: &[[f32; 2]]) {
        self.aux.copy_from_slice(aux);
    }
    fn download_aux(&mut self) -> Vec<[f32; 2]> {
        self.aux.clone()
    }
    fn advance(&mut self, steps: &[StepInfo]) {
        for s in steps {
            cpu::chem_potential::chem_potential(&self.params, &self.phi, &self.aux, &mut self.mu);
            cpu::update::update(&self.params, s, &self.phi, &self.mu, &self.aux, &mut self.next);
            if self.params.is_thermal() {
                cpu::thermal::thermal(&self.params, s, &self.phi, &self.aux, &mut self.aux_next);
                std::mem::swap(&mut self.aux, &mut self.aux_next);
            }
            std::mem::swap(&mut self.phi, &mut self.next);
        }
    }
    fn reduce(&mut self) -> Totals {
        // The CPU twin sums in f64; keep that precision for the mass checks.
        let (s, m) = cpu::reduce::reduce_f64(&self.params, &self.phi, &self.aux);
        Totals {
            sum_t: s[4],
            sum_crystal: s[5],
            sum_psi: s[6],
            max_t: m[4] as f64,
            min_t: -m[5] as f64,
            max_psi: m[6] as f64,
            min_fraction: if m[7] <= -1e29 { f64::INFINITY } else { -m[7] as f64 },
            sum_p: s[0],
            sum_n: s[1],
            free_energy: s[2],
            bad_voxels: s[3] as u64,
            stiffness: m[0] as f64,
            max_mobility: m[1] as f64,
            max_p: m[2] as f64,
            max_n: m[3] as f64,
        }
    }
    fn semi_implicit_support(&self) -> Result<(), String> {
        implicit::layout(&self.params).map(|_| ())
    }
    fn advance_semi_implicit(&mut self, steps: &[ImplicitStep]) {
        for st in steps {
            self.implicit_step(st);
        }
    }
    fn step_error(&mut self) -> Option<f64> {
        self.error
    }
    fn save_state(&mut self) {
        if self.delta.len() != self.phi.len() {
            self.delta = vec![[0.0; 3]; self.phi.len()];
            self.have_delta = false;
        }
        match &mut self.saved {
            Some(s) if s.phi.len() == self.phi.len() && s.delta.len() == self.delta.len() => {
                s.phi.copy_from_slice(&self.phi);
                s.aux.copy_from_slice(&self.aux);
                s.delta.copy_from_slice(&self.delta);
                s.have_delta = self.have_delta;
                s.error = self.error;
            }
            _ => self.saved = Some(Saved { phi: self.phi.clone(), aux: self.aux.clone(), delta: self.delta.clone(), have_delta: self.have_delta, error: self.error }),
        }
    }
    fn restore_state(&mut self) {
        let s = self.saved.as_ref().expect("restore_state after save_state");
        self.phi.copy_from_slice(&s.phi);
        self.aux.copy_from_slice(&s.aux);
        self.delta.clone_from(&s.delta);
        self.have_delta = s.have_delta;
        self.error = s.error;
    }
    fn forget_increments(&mut self) {
        self.have_delta = false;
        self.error = None;
    }
    fn download_increments(&mut self) -> Option<Vec<[f32; 3]>> {
        (self.have_delta && self.delta.len() == self.phi.len()).then(|| self.delta.clone())
    }
    fn upload_increments(&mut self, d: Option<&[[f32; 3]]>) {
        match d {
            Some(d) => {
                self.delta = d.to_vec();
                self.have_delta = true;
            }
            None => self.have_delta = false,
        }
    }
}
