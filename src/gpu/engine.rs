//! The GPU backend: pipelines and bind-group layouts built once, field buffers
//! kept apart, and a time step recorded as two dispatches (chemical potential,
//! update) with ping-pong buffers, plus a third (temperature and crystallinity)
//! when the thermal model is on. A stretch of steps is recorded into one
//! command buffer and nothing is read back until a reduction is asked for.

use super::shaders::Kernel;
use super::{GpuContext, GpuError};
use crate::solver::params::{Params, Reduction, StepInfo, WG_SIZE};
use crate::solver::{Backend, Totals};
use wgpu::util::DeviceExt;

/// Steps recorded per command buffer (the per-step uniforms of one stretch).
const STEPS_PER_BATCH: usize = 512;
pub(super) const FIELD_BYTES: u64 = 8; // vec2<f32> per voxel

/// Device memory a grid needs.
pub struct MemoryNeed {
    pub total: u64,
    pub largest_buffer: u64,
}

/// Bytes of one reduction record.
pub(super) const RECORD_BYTES: u64 = std::mem::size_of::<Reduction>() as u64;

pub fn memory_needed(shape: [usize; 3], thermal: bool) -> MemoryNeed {
    let n = (shape[0] * shape[1] * shape[2]) as u64;
    let field = n * FIELD_BYTES;
    let partials = n.div_ceil(WG_SIZE as u64) * RECORD_BYTES;
    // phi (2, ping-pong) + mu + partials + a download staging buffer,
    // and (T, psi) ping-pong in the thermal model.
    let aux = if thermal { 2 * field } else { 0 };
    MemoryNeed { total: 4 * field + aux + partials + STEPS_PER_BATCH as u64 * 256 + 1024, largest_buffer: field }
}

pub(super) struct Pipelines {
    pub(super) chem: wgpu::ComputePipeline,
    pub(super) update: wgpu::ComputePipeline,
    reduce_fields: wgpu::ComputePipeline,
    pub(super) reduce_partials: wgpu::ComputePipeline,
    thermal: wgpu::ComputePipeline,
}

#[derive(Clone, Copy)]
pub(super) enum Slot {
    Uniform { dynamic: bool },
    Read,
    ReadWrite,
}

pub(super) fn layout(device: &wgpu::Device, label: &str, slots: &[(u32, Slot)]) -> wgpu::BindGroupLayout {
    let entries: Vec<_> = slots
        .iter()
        .map(|&(binding, slot)| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: match slot {
                    Slot::Uniform { .. } => wgpu::BufferBindingType::Uniform,
                    Slot::Read => wgpu::BufferBindingType::Storage { read_only: true },
                    Slot::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                },
                has_dynamic_offset: matches!(slot, Slot::Uniform { dynamic: true }),
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(label), entries: &entries })
}

fn pipeline(device: &wgpu::Device, kernel: Kernel, bgl: &wgpu::BindGroupLayout) -> wgpu::ComputePipeline {
    pipeline_with(device, kernel, bgl, "main", &[])
}

/// A pipeline for entry point `entry` of `kernel` with pipeline-overridable constants.
pub(super) fn pipeline_with(device: &wgpu::Device, kernel: Kernel, bgl: &wgpu::BindGroupLayout, entry: &str, constants: &[(&str, f64)]) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(kernel.name()),
        source: wgpu::ShaderSource::Wgsl(kernel.source().into()),
    });
    let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(kernel.name()),
        bind_group_layouts: &[Some(bgl)],
        immediate_size: 0,
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(kernel.name()),
        layout: Some(&pl),
        module: &module,
        entry_point: Some(entry),
        compilation_options: wgpu::PipelineCompilationOptions { constants, ..Default::default() },
        cache: None,
    })
}

/// GPU state: field buffers, bind groups, readback.
pub struct GpuSolver {
    pub(super) ctx: GpuContext,
    pub(super) pipelines: Pipelines,
    pub(super) params: Params,
    pub(super) params_buf: wgpu::Buffer,
    pub(super) steps_buf: wgpu::Buffer,
    pub(super) step_stride: u64,
    pub(super) phi: [wgpu::Buffer; 2],
    pub(super) result: wgpu::Buffer,
    readback: wgpu::Buffer,
    pub(super) bg_chem: [wgpu::BindGroup; 2],
    pub(super) bg_update: [wgpu::BindGroup; 2],
    bg_reduce: [wgpu::BindGroup; 2],
    pub(super) bg_partials: wgpu::BindGroup,
    bg_thermal: [wgpu::BindGroup; 2],
    pub(super) aux: [wgpu::Buffer; 2],
    pub(super) cur: usize,
    pub(super) dispatch: (u32, u32),
    pub(super) mu: wgpu::Buffer,
    pub(super) partials: wgpu::Buffer,
    pub(super) bgl_update: wgpu::BindGroupLayout,
    /// The semi-implicit scheme's buffers and pipelines (made on first use).
    pub(super) implicit: Option<super::implicit::Implicit>,
}

