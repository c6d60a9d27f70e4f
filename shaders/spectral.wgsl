// Kernels of the semi-implicit scheme: the constant-coefficient operators of
// src/solver/implicit.rs applied as inverses. CPU twin: src/solver/cpu/spectral.rs
// (rustfft/rustdct there; here every line transform is a dense matrix product in
// workgroup memory, exact for any length up to MAX_LINE and for the DCT-II alike),
// plus the error estimate of the adaptive step (combine, lowpass, err_partials) and
// the thermal model's right-hand sides (thermal_rhs, psi_err, thermal_finish).
//
// One dispatch = one record of `Spec` (dynamic uniform offset). Data live in `spec`
// or `tspec` (complex, voxel layout [z][y][x] in every stage of a transform); a line
// transform reads one and writes the other (`flip` = 1: the data are in tspec).

const MAX_LINE: u32 = 1024u;
const LINE_WG: u32 = 64u;

struct Spec {
    mode: u32,
    axis: u32,
    comp: u32,
    // 0 mu, 1 eta, 2 aux_out
    tgt: u32,
    n_line: u32,
    mat_off: u32,
    flip: u32,
    // apply: 0 = 1/symbol, 1 = symbol^(-1/2) with the k = 0 mode removed (noise)
    kind: u32,
    // (d0, b0, b1, c0)
    op_a: vec4<f32>,
    // (c1, rows_b top, rows_b back, rows_c top)
    op_b: vec4<f32>,
    // (rows_c back, shift, r = dt / dt_prev (0 = no previous increment), noise scale)
    op_c: vec4<f32>,
    // (S_psi, unused...)
    op_d: vec4<f32>,
}

@group(0) @binding(1) var<uniform> S: StepInfo;
@group(0) @binding(2) var<storage, read> phi: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> mu: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> phi_out: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read> aux: array<vec2<f32>>;
@group(0) @binding(8) var<storage, read_write> aux_out: array<vec2<f32>>;
@group(0) @binding(9) var<storage, read_write> eta: array<vec2<f32>>;
@group(0) @binding(10) var<storage, read_write> spec: array<vec2<f32>>;
@group(0) @binding(11) var<storage, read_write> tspec: array<vec2<f32>>;
// Transform matrices (row k, column j), every axis and direction one after another.
@group(0) @binding(12) var<storage, read> mat: array<vec2<f32>>;
// −L eigenvalues: x (nx), y (ny), z (nz: FFT or, for a banded z, DCT-II), one after another.
@group(0) @binding(13) var<storage, read> lam: array<f32>;
// Factored band of the z solve (u0, u1, u2, ·) per voxel.
@group(0) @binding(14) var<storage, read_write> band: array<vec4<f32>>;
// Last deterministic increments (P, N, ψ, ·) and the change of increments (P, N, ψ, ·).
@group(0) @binding(15) var<storage, read_write> delta: array<vec4<f32>>;
@group(0) @binding(16) var<storage, read_write> errv: array<vec4<f32>>;
@group(0) @binding(17) var<storage, read_write> errt: array<vec4<f32>>;
@group(0) @binding(18) var<storage, read_write> partials: array<Reduction>;
@group(0) @binding(19) var<uniform> Q: Spec;

var<workgroup> line_buf: array<vec2<f32>, 1024>;
var<workgroup> red: array<vec4<f32>, 256>;

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

fn rd(i: u32) -> vec2<f32> {
    if (Q.flip == 1u) {
        return tspec[i];
    }
    return spec[i];
}

fn wr(i: u32, v: vec2<f32>) {
    if (Q.flip == 1u) {
        tspec[i] = v;
    } else {
        spec[i] = v;
    }
}

fn target_get(i: u32) -> vec2<f32> {
    if (Q.tgt == 0u) {
        return mu[i];
    } else if (Q.tgt == 1u) {
        return eta[i];
    }
    return aux_out[i];
}

fn target_set(i: u32, v: vec2<f32>) {
    if (Q.tgt == 0u) {
        mu[i] = v;
    } else if (Q.tgt == 1u) {
        eta[i] = v;
    } else {
        aux_out[i] = v;
    }
}

