// Shared structs, constants and helpers for every phasecast kernel.
// This file is prepended to each kernel (see src/gpu/shaders.rs).
// KEEP IN SYNC with src/solver/params.rs (`Params`, `StepInfo`, `Reduction`).

const BC_PERIODIC: u32 = 0u;
const BC_NO_FLUX: u32 = 1u;
const BC_RESERVOIR: u32 = 2u;
const BC_VAPOR: u32 = 3u;

const MODEL_TERNARY: u32 = 0u;
const MODEL_DOUBLE_WELL: u32 = 1u;

const MOBILITY_CONSTANT: u32 = 0u;
const MOBILITY_SLOW_MODE: u32 = 1u;

// Neighbour lookups return a voxel index >= 0, or one of these.
const WALL: i32 = -1;
const RESERVOIR: i32 = -2;
const VAPOR: i32 = -3;

const WG_SIZE: u32 = 256u;

struct Params {
    nx: u32,
    ny: u32,
    nz: u32,
    n_total: u32,
    groups_x: u32,
    model: u32,
    mobility_model: u32,
    dim: u32,
    // Boundary code per face: x_min, x_max, y_min, y_max.
    bc0: vec4<u32>,
    // z_min (top, free surface), z_max (substrate), noise seed, face mobility (0 mean, 1 harmonic).
    bc1: vec4<u32>,
    h: f32,
    inv_h2: f32,
    phi_min: f32,
    noise_amp: f32,
    n_p: f32,
    chi_ps: f32,
    chi_pn: f32,
    chi_sn: f32,
    kappa_p: f32,
    kappa_n: f32,
    d_p: f32,
    d_s: f32,
    d_n: f32,
    vit_phi: f32,
    vit_factor: f32,
    vit_width: f32,
    dw_rho: f32,
    dw_alpha: f32,
    dw_beta: f32,
    cell_volume: f32,
    // Reservoir composition (phi_p, phi_n) and its bulk chemical potentials (mu_p, mu_n).
    res: vec4<f32>,
    // Vapour face: (mass-transfer coefficient k in model length per model time,
    // non-solvent activity of the air, unused, unused).
    vap: vec4<f32>,
    // Thermal model (TIPS); see src/solver/params.rs for each component.
    thermal: vec4<u32>,
    th_chi: vec4<f32>,
    th_cryst: vec4<f32>,
    th_heat: vec4<f32>,
    th_face: vec4<f32>,
    th_nuc: vec4<f32>,
    th_surf: vec4<f32>,
}

struct StepInfo {
    step: u32,
    dt: f32,
    // noise_amp * sqrt(2 dt) / h^(1 + dim/2), precomputed on the host.
    noise_scale: f32,
    // The previous step's dt (semi-implicit error estimate; 0 = none).
    dt_prev: f32,
}

// One reduction record: sums in `a` and `c`, maxima in `b` and `d`.
// a = (sum phi_p, sum phi_n, free energy, bad voxels)
// b = (max positive eigenvalue of M*H, max eigenvalue of M, max phi_p, max phi_n)
// c = thermal model: (sum T, sum phi_p psi, sum psi, 0)
// d = thermal model: (max T, -min T, max psi, 0)
struct Reduction {
    a: vec4<f32>,
    b: vec4<f32>,
    c: vec4<f32>,
    d: vec4<f32>,
}

@group(0) @binding(0) var<uniform> P: Params;

fn linear_id(wg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * P.groups_x + wg.x) * WG_SIZE + li;
}

fn coords(i: u32) -> vec3<u32> {
    let x = i % P.nx;
    let y = (i / P.nx) % P.ny;
    let z = i / (P.nx * P.ny);
    return vec3<u32>(x, y, z);
}

fn bc_code(face: u32) -> u32 {
    if (face < 4u) {
        return P.bc0[face];
    }
    return P.bc1[face - 4u];
}

// Index of the neighbour across `face` (0 x-, 1 x+, 2 y-, 3 y+, 4 z-, 5 z+),
// or WALL / RESERVOIR / VAPOR when the face is a domain boundary of that kind.
fn neighbor(p: vec3<u32>, face: u32) -> i32 {
    var c = vec3<i32>(p);
    let n = vec3<i32>(i32(P.nx), i32(P.ny), i32(P.nz));
    let axis = face / 2u;
    let dir = select(-1, 1, (face & 1u) == 1u);
    c[axis] = c[axis] + dir;
    if (c[axis] < 0 || c[axis] >= n[axis]) {
        let code = bc_code(face);
        if (code == BC_PERIODIC) {
            c[axis] = (c[axis] + n[axis]) % n[axis];
        } else if (code == BC_RESERVOIR) {
            return RESERVOIR;
        } else if (code == BC_VAPOR) {
            return VAPOR;
        } else {
            return WALL;
        }
    }
    return (c.z * n.y + c.y) * n.x + c.x;
}

// PCG hash (O'Neill), the counter-based generator of the conserved noise.
fn pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// Two independent random numbers with zero mean and unit variance for one face,
// from (seed, step, face key). They are uniform on [-sqrt(3), sqrt(3)]: the
// fluctuation-dissipation balance needs only the variance, and summed over
// many steps the increments are Gaussian (central limit). A hash and a scale
// are much cheaper than Box-Muller on CPU adapters.
fn noise2(key: u32, step: u32) -> vec2<f32> {
    let h1 = pcg(key ^ pcg(step ^ pcg(P.bc1.z)));
    let h2 = pcg(h1 ^ 0x9e3779b9u);
    let u1 = f32(h1 >> 8u) * (1.0 / 16777216.0) - 0.5;
    let u2 = f32(h2 >> 8u) * (1.0 / 16777216.0) - 0.5;
    return vec2<f32>(u1, u2) * 3.4641016;
}

fn is_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}
