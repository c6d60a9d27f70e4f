//! phasecast: grows porous polymer membranes in a computer.
//!
//! Pipeline: scene (TOML recipe) → resolved configuration → solver (WGSL
//! kernels on wgpu, or their CPU twins) → outputs (fields, energy, images) →
//! analysis (the measurements a membrane lab makes).

pub mod util;
pub mod volume;
pub mod analysis;
pub mod lab;
pub mod volume_io;
