// Kernel: chemical potentials mu = df/dphi - kappa * laplacian(phi).
// CPU twin: src/solver/cpu/chem_potential.rs.

@group(0) @binding(2) var<storage, read> phi: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> mu: array<vec2<f32>>;
// Thermal model: (T in K, crystallinity psi) per voxel; unread otherwise.
@group(0) @binding(7) var<storage, read> aux: array<vec2<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, li);
    if (i >= P.n_total) {
        return;
    }
    let p = coords(i);
    let c = phi[i];
    var lap = vec2<f32>(0.0, 0.0);
    for (var f = 0u; f < 6u; f = f + 1u) {
        let j = neighbor(p, f);
        if (j >= 0) {
            lap = lap + (phi[u32(j)] - c);
        } else if (j == RESERVOIR) {
            lap = lap + (P.res.xy - c);
        }
        // WALL and VAPOR: mirror ghost, zero normal gradient of phi.
    }
    lap = lap * P.inv_h2;
    var b: vec2<f32>;
    if (thermal_on()) {
        let a = aux[i];
        b = bulk_mu_chi(c, chi_at(a.x), chi_pn_at(a.x)) + floor_mu(c)
            + vec2<f32>(dfc_dp(c.x, a.y, a.x, chi_tm(c, a.x), medium_shift(p.z)), 0.0);
    } else {
        b = bulk_mu(c);
    }
    mu[i] = b - vec2<f32>(P.kappa_p, P.kappa_n) * lap;
}
