//! Assembles the WGSL kernels: every kernel file is prefixed with the shared
//! structs (`shaders/common.wgsl`) and the model functions
//! (`shaders/free_energy.wgsl`), the same way for every kernel.

const COMMON: &str = include_str!("../../shaders/common.wgsl");
const FREE_ENERGY: &str = include_str!("../../shaders/free_energy.wgsl");

/// The compute kernels, one WGSL file each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    ChemPotential,
    Update,
    ReduceFields,
    ReducePartials,
    Thermal,
    Spectral,
}

impl Kernel {
    pub const ALL: [Kernel; 6] = [Kernel::ChemPotential, Kernel::Update, Kernel::ReduceFields, Kernel::ReducePartials, Kernel::Thermal, Kernel::Spectral];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::ChemPotential => "chem_potential",
            Kernel::Update => "update",
            Kernel::ReduceFields => "reduce_fields",
            Kernel::ReducePartials => "reduce_partials",
            Kernel::Thermal => "thermal",
            Kernel::Spectral => "spectral",
        }
    }

    fn body(self) -> &'static str {
        match self {
            Kernel::ChemPotential => include_str!("../../shaders/chem_potential.wgsl"),
            Kernel::Update => include_str!("../../shaders/update.wgsl"),
            Kernel::ReduceFields => include_str!("../../shaders/reduce_fields.wgsl"),
            Kernel::ReducePartials => include_str!("../../shaders/reduce_partials.wgsl"),
            Kernel::Thermal => include_str!("../../shaders/thermal.wgsl"),
            Kernel::Spectral => include_str!("../../shaders/spectral.wgsl"),
        }
    }

    /// The full WGSL source of the kernel.
    pub fn source(self) -> String {
        format!("{COMMON}\n{FREE_ENERGY}\n{}", self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel parses and validates with naga (no adapter needed).
    #[test]
    fn kernels_validate() {
        for k in Kernel::ALL {
            let src = k.source();
            let module = wgpu::naga::front::wgsl::parse_str(&src)
                .unwrap_or_else(|e| panic!("{}: {}", k.name(), e.emit_to_string(&src)));
            let mut v = wgpu::naga::valid::Validator::new(
                wgpu::naga::valid::ValidationFlags::all(),
                wgpu::naga::valid::Capabilities::empty(),
            );
            v.validate(&module).unwrap_or_else(|e| panic!("{}: {e:?}", k.name()));
        }
    }
}
