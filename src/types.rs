//! The plain data of the C ABI: voxel types, devices, version numbers, the option and image
//! structs and the progress callback type. Sizes are part of the ABI (asserted here and in C).

use std::ffi::{c_char, c_void};

/// Voxel type: unsigned 8-bit.
pub const NNI_DTYPE_UINT8: i32 = 1;
/// Voxel type: signed 16-bit.
pub const NNI_DTYPE_INT16: i32 = 2;
/// Voxel type: unsigned 16-bit.
pub const NNI_DTYPE_UINT16: i32 = 3;
/// Voxel type: signed 32-bit.
pub const NNI_DTYPE_INT32: i32 = 4;
/// Voxel type: 32-bit float.
pub const NNI_DTYPE_FLOAT32: i32 = 5;
/// Voxel type: 64-bit float.
pub const NNI_DTYPE_FLOAT64: i32 = 6;

/// Device: CUDA when available, else CPU.
pub const NNI_DEVICE_AUTO: i32 = 0;
/// Device: CPU only.
pub const NNI_DEVICE_CPU: i32 = 1;
/// Device: CUDA (an error when unavailable).
pub const NNI_DEVICE_CUDA: i32 = 2;

/// Precision: float32, the reference's results (default).
pub const NNI_PRECISION_EXACT: i32 = 0;
/// Precision: reduced where the hardware has it (bfloat16 on CPUs with native bfloat16, through
/// OpenVINO; float16 on CUDA, from `MODEL.fp16.onnx` beside the model): several times faster,
/// masks within a Dice of about 0.99 of the exact ones. Where it cannot be had, the session runs
/// float32 and `nni_session_describe` says why.
pub const NNI_PRECISION_FAST: i32 = 1;

/// Backend: chosen from precision and device (ONNX Runtime for exact work and CUDA, OpenVINO
/// for the fast CPU path).
pub const NNI_BACKEND_AUTO: i32 = 0;
/// Backend: ONNX Runtime (CPU or CUDA).
pub const NNI_BACKEND_ONNXRUNTIME: i32 = 1;
/// Backend: OpenVINO (CPU only; `nni_openvino_init`).
pub const NNI_BACKEND_OPENVINO: i32 = 2;
/// Backend: ONNX Runtime's TensorRT execution provider (CUDA only; TensorRT 10 loadable). The
/// first session on a model builds its engine, which can take minutes; engines and timing caches
/// are kept in `$NNI_TENSORRT_CACHE`, else `$XDG_CACHE_HOME/nninteractive/tensorrt`, else
/// `~/.cache/nninteractive/tensorrt`. Float16 engines in `NNI_PRECISION_FAST`. Since 0.3.0.
pub const NNI_BACKEND_TENSORRT: i32 = 3;

/// Size of the first `nni_session_options` (up to `autozoom`), which callers built against
/// version 0.1.0 pass; the fields after it then take their defaults.
pub const NNI_SESSION_OPTIONS_SIZE_V1: u32 = 32;

/// Version of the C ABI described by this header; bumped on incompatible changes.
pub const NNI_ABI_VERSION: u32 = 1;

/// Major version of the library this header belongs to (`nni_version() >> 16` at run time).
pub const NNI_VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header belongs to (`(nni_version() >> 8) & 0xff`).
pub const NNI_VERSION_MINOR: u32 = 3;
/// Patch version of the library this header belongs to (`nni_version() & 0xff`).
pub const NNI_VERSION_PATCH: u32 = 0;

