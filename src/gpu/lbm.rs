//! GPU twin of the porometer's lattice-Boltzmann flow solve: the TRT step of
//! `src/lab/flow.rs` as the WGSL kernel `shaders/lbm.wgsl`, over the same
//! sparse node list and pull-streaming source table, with the same
//! convergence rule (relative change of the total flux per check interval,
//! two quiet intervals in a row). The flux sums are reduced per workgroup in
//! f32 on the device and summed in f64 on the host at each check.

use super::GpuContext;
use wgpu::util::DeviceExt;

const SOURCE: &str = include_str!("../../shaders/lbm.wgsl");
const Q: usize = 19;
const WG: usize = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct LbmParams {
    n: u32,
    groups_x: u32,
    want: u32,
    _pad: u32,
    wp: f32,
    wm: f32,
    force: f32,
    src_coef: f32,
}

/// The relaxation and driving of a solve (lattice units).
#[derive(Clone, Copy, Debug)]
pub struct Relaxation {
    pub wp: f32,
    pub wm: f32,
    pub force: f32,
    pub src_coef: f32,
}

/// Convergence settings (as `FlowOptions`).
#[derive(Clone, Copy, Debug)]
pub struct Stopping {
    pub tol: f64,
    pub check_every: usize,
    pub max_steps: usize,
}

/// What a GPU solve returns: final populations, steps, convergence and the
/// flux sums (Σ j_z, Σ |j| over the sample nodes) of the last step.
pub struct Solved {
    pub f: Vec<f32>,
    pub steps: usize,
    pub converged: bool,
    pub sums: (f64, f64),
}

/// Bytes of device memory a solve on `n` nodes needs, and whether it fits
/// the adapter's per-buffer limits; the error says what does not fit.
pub fn check_fits(ctx: &GpuContext, n: usize) -> Result<u64, String> {
    let src = (n * (Q - 1) * 4) as u64;
    let f = (n * Q * 4) as u64;
    let lim_bind = ctx.limits.max_storage_buffer_binding_size as u64;
    let lim_buf = ctx.limits.max_buffer_size;
    let biggest = src.max(f);
    if biggest > lim_bind.min(lim_buf) {
        return Err(format!(
            "{n} flow nodes need a {:.0} MiB buffer; adapter '{}' allows {:.0} MiB per storage buffer",
            biggest as f64 / 1048576.0,
            ctx.info.name,
            lim_bind.min(lim_buf) as f64 / 1048576.0
        ));
    }
    Ok(src + 2 * f + (n * 4) as u64)
}