// spec = (target[comp] - shift, 0)
@compute @workgroup_size(256)
fn load(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, li);
    if (i >= P.n_total) {
        return;
    }
    spec[i] = vec2<f32>(target_get(i)[Q.comp] - Q.op_c.y, 0.0);
}

// target[comp] = data.re + shift
@compute @workgroup_size(256)
fn store(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, li);
    if (i >= P.n_total) {
        return;
    }
    var v = target_get(i);
    v[Q.comp] = rd(i).x + Q.op_c.y;
    target_set(i, v);
}

// One workgroup per line along Q.axis: out_k = sum_j mat[k][j] in_j.
@compute @workgroup_size(64)
fn line_transform(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let l = wg.y * P.groups_x + wg.x;
    let n = Q.n_line;
    let nxy = P.nx * P.ny;
    var base = 0u;
    var stride = 1u;
    var lines = 0u;
    if (Q.axis == 0u) {
        lines = P.ny * P.nz;
        base = l * P.nx;
    } else if (Q.axis == 1u) {
        lines = P.nx * P.nz;
        base = (l / P.nx) * nxy + l % P.nx;
        stride = P.nx;
    } else {
        lines = nxy;
        base = l;
        stride = nxy;
    }
    if (l >= lines) {
        return;
    }
    for (var j = li; j < n; j = j + LINE_WG) {
        line_buf[j] = rd(base + j * stride);
    }
    workgroupBarrier();
    for (var k = li; k < n; k = k + LINE_WG) {
        var acc = vec2<f32>(0.0, 0.0);
        let row = Q.mat_off + k * n;
        for (var j = 0u; j < n; j = j + 1u) {
            acc = acc + cmul(mat[row + j], line_buf[j]);
        }
        // Written to the other buffer.
        if (Q.flip == 1u) {
            spec[base + k * stride] = acc;
        } else {
            tspec[base + k * stride] = acc;
        }
    }
}

fn op_symbol(l: f32) -> f32 {
    return Q.op_a.x + (Q.op_a.y + Q.op_a.z * l) * (Q.op_a.w + Q.op_b.x * l);
}

// Pointwise multiplier of a mode that is diagonal along every axis.
@compute @workgroup_size(256)
fn apply(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, li);
    if (i >= P.n_total) {
        return;
    }
    let c = coords(i);
    let l = lam[c.x] + lam[P.nx + c.y] + lam[P.nx + P.ny + c.z];
    let s = op_symbol(l);
    var m = 1.0 / s;
    if (Q.kind == 1u) {
        m = 1.0 / sqrt(max(s, 1.0));
        if (c.x == 0u && c.y == 0u && c.z == 0u) {
            m = 0.0;
        }
    }
    wr(i, rd(i) * m);
}

// The pentadiagonal row j of op along z for transverse eigenvalue l (entries j-2..j+2).
fn band_row(j: u32, l: f32) -> array<f32, 5> {
    let nz = P.nz;
    let ih2 = P.inv_h2;
    var lo_b = 1.0;
    var hi_b = 1.0;
    var lo_c = 1.0;
    var hi_c = 1.0;
    if (j == 0u) {
        lo_b = Q.op_b.y;
        lo_c = Q.op_b.w;
    }
    if (j + 1u == nz) {
        hi_b = Q.op_b.z;
        hi_c = Q.op_c.x;
    }
    let b0 = Q.op_a.y;
    let b1 = Q.op_a.z;
    let c0 = Q.op_a.w;
    let c1 = Q.op_b.x;
    let beta = b0 + b1 * (l + (lo_b + hi_b) * ih2);
    let gamma = c0 + c1 * (l + (lo_c + hi_c) * ih2);
    let bo = -b1 * ih2;
    let co = -c1 * ih2;
    var r: array<f32, 5>;
    r[0] = 0.0;
    r[1] = 0.0;
    r[2] = Q.op_a.x + beta * gamma;
    r[3] = 0.0;
    r[4] = 0.0;
    if (j >= 1u) {
        // gamma of row j-1
        var lo = 1.0;
        if (j - 1u == 0u) {
            lo = Q.op_b.w;
        }
        let g1 = c0 + c1 * (l + (lo + 1.0) * ih2);
        r[1] = beta * co + bo * g1;
        r[2] = r[2] + bo * co;
    }
    if (j + 1u < nz) {
        var hi = 1.0;
        if (j + 2u == nz) {
            hi = Q.op_c.x;
        }
        let g1 = c0 + c1 * (l + (1.0 + hi) * ih2);
        r[3] = beta * co + bo * g1;
        r[2] = r[2] + bo * co;
    }
    if (j >= 2u) {
        r[0] = bo * co;
    }
    if (j + 2u < nz) {
        r[4] = bo * co;
    }
    return r;
}

