//! Microstructure analysis (issue 3): what a membrane lab measures, on a voxel volume.
pub mod distance;
pub mod thickness;
