// Kernel: one TRT (D3Q19, linear equilibrium) lattice-Boltzmann step of the
// porometer's Stokes flow solve, over a sparse list of pore nodes with pull
// streaming through a precomputed source table. Standalone (no common.wgsl).
// CPU twin: the step closure in src/lab/flow.rs.

struct LbmParams {
    n: u32,
    groups_x: u32,
    // 1 on the last step of a check interval: write the workgroup sums.
    want: u32,
    _pad: u32,
    // 1/tau+, 1/tau-, body force along z, (1 - wm/2) * 3 * force.
    wp: f32,
    wm: f32,
    force: f32,
    src_coef: f32,
}

@group(0) @binding(0) var<uniform> L: LbmParams;
// Population q (1..18) of node m is pulled from f_old[src[m * 18 + q - 1]].
@group(0) @binding(1) var<storage, read> src: array<u32>;
// 1 where the node lies inside the sample (the body force acts there).
@group(0) @binding(2) var<storage, read> inside: array<u32>;
@group(0) @binding(3) var<storage, read> f_old: array<f32>;
@group(0) @binding(4) var<storage, read_write> f_new: array<f32>;
// Per workgroup: (sum of j_z, sum of |j|) over its sample nodes.
@group(0) @binding(5) var<storage, read_write> partial: array<vec2<f32>>;

var<workgroup> red: array<vec2<f32>, 256>;

fn weight(q: u32) -> f32 {
    if (q == 0u) {
        return 1.0 / 3.0;
    }
    if (q <= 6u) {
        return 1.0 / 18.0;
    }
    return 1.0 / 36.0;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let wgi = wg.x + wg.y * L.groups_x;
    let m = wgi * 256u + li;
    // D3Q19 velocities in the order of src/lab/flow.rs (pairs q, q + 1 opposite).
    var e = array<vec3<f32>, 19>(
        vec3<f32>(0.0, 0.0, 0.0),
        vec3<f32>(1.0, 0.0, 0.0), vec3<f32>(-1.0, 0.0, 0.0),
        vec3<f32>(0.0, 1.0, 0.0), vec3<f32>(0.0, -1.0, 0.0),
        vec3<f32>(0.0, 0.0, 1.0), vec3<f32>(0.0, 0.0, -1.0),
        vec3<f32>(1.0, 1.0, 0.0), vec3<f32>(-1.0, -1.0, 0.0),
        vec3<f32>(1.0, -1.0, 0.0), vec3<f32>(-1.0, 1.0, 0.0),
        vec3<f32>(1.0, 0.0, 1.0), vec3<f32>(-1.0, 0.0, -1.0),
        vec3<f32>(1.0, 0.0, -1.0), vec3<f32>(-1.0, 0.0, 1.0),
        vec3<f32>(0.0, 1.0, 1.0), vec3<f32>(0.0, -1.0, -1.0),
        vec3<f32>(0.0, 1.0, -1.0), vec3<f32>(0.0, -1.0, 1.0),
    );
    var sums = vec2<f32>(0.0, 0.0);
    if (m < L.n) {
        var fin: array<f32, 19>;
        fin[0] = f_old[m * 19u];
        for (var q = 1u; q < 19u; q = q + 1u) {
            fin[q] = f_old[src[m * 18u + q - 1u]];
        }
        var rho = 0.0;
        var j = vec3<f32>(0.0, 0.0, 0.0);
        for (var q = 0u; q < 19u; q = q + 1u) {
            rho = rho + fin[q];
            j = j + fin[q] * e[q];
        }
        let in_sample = inside[m] != 0u;
        var fz = 0.0;
        var sc = 0.0;
        if (in_sample) {
            fz = L.force;
            sc = L.src_coef;
        }
        j.z = j.z + 0.5 * fz;
        if (in_sample) {
            sums = vec2<f32>(j.z, length(j));
        }
        let base = m * 19u;
        f_new[base] = fin[0] - L.wp * (fin[0] - weight(0u) * rho);
        for (var pair = 0u; pair < 9u; pair = pair + 1u) {
            let q = 2u * pair + 1u;
            let p = q + 1u;
            let w = weight(q);
            let fp = 0.5 * (fin[q] + fin[p]);
            let fm = 0.5 * (fin[q] - fin[p]);
            let eqp = w * rho;
            let eqm = 3.0 * w * dot(e[q], j);
            let sym = L.wp * (fp - eqp);
            let anti = L.wm * (fm - eqm);
            let s = sc * w * e[q].z;
            f_new[base + q] = fin[q] - sym - anti + s;
            f_new[base + p] = fin[p] - sym + anti - s;
        }
    }
    if (L.want != 0u) {
        red[li] = sums;
        workgroupBarrier();
        for (var k = 128u; k > 0u; k = k / 2u) {
            if (li < k) {
                red[li] = red[li] + red[li + k];
            }
            workgroupBarrier();
        }
        if (li == 0u) {
            partial[wgi] = red[0];
        }
    }
}
