// Kernel: one explicit Euler step of the thermal model (TIPS):
//   dT/dt   = alpha lap T + (latent rise) phi_p dpsi/dt, Newton cooling at the z faces
//             (lumped column, thermal.z = 1: the faces' heat drawn evenly from every voxel);
//   dpsi/dt = L_psi (kappa_psi lap psi - d f_c / d psi), psi in [0, 1];
// then nucleation: seeded nuclei (residual crystals) switch on where the melt is
// undercooled by more than their activation undercooling, and thermal nuclei
// appear at random with the classical rate I0 phi_p exp(-K / (T dT^2)).
// CPU twin: src/solver/cpu/thermal.rs.

@group(0) @binding(1) var<uniform> S: StepInfo;
@group(0) @binding(2) var<storage, read> phi: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read> aux: array<vec2<f32>>;
@group(0) @binding(8) var<storage, read_write> aux_out: array<vec2<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, li);
    if (i >= P.n_total) {
        return;
    }
    let pos = coords(i);
    let a = aux[i];
    let t = a.x;
    let psi = a.y;
    let p = clamp(phi[i].x, 0.0, 1.0);
    var lap_t = 0.0;
    var lap_psi = 0.0;
    for (var f = 0u; f < 6u; f = f + 1u) {
        let j = neighbor(pos, f);
        if (j >= 0) {
            let b = aux[u32(j)];
            lap_t = lap_t + (b.x - t);
            lap_psi = lap_psi + (b.y - psi);
        } else if (f == 4u && P.thermal.z == 0u) {
            // Newton cooling through the top face (beta = 0: insulated).
            lap_t = lap_t + P.th_face.x * (P.th_face.y - t);
        } else if (f == 5u && P.thermal.z == 0u) {
            lap_t = lap_t + P.th_face.z * (P.th_face.w - t);
        }
        // Other walls: insulated, and zero normal gradient of psi.
    }
    if (P.thermal.z != 0u) {
        // Lumped column: the faces' heat is drawn from every voxel alike (1/nz of it each).
        // (A periodic z face is no face: it removes nothing, as in the conducting form.)
        var top = 0.0;
        var back = 0.0;
        if (P.bc1.x != 0u) {
            top = P.th_face.x * (P.th_face.y - t);
        }
        if (P.bc1.y != 0u) {
            back = P.th_face.z * (P.th_face.w - t);
        }
        lap_t = lap_t + (top + back) / f32(P.nz);
    }
    let chi = chi_tm(phi[i], t);
    let shift = medium_shift(pos.z);
    let rate = P.th_cryst.w * (P.th_cryst.z * lap_psi * P.inv_h2 - dfc_dpsi(p, psi, t, chi, shift));
    let psi_new = nucleate(i, S.step, S.dt, p, t, chi, shift, clamp(psi + S.dt * rate, 0.0, 1.0));
    let t_new = t + S.dt * P.th_heat.x * lap_t * P.inv_h2 + P.th_heat.y * p * (psi_new - psi);
    aux_out[i] = vec2<f32>(t_new, psi_new);
}
