// Kernel: per-workgroup partial reductions of mass, free energy, health and stiffness.
// CPU twin: src/solver/cpu/reduce.rs.

@group(0) @binding(2) var<storage, read> phi: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> partials: array<Reduction>;
// Thermal model: (T, psi) per voxel (unread otherwise).
@group(0) @binding(7) var<storage, read> aux: array<vec2<f32>>;

var<workgroup> sa: array<vec4<f32>, 256>;
var<workgroup> sb: array<vec4<f32>, 256>;
var<workgroup> sc: array<vec4<f32>, 256>;
var<workgroup> sd: array<vec4<f32>, 256>;

fn voxel_record(i: u32) -> Reduction {
    let p = coords(i);
    let c = phi[i];
    var bad = 0.0;
    if (!is_finite(c.x) || !is_finite(c.y) || c.x < -1.0 || c.x > 2.0 || c.y < -1.0 || c.y > 2.0) {
        bad = 1.0;
    }
    // Gradient energy from forward differences (the discrete energy the scheme dissipates).
    var g2 = vec2<f32>(0.0, 0.0);
    for (var f = 1u; f < 6u; f = f + 2u) {
        let j = neighbor(p, f);
        if (j >= 0) {
            let d = phi[u32(j)] - c;
            g2 = g2 + d * d;
        }
    }
    var r: Reduction;
    r.c = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    r.d = vec4<f32>(-1e30, -1e30, -1e30, -1e30);
    if (thermal_on()) {
        let a = aux[i];
        let chi = chi_at(a.x);
        let cpn = chi_pn_at(a.x);
        let ctm = chi_tm(c, a.x);
        var gpsi = 0.0;
        for (var f = 1u; f < 6u; f = f + 2u) {
            let j = neighbor(p, f);
            if (j >= 0) {
                let d = aux[u32(j)].y - a.y;
                gpsi = gpsi + d * d;
            }
        }
        if (!is_finite(a.x) || !is_finite(a.y)) {
            bad = 1.0;
        }
        let fe = (f_bulk_chi(c, chi, cpn) + floor_f(c) + f_cryst(c.x, a.y, a.x, ctm, medium_shift(p.z))
            + 0.5 * P.inv_h2 * (P.kappa_p * g2.x + P.kappa_n * g2.y + P.th_cryst.z * gpsi)) * P.cell_volume;
        let m = mobility(c) * gel(a.y);
        var h = hessian_chi(c, chi, cpn) + floor_h(c);
        h.x = h.x + d2fc_dp2(c.x, a.y, ctm);
        r.a = vec4<f32>(c.x, c.y, fe, bad);
        r.b = vec4<f32>(max_eig_product(m, h), max_eig_sym(m), c.x, c.y);
        r.c = vec4<f32>(a.x, clamp(c.x, 0.0, 1.0) * a.y, a.y, 0.0);
        r.d = vec4<f32>(a.x, -a.x, a.y, neg_fraction(c));
        return r;
    }
    let fe = (f_bulk(c) + 0.5 * P.inv_h2 * (P.kappa_p * g2.x + P.kappa_n * g2.y)) * P.cell_volume;
    let m = mobility(c);
    let h = hessian(c);
    r.a = vec4<f32>(c.x, c.y, fe, bad);
    r.b = vec4<f32>(max_eig_product(m, h), max_eig_sym(m), c.x, c.y);
    r.d.w = neg_fraction(c);
    return r;
}

// Minus the smallest volume fraction (phi_p, phi_n, phi_s) of a ternary voxel, for the
// semi-implicit scheme's rejection of steps that overshoot below 0; -1e30 otherwise.
fn neg_fraction(c: vec2<f32>) -> f32 {
    if (P.model != MODEL_TERNARY) {
        return -1e30;
    }
    return -min(min(c.x, c.y), 1.0 - c.x - c.y);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, li);
    var a = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    var b = vec4<f32>(0.0, 0.0, -1e30, -1e30);
    var c = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    var d = vec4<f32>(-1e30, -1e30, -1e30, -1e30);
    if (i < P.n_total) {
        let r = voxel_record(i);
        a = r.a;
        b = r.b;
        c = r.c;
        d = r.d;
    }
    sa[li] = a;
    sb[li] = b;
    sc[li] = c;
    sd[li] = d;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (li < s) {
            sa[li] = sa[li] + sa[li + s];
            sb[li] = max(sb[li], sb[li + s]);
            sc[li] = sc[li] + sc[li + s];
            sd[li] = max(sd[li], sd[li + s]);
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        partials[wg.y * P.groups_x + wg.x] = Reduction(sa[0], sb[0], sc[0], sd[0]);
    }
}
