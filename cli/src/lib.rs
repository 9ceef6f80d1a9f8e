//! The `nni` tool's library part: reading and writing the file formats the tool speaks (NIfTI,
//! NumPy `.npy`), and the PNG preview of a segmentation. The engine and the C ABI know nothing
//! of files.

#![deny(missing_docs)]

mod nifti_guard;
pub mod preview;
pub mod volume_io;