impl GpuSolver {
    /// Builds pipelines and buffers for the grid of `params` on `ctx`.
    pub fn new(ctx: GpuContext, params: &Params) -> Result<Self, GpuError> {
        let shape = [params.nz as usize, params.ny as usize, params.nx as usize];
        ctx.check_memory(shape, params.is_thermal())?;
        let device = &ctx.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);

        let bgl_chem = layout(device, "chem_potential bgl", &[(0, Slot::Uniform { dynamic: false }), (2, Slot::Read), (3, Slot::ReadWrite), (7, Slot::Read)]);
        let bgl_update = layout(
            device,
            "update bgl",
            &[(0, Slot::Uniform { dynamic: false }), (1, Slot::Uniform { dynamic: true }), (2, Slot::Read), (3, Slot::Read), (4, Slot::ReadWrite), (7, Slot::Read), (9, Slot::ReadWrite)],
        );
        let bgl_reduce = layout(device, "reduce_fields bgl", &[(0, Slot::Uniform { dynamic: false }), (2, Slot::Read), (5, Slot::ReadWrite), (7, Slot::Read)]);
        let bgl_thermal = layout(
            device,
            "thermal bgl",
            &[(0, Slot::Uniform { dynamic: false }), (1, Slot::Uniform { dynamic: true }), (2, Slot::Read), (7, Slot::Read), (8, Slot::ReadWrite)],
        );
        let bgl_partials = layout(device, "reduce_partials bgl", &[(0, Slot::Uniform { dynamic: false }), (5, Slot::Read), (6, Slot::ReadWrite)]);
        let pipelines = Pipelines {
            chem: pipeline(device, Kernel::ChemPotential, &bgl_chem),
            update: pipeline(device, Kernel::Update, &bgl_update),
            reduce_fields: pipeline(device, Kernel::ReduceFields, &bgl_reduce),
            reduce_partials: pipeline(device, Kernel::ReducePartials, &bgl_partials),
            thermal: pipeline(device, Kernel::Thermal, &bgl_thermal),
        };

