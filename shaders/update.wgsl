// Kernel: one explicit Euler step of dphi/dt = div(M grad mu) + div(conserved noise).
// CPU twin: src/solver/cpu/update.rs.

@group(0) @binding(1) var<uniform> S: StepInfo;
@group(0) @binding(2) var<storage, read> phi: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> mu: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> phi_out: array<vec2<f32>>;
// Thermal model: (T, psi) per voxel; crystallized voxels gel (unread otherwise).
@group(0) @binding(7) var<storage, read> aux: array<vec2<f32>>;
// Semi-implicit scheme (SPLIT_NOISE): the divergence of the unit face noise, written
// apart for its filter (shaders/spectral.wgsl); phi_out then gets the deterministic part.
@group(0) @binding(9) var<storage, read_write> eta: array<vec2<f32>>;
override SPLIT_NOISE: bool = false;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, li);
    if (i >= P.n_total) {
        return;
    }
    let p = coords(i);
    let c = phi[i];
    let mc = mu[i];
    let thermal = thermal_on();
    var m_c = mobility(c);
    var g_c = 1.0;
    var ac = vec2<f32>(0.0, 0.0);
    if (thermal) {
        ac = aux[i];
        g_c = gel(ac.y);
        m_c = m_c * g_c;
    }
    let harmonic = P.bc1.w == 1u && P.model == MODEL_TERNARY && P.mobility_model != MOBILITY_CONSTANT;
    var div = vec2<f32>(0.0, 0.0);
    var noise = vec2<f32>(0.0, 0.0);
    for (var f = 0u; f < 6u; f = f + 1u) {
        let j = neighbor(p, f);
        if (j == WALL) {
            // No-flux: the flux through this face, which acts on grad mu, is zero.
            continue;
        }
        if (j == VAPOR) {
            // Vapour exposure: non-solvent enters at j = k (a_air - a_surface) and
            // displaces the same volume of solvent; the polymer does not cross.
            let a_surf = exp(min(ln_activity_n(c), 10.0));
            div = div + vec2<f32>(0.0, P.vap.x * (P.vap.y - a_surf) * P.h);
            continue;
        }
        var cn = P.res.xy;
        var mn = P.res.zw;
        if (j >= 0) {
            cn = phi[u32(j)];
            mn = mu[u32(j)];
        }
        // The face mobility is a symmetric function of both sides: the voxel on the
        // other side uses the same value, so the fluxes cancel and mass is conserved.
        // Default: the mean of both sides' matrices. mobility.face = "harmonic"
        // (between two film voxels only; a bath face uses the mean): the matrix at
        // the harmonic-mean composition.
        var g_n = 1.0;
        if (thermal && j >= 0) {
            g_n = gel(aux[u32(j)].y);
        }
        var mf: vec3<f32>;
        if (j >= 0 && harmonic) {
            let g = 0.5 * (arrest(clamp(c.x, 0.0, 1.0)) * g_c + arrest(clamp(cn.x, 0.0, 1.0)) * g_n);
            mf = face_mobility_harmonic(c, cn, g);
        } else if (j == RESERVOIR && thermal) {
            // A cooling medium (cooling.exchange): the matrix at the mean composition
            // of the face. The mean of both matrices would vanish here, as the film
            // starts without medium and the pure medium has no interdiffusion.
            mf = mobility(0.5 * (c + cn)) * g_c;
        } else {
            mf = 0.5 * (m_c + mobility(cn) * g_n);
        }
        if (j == RESERVOIR && P.model == MODEL_TERNARY) {
            // A bath face holds the polymer back (it is insoluble in the bath):
            // zero polymer flux, and the non-solvent/solvent exchange goes with
            // the Schur complement m_nn - m_pn^2 / m_pp of the face mobility.
            var m_eff = mf.y;
            if (mf.x > 0.0) {
                m_eff = max(mf.y - mf.z * mf.z / mf.x, 0.0);
            }
            mf = vec3<f32>(0.0, m_eff, 0.0);
        }
        var dm = mn - mc;
        if (thermal && P.thermal.y != 0u && j >= 0) {
            // No thermodiffusion: take out what the temperature difference alone
            // adds, evaluated at the face (antisymmetric, so mass is conserved).
            let an = aux[u32(j)];
            dm = dm - dmu_dt(0.5 * (c + cn), 0.5 * (ac.y + an.y), 0.5 * (ac.x + an.x)) * (an.x - ac.x);
        }
        div = div + vec2<f32>(mf.x * dm.x + mf.z * dm.y, mf.z * dm.x + mf.y * dm.y);
        if (S.noise_scale > 0.0 && j >= 0) {
            let axis = f / 2u;
            let plus = (f & 1u) == 1u;
            // A face belongs to the voxel on its low side; both neighbours draw the same numbers.
            let owner = select(u32(j), i, plus);
            let xi = noise2(owner * 3u + axis, S.step);
            let l = chol2(mf);
            let flux = vec2<f32>(l.x * xi.x, l.z * xi.x + l.y * xi.y);
            noise = noise + select(flux, -flux, plus);
        }
    }
    if (SPLIT_NOISE) {
        eta[i] = noise;
        phi_out[i] = c + (S.dt * P.inv_h2) * div;
    } else {
        phi_out[i] = c + (S.dt * P.inv_h2) * div + S.noise_scale * noise;
    }
}
