//! Headless wgpu: adapter choice, device with the adapter's own limits, and
//! the memory check made before anything is allocated.

pub mod engine;
pub mod implicit;
pub mod lbm;
pub mod shaders;

use std::fmt::Write as _;

/// Errors of the GPU layer.
#[derive(thiserror::Error, Debug)]
pub enum GpuError {
    #[error("no GPU adapter found{wanted}. Available: {available}. Install a Vulkan driver (Debian: `apt-get install mesa-vulkan-drivers` for the lavapipe software adapter) or use `--backend cpu`")]
    NoAdapter { wanted: String, available: String },
    #[error("requesting a device from adapter '{adapter}' failed: {message}")]
    Device { adapter: String, message: String },
    #[error("grid {grid} needs {needed} on the GPU ({detail}); adapter '{adapter}' allows {limit}. Use a smaller grid or `--backend cpu`")]
    TooLarge { grid: String, needed: String, detail: String, adapter: String, limit: String },
}

/// The wgpu instance: Vulkan, Metal and DX12 (the primary backends) unless
/// `WGPU_BACKEND` names others (e.g. `WGPU_BACKEND=gl`).
pub fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::PRIMARY;
    wgpu::Instance::new(desc.with_env())
}

/// Preference order: discrete > integrated > virtual > CPU > other.
pub fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

/// All adapters wgpu sees (backends from `WGPU_BACKEND`), best first.
pub fn adapters() -> Vec<wgpu::Adapter> {
    let inst = instance();
    let mut list = pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()));
    list.sort_by_key(|a| {
        let i = a.get_info();
        (rank(i.device_type), i.backend != wgpu::Backend::Vulkan)
    });
    list
}

fn describe(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({:?}, {:?})", info.name, info.device_type, info.backend)
}

/// A device and queue on the chosen adapter.
pub struct GpuContext {
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
}

impl GpuContext {
    /// Picks the best adapter, or the first whose name contains `name`
    /// (case-insensitive; `WGPU_ADAPTER_NAME` is used when `name` is None),
    /// and requests a device with the adapter's own limits so that large grids
    /// are not capped by the WebGPU defaults.
    pub fn new(name: Option<&str>) -> Result<Self, GpuError> {
        let env_name = std::env::var("WGPU_ADAPTER_NAME").ok();
        let wanted = name.map(str::to_owned).or(env_name);
        let list = adapters();
        let available = if list.is_empty() {
            "none".to_string()
        } else {
            list.iter().map(|a| describe(&a.get_info())).collect::<Vec<_>>().join("; ")
        };
        let adapter = match &wanted {
            Some(w) => {
                let wl = w.to_lowercase();
                list.into_iter().find(|a| a.get_info().name.to_lowercase().contains(&wl))
            }
            None => list.into_iter().next(),
        }
        .ok_or_else(|| GpuError::NoAdapter {
            wanted: wanted.as_ref().map(|w| format!(" matching '{w}'")).unwrap_or_default(),
            available,
        })?;
        Self::from_adapter(adapter)
    }

    /// A device on `adapter`, with the adapter's own limits.
    pub fn from_adapter(adapter: wgpu::Adapter) -> Result<Self, GpuError> {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let desc = wgpu::DeviceDescriptor {
            label: Some("phasecast device"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| GpuError::Device { adapter: info.name.clone(), message: e.to_string() })?;
        Ok(Self { adapter, device, queue, info, limits })
    }

    /// One line naming the adapter, for logs and `run.json`.
    pub fn summary(&self) -> String {
        let soft = if self.info.device_type == wgpu::DeviceType::Cpu { " [software adapter]" } else { "" };
        format!("{} ({:?}, {:?}, driver {} {}){soft}", self.info.name, self.info.device_type, self.info.backend, self.info.driver, self.info.driver_info)
    }

    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// Refuses grids whose buffers do not fit the adapter's limits.
    pub fn check_memory(&self, shape: [usize; 3], thermal: bool) -> Result<(), GpuError> {
        let need = engine::memory_needed(shape, thermal);
        let per = need.largest_buffer;
        let max_binding = self.limits.max_storage_buffer_binding_size as u64;
        let max_buffer = self.limits.max_buffer_size;
        let limit = max_binding.min(max_buffer);
        if per > limit {
            return Err(GpuError::TooLarge {
                grid: format!("{}x{}x{} (x*y*z)", shape[2], shape[1], shape[0]),
                needed: human_bytes(need.total),
                detail: format!("largest buffer {}", human_bytes(per)),
                adapter: self.info.name.clone(),
                limit: format!(
                    "{} per storage binding, {} per buffer",
                    human_bytes(max_binding),
                    human_bytes(max_buffer)
                ),
            });
        }
        Ok(())
    }
}

pub fn human_bytes(b: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {} ({b} bytes)", U[i])
    }
}

/// Text for `phasecast info`: adapters, backends, limits and features.
pub fn info_report() -> String {
    let mut s = String::new();
    let list = adapters();
    let _ = writeln!(s, "wgpu {} adapters (best first; WGPU_BACKEND and WGPU_ADAPTER_NAME are honoured):", list.len());
    if list.is_empty() {
        let _ = writeln!(s, "  none. Install a Vulkan driver (Debian: mesa-vulkan-drivers) or use --backend cpu.");
    }
    for (k, a) in list.iter().enumerate() {
        let i = a.get_info();
        let l = a.limits();
        let _ = writeln!(s, "[{k}] {}", i.name);
        let _ = writeln!(s, "    type {:?}, backend {:?}, vendor 0x{:04x}, device 0x{:04x}", i.device_type, i.backend, i.vendor, i.device);
        let _ = writeln!(s, "    driver {} {}", i.driver, i.driver_info);
        let _ = writeln!(s, "    max_buffer_size {}", human_bytes(l.max_buffer_size));
        let _ = writeln!(s, "    max_storage_buffer_binding_size {}", human_bytes(l.max_storage_buffer_binding_size as u64));
        let _ = writeln!(s, "    max_compute_workgroups_per_dimension {}", l.max_compute_workgroups_per_dimension);
        let _ = writeln!(s, "    max_compute_invocations_per_workgroup {}", l.max_compute_invocations_per_workgroup);
        let _ = writeln!(s, "    max_compute_workgroup_storage_size {}", l.max_compute_workgroup_storage_size);
        let _ = writeln!(s, "    min_uniform_buffer_offset_alignment {}", l.min_uniform_buffer_offset_alignment);
        let _ = writeln!(s, "    features {:?}", a.features());
        for edge in [64usize, 128, 256, 512] {
            let need = engine::memory_needed([edge; 3], false);
            let fits = need.largest_buffer <= (l.max_storage_buffer_binding_size as u64).min(l.max_buffer_size);
            let _ = writeln!(s, "    {edge}^3 grid: {} on the device, {}", human_bytes(need.total), if fits { "fits the binding limits" } else { "exceeds the binding limits" });
        }
    }
    s
}