        let n = params.n_total as u64;
        let field_size = n * FIELD_BYTES;
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC;
        let mk = |label: &str, size: u64, usage| device.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size, usage, mapped_at_creation: false });
        let phi = [mk("phi 0", field_size, storage), mk("phi 1", field_size, storage)];
        let mu = mk("mu", field_size, wgpu::BufferUsages::STORAGE);
        let (gx, gy) = Params::dispatch_size(params.n_total);
        // (T, psi) per voxel in the thermal model; a token buffer otherwise (bound, never read).
        let aux_size = if params.is_thermal() { field_size } else { 16 };
        let aux = [mk("aux 0", aux_size, storage), mk("aux 1", aux_size, storage)];
        let partials = mk("reduction partials", (gx as u64 * gy as u64).max(1) * RECORD_BYTES, wgpu::BufferUsages::STORAGE);
        // The noise divergence of the semi-implicit scheme; a token until that scheme is used.
        let eta_token = mk("eta token", 16, wgpu::BufferUsages::STORAGE);
        let result = mk("reduction result", RECORD_BYTES, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC);
        let readback = mk("reduction readback", RECORD_BYTES, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST);
        let params_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::bytes_of(params),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        let align = ctx.limits.min_uniform_buffer_offset_alignment as u64;
        let step_stride = (std::mem::size_of::<StepInfo>() as u64).div_ceil(align) * align;
        let steps_buf = mk("step infos", step_stride * STEPS_PER_BATCH as u64, wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST);

        let entry = |binding: u32, resource| wgpu::BindGroupEntry { binding, resource };
        let bg = |label: &str, l: &wgpu::BindGroupLayout, entries: &[wgpu::BindGroupEntry]| {
            device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some(label), layout: l, entries })
        };
        let step_binding = wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &steps_buf,
            offset: 0,
            size: wgpu::BufferSize::new(std::mem::size_of::<StepInfo>() as u64),
        });
        let bg_chem = [0, 1].map(|k| {
            bg(
                "chem_potential bg",
                &bgl_chem,
                &[
                    entry(0, wgpu::Buffer::as_entire_binding(&params_buf)),
                    entry(2, wgpu::Buffer::as_entire_binding(&phi[k])),
                    entry(3, wgpu::Buffer::as_entire_binding(&mu)),
                    entry(7, wgpu::Buffer::as_entire_binding(&aux[k])),
                ],
            )
        });
        let bg_update = [0, 1].map(|k| {
            bg(
                "update bg",
                &bgl_update,
                &[
                    entry(0, wgpu::Buffer::as_entire_binding(&params_buf)),
                    entry(1, step_binding.clone()),
                    entry(2, wgpu::Buffer::as_entire_binding(&phi[k])),
                    entry(3, wgpu::Buffer::as_entire_binding(&mu)),
                    entry(4, wgpu::Buffer::as_entire_binding(&phi[1 - k])),
                    entry(7, wgpu::Buffer::as_entire_binding(&aux[k])),
                    entry(9, wgpu::Buffer::as_entire_binding(&eta_token)),
                ],
            )
        });
        let bg_thermal = [0, 1].map(|k| {
            bg(
                "thermal bg",
                &bgl_thermal,
                &[
                    entry(0, wgpu::Buffer::as_entire_binding(&params_buf)),
                    entry(1, step_binding.clone()),
                    entry(2, wgpu::Buffer::as_entire_binding(&phi[k])),
                    entry(7, wgpu::Buffer::as_entire_binding(&aux[k])),
                    entry(8, wgpu::Buffer::as_entire_binding(&aux[1 - k])),
                ],
            )
        });
        let bg_reduce = [0, 1].map(|k| {
            bg(
                "reduce_fields bg",
                &bgl_reduce,
                &[
                    entry(0, wgpu::Buffer::as_entire_binding(&params_buf)),
                    entry(2, wgpu::Buffer::as_entire_binding(&phi[k])),
                    entry(5, wgpu::Buffer::as_entire_binding(&partials)),
                    entry(7, wgpu::Buffer::as_entire_binding(&aux[k])),
                ],
            )
        });
        let bg_partials = bg("reduce_partials bg", &bgl_partials, &[entry(0, wgpu::Buffer::as_entire_binding(&params_buf)), entry(5, wgpu::Buffer::as_entire_binding(&partials)), entry(6, wgpu::Buffer::as_entire_binding(&result))]);

        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Device { adapter: ctx.info.name.clone(), message: format!("creating pipelines and buffers: {e}") });
        }
        Ok(Self {
            pipelines,
            params: *params,
            params_buf,
            steps_buf,
            step_stride,
            phi,
            result,
            readback,
            bg_chem,
            bg_update,
            bg_reduce,
            bg_partials,
            bg_thermal,
            aux,
            cur: 0,
            dispatch: (gx, gy),
            mu,
            partials,
            bgl_update,
            implicit: None,
            ctx,
        })
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    pub(super) fn wait(&self) {
        let _ = self.ctx.device.poll(wgpu::PollType::wait_indefinitely());
    }

    pub(super) fn read_buffer(&self, src: &wgpu::Buffer, size: u64) -> Vec<u8> {
        let staging = if size == RECORD_BYTES {
            None
        } else {
            Some(self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("download staging"),
                size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }))
        };
        let dst = staging.as_ref().unwrap_or(&self.readback);
        let mut enc = self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
        enc.copy_buffer_to_buffer(src, 0, dst, 0, size);
        self.ctx.queue.submit([enc.finish()]);
        let slice = dst.slice(..size);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait();
        rx.recv().expect("map callback").expect("mapping a readback buffer");
        let bytes = slice.get_mapped_range().expect("mapped range").to_vec();
        dst.unmap();
        bytes
    }
}

