//! The semi-implicit scheme on the GPU (`shaders/spectral.wgsl`): buffers, pipelines
//! and the sequence of dispatches of one step, twin of `CpuBackend::implicit_step`.
//!
//! Every dispatch reads its own record (`Spec`) at a dynamic uniform offset, so a
//! stretch of steps is recorded into one command buffer with nothing read back; the
//! error estimate is reduced on the device and read back when the driver asks.

use super::engine::{layout, pipeline_with, GpuSolver, Slot, FIELD_BYTES};
use super::shaders::Kernel;
use crate::solver::implicit::{eigenvalues, layout as grid_layout, AxisKind, Layout, Op};
use crate::solver::params::StepInfo;
use crate::solver::params::Reduction;
use crate::solver::{field_count, ImplicitStep};

/// Dispatch records one step can use (at most 9 per solve, 6 solves, a few more).
const Q_CAP: usize = 128;

/// Longest line the workgroup transform holds (MAX_LINE in spectral.wgsl).
pub const MAX_LINE: usize = 1024;

/// One dispatch record (`Spec` in spectral.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Spec {
    mode: u32,
    axis: u32,
    comp: u32,
    tgt: u32,
    n_line: u32,
    mat_off: u32,
    flip: u32,
    kind: u32,
    op_a: [f32; 4],
    op_b: [f32; 4],
    op_c: [f32; 4],
    op_d: [f32; 4],
}
const _: () = assert!(std::mem::size_of::<Spec>() == 96);

const TARGET_MU: u32 = 0;
const TARGET_ETA: u32 = 1;
const TARGET_AUX: u32 = 2;

struct Pipes {
    load: wgpu::ComputePipeline,
    store: wgpu::ComputePipeline,
    line: wgpu::ComputePipeline,
    apply: wgpu::ComputePipeline,
    z_solve: wgpu::ComputePipeline,
    combine: wgpu::ComputePipeline,
    lowpass: wgpu::ComputePipeline,
    err_partials: wgpu::ComputePipeline,
    thermal_rhs: wgpu::ComputePipeline,
    psi_err: wgpu::ComputePipeline,
    thermal_finish: wgpu::ComputePipeline,
    update_split: wgpu::ComputePipeline,
}

#[derive(Clone, Copy)]
enum Pipe {
    Load,
    Store,
    Line,
    Apply,
    ZSolve,
    Combine,
    Lowpass,
    ErrPartials,
    ThermalRhs,
    PsiErr,
    ThermalFinish,
}

/// Dispatches of one step: which pipeline, its record and grid.
enum Cmd {
    Chem,
    Update { split: bool },
    Spec { pipe: Pipe, rec: usize, groups: (u32, u32) },
}

pub struct Implicit {
    layout: Layout,
    pipes: Pipes,
    eta: wgpu::Buffer,
    /// Held with the bind groups that use them.
    _spec: [wgpu::Buffer; 2],
    band: wgpu::Buffer,
    delta: wgpu::Buffer,
    _errv: [wgpu::Buffer; 2],
    saved: [wgpu::Buffer; 3],
    q_buf: wgpu::Buffer,
    q_stride: u64,
    bg: [wgpu::BindGroup; 2],
    bg_update: [wgpu::BindGroup; 2],
    /// Matrix offsets (entries) per axis: forward, inverse.
    mat_off: [[u32; 2]; 3],
    have_delta: bool,
    saved_have_delta: bool,
    /// Whether the last step's error is set (r > 0) and was noisy.
    last_r: f32,
    last_noisy: bool,
    saved_state: (f32, bool),
    thermal: bool,
}

/// Dense transform matrices of an axis (row k = output): forward and inverse, with the
/// normalisation in the inverse.
fn matrices(kind: AxisKind, n: usize) -> [Vec<[f32; 2]>; 2] {
    let pi = std::f64::consts::PI;
    let mut f = vec![[0.0f32; 2]; n * n];
    let mut g = vec![[0.0f32; 2]; n * n];
    for k in 0..n {
        for j in 0..n {
            match kind {
                AxisKind::Periodic => {
                    let a = -2.0 * pi * ((j * k) % n) as f64 / n as f64;
                    f[k * n + j] = [a.cos() as f32, a.sin() as f32];
                    // inverse: out_j = (1/N) sum_k exp(+i..) in_k; row j, column k
                    g[j * n + k] = [(a.cos() / n as f64) as f32, (-a.sin() / n as f64) as f32];
                }
                _ => {
                    let c = (pi * k as f64 * (j as f64 + 0.5) / n as f64).cos();
                    f[k * n + j] = [c as f32, 0.0];
                    let w = if k == 0 { 1.0 } else { 2.0 } / n as f64;
                    g[j * n + k] = [(w * c) as f32, 0.0];
                }
            }
        }
    }
    [f, g]
}

