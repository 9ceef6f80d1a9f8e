//! Error type of the engine. The C ABI maps each variant to one of its status codes.

use thiserror::Error;

/// Everything that can go wrong in the engine.
#[derive(Debug, Error)]
pub enum Error {
    /// A required pointer argument was NULL.
    #[error("null pointer: {0}")]
    NullPointer(&'static str),
    /// An argument has an invalid value (unknown dtype, zero-size box, NaN spacing, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A buffer length does not match what the call needs.
    #[error("buffer size mismatch: {0}")]
    BufferSize(String),
    /// The call needs an image, but `set_image` has not succeeded yet.
    #[error("no image set: call set_image first")]
    NoImage,
    /// A prompt or region lies (entirely) outside the image.
    #[error("outside the image: {0}")]
    OutOfBounds(String),
    /// The loaded model does not support this prompt type.
    #[error("not supported by this model: {0}")]
    Unsupported(String),
    /// The model file is missing, unreadable, corrupt or inconsistent with its metadata.
    #[error("model error: {0}")]
    Model(String),
    /// A runtime library (ONNX Runtime, OpenVINO) could not be found or loaded, or failed.
    #[error("runtime library error: {0}")]
    Runtime(String),
    /// Running the network failed.
    #[error("inference failed: {0}")]
    Inference(String),
    /// The operation was cancelled by the caller; the session is unchanged.
    #[error("cancelled")]
    Cancelled,
    /// A memory allocation failed.
    #[error("out of memory: {0}")]
    OutOfMemory(String),
    /// A panic inside the library was caught at the boundary.
    #[error("internal error (panic caught): {0}")]
    Panic(String),
    /// Reading or writing a file failed.
    #[error("I/O error: {0}")]
    Io(String),
    /// `undo` was called with nothing to undo.
    #[error("nothing to undo")]
    NothingToUndo,
    /// `redo` was called with nothing to redo.
    #[error("nothing to redo")]
    NothingToRedo,
    /// The session is running another call (on another thread, or this call's progress callback
    /// called back in); nothing was done.
    #[error("busy: {0}")]
    Busy(String),
    /// The network server (a remote network's KServe v2 server) cannot be reached, refuses the
    /// credentials, or says the model is not ready; nothing was done, and the same call may
    /// succeed once the server is back.
    #[error("network server unavailable: {0}")]
    Unavailable(String),
}

/// Result alias used throughout the engine.
pub type Result<T> = std::result::Result<T, Error>;