/// Runs the solve on the device from the populations `f0` (deviations from
/// rest, `n × 19`), with `src` (`n × 18`) and `inside` (`n`) as built by
/// `flow::solve`.
pub fn solve(ctx: &GpuContext, src: &[u32], inside: &[u32], f0: &[f32], r: Relaxation, stop: Stopping) -> Result<Solved, String> {
    let n = inside.len();
    assert_eq!(src.len(), n * (Q - 1));
    assert_eq!(f0.len(), n * Q);
    check_fits(ctx, n)?;
    let device = &ctx.device;
    let groups = n.div_ceil(WG);
    let gx = groups.min(65_535);
    let gy = groups.div_ceil(gx);
    if gy > 65_535 {
        return Err(format!("{n} flow nodes exceed the dispatch limit"));
    }
    let storage = |label: &str, bytes: &[u8], extra: wgpu::BufferUsages| {
        device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some(label), contents: bytes, usage: wgpu::BufferUsages::STORAGE | extra })
    };
    let src_buf = storage("lbm src", bytemuck::cast_slice(src), wgpu::BufferUsages::empty());
    let inside_buf = storage("lbm inside", bytemuck::cast_slice(inside), wgpu::BufferUsages::empty());
    let fa = storage("lbm f a", bytemuck::cast_slice(f0), wgpu::BufferUsages::COPY_SRC);
    // The first step writes every population of b, so b needs no upload.
    let fb = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("lbm f b"),
        size: (f0.len() * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let partial_bytes = (gx * gy * 8) as u64;
    let partial = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("lbm partial"),
        size: partial_bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let params = |want: u32| LbmParams { n: n as u32, groups_x: gx as u32, want, _pad: 0, wp: r.wp, wm: r.wm, force: r.force, src_coef: r.src_coef };
    let uni: Vec<wgpu::Buffer> = (0..2u32)
        .map(|w| device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some("lbm params"), contents: bytemuck::bytes_of(&params(w)), usage: wgpu::BufferUsages::UNIFORM }))
        .collect();
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor { label: Some("lbm"), source: wgpu::ShaderSource::Wgsl(SOURCE.into()) });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("lbm"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let bgl = pipeline.get_bind_group_layout(0);
    // [want][parity]: parity 0 reads a and writes b, parity 1 the reverse.
    let bind = |u: &wgpu::Buffer, from: &wgpu::Buffer, to: &wgpu::Buffer| {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("lbm"),
            layout: &bgl,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: u.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: src_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: inside_buf.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 3, resource: from.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 4, resource: to.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 5, resource: partial.as_entire_binding() },
            ],
        })
    };
    let bgs = [[bind(&uni[0], &fa, &fb), bind(&uni[0], &fb, &fa)], [bind(&uni[1], &fa, &fb), bind(&uni[1], &fb, &fa)]];
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("lbm partial readback"),
        size: partial_bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });

    let mut steps = 0usize;
    // Runs `k` steps, the last with the flux sums, and returns them.
    let run = |k: usize, steps: &mut usize| -> (f64, f64) {
        let mut enc = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("lbm steps") });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("lbm"), timestamp_writes: None });
            pass.set_pipeline(&pipeline);
            for i in 0..k {
                let want = usize::from(i + 1 == k);
                pass.set_bind_group(0, &bgs[want][*steps % 2], &[]);
                pass.dispatch_workgroups(gx as u32, gy as u32, 1);
                *steps += 1;
            }
        }
        enc.copy_buffer_to_buffer(&partial, 0, &staging, 0, partial_bytes);
        ctx.queue.submit([enc.finish()]);
        let bytes = read(ctx, &staging);
        let v: Vec<[f32; 2]> = bytemuck::pod_collect_to_vec(&bytes);
        v.iter().fold((0.0, 0.0), |a, s| (a.0 + s[0] as f64, a.1 + s[1] as f64))
    };

    let check = stop.check_every.max(1);
    let mut watch = crate::lab::flow::FluxWatch::new(stop.tol);
    let mut converged = false;
    let mut last = (0.0, 0.0);
    while steps < stop.max_steps {
        let k = check.min(stop.max_steps - steps);
        let sums = run(k, &mut steps);
        if !steps.is_multiple_of(check) {
            break;
        }
        last = sums;
        if watch.converged_after(sums.0) {
            converged = true;
            break;
        }
    }
    if !steps.is_multiple_of(check) {
        last = run(1, &mut steps);
    }
    let final_buf = if steps % 2 == 0 { &fa } else { &fb };
    let f_bytes = (n * Q * 4) as u64;
    let f_staging = device.create_buffer(&wgpu::BufferDescriptor { label: Some("lbm f readback"), size: f_bytes, usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST, mapped_at_creation: false });
    let mut enc = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("lbm f readback") });
    enc.copy_buffer_to_buffer(final_buf, 0, &f_staging, 0, f_bytes);
    ctx.queue.submit([enc.finish()]);
    let f = bytemuck::pod_collect_to_vec(&read(ctx, &f_staging));
    Ok(Solved { f, steps, converged, sums: last })
}

/// Maps a MAP_READ buffer and copies it out (after the submitted copy into it).
fn read(ctx: &GpuContext, buf: &wgpu::Buffer) -> Vec<u8> {
    let slice = buf.slice(..);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    let _ = ctx.device.poll(wgpu::PollType::wait_indefinitely());
    rx.recv().expect("map callback").expect("mapping a readback buffer");
    let bytes = slice.get_mapped_range().expect("mapped range").to_vec();
    buf.unmap();
    bytes
}

#[cfg(test)]
mod tests {
    /// The kernel parses and validates with naga (no adapter needed).
    #[test]
    fn lbm_kernel_validates() {
        let module = wgpu::naga::front::wgsl::parse_str(super::SOURCE).unwrap_or_else(|e| panic!("lbm.wgsl: {}", e.emit_to_string(super::SOURCE)));
        let mut v = wgpu::naga::valid::Validator::new(wgpu::naga::valid::ValidationFlags::all(), wgpu::naga::valid::Capabilities::empty());
        v.validate(&module).unwrap_or_else(|e| panic!("lbm.wgsl: {e:?}"));
    }

    /// The uniform block matches the WGSL struct (32 bytes).
    #[test]
    fn params_layout() {
        assert_eq!(std::mem::size_of::<super::LbmParams>(), 32);
    }
}