// One thread per transverse mode: LU without pivoting of the z band and the solve,
// in place on the data (a column at stride nx*ny).
@compute @workgroup_size(64)
fn z_solve(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let col = gid.y * nwg.x * 64u + gid.x;
    let nxy = P.nx * P.ny;
    if (col >= nxy) {
        return;
    }
    let l = lam[col % P.nx] + lam[P.nx + col / P.nx];
    let nz = P.nz;
    // Rows j-1 and j-2 after elimination: (u0, u1, u2) and their forward-substituted data.
    var u1r = vec3<f32>(1.0, 0.0, 0.0);
    var u2r = vec3<f32>(1.0, 0.0, 0.0);
    var y1 = vec2<f32>(0.0, 0.0);
    var y2 = vec2<f32>(0.0, 0.0);
    for (var j = 0u; j < nz; j = j + 1u) {
        var r = band_row(j, l);
        let i = j * nxy + col;
        var y = rd(i);
        if (j >= 2u) {
            let l2 = r[0] / u2r.x;
            r[1] = r[1] - l2 * u2r.y;
            r[2] = r[2] - l2 * u2r.z;
            y = y - l2 * y2;
        }
        if (j >= 1u) {
            let l1 = r[1] / u1r.x;
            r[2] = r[2] - l1 * u1r.y;
            r[3] = r[3] - l1 * u1r.z;
            y = y - l1 * y1;
        }
        band[i] = vec4<f32>(r[2], r[3], r[4], 0.0);
        wr(i, y);
        u2r = u1r;
        y2 = y1;
        u1r = vec3<f32>(r[2], r[3], r[4]);
        y1 = y;
    }
    var x1 = vec2<f32>(0.0, 0.0);
    var x2 = vec2<f32>(0.0, 0.0);
    for (var jj = 0u; jj < nz; jj = jj + 1u) {
        let j = nz - 1u - jj;
        let i = j * nxy + col;
        let u = band[i];
        var v = rd(i);
        if (j + 1u < nz) {
            v = v - u.y * x1;
        }
        if (j + 2u < nz) {
            v = v - u.z * x2;
        }
        let x = v / u.x;
        wr(i, x);
        x2 = x1;
        x1 = x;
    }
}

// After the update: the deterministic increment, its change against the last one
// (errv), and the filtered noise added (eta, scaled by the step's noise scale).
@compute @workgroup_size(256)
fn combine(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, li);
    if (i >= P.n_total) {
        return;
    }
    var nxt = phi_out[i];
    let inc = nxt - phi[i];
    let r = Q.op_c.z;
    let d = delta[i];
    var e = vec2<f32>(inc.x - r * d.x, 0.0);
    if (P.model == MODEL_TERNARY) {
        e.y = inc.y - r * d.y;
    }
    errv[i] = vec4<f32>(e, errv[i].z, 0.0);
    delta[i] = vec4<f32>(inc, d.z, 0.0);
    if (Q.kind == 1u) {
        nxt = nxt + Q.op_c.w * eta[i];
    }
    phi_out[i] = nxt;
}

