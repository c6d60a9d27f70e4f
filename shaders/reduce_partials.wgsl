// Kernel: reduces the per-workgroup partials to one record with a single workgroup.
// Sums are compensated (Kahan) so that mass stays exact to f32 rounding on large grids.
// CPU twin: src/solver/cpu/reduce.rs.

@group(0) @binding(5) var<storage, read> partials: array<Reduction>;
@group(0) @binding(6) var<storage, read_write> result: array<Reduction>;

var<workgroup> sa: array<vec4<f32>, 256>;
var<workgroup> sb: array<vec4<f32>, 256>;
var<workgroup> sc: array<vec4<f32>, 256>;
var<workgroup> sd: array<vec4<f32>, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
    let count = (P.n_total + WG_SIZE - 1u) / WG_SIZE;
    var sum = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    var comp = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    var mx = vec4<f32>(0.0, 0.0, -1e30, -1e30);
    var sum2 = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    var comp2 = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    var mx2 = vec4<f32>(-1e30, -1e30, -1e30, -1e30);
    for (var k = li; k < count; k = k + WG_SIZE) {
        let r = partials[k];
        let y = r.a - comp;
        let t = sum + y;
        comp = (t - sum) - y;
        sum = t;
        mx = max(mx, r.b);
        let y2 = r.c - comp2;
        let t2 = sum2 + y2;
        comp2 = (t2 - sum2) - y2;
        sum2 = t2;
        mx2 = max(mx2, r.d);
    }
    sa[li] = sum;
    sb[li] = mx;
    sc[li] = sum2;
    sd[li] = mx2;
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
        result[0] = Reduction(sa[0], sb[0], sc[0], sd[0]);
    }
}
