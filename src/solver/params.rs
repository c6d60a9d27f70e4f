//! Plain-old-data structs shared by the WGSL kernels and their CPU twins.
//!
//! KEEP IN SYNC with `shaders/common.wgsl` (`Params`, `StepInfo`, `Reduction`).
//! Sizes are asserted below; no bare `vec3` crosses to the GPU.

use bytemuck::{Pod, Zeroable};

pub const BC_PERIODIC: u32 = 0;
pub const BC_NO_FLUX: u32 = 1;
pub const BC_RESERVOIR: u32 = 2;
pub const BC_VAPOR: u32 = 3;

pub const MODEL_TERNARY: u32 = 0;
pub const MODEL_DOUBLE_WELL: u32 = 1;

pub const MOBILITY_CONSTANT: u32 = 0;
pub const MOBILITY_SLOW_MODE: u32 = 1;

/// Threads per workgroup of every field kernel.
pub const WG_SIZE: u32 = 256;

/// Everything a kernel needs that stays fixed during a stage.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct Params {
    pub nx: u32,
    pub ny: u32,
    pub nz: u32,
    pub n_total: u32,
    pub groups_x: u32,
    pub model: u32,
    pub mobility_model: u32,
    pub dim: u32,
    /// Boundary code per face: x_min, x_max, y_min, y_max.
    pub bc0: [u32; 4],
    /// z_min (top), z_max (substrate), noise seed, unused.
    pub bc1: [u32; 4],
    pub h: f32,
    pub inv_h2: f32,
    pub phi_min: f32,
    pub noise_amp: f32,
    pub n_p: f32,
    pub chi_ps: f32,
    pub chi_pn: f32,
    pub chi_sn: f32,
    pub kappa_p: f32,
    pub kappa_n: f32,
    pub d_p: f32,
    pub d_s: f32,
    pub d_n: f32,
    pub vit_phi: f32,
    pub vit_factor: f32,
    pub vit_width: f32,
    pub dw_rho: f32,
    pub dw_alpha: f32,
    pub dw_beta: f32,
    /// h^dim: the volume of one voxel in model units.
    pub cell_volume: f32,
    /// Reservoir (phi_p, phi_n, mu_p, mu_n).
    pub res: [f32; 4],
    /// Vapour face: (k in model length per model time, air non-solvent activity, 0, 0).
    pub vap: [f32; 4],
    /// Thermal model (TIPS): (1 = temperature and crystallinity fields are on,
    /// 1 = the mass flux is driven by the isothermal potential difference (no
    /// thermodiffusion; `crystallization.soret = false`), 1 = lumped column (the
    /// faces' Newton heat flux is drawn evenly from every voxel; `cooling.column =
    /// "lumped"`), 0).
    pub thermal: [u32; 4],
    /// (chi_a, chi_b in K, 1/Tm0 in 1/K, 1/L in 1/K): chi_ps(T) = chi_a + chi_b / T, and
    /// Flory's depressed melting point 1/Tm = 1/Tm0 + (phi_1 - chi phi_1^2) / L.
    pub th_chi: [f32; 4],
    /// (L = dH_u V_1 / (V_u R) in K, double-well barrier W in kT per site,
    /// kappa_psi, Allen–Cahn mobility L_psi per model time).
    pub th_cryst: [f32; 4],
    /// (thermal diffusivity in model units, latent temperature rise in K per unit of
    /// crystallized polymer fraction, gelation crystallinity, gelation mobility factor).
    pub th_heat: [f32; 4],
    /// Newton cooling of the z faces: (beta_top, T_top in K, beta_back, T_back in K), with
    /// beta = h G / (1 + h G / 2), G = heat-transfer coefficient / conductivity (0 = insulated).
    pub th_face: [f32; 4],
    /// Nucleation: (seed probability per voxel, seed activation undercooling in K,
    /// thermal nucleation prefactor per voxel per model time, its barrier constant in K^3).
    pub th_nuc: [f32; 4],
    /// (shift of 1/Tm in the top voxel layer from the cooling medium in 1/K, same for the
    /// back layer, gelation width, unused).
    pub th_surf: [f32; 4],
}
const _: () = assert!(std::mem::size_of::<Params>() == 288);

impl Params {
    /// Boundary code of face `f` (0 x-, 1 x+, 2 y-, 3 y+, 4 z-, 5 z+).
    pub fn bc_code(&self, face: usize) -> u32 {
        if face < 4 {
            self.bc0[face]
        } else {
            self.bc1[face - 4]
        }
    }
    pub fn is_thermal(&self) -> bool {
        self.thermal[0] != 0
    }
    /// Lumped column: the cooling acts on every voxel, not through the z faces.
    pub fn lumped_column(&self) -> bool {
        self.thermal[0] != 0 && self.thermal[2] != 0
    }
    /// Thermal model without thermodiffusion: a temperature difference alone
    /// drives no mass flux.
    pub fn isothermal_flux(&self) -> bool {
        self.thermal[0] != 0 && self.thermal[1] != 0
    }
    pub fn noise_seed(&self) -> u32 {
        self.bc1[2]
    }
    /// Face mobility from the harmonic-mean composition (`mobility.face = "harmonic"`).
    pub fn harmonic_face(&self) -> bool {
        self.bc1[3] == 1
    }
    /// Workgroups needed for one voxel per thread, and how they are laid out
    /// in a 2D dispatch (x at most 65535).
    pub fn dispatch_size(n_total: u32) -> (u32, u32) {
        let groups = n_total.div_ceil(WG_SIZE);
        let gx = groups.min(65535).max(1);
        (gx, groups.div_ceil(gx).max(1))
    }
}

/// Per-step values, bound with a dynamic offset so a whole stretch of steps is
/// recorded at once.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct StepInfo {
    pub step: u32,
    pub dt: f32,
    /// noise_amp * sqrt(2 dt) / h^(1 + dim/2).
    pub noise_scale: f32,
    /// The previous step's dt (semi-implicit error estimate; 0 = none).
    pub dt_prev: f32,
}
const _: () = assert!(std::mem::size_of::<StepInfo>() == 16);

/// One reduction record: sums in `a` and `c`, maxima in `b` and `d`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Reduction {
    /// (sum phi_p, sum phi_n, free energy, bad voxels)
    pub a: [f32; 4],
    /// (max positive eigenvalue of M·H, max eigenvalue of M, max phi_p, max phi_n)
    pub b: [f32; 4],
    /// Thermal model: (sum T, sum phi_p psi, sum psi, 0)
    pub c: [f32; 4],
    /// Thermal model: (max T, -min T, max psi, ·); d[3] = minus the smallest volume
    /// fraction (ternary models; -1e30 otherwise).
    pub d: [f32; 4],
}
const _: () = assert!(std::mem::size_of::<Reduction>() == 64);

impl Reduction {
    pub fn empty() -> Self {
        Self { a: [0.0; 4], b: [0.0, 0.0, -1e30, -1e30], c: [0.0; 4], d: [-1e30, -1e30, -1e30, -1e30] }
    }
    pub fn sum_p(&self) -> f64 {
        self.a[0] as f64
    }
    pub fn sum_n(&self) -> f64 {
        self.a[1] as f64
    }
    pub fn free_energy(&self) -> f64 {
        self.a[2] as f64
    }
    pub fn bad_voxels(&self) -> u64 {
        self.a[3] as u64
    }
    pub fn stiffness(&self) -> f64 {
        self.b[0] as f64
    }
    pub fn max_mobility(&self) -> f64 {
        self.b[1] as f64
    }
}
