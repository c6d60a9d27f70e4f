//! Lab measurements (work in progress in this commit).
pub mod flow;
