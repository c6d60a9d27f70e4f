//! Microstructure analysis (issue 3): what a membrane lab measures, on a voxel volume.
pub mod distance;
pub mod thickness;
pub mod euler;
pub mod label;
pub mod skeleton;
pub mod surface;