// [1 2 1]/4 along Q.axis on the (P, N) change of increments, errv -> errt (flip 0)
// or errt -> errv (flip 1); mirror ghosts at non-periodic faces.
@compute @workgroup_size(256)
fn lowpass(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, li);
    if (i >= P.n_total) {
        return;
    }
    let p = coords(i);
    let lo = neighbor(p, 2u * Q.axis);
    let hi = neighbor(p, 2u * Q.axis + 1u);
    var c: vec4<f32>;
    var a: vec4<f32>;
    var b: vec4<f32>;
    if (Q.flip == 1u) {
        c = errt[i];
        a = c;
        b = c;
        if (lo >= 0) {
            a = errt[u32(lo)];
        }
        if (hi >= 0) {
            b = errt[u32(hi)];
        }
    } else {
        c = errv[i];
        a = c;
        b = c;
        if (lo >= 0) {
            a = errv[u32(lo)];
        }
        if (hi >= 0) {
            b = errv[u32(hi)];
        }
    }
    let o = vec4<f32>(0.25 * (a.xy + b.xy) + 0.5 * c.xy, c.z, 0.0);
    if (Q.flip == 1u) {
        errv[i] = o;
    } else {
        errt[i] = o;
    }
}

// Workgroup sums of the squared change of increments: a.x = (P, N) part, a.y = ψ part.
@compute @workgroup_size(256)
fn err_partials(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, li);
    var v = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    if (i < P.n_total) {
        let e = errv[i];
        v = vec4<f32>(e.x * e.x + e.y * e.y, e.z * e.z, 0.0, 0.0);
    }
    red[li] = v;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (li < s) {
            red[li] = red[li] + red[li + s];
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        var r: Reduction;
        r.a = red[0];
        r.b = vec4<f32>(0.0, 0.0, -1e30, -1e30);
        r.c = vec4<f32>(0.0, 0.0, 0.0, 0.0);
        r.d = vec4<f32>(-1e30, -1e30, -1e30, -1e30);
        partials[wg.y * P.groups_x + wg.x] = r;
    }
}

// Thermal model, first part (twin of cpu::thermal::thermal_rhs).
@compute @workgroup_size(256)
fn thermal_rhs(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, li);
    if (i >= P.n_total) {
        return;
    }
    let p = coords(i);
    let a = aux[i];
    let t = a.x;
    let psi = a.y;
    let q = clamp(phi[i].x, 0.0, 1.0);
    let open_top = P.bc1.x != BC_PERIODIC;
    let open_back = P.bc1.y != BC_PERIODIC;
    var src = 0.0;
    if (P.thermal.z != 0u) {
        if (open_top) {
            src = src + P.th_face.x * P.th_face.y;
        }
        if (open_back) {
            src = src + P.th_face.z * P.th_face.w;
        }
        src = src / f32(P.nz);
    } else {
        if (open_top && p.z == 0u) {
            src = src + P.th_face.x * P.th_face.y;
        }
        if (open_back && p.z == P.nz - 1u) {
            src = src + P.th_face.z * P.th_face.w;
        }
    }
    let chi = chi_tm(phi[i], t);
    let shift = medium_shift(p.z);
    let psi_rhs = psi + S.dt * P.th_cryst.w * (Q.op_d.x * psi - dfc_dpsi(q, psi, t, chi, shift));
    aux_out[i] = vec2<f32>(t + S.dt * P.th_heat.x * src * P.inv_h2, psi_rhs);
}

// The smooth crystallinity increment (after its solve, before clamping and
// nucleation) and its change against the last one.
@compute @workgroup_size(256)
fn psi_err(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, li);
    if (i >= P.n_total) {
        return;
    }
    let inc = clamp(aux_out[i].y, 0.0, 1.0) - aux[i].y;
    let d = delta[i];
    let e = errv[i];
    errv[i] = vec4<f32>(e.x, e.y, inc - Q.op_c.z * d.z, 0.0);
    delta[i] = vec4<f32>(d.x, d.y, inc, 0.0);
}

// Thermal model, middle part (twin of cpu::thermal::thermal_finish).
@compute @workgroup_size(256)
fn thermal_finish(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, li);
    if (i >= P.n_total) {
        return;
    }
    let p = coords(i);
    let a = aux[i];
    let t = a.x;
    let psi = a.y;
    let q = clamp(phi[i].x, 0.0, 1.0);
    let chi = chi_tm(phi[i], t);
    let shift = medium_shift(p.z);
    let o = aux_out[i];
    let psi_new = nucleate(i, S.step, S.dt, q, t, chi, shift, clamp(o.y, 0.0, 1.0));
    aux_out[i] = vec2<f32>(o.x + P.th_heat.y * q * (psi_new - psi), psi_new);
}
