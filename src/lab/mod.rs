//! Lab measurements (work in progress in this commit).
pub mod flow;
pub mod rng;
pub mod synth;
