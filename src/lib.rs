//! phasecast: grows porous polymer membranes in a computer.
//!
//! Pipeline: scene (TOML recipe, [`scene`]) → resolved configuration →
//! solver ([`solver`]: WGSL kernels on wgpu in [`gpu`], or their CPU twins) →
//! outputs ([`run`]: fields, energy, images, checkpoints) → measurements
//! ([`analysis`], [`lab`], joined in [`pipeline`]) → reports and batch studies
//! ([`report`], [`sweep`], [`bench_suite`]).

pub mod analysis;
pub mod bench;
pub mod bench_suite;
pub mod gpu;
pub mod lab;
pub mod pipeline;
pub mod process;
pub mod report;
pub mod run;
pub mod scene;
pub mod solver;
pub mod sweep;
pub mod thermo;
pub mod util;
pub mod volume;
pub mod volume_io;
