//! The `nni` tool's library part: reading and writing the file formats the tool speaks (NIfTI,
//! NumPy `.npy`, PNG previews). The engine and the C ABI know nothing of files.

#![deny(missing_docs)]

pub mod volume_io;
