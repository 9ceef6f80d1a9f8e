//! Error type of the engine and the status codes of the C ABI.

use thiserror::Error;

/// Everything that can go wrong in the engine. Each variant maps to one stable C status code.
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
    /// ONNX Runtime could not be found or loaded, or has the wrong version.
    #[error("ONNX Runtime error: {0}")]
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
}

/// Result alias used throughout the engine.
pub type Result<T> = std::result::Result<T, Error>;

/// Status codes of the C ABI. Append-only: a code, once released, never changes meaning.
pub mod status {
    /// Success.
    pub const OK: i32 = 0;
    /// A required pointer was NULL.
    pub const NULL_POINTER: i32 = 1;
    /// An argument had an invalid value.
    pub const INVALID_ARGUMENT: i32 = 2;
    /// A buffer length did not match.
    pub const BUFFER_SIZE: i32 = 3;
    /// No image set yet.
    pub const NO_IMAGE: i32 = 4;
    /// Prompt outside the image.
    pub const OUT_OF_BOUNDS: i32 = 5;
    /// Prompt type not supported by the model.
    pub const UNSUPPORTED: i32 = 6;
    /// Model missing, corrupt or mismatched.
    pub const MODEL: i32 = 7;
    /// ONNX Runtime missing or incompatible.
    pub const RUNTIME: i32 = 8;
    /// Inference failed.
    pub const INFERENCE: i32 = 9;
    /// Cancelled by the caller.
    pub const CANCELLED: i32 = 10;
    /// Out of memory.
    pub const OUT_OF_MEMORY: i32 = 11;
    /// A panic was caught.
    pub const PANIC: i32 = 12;
    /// File I/O failed.
    pub const IO: i32 = 13;
    /// Nothing to undo.
    pub const NOTHING_TO_UNDO: i32 = 14;

    /// Stable upper-case name of a status code, or `"NNI_UNKNOWN_STATUS"`.
    pub fn name(code: i32) -> &'static str {
        match code {
            OK => "NNI_OK",
            NULL_POINTER => "NNI_ERR_NULL_POINTER",
            INVALID_ARGUMENT => "NNI_ERR_INVALID_ARGUMENT",
            BUFFER_SIZE => "NNI_ERR_BUFFER_SIZE",
            NO_IMAGE => "NNI_ERR_NO_IMAGE",
            OUT_OF_BOUNDS => "NNI_ERR_OUT_OF_BOUNDS",
            UNSUPPORTED => "NNI_ERR_UNSUPPORTED",
            MODEL => "NNI_ERR_MODEL",
            RUNTIME => "NNI_ERR_RUNTIME",
            INFERENCE => "NNI_ERR_INFERENCE",
            CANCELLED => "NNI_ERR_CANCELLED",
            OUT_OF_MEMORY => "NNI_ERR_OUT_OF_MEMORY",
            PANIC => "NNI_ERR_PANIC",
            IO => "NNI_ERR_IO",
            NOTHING_TO_UNDO => "NNI_ERR_NOTHING_TO_UNDO",
            _ => "NNI_UNKNOWN_STATUS",
        }
    }
}

impl Error {
    /// The C status code of this error.
    pub fn status(&self) -> i32 {
        match self {
            Error::NullPointer(_) => status::NULL_POINTER,
            Error::InvalidArgument(_) => status::INVALID_ARGUMENT,
            Error::BufferSize(_) => status::BUFFER_SIZE,
            Error::NoImage => status::NO_IMAGE,
            Error::OutOfBounds(_) => status::OUT_OF_BOUNDS,
            Error::Unsupported(_) => status::UNSUPPORTED,
            Error::Model(_) => status::MODEL,
            Error::Runtime(_) => status::RUNTIME,
            Error::Inference(_) => status::INFERENCE,
            Error::Cancelled => status::CANCELLED,
            Error::OutOfMemory(_) => status::OUT_OF_MEMORY,
            Error::Panic(_) => status::PANIC,
            Error::Io(_) => status::IO,
            Error::NothingToUndo => status::NOTHING_TO_UNDO,
        }
    }
}
