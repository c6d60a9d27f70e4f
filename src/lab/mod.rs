//! Lab measurements (work in progress in this commit).
pub mod flow;
pub mod plot;
pub mod rng;
pub mod sem;
pub mod synth;