impl GpuSolver {
    /// Whether the GPU can run the semi-implicit scheme on this grid.
    pub fn implicit_support(&self) -> Result<(), String> {
        let p = &self.params;
        grid_layout(p)?;
        for (name, n) in [("nx", p.nx), ("ny", p.ny), ("nz", p.nz)] {
            if n as usize > MAX_LINE {
                return Err(format!("grid.{name} = {n} is longer than the {MAX_LINE} voxels the GPU line transform holds"));
            }
        }
        let l = &self.ctx.limits;
        if l.max_storage_buffers_per_shader_stage < 16 || l.max_dynamic_uniform_buffers_per_pipeline_layout < 2 {
            return Err(format!(
                "the adapter binds {} storage buffers per stage and {} dynamic uniforms (16 and 2 needed)",
                l.max_storage_buffers_per_shader_stage, l.max_dynamic_uniform_buffers_per_pipeline_layout
            ));
        }
        let n = p.n_total as u64;
        let max_buffer = l.max_buffer_size.min(l.max_storage_buffer_binding_size as u64);
        if n * 16 > max_buffer {
            return Err(format!("the {} B per-voxel records exceed the adapter's buffer limit {max_buffer} B", n * 16));
        }
        Ok(())
    }

    /// Makes the buffers and pipelines of the scheme (or remakes them for new faces).
    fn ensure_implicit(&mut self) {
        let want = grid_layout(&self.params).expect("checked by implicit_support");
        if self.implicit.as_ref().is_some_and(|i| i.layout == want) {
            return;
        }
        let keep = self.implicit.take();
        let device = &self.ctx.device;
        let p = self.params;
        let n = p.n_total as u64;
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC;
        let mk = |label: &str, size: u64| device.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size: size.max(16), usage: storage, mapped_at_creation: false });
        let (eta, delta, band) = match &keep {
            Some(k) => (k.eta.clone(), k.delta.clone(), k.band.clone()),
            None => (mk("eta", n * FIELD_BYTES), mk("delta", n * 16), mk("band", n * 16)),
        };
        let spec = [mk("spec", n * FIELD_BYTES), mk("tspec", n * FIELD_BYTES)];
        let errv = [mk("errv", n * 16), mk("errt", n * 16)];
        let aux_size = if p.is_thermal() { n * FIELD_BYTES } else { 16 };
        let saved = [mk("saved phi", n * FIELD_BYTES), mk("saved aux", aux_size), mk("saved delta", n * 16)];
        // Matrices and eigenvalues.
        let dims = [p.nx as usize, p.ny as usize, p.nz as usize];
        let kinds = [want.x, want.y, if want.z == AxisKind::Periodic { AxisKind::Periodic } else { AxisKind::Cosine }];
        let mut mats: Vec<[f32; 2]> = Vec::new();
        let mut mat_off = [[0u32; 2]; 3];
        let mut lam: Vec<f32> = Vec::new();
        for a in 0..3 {
            let [f, g] = matrices(kinds[a], dims[a]);
            mat_off[a][0] = mats.len() as u32;
            mats.extend_from_slice(&f);
            mat_off[a][1] = mats.len() as u32;
            mats.extend_from_slice(&g);
            let lk = if a == 2 && want.z != AxisKind::Periodic { AxisKind::Banded } else { kinds[a] };
            lam.extend(eigenvalues(lk, dims[a], p.inv_h2 as f64).iter().map(|&v| v as f32));
        }
        use wgpu::util::DeviceExt;
        let mat = device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some("transform matrices"), contents: bytemuck::cast_slice(&mats), usage: wgpu::BufferUsages::STORAGE });
        let lam_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some("eigenvalues"), contents: bytemuck::cast_slice(&lam), usage: wgpu::BufferUsages::STORAGE });
        let align = self.ctx.limits.min_uniform_buffer_offset_alignment as u64;
        let q_stride = (std::mem::size_of::<Spec>() as u64).div_ceil(align) * align;
        let q_buf = device.create_buffer(&wgpu::BufferDescriptor { label: Some("spec records"), size: q_stride * Q_CAP as u64, usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST, mapped_at_creation: false });

        let slots: Vec<(u32, Slot)> = vec![
            (0, Slot::Uniform { dynamic: false }),
            (1, Slot::Uniform { dynamic: true }),
            (2, Slot::Read),
            (3, Slot::ReadWrite),
            (4, Slot::ReadWrite),
            (7, Slot::Read),
            (8, Slot::ReadWrite),
            (9, Slot::ReadWrite),
            (10, Slot::ReadWrite),
            (11, Slot::ReadWrite),
            (12, Slot::Read),
            (13, Slot::Read),
            (14, Slot::ReadWrite),
            (15, Slot::ReadWrite),
            (16, Slot::ReadWrite),
            (17, Slot::ReadWrite),
            (18, Slot::ReadWrite),
            (19, Slot::Uniform { dynamic: true }),
        ];
        let bgl = layout(device, "spectral bgl", &slots);
        let pipe = |e: &str| pipeline_with(device, Kernel::Spectral, &bgl, e, &[]);
        let pipes = Pipes {
            load: pipe("load"),
            store: pipe("store"),
            line: pipe("line_transform"),
            apply: pipe("apply"),
            z_solve: pipe("z_solve"),
            combine: pipe("combine"),
            lowpass: pipe("lowpass"),
            err_partials: pipe("err_partials"),
            thermal_rhs: pipe("thermal_rhs"),
            psi_err: pipe("psi_err"),
            thermal_finish: pipe("thermal_finish"),
            update_split: pipeline_with(device, Kernel::Update, &self.bgl_update, "main", &[("SPLIT_NOISE", 1.0)]),
        };
        let step_binding = || {
            wgpu::BindingResource::Buffer(wgpu::BufferBinding { buffer: &self.steps_buf, offset: 0, size: wgpu::BufferSize::new(std::mem::size_of::<StepInfo>() as u64) })
        };
        let q_binding = wgpu::BindingResource::Buffer(wgpu::BufferBinding { buffer: &q_buf, offset: 0, size: wgpu::BufferSize::new(std::mem::size_of::<Spec>() as u64) });
        fn e(b: u32, buf: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
            wgpu::BindGroupEntry { binding: b, resource: buf.as_entire_binding() }
        }
        let bg = [0usize, 1].map(|k| {
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("spectral bg"),
                layout: &bgl,
                entries: &[
                    e(0, &self.params_buf),
                    wgpu::BindGroupEntry { binding: 1, resource: step_binding() },
                    e(2, &self.phi[k]),
                    e(3, &self.mu),
                    e(4, &self.phi[1 - k]),
                    e(7, &self.aux[k]),
                    e(8, &self.aux[1 - k]),
                    e(9, &eta),
                    e(10, &spec[0]),
                    e(11, &spec[1]),
                    e(12, &mat),
                    e(13, &lam_buf),
                    e(14, &band),
                    e(15, &delta),
                    e(16, &errv[0]),
                    e(17, &errv[1]),
                    e(18, &self.partials),
                    wgpu::BindGroupEntry { binding: 19, resource: q_binding.clone() },
                ],
            })
        });
        let bg_update = [0usize, 1].map(|k| {
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("update split bg"),
                layout: &self.bgl_update,
                entries: &[
                    e(0, &self.params_buf),
                    wgpu::BindGroupEntry { binding: 1, resource: step_binding() },
                    e(2, &self.phi[k]),
                    e(3, &self.mu),
                    e(4, &self.phi[1 - k]),
                    e(7, &self.aux[k]),
                    e(9, &eta),
                ],
            })
        });
        let (have_delta, last_r, last_noisy) = keep.as_ref().map_or((false, 0.0, false), |k| (false, k.last_r, k.last_noisy));
        self.implicit = Some(Implicit {
            layout: want,
            pipes,
            eta,
            _spec: spec,
            band,
            delta,
            _errv: errv,
            saved,
            q_buf,
            q_stride,
            bg,
            bg_update,
            mat_off,
            have_delta,
            saved_have_delta: false,
            last_r,
            last_noisy,
            saved_state: (0.0, false),
            thermal: p.is_thermal(),
        });
    }

    fn field_groups(&self) -> (u32, u32) {
        self.dispatch
    }

    fn line_groups(&self, lines: u32) -> (u32, u32) {
        let gx = self.params.groups_x.max(1);
        if lines <= gx {
            (lines.max(1), 1)
        } else {
            (gx, lines.div_ceil(gx))
        }
    }

    /// The records and commands of one solve (`noise`: the filter) of `target[comp]`.
    #[allow(clippy::too_many_arguments)]
    fn push_solve(&self, recs: &mut Vec<Spec>, cmds: &mut Vec<Cmd>, target: u32, comp: u32, op: &Op, shift: f32, noise: bool) {
        let im = self.implicit.as_ref().expect("ensured");
        let p = &self.params;
        let dims = [p.nx, p.ny, p.nz];
        let coeffs = |mut s: Spec| {
            s.op_a = [op.d0 as f32, op.b0 as f32, op.b1 as f32, op.c0 as f32];
            s.op_b = [op.c1 as f32, op.rows_b[0] as f32, op.rows_b[1] as f32, op.rows_c[0] as f32];
            s.op_c = [op.rows_c[1] as f32, shift, 0.0, 0.0];
            s
        };
        let fg = self.field_groups();
        let mut push = |recs: &mut Vec<Spec>, cmds: &mut Vec<Cmd>, pipe: Pipe, s: Spec, groups: (u32, u32)| {
            recs.push(coeffs(s));
            cmds.push(Cmd::Spec { pipe, rec: recs.len() - 1, groups });
        };
        push(recs, cmds, Pipe::Load, Spec { tgt: target, comp, ..Default::default() }, fg);
        let mut in_t = false;
        let line = |recs: &mut Vec<Spec>, cmds: &mut Vec<Cmd>, axis: usize, dir: usize, in_t: &mut bool, push: &mut dyn FnMut(&mut Vec<Spec>, &mut Vec<Cmd>, Pipe, Spec, (u32, u32))| {
            let n = dims[axis];
            if n <= 1 {
                return;
            }
            let lines = p.n_total / n;
            let s = Spec { axis: axis as u32, n_line: n, mat_off: im.mat_off[axis][dir], flip: u32::from(*in_t), ..Default::default() };
            push(recs, cmds, Pipe::Line, s, self.line_groups(lines));
            *in_t = !*in_t;
        };
        line(recs, cmds, 0, 0, &mut in_t, &mut push);
        line(recs, cmds, 1, 0, &mut in_t, &mut push);
        if noise || im.layout.z == AxisKind::Periodic {
            line(recs, cmds, 2, 0, &mut in_t, &mut push);
            push(recs, cmds, Pipe::Apply, Spec { flip: u32::from(in_t), kind: u32::from(noise), ..Default::default() }, fg);
            line(recs, cmds, 2, 1, &mut in_t, &mut push);
        } else {
            let cols = p.nx * p.ny;
            let wgs = cols.div_ceil(64);
            let wx = wgs.min(65535);
            push(recs, cmds, Pipe::ZSolve, Spec { flip: u32::from(in_t), ..Default::default() }, (wx, wgs.div_ceil(wx)));
        }
        line(recs, cmds, 1, 1, &mut in_t, &mut push);
        line(recs, cmds, 0, 1, &mut in_t, &mut push);
        push(recs, cmds, Pipe::Store, Spec { tgt: target, comp, flip: u32::from(in_t), ..Default::default() }, fg);
    }

    pub fn implicit_advance(&mut self, steps: &[ImplicitStep]) {
        self.ensure_implicit();
        let nf = field_count(&self.params);
        let thermal = self.params.is_thermal();
        for st in steps {
            let mut recs: Vec<Spec> = Vec::new();
            let mut cmds: Vec<Cmd> = Vec::new();
            let s = &st.info;
            let noisy = s.noise_scale > 0.0;
            let r = if self.implicit.as_ref().expect("ensured").have_delta && s.dt_prev > 0.0 { s.dt / s.dt_prev } else { 0.0 };
            cmds.push(Cmd::Chem);
            for f in 0..nf {
                self.push_solve(&mut recs, &mut cmds, TARGET_MU, f as u32, &st.ch[f], st.mu_ref[f], false);
            }
            cmds.push(Cmd::Update { split: noisy });
            if noisy {
                for f in 0..nf {
                    self.push_solve(&mut recs, &mut cmds, TARGET_ETA, f as u32, &st.ch[f], 0.0, true);
                }
            }
            let fg = self.field_groups();
            recs.push(Spec { kind: u32::from(noisy), op_c: [0.0, 0.0, r, s.noise_scale], ..Default::default() });
            cmds.push(Cmd::Spec { pipe: Pipe::Combine, rec: recs.len() - 1, groups: fg });
            if thermal {
                recs.push(Spec { op_d: [st.s_psi, 0.0, 0.0, 0.0], ..Default::default() });
                cmds.push(Cmd::Spec { pipe: Pipe::ThermalRhs, rec: recs.len() - 1, groups: fg });
                self.push_solve(&mut recs, &mut cmds, TARGET_AUX, 1, &st.psi, 0.0, false);
                recs.push(Spec { op_c: [0.0, 0.0, r, 0.0], ..Default::default() });
                cmds.push(Cmd::Spec { pipe: Pipe::PsiErr, rec: recs.len() - 1, groups: fg });
                recs.push(Spec::default());
                cmds.push(Cmd::Spec { pipe: Pipe::ThermalFinish, rec: recs.len() - 1, groups: fg });
                self.push_solve(&mut recs, &mut cmds, TARGET_AUX, 0, &st.heat, 0.0, false);
            }
            self.encode(s, &recs, &cmds);
            let im = self.implicit.as_mut().expect("ensured");
            im.have_delta = true;
            im.last_r = r;
            im.last_noisy = noisy;
            self.cur = 1 - self.cur;
        }
    }

    fn write_records(&mut self, recs: &[Spec]) {
        assert!(recs.len() <= Q_CAP, "{} dispatch records in one step; the record buffer holds {Q_CAP}", recs.len());
        let im = self.implicit.as_ref().expect("ensured");
        let mut bytes = vec![0u8; recs.len() * im.q_stride as usize];
        for (k, r) in recs.iter().enumerate() {
            let o = k * im.q_stride as usize;
            bytes[o..o + std::mem::size_of::<Spec>()].copy_from_slice(bytemuck::bytes_of(r));
        }
        self.ctx.queue.write_buffer(&im.q_buf, 0, &bytes);
    }

    fn encode(&mut self, s: &StepInfo, recs: &[Spec], cmds: &[Cmd]) {
        self.write_records(recs);
        let mut sb = vec![0u8; self.step_stride as usize];
        sb[..16].copy_from_slice(bytemuck::bytes_of(s));
        self.ctx.queue.write_buffer(&self.steps_buf, 0, &sb);
        let im = self.implicit.as_ref().expect("ensured");
        let cur = self.cur;
        let (gx, gy) = self.dispatch;
        let mut enc = self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("semi-implicit step") });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("semi-implicit step"), timestamp_writes: None });
            for c in cmds {
                match c {
                    Cmd::Chem => {
                        pass.set_pipeline(&self.pipelines.chem);
                        pass.set_bind_group(0, &self.bg_chem[cur], &[]);
                        pass.dispatch_workgroups(gx, gy, 1);
                    }
                    Cmd::Update { split } => {
                        if *split {
                            pass.set_pipeline(&im.pipes.update_split);
                            pass.set_bind_group(0, &im.bg_update[cur], &[0]);
                        } else {
                            pass.set_pipeline(&self.pipelines.update);
                            pass.set_bind_group(0, &self.bg_update[cur], &[0]);
                        }
                        pass.dispatch_workgroups(gx, gy, 1);
                    }
                    Cmd::Spec { pipe, rec, groups } => {
                        let pl = match pipe {
                            Pipe::Load => &im.pipes.load,
                            Pipe::Store => &im.pipes.store,
                            Pipe::Line => &im.pipes.line,
                            Pipe::Apply => &im.pipes.apply,
                            Pipe::ZSolve => &im.pipes.z_solve,
                            Pipe::Combine => &im.pipes.combine,
                            Pipe::Lowpass => &im.pipes.lowpass,
                            Pipe::ErrPartials => &im.pipes.err_partials,
                            Pipe::ThermalRhs => &im.pipes.thermal_rhs,
                            Pipe::PsiErr => &im.pipes.psi_err,
                            Pipe::ThermalFinish => &im.pipes.thermal_finish,
                        };
                        pass.set_pipeline(pl);
                        pass.set_bind_group(0, &im.bg[cur], &[0, (*rec as u64 * im.q_stride) as u32]);
                        pass.dispatch_workgroups(groups.0, groups.1, 1);
                    }
                }
            }
        }
        self.ctx.queue.submit([enc.finish()]);
    }

    /// ½ rms of the change of increments of the last step (low-passed with noise on).
    pub fn implicit_error(&mut self) -> Option<f64> {
        let im = self.implicit.as_ref()?;
        if im.last_r <= 0.0 {
            return None;
        }
        let noisy = im.last_noisy;
        let thermal = im.thermal;
        let p = self.params;
        let fg = self.field_groups();
        let mut recs = Vec::new();
        let mut cmds = Vec::new();
        if noisy {
            let mut flip = 0u32;
            for axis in 0..3u32 {
                if [p.nx, p.ny, p.nz][axis as usize] == 1 {
                    continue;
                }
                for _ in 0..2 {
                    recs.push(Spec { axis, flip, ..Default::default() });
                    cmds.push(Cmd::Spec { pipe: Pipe::Lowpass, rec: recs.len() - 1, groups: fg });
                    flip = 1 - flip;
                }
            }
            // An even number of passes ends in errv.
            debug_assert_eq!(flip, 0);
        }
        recs.push(Spec::default());
        cmds.push(Cmd::Spec { pipe: Pipe::ErrPartials, rec: recs.len() - 1, groups: fg });
        let info = StepInfo::default();
        // The bind group's phi/aux do not matter here; use the current ones.
        self.encode(&info, &recs, &cmds);
        let sums = self.reduce_partials_record();
        let nf = field_count(&p) as f64;
        let comps = nf + if thermal { 1.0 } else { 0.0 };
        let sum = sums.a[0] as f64 + sums.a[1] as f64;
        Some(0.5 * (sum / (p.n_total as f64 * comps)).sqrt())
    }

    pub fn implicit_save(&mut self) {
        self.ensure_implicit();
        let im = self.implicit.as_mut().expect("ensured");
        let n = self.params.n_total as u64;
        let mut enc = self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("save") });
        enc.copy_buffer_to_buffer(&self.phi[self.cur], 0, &im.saved[0], 0, n * FIELD_BYTES);
        if self.params.is_thermal() {
            enc.copy_buffer_to_buffer(&self.aux[self.cur], 0, &im.saved[1], 0, n * FIELD_BYTES);
        }
        enc.copy_buffer_to_buffer(&im.delta, 0, &im.saved[2], 0, n * 16);
        self.ctx.queue.submit([enc.finish()]);
        im.saved_have_delta = im.have_delta;
        im.saved_state = (im.last_r, im.last_noisy);
    }

    pub fn implicit_restore(&mut self) {
        let im = self.implicit.as_mut().expect("restore after save");
        let n = self.params.n_total as u64;
        let mut enc = self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("restore") });
        enc.copy_buffer_to_buffer(&im.saved[0], 0, &self.phi[self.cur], 0, n * FIELD_BYTES);
        if self.params.is_thermal() {
            enc.copy_buffer_to_buffer(&im.saved[1], 0, &self.aux[self.cur], 0, n * FIELD_BYTES);
        }
        enc.copy_buffer_to_buffer(&im.saved[2], 0, &im.delta, 0, n * 16);
        self.ctx.queue.submit([enc.finish()]);
        im.have_delta = im.saved_have_delta;
        (im.last_r, im.last_noisy) = im.saved_state;
    }

    pub fn implicit_download_increments(&mut self) -> Option<Vec<[f32; 3]>> {
        let im = self.implicit.as_ref()?;
        if !im.have_delta {
            return None;
        }
        let bytes = self.read_buffer(&im.delta, self.params.n_total as u64 * 16);
        let v: Vec<[f32; 4]> = bytemuck::pod_collect_to_vec(&bytes);
        Some(v.iter().map(|d| [d[0], d[1], d[2]]).collect())
    }

    pub fn implicit_upload_increments(&mut self, d: Option<&[[f32; 3]]>) {
        match d {
            Some(d) => {
                if grid_layout(&self.params).is_err() {
                    return;
                }
                self.ensure_implicit();
                let im = self.implicit.as_mut().expect("ensured");
                let v: Vec<[f32; 4]> = d.iter().map(|x| [x[0], x[1], x[2], 0.0]).collect();
                self.ctx.queue.write_buffer(&im.delta, 0, bytemuck::cast_slice(&v));
                im.have_delta = true;
            }
            None => self.implicit_forget(),
        }
    }

    pub fn implicit_forget(&mut self) {
        if let Some(im) = self.implicit.as_mut() {
            im.have_delta = false;
            im.last_r = 0.0;
        }
    }
}

impl GpuSolver {
    /// Runs reduce_partials over `partials` and reads the record back.
    fn reduce_partials_record(&mut self) -> Reduction {
        let mut enc = self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("reduce partials") });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("reduce partials"), timestamp_writes: None });
            self.encode_reduce_partials(&mut pass);
        }
        self.ctx.queue.submit([enc.finish()]);
        let bytes = self.read_result();
        bytemuck::pod_read_unaligned(&bytes)
    }
}

