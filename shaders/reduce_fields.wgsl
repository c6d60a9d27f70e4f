// Kernel: per-workgroup partial reductions of mass, free energy, health and stiffness.
// CPU twin: src/solver/cpu/reduce.rs.

@group(0) @binding(2) var<storage, read> phi: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> partials: array<Reduction>;

var<workgroup> sa: array<vec4<f32>, 256>;
var<workgroup> sb: array<vec4<f32>, 256>;

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
    let fe = (f_bulk(c) + 0.5 * P.inv_h2 * (P.kappa_p * g2.x + P.kappa_n * g2.y)) * P.cell_volume;
    let m = mobility(c);
    let h = hessian(c);
    var r: Reduction;
    r.a = vec4<f32>(c.x, c.y, fe, bad);
    r.b = vec4<f32>(max_eig_product(m, h), max_eig_sym(m), c.x, c.y);
    return r;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, li);
    var a = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    var b = vec4<f32>(0.0, 0.0, -1e30, -1e30);
    if (i < P.n_total) {
        let r = voxel_record(i);
        a = r.a;
        b = r.b;
    }
    sa[li] = a;
    sb[li] = b;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (li < s) {
            sa[li] = sa[li] + sa[li + s];
            sb[li] = max(sb[li], sb[li + s]);
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        partials[wg.y * P.groups_x + wg.x] = Reduction(sa[0], sb[0]);
    }
}
