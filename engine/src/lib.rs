//! nninteractive-engine: nnInteractive 3D promptable segmentation in process, on ONNX Runtime.
//! The C ABI that viewers load (`libnninteractive`, the workspace's root crate) and the `nni`
//! tool (`cli/`) are both thin layers over this crate; Rust programs use it directly.
//!
//! # Module map
//! | module | job |
//! |---|---|
//! | [`session`] | the interactive session: image, prompts and mask ([`session`]), undo transactions (`session::transaction`), the prediction pipeline: AutoZoom and refinement (`session::predict`), the prompt log and its replay (`session::log`) |
//! | [`image`] | image preprocessing: dtype conversion, z-score over the nonzero box |
//! | [`prompts`] | prompt rasterisation values (point ball, float16 rounding rules) |
//! | [`channels`] | compact (chunked, sparse) float16 storage of the interaction channels |
//! | [`planning`] | patch placement, AutoZoom border test, refinement box planning |
//! | [`resample`] | nearest / area / trilinear resampling and window filters, PyTorch arithmetic |
//! | [`backend`] | the [`Network`] seam and the runtimes behind it: ONNX Runtime (`backend::onnxruntime`, CPU and CUDA), OpenVINO (`backend::openvino`, CPU float32/bfloat16), chosen by precision and device; `backend::shared`: one network behind many sessions |
//! | [`onnx_file`] | the model's metadata read from the ONNX bytes, with no runtime |
//! | [`metadata`] | model metadata carried inside the ONNX file |
//! | [`geometry`] | boxes, shapes, rounding helpers |
//! | [`alloc`] | fallible image- and patch-sized buffers (out of memory is an error, not an abort) |
//! | [`error`] | the engine's error type (the C ABI maps it to its status codes) |
//! | `phantom` | (feature `phantom`) synthetic test volumes with known objects, Dice |
//! | `testing` | (feature `fake-network`) a scripted test double of the network |
//!
//! Axes: the engine uses the reference's axis order, the three axes of a C-order array
//! `image[a0, a1, a2]` (a2 fastest). The C ABI speaks ITK/VTK `(i, j, k)` with i fastest:
//! `(i, j, k) = (a2, a1, a0)`, and the buffers are the same bytes.

// Per-axis loops index several 3-arrays at once (lo, hi, shape); iterators would obscure them.
#![allow(clippy::needless_range_loop)]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod alloc;
pub mod backend;
pub mod channels;
pub mod error;
pub mod geometry;
pub mod image;
pub mod metadata;
pub mod onnx_file;
#[cfg(feature = "phantom")]
pub mod phantom;
pub mod planning;
pub mod prompts;
pub mod resample;
pub mod session;
#[cfg(feature = "fake-network")]
pub mod testing;

pub use backend::{
    init_openvino, init_runtime, BackendChoice, CancelToken, Device, Network, NetworkOptions,
    NetworkSource, OrtNetwork, Precision, RemoteOptions, RemotePool, SharedNetwork,
};
pub use error::{Error, Result};
pub use geometry::{BBox, Shape};
pub use image::VoxelData;
pub use session::{MaskPrompt, MaskRef, MaskView, ProgressFn, Session, SessionReader};

use std::path::Path;

/// Open a model file and make a session on it with the default precision and backend (ONNX
/// Runtime is loaded on first use).
pub fn open_session(model: &Path, device: Device, num_threads: usize) -> Result<Session> {
    open_session_with(
        model,
        &NetworkOptions {
            device,
            num_threads,
            ..NetworkOptions::default()
        },
    )
}

/// Open a model file and make a session on it, on the runtime and precision `opts` ask for.
/// Sessions opened on the same file with the same options share one loaded network (weights and
/// runtime state once; forwards one at a time), freed with the last of them.
pub fn open_session_with(model: &Path, opts: &NetworkOptions) -> Result<Session> {
    let (net, meta) = backend::shared::open_shared(model, opts)?;
    let mut session = Session::new(net, meta);
    session.set_network_options(*opts);
    Ok(session)
}

/// A session whose forwards run on the model a KServe v2 server serves (`remote.url`). Its
/// metadata comes from the server's model configuration, or from the model file `model` when
/// given (no runtime is loaded for it: the file is only read); the served tensors are checked
/// against it either way.
pub fn open_session_remote(remote: &RemoteOptions, model: Option<&Path>) -> Result<Session> {
    let pool = connect_remote(remote, model)?;
    Ok(Session::new(pool.network(), pool.metadata().clone()))
}

/// Connect to the model a KServe v2 server serves (`remote.url`), as [`open_session_remote`]
/// does, for many sessions: each takes its network from [`RemotePool::network`].
pub fn connect_remote(remote: &RemoteOptions, model: Option<&Path>) -> Result<RemotePool> {
    let local = match model {
        None => None,
        Some(path) => Some(backend::model_metadata(
            &backend::read_model_file(path)?,
            &path.display().to_string(),
        )?),
    };
    RemotePool::connect(remote, local)
}

/// Open a model held in memory (`label` names it in messages) and make a session on it.
pub fn open_session_from_bytes(
    model: &[u8],
    label: &str,
    opts: &NetworkOptions,
) -> Result<Session> {
    let (net, meta) = backend::open_network(model, label, opts)?;
    let mut session = Session::new(net, meta);
    session.set_network_options(*opts);
    Ok(session)
}

/// Text of a caught panic payload.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}
