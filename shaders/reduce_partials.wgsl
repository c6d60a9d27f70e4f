// Kernel: reduces the per-workgroup partials to one record with a single workgroup.
// Sums are compensated (Kahan) so that mass stays exact to f32 rounding on large grids.
// CPU twin: src/solver/cpu/reduce.rs.

@group(0) @binding(5) var<storage, read> partials: array<Reduction>;
@group(0) @binding(6) var<storage, read_write> result: array<Reduction>;

var<workgroup> sa: array<vec4<f32>, 256>;
var<workgroup> sb: array<vec4<f32>, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
    let count = (P.n_total + WG_SIZE - 1u) / WG_SIZE;
    var sum = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    var comp = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    var mx = vec4<f32>(0.0, 0.0, -1e30, -1e30);
    for (var k = li; k < count; k = k + WG_SIZE) {
        let r = partials[k];
        let y = r.a - comp;
        let t = sum + y;
        comp = (t - sum) - y;
        sum = t;
        mx = max(mx, r.b);
    }
    sa[li] = sum;
    sb[li] = mx;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (li < s) {
            sa[li] = sa[li] + sa[li + s];
            sb[li] = max(sb[li], sb[li + s]);
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        result[0] = Reduction(sa[0], sb[0]);
    }
}
