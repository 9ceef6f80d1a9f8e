//! nninteractive-native: nnInteractive 3D promptable segmentation in process, on ONNX Runtime,
//! with a C ABI for medical image viewers.
//!
//! # Module map
//! | module | job |
//! |---|---|
//! | [`ffi`] | the C ABI (`include/nninteractive.h`): handles, status codes, panics caught |
//! | [`session`] | the interactive session: prompts, prediction, AutoZoom, refinement, undo |
//! | [`image`] | image preprocessing: dtype conversion, z-score over the nonzero box |
//! | [`prompts`] | prompt rasterisation values (point ball, float16 rounding rules) |
//! | [`channels`] | compact (chunked, sparse) float16 storage of the interaction channels |
//! | [`planning`] | patch placement, AutoZoom border test, refinement box planning |
//! | [`resample`] | nearest / area / trilinear resampling and window filters, PyTorch arithmetic |
//! | [`backend`] | ONNX Runtime loading (`load-dynamic`), execution providers, network runs |
//! | [`metadata`] | model metadata carried inside the ONNX file |
//! | [`geometry`] | boxes, shapes, rounding helpers |
//! | [`phantom`] | synthetic test volumes with known objects, Dice |
//! | [`volume_io`] | NIfTI / NumPy reading and writing, PNG previews (used by the `nni` tool) |
//! | [`error`] | the error type and the C status codes |
//!
//! Axes: the engine uses the reference's axis order, the three axes of a C-order array
//! `image[a0, a1, a2]` (a2 fastest). The C ABI speaks ITK/VTK `(i, j, k)` with i fastest:
//! `(i, j, k) = (a2, a1, a0)`, and the buffers are the same bytes.

// Per-axis loops index several 3-arrays at once (lo, hi, shape); iterators would obscure them.
#![allow(clippy::needless_range_loop)]
#![deny(missing_docs)]

pub mod backend;
pub mod channels;
pub mod error;
pub mod ffi;
pub mod geometry;
pub mod image;
pub mod metadata;
pub mod phantom;
pub mod planning;
pub mod prompts;
pub mod resample;
pub mod session;
pub mod volume_io;

pub use backend::{init_runtime, Device, Network, OrtNetwork};
pub use error::{Error, Result};
pub use geometry::{BBox, Shape};
pub use image::VoxelData;
pub use session::{MaskPrompt, Session};

use std::path::Path;

/// Open a model file and make a session on it (ONNX Runtime is loaded on first use).
pub fn open_session(model: &Path, device: Device, num_threads: usize) -> Result<Session> {
    let (net, meta) = OrtNetwork::open(model, device, num_threads)?;
    Ok(Session::new(Box::new(net), meta))
}

/// The embedded default model (`models/blob-grow-p32.onnx`: a region grower with known
/// behaviour, see models/README.md), used by `nni demo`.
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../models/blob-grow-p32.onnx");

/// Make a session on the embedded default model.
pub fn open_default_session(device: Device) -> Result<Session> {
    let (net, meta) = OrtNetwork::from_bytes(DEFAULT_MODEL, "embedded default model", device, 0)?;
    Ok(Session::new(Box::new(net), meta))
}

/// Text of a caught panic payload.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}
