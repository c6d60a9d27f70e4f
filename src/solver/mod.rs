//! The solver: what to dispatch each time step, independent of where it runs.
//!
//! A [`Backend`] owns the fields and runs whole stretches of steps (the GPU
//! engine in `crate::gpu::engine` or the CPU twins in [`cpu`]). The run driver
//! (`crate::run`) decides the time step, reads the reductions at a chosen
//! interval and writes outputs; nothing is read back between reductions.

pub mod cpu;
pub mod nucleation;
pub mod params;
pub mod stability;

use params::{Params, Reduction, StepInfo};

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
        }
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
}
