//! libnninteractive: the C ABI of nninteractive-native, the library medical image viewers and
//! device software load. It holds the C API and nothing else; the engine is the
//! `nninteractive-engine` crate (`engine/`), the command-line tool the `nni` crate (`cli/`).
//! `include/nninteractive.h` is generated from this crate alone by cbindgen.
//!
//! # Module map
//! | module | job |
//! |---|---|
//! | [`status`] | the one status table (`nni_status`): codes, names, the engine-error mapping |
//! | [`types`] | voxel types, devices, versions, the option and image structs, the callback type |
//! | [`boundary`] | panics caught, errors to statuses, the thread's last error message, pointer reads |
//! | [`library`] | process-wide calls: versions, loading ONNX Runtime, default options |
//! | [`session`] | the session handle: create, free, image, AutoZoom, describe, reset, undo |
//! | [`image`] | the shared image handle (one normalised image, many sessions), image descriptions |
//! | [`prompts`] | points, boxes, scribbles, lassos, initial masks |
//! | [`mask`] | reading the mask, a region of it, and the last changed box |
//! | [`progress`] | the progress callback and cancel |
//! | [`log`] | the prompt log (how the mask was made, replayable) |
//!
//! Conventions: every function returns an `int32_t` status (`NNI_OK` = 0) unless it is a pure
//! getter; the message of the last failure on the calling thread is read with
//! `nni_last_error_message`. No panic crosses the boundary. A failed or cancelled call leaves the
//! session and the caller's buffers as they were.
//!
//! Thread safety: `nni_version`, `nni_abi_version`, `nni_status_name`, `nni_last_error_message`,
//! `nni_runtime_init`, `nni_openvino_init` and `nni_session_options_init` may be called from any
//! thread. No call on a session waits for another: a call that changes the session or runs the
//! network returns `NNI_ERR_BUSY` at once while another runs (on another thread, or from its own
//! progress callback, which would otherwise deadlock); reads (`get_mask`, `get_mask_region`,
//! `get_changed_region`, `describe`) answer from the session's published state at once, from any
//! thread and from the callback; `nni_session_request_cancel` never blocks. Different sessions are
//! independent (sessions on the same model file share its network and run their forwards one at a
//! time; a cancel stops only its own session). `nni_session_free` must not race with other calls
//! on that session. An `nni_image` is immutable and may be used by any thread; `nni_image_free`
//! must not race with a call that takes it.
//!
//! Coordinates: voxel indices `(i, j, k)` with `i` varying fastest in buffers (ITK/VTK order).

#![allow(non_camel_case_types)]
// Every pointer argument is checked for NULL; the header states what non-NULL ones must be.
#![allow(clippy::missing_safety_doc)]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod boundary;
pub mod image;
pub mod library;
pub mod log;
pub mod mask;
pub mod progress;
pub mod prompts;
pub mod session;
pub mod status;
pub mod types;

pub use status::nni_status;