/// Options for `nni_session_new`. Fill with `nni_session_options_init` first, then set fields.
/// Fields are appended, never moved: a caller built against an older header passes its smaller
/// `struct_size` and the newer fields take their defaults. A `struct_size` larger than this
/// library's struct (a newer header) is refused.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct nni_session_options {
    /// `sizeof(nni_session_options)`, set by `nni_session_options_init`.
    pub struct_size: u32,
    /// Path of the ONNX model (UTF-8, NUL-terminated). Required.
    pub model_path: *const c_char,
    /// `NNI_DEVICE_AUTO` (default), `NNI_DEVICE_CPU` or `NNI_DEVICE_CUDA`.
    pub device: i32,
    /// Inference threads, 0..=1024; 0 lets the runtime choose.
    pub num_threads: i32,
    /// AutoZoom on (1, default) or off (0).
    pub autozoom: i32,
    /// `NNI_PRECISION_EXACT` (default) or `NNI_PRECISION_FAST`. Since 0.2.0.
    pub precision: i32,
    /// `NNI_BACKEND_AUTO` (default), `NNI_BACKEND_ONNXRUNTIME`, `NNI_BACKEND_OPENVINO` (since
    /// 0.2.0) or `NNI_BACKEND_TENSORRT` (since 0.3.0).
    pub backend: i32,
    /// Most bytes the undo/redo history may hold (oldest steps dropped first; the newest step is
    /// always kept); 0 = the default, 1 GiB. Since 0.2.0.
    pub history_bytes: u64,
    /// 1: run one forward inside `nni_session_new`, so the first prompt does not pay the
    /// runtime's one-time work (cuDNN's convolution search on CUDA, a TensorRT engine, OpenVINO's
    /// first inference); `nni_session_describe` then says how long it took. 0 (default): no
    /// warm-up. Since 0.3.0.
    pub warm_up: i32,
    /// NULL (default): the network runs in this process. Else the model on a KServe v2 server
    /// (Open Inference Protocol, e.g. NVIDIA Triton) that runs the forwards, as
    /// `http[s]://HOST:PORT/v2/models/NAME` (UTF-8, NUL-terminated): sessions, prompts and undo
    /// stay here, patches go there. `model_path` may then be NULL (the metadata is read from the
    /// server's model configuration, written by `nni-convert --triton-repo`) or name the model
    /// file (only its metadata is read); `device`, `precision`, `backend`, `num_threads` and
    /// `warm_up` do not apply. A server that cannot be reached is `NNI_ERR_UNAVAILABLE`, then and
    /// at each prompt, with the session unchanged. Since 0.3.0.
    pub network_url: *const c_char,
    /// With `network_url`: sent as `Authorization: Bearer <token>` on every request (UTF-8,
    /// NUL-terminated); NULL: none. Since 0.3.0.
    pub network_token: *const c_char,
    /// With `network_url`: milliseconds one forward may take there, upload and reply included;
    /// 0 (default) = 120 000. Since 0.3.0.
    pub network_timeout_ms: u32,
    /// With `network_url`: how many more times a forward is tried when the server cannot be
    /// reached or says it is not ready (502, 503, 504), after 0.25 s, 0.5 s, 1 s, ...; 0..=10,
    /// default 3. Since 0.3.0.
    pub network_retries: u32,
    /// With an `https://` `network_url`: the path of a PEM file of the CA certificates to trust
    /// (an internal CA) instead of the built-in Mozilla roots (UTF-8, NUL-terminated); NULL: the
    /// Mozilla roots. Since 0.3.0.
    pub network_ca_file: *const c_char,
}

impl nni_session_options {
    /// The defaults `nni_session_options_init` writes: auto device, default threads, AutoZoom on,
    /// exact precision, auto backend, no model path.
    pub(crate) const DEFAULTS: nni_session_options = nni_session_options {
        struct_size: std::mem::size_of::<nni_session_options>() as u32,
        model_path: std::ptr::null(),
        device: NNI_DEVICE_AUTO,
        num_threads: 0,
        autozoom: 1,
        precision: NNI_PRECISION_EXACT,
        backend: NNI_BACKEND_AUTO,
        history_bytes: 0,
        warm_up: 0,
        network_url: std::ptr::null(),
        network_token: std::ptr::null(),
        network_timeout_ms: 0,
        network_retries: 3,
        network_ca_file: std::ptr::null(),
    };
}

/// An image to segment. The buffer is copied before `nni_session_set_image` (or `nni_image_new`)
/// returns.
#[repr(C)]
pub struct nni_image_desc {
    /// Voxels, `dims[0]` varying fastest (ITK/VTK buffer order), aligned to the voxel type
    /// (as any C array of it is).
    pub data: *const c_void,
    /// One of the `NNI_DTYPE_*` values.
    pub dtype: i32,
    /// Number of voxels in `data`; must equal `dims[0] * dims[1] * dims[2]`.
    pub voxel_count: usize,
    /// Size along i, j, k.
    pub dims: [u64; 3],
    /// Voxel spacing along i, j, k (positive, finite).
    pub spacing: [f64; 3],
    /// World position of voxel (0, 0, 0).
    pub origin: [f64; 3],
    /// Direction cosines, row-major 3x3 (column c is the world direction of index axis c).
    pub direction: [f64; 9],
}

/// Progress callback: `fraction` in [0, 1] (never decreasing within a call) and a short stage
/// text (valid during the call only). Return 0 to go on, nonzero to cancel the running call, which
/// then returns `NNI_ERR_CANCELLED` with nothing changed. Called on the thread that made the call.
/// The same convention holds in every binding: a true return value cancels (C++ `true`, Python
/// `True`, Rust `true`), and an exception thrown by a binding's callback cancels the call and is
/// raised again from the call once the session is restored.
pub type nni_progress_callback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, fraction: f64, stage: *const c_char) -> i32,
>;

// The option and image structs are part of the ABI: their sizes are fixed (checked from C too).
const _: () = assert!(std::mem::size_of::<nni_session_options>() == 88);
const _: () = assert!(std::mem::offset_of!(nni_session_options, warm_up) == 48);
const _: () = assert!(std::mem::offset_of!(nni_session_options, precision) == 28);
const _: () = assert!(std::mem::size_of::<nni_image_desc>() == 24 + 24 + 24 + 24 + 72);