impl Backend for GpuSolver {
    fn kind(&self) -> &'static str {
        "gpu"
    }

    fn description(&self) -> String {
        self.ctx.summary()
    }

    fn set_params(&mut self, p: &Params) {
        assert_eq!(p.n_total, self.params.n_total, "grid size cannot change between stages");
        assert_eq!(p.is_thermal(), self.params.is_thermal(), "the thermal model cannot be switched between stages");
        self.params = *p;
        self.ctx.queue.write_buffer(&self.params_buf, 0, bytemuck::bytes_of(p));
    }

    fn upload(&mut self, phi: &[[f32; 2]]) {
        self.ctx.queue.write_buffer(&self.phi[self.cur], 0, bytemuck::cast_slice(phi));
    }

    fn download(&mut self) -> Vec<[f32; 2]> {
        let bytes = self.read_buffer(&self.phi[self.cur], self.params.n_total as u64 * FIELD_BYTES);
        bytemuck::pod_collect_to_vec(&bytes)
    }

    fn upload_aux(&mut self, aux: &[[f32; 2]]) {
        assert!(self.params.is_thermal(), "(T, psi) fields exist only in the thermal model");
        self.ctx.queue.write_buffer(&self.aux[self.cur], 0, bytemuck::cast_slice(aux));
    }

    fn download_aux(&mut self) -> Vec<[f32; 2]> {
        assert!(self.params.is_thermal(), "(T, psi) fields exist only in the thermal model");
        let bytes = self.read_buffer(&self.aux[self.cur], self.params.n_total as u64 * FIELD_BYTES);
        bytemuck::pod_collect_to_vec(&bytes)
    }

    fn advance(&mut self, steps: &[StepInfo]) {
        let (gx, gy) = self.dispatch;
        let thermal = self.params.is_thermal();
        for batch in steps.chunks(STEPS_PER_BATCH) {
            let mut bytes = vec![0u8; batch.len() * self.step_stride as usize];
            for (k, s) in batch.iter().enumerate() {
                let o = k * self.step_stride as usize;
                bytes[o..o + 16].copy_from_slice(bytemuck::bytes_of(s));
            }
            self.ctx.queue.write_buffer(&self.steps_buf, 0, &bytes);
            let mut enc = self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("steps") });
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("steps"), timestamp_writes: None });
                for k in 0..batch.len() {
                    pass.set_pipeline(&self.pipelines.chem);
                    pass.set_bind_group(0, &self.bg_chem[self.cur], &[]);
                    pass.dispatch_workgroups(gx, gy, 1);
                    pass.set_pipeline(&self.pipelines.update);
                    pass.set_bind_group(0, &self.bg_update[self.cur], &[(k as u64 * self.step_stride) as u32]);
                    pass.dispatch_workgroups(gx, gy, 1);
                    if thermal {
                        pass.set_pipeline(&self.pipelines.thermal);
                        pass.set_bind_group(0, &self.bg_thermal[self.cur], &[(k as u64 * self.step_stride) as u32]);
                        pass.dispatch_workgroups(gx, gy, 1);
                    }
                    self.cur = 1 - self.cur;
                }
            }
            self.ctx.queue.submit([enc.finish()]);
        }
    }

    fn reduce(&mut self) -> Totals {
        let (gx, gy) = self.dispatch;
        let mut enc = self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("reduce") });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("reduce"), timestamp_writes: None });
            pass.set_pipeline(&self.pipelines.reduce_fields);
            pass.set_bind_group(0, &self.bg_reduce[self.cur], &[]);
            pass.dispatch_workgroups(gx, gy, 1);
            pass.set_pipeline(&self.pipelines.reduce_partials);
            pass.set_bind_group(0, &self.bg_partials, &[]);
            pass.dispatch_workgroups(1, 1, 1);
        }
        self.ctx.queue.submit([enc.finish()]);
        let bytes = self.read_buffer(&self.result, RECORD_BYTES);
        let r: Reduction = bytemuck::pod_read_unaligned(&bytes);
        Totals::from_reduction(&r)
    }

    fn semi_implicit_support(&self) -> Result<(), String> {
        self.implicit_support()
    }
    fn advance_semi_implicit(&mut self, steps: &[crate::solver::ImplicitStep]) {
        self.implicit_advance(steps);
    }
    fn step_error(&mut self) -> Option<f64> {
        self.implicit_error()
    }
    fn save_state(&mut self) {
        self.implicit_save();
    }
    fn restore_state(&mut self) {
        self.implicit_restore();
    }
    fn forget_increments(&mut self) {
        self.implicit_forget();
    }
    fn download_increments(&mut self) -> Option<Vec<[f32; 3]>> {
        self.implicit_download_increments()
    }
    fn upload_increments(&mut self, d: Option<&[[f32; 3]]>) {
        self.implicit_upload_increments(d);
    }
}

impl GpuSolver {
    /// Records the final pass of a reduction (partials → result).
    pub(super) fn encode_reduce_partials(&self, pass: &mut wgpu::ComputePass) {
        pass.set_pipeline(&self.pipelines.reduce_partials);
        pass.set_bind_group(0, &self.bg_partials, &[]);
        pass.dispatch_workgroups(1, 1, 1);
    }

    /// Reads the reduction result record.
    pub(super) fn read_result(&self) -> Vec<u8> {
        self.read_buffer(&self.result, RECORD_BYTES)
    }

    /// Blocks until all submitted work has finished (for benchmarks).
    pub fn finish(&self) {
        self.wait();
    }
}
