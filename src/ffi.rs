//! The C ABI. See `include/nninteractive.h` (generated from this file by cbindgen).
//!
//! Conventions: every function returns an `int32_t` status (`NNI_OK` = 0) unless it is a pure
//! getter; the message of the last failure on the calling thread is read with
//! `nni_last_error_message`. No panic crosses the boundary. A failed or cancelled call leaves the
//! session and the caller's buffers as they were.
//!
//! Thread safety: `nni_version`, `nni_abi_version`, `nni_status_name`, `nni_last_error_message`,
//! `nni_runtime_init` and `nni_session_options_init` may be called from any thread. Calls on one
//! session are serialised internally (a second thread blocks until the first returns), except
//! `nni_session_request_cancel`, which never blocks and is meant for another thread. Different
//! sessions are independent. `nni_session_free` must not race with other calls on that session.
//!
//! Coordinates: voxel indices `(i, j, k)` with `i` varying fastest in buffers (ITK/VTK order).

#![allow(non_camel_case_types)]
// Pointer arguments are checked for NULL; the caller promises that non-NULL ones are valid.
#![allow(clippy::missing_safety_doc)]

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{status, Error, Result};
use crate::geometry::BBox;
use crate::image::VoxelData;
use crate::session::{MaskPrompt, Session};
use crate::Device;

/// Success.
pub const NNI_OK: i32 = 0;
/// A required pointer argument was NULL.
pub const NNI_ERR_NULL_POINTER: i32 = 1;
/// An argument had an invalid value (unknown dtype or device, NaN spacing, empty box, ...).
pub const NNI_ERR_INVALID_ARGUMENT: i32 = 2;
/// A buffer length did not match what the call needs.
pub const NNI_ERR_BUFFER_SIZE: i32 = 3;
/// The call needs an image: call `nni_session_set_image` first.
pub const NNI_ERR_NO_IMAGE: i32 = 4;
/// The prompt lies outside the image.
pub const NNI_ERR_OUT_OF_BOUNDS: i32 = 5;
/// The model does not support this prompt type.
pub const NNI_ERR_UNSUPPORTED: i32 = 6;
/// The model file is missing, corrupt or inconsistent.
pub const NNI_ERR_MODEL: i32 = 7;
/// ONNX Runtime could not be loaded, or is incompatible.
pub const NNI_ERR_RUNTIME: i32 = 8;
/// Running the network failed.
pub const NNI_ERR_INFERENCE: i32 = 9;
/// The call was cancelled; nothing changed.
pub const NNI_ERR_CANCELLED: i32 = 10;
/// Memory could not be allocated; nothing changed.
pub const NNI_ERR_OUT_OF_MEMORY: i32 = 11;
/// An internal error (a caught panic); nothing changed.
pub const NNI_ERR_PANIC: i32 = 12;
/// File input/output failed.
pub const NNI_ERR_IO: i32 = 13;
/// `nni_session_undo` found nothing to undo; nothing changed.
pub const NNI_ERR_NOTHING_TO_UNDO: i32 = 14;

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

/// Version of the C ABI described by this header; bumped on incompatible changes.
pub const NNI_ABI_VERSION: u32 = 1;

/// Major version of the library this header belongs to (`nni_version() >> 16` at run time).
pub const NNI_VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header belongs to (`(nni_version() >> 8) & 0xff`).
pub const NNI_VERSION_MINOR: u32 = 1;
/// Patch version of the library this header belongs to (`nni_version() & 0xff`).
pub const NNI_VERSION_PATCH: u32 = 0;

/// Options for `nni_session_new`. Fill with `nni_session_options_init` first, then set fields.
#[repr(C)]
pub struct nni_session_options {
    /// `sizeof(nni_session_options)`, set by `nni_session_options_init`.
    pub struct_size: u32,
    /// Path of the ONNX model (UTF-8, NUL-terminated). Required.
    pub model_path: *const c_char,
    /// `NNI_DEVICE_AUTO` (default), `NNI_DEVICE_CPU` or `NNI_DEVICE_CUDA`.
    pub device: i32,
    /// Inference threads; 0 lets ONNX Runtime choose.
    pub num_threads: i32,
    /// AutoZoom on (1, default) or off (0).
    pub autozoom: i32,
}

/// An image to segment. The buffer is copied before `nni_session_set_image` returns.
#[repr(C)]
pub struct nni_image_desc {
    /// Voxels, `dims[0]` varying fastest (ITK/VTK buffer order).
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

/// Progress callback: `fraction` in [0, 1] and a short stage text (valid during the call only).
/// Return 0 to continue, nonzero to cancel the running call. Called on the thread that made the call.
pub type nni_progress_callback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, fraction: f64, stage: *const c_char) -> i32,
>;

// The option and image structs are part of the ABI: their sizes are fixed (checked from C too).
const _: () = assert!(std::mem::size_of::<nni_session_options>() == 32);
const _: () = assert!(std::mem::size_of::<nni_image_desc>() == 24 + 24 + 24 + 24 + 72);

/// An opaque session handle.
pub struct nni_session {
    inner: Mutex<Session>,
    cancel: Arc<AtomicBool>,
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last_error(msg: String) {
    LAST_ERROR.with(|e| *e.borrow_mut() = msg);
}

/// Run `f`, catching panics, recording the error message; return the status code.
fn guard(f: impl FnOnce() -> Result<()>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => NNI_OK,
        Ok(Err(e)) => {
            let code = e.status();
            set_last_error(e.to_string());
            code
        }
        Err(p) => {
            set_last_error(Error::Panic(crate::panic_message(&*p)).to_string());
            NNI_ERR_PANIC
        }
    }
}

unsafe fn session_ref<'a>(s: *mut nni_session) -> Result<&'a nni_session> {
    s.as_ref().ok_or(Error::NullPointer("session"))
}

unsafe fn read_ijk<'a>(p: *const i64, what: &'static str) -> Result<&'a [i64; 3]> {
    (p as *const [i64; 3])
        .as_ref()
        .ok_or(Error::NullPointer(what))
}

/// (i, j, k) to the engine's (a0, a1, a2).
fn to_axes(v: &[i64; 3]) -> [i64; 3] {
    [v[2], v[1], v[0]]
}

unsafe fn bytes<'a>(p: *const u8, len: usize, what: &'static str) -> Result<&'a [u8]> {
    if p.is_null() {
        return Err(Error::NullPointer(what));
    }
    Ok(std::slice::from_raw_parts(p, len))
}

/// Library version as `(major << 16) | (minor << 8) | patch`.
/// Thread safety: Any thread.
#[no_mangle]
pub extern "C" fn nni_version() -> u32 {
    let v = |s: &str| s.parse::<u32>().unwrap_or(0);
    (v(env!("CARGO_PKG_VERSION_MAJOR")) << 16)
        | (v(env!("CARGO_PKG_VERSION_MINOR")) << 8)
        | v(env!("CARGO_PKG_VERSION_PATCH"))
}

/// Version of the C ABI (`NNI_ABI_VERSION` of the header the library was built with).
/// Thread safety: Any thread.
#[no_mangle]
pub extern "C" fn nni_abi_version() -> u32 {
    NNI_ABI_VERSION
}

/// Stable name of a status code (e.g. `"NNI_ERR_NO_IMAGE"`); a static string, never NULL.
/// Thread safety: Any thread.
#[no_mangle]
pub extern "C" fn nni_status_name(code: i32) -> *const c_char {
    let name = match code {
        NNI_OK => c"NNI_OK",
        NNI_ERR_NULL_POINTER => c"NNI_ERR_NULL_POINTER",
        NNI_ERR_INVALID_ARGUMENT => c"NNI_ERR_INVALID_ARGUMENT",
        NNI_ERR_BUFFER_SIZE => c"NNI_ERR_BUFFER_SIZE",
        NNI_ERR_NO_IMAGE => c"NNI_ERR_NO_IMAGE",
        NNI_ERR_OUT_OF_BOUNDS => c"NNI_ERR_OUT_OF_BOUNDS",
        NNI_ERR_UNSUPPORTED => c"NNI_ERR_UNSUPPORTED",
        NNI_ERR_MODEL => c"NNI_ERR_MODEL",
        NNI_ERR_RUNTIME => c"NNI_ERR_RUNTIME",
        NNI_ERR_INFERENCE => c"NNI_ERR_INFERENCE",
        NNI_ERR_CANCELLED => c"NNI_ERR_CANCELLED",
        NNI_ERR_OUT_OF_MEMORY => c"NNI_ERR_OUT_OF_MEMORY",
        NNI_ERR_PANIC => c"NNI_ERR_PANIC",
        NNI_ERR_IO => c"NNI_ERR_IO",
        NNI_ERR_NOTHING_TO_UNDO => c"NNI_ERR_NOTHING_TO_UNDO",
        _ => c"NNI_UNKNOWN_STATUS",
    };
    debug_assert_eq!(status::name(code), name.to_str().unwrap_or(""));
    name.as_ptr()
}

/// Copy the calling thread's last error message into `buf` (snprintf-style: at most `len - 1`
/// bytes plus a NUL). Returns the full message length in bytes, excluding the NUL; `buf` may be
/// NULL with `len` 0 to ask for the length.
/// Thread safety: Any thread (each thread has its own message).
#[no_mangle]
pub unsafe extern "C" fn nni_last_error_message(buf: *mut c_char, len: usize) -> usize {
    LAST_ERROR.with(|e| {
        let msg = e.borrow();
        if !buf.is_null() && len > 0 {
            let n = msg.len().min(len - 1);
            std::ptr::copy_nonoverlapping(msg.as_ptr(), buf as *mut u8, n);
            *buf.add(n) = 0;
        }
        msg.len()
    })
}

/// Load ONNX Runtime. `path` (UTF-8) names libonnxruntime; NULL searches the environment
/// variable `NNI_ONNXRUNTIME_PATH`, then the directory of this library. Optional: sessions load
/// it on first use. Once loaded it cannot be switched. Any thread.
/// Thread safety: Any thread; concurrent calls load the library once.
#[no_mangle]
pub unsafe extern "C" fn nni_runtime_init(path: *const c_char) -> i32 {
    guard(|| {
        let p = if path.is_null() {
            None
        } else {
            Some(
                CStr::from_ptr(path)
                    .to_str()
                    .map_err(|_| Error::InvalidArgument("path is not UTF-8".into()))?,
            )
        };
        crate::backend::init_runtime(p.map(std::path::Path::new)).map(|_| ())
    })
}

/// Fill `opts` with defaults (auto device, default threads, AutoZoom on, no model path).
/// Thread safety: Any thread.
#[no_mangle]
pub unsafe extern "C" fn nni_session_options_init(opts: *mut nni_session_options) {
    if let Some(o) = opts.as_mut() {
        *o = nni_session_options {
            struct_size: std::mem::size_of::<nni_session_options>() as u32,
            model_path: std::ptr::null(),
            device: NNI_DEVICE_AUTO,
            num_threads: 0,
            autozoom: 1,
        };
    }
}

/// Create a session: loads ONNX Runtime if needed and the model at `opts->model_path`.
/// On success `*out` owns a handle to free with `nni_session_free`; on failure `*out` is NULL.
/// Thread safety: Any thread.
#[no_mangle]
pub unsafe extern "C" fn nni_session_new(
    opts: *const nni_session_options,
    out: *mut *mut nni_session,
) -> i32 {
    guard(|| {
        let out = out.as_mut().ok_or(Error::NullPointer("out"))?;
        *out = std::ptr::null_mut();
        let opts = opts.as_ref().ok_or(Error::NullPointer("opts"))?;
        if (opts.struct_size as usize) < std::mem::size_of::<nni_session_options>() {
            return Err(Error::InvalidArgument(
                "opts->struct_size is too small: call nni_session_options_init first".into(),
            ));
        }
        if opts.model_path.is_null() {
            return Err(Error::NullPointer("opts->model_path"));
        }
        let path = CStr::from_ptr(opts.model_path)
            .to_str()
            .map_err(|_| Error::InvalidArgument("model_path is not UTF-8".into()))?;
        let device = match opts.device {
            NNI_DEVICE_AUTO => Device::Auto,
            NNI_DEVICE_CPU => Device::Cpu,
            NNI_DEVICE_CUDA => Device::Cuda,
            d => return Err(Error::InvalidArgument(format!("unknown device {d}"))),
        };
        if opts.num_threads < 0 {
            return Err(Error::InvalidArgument(format!(
                "num_threads must be >= 0, got {}",
                opts.num_threads
            )));
        }
        let mut session = crate::open_session(
            std::path::Path::new(path),
            device,
            opts.num_threads as usize,
        )?;
        session.set_autozoom(opts.autozoom != 0);
        let cancel = session.cancel_flag();
        *out = Box::into_raw(Box::new(nni_session {
            inner: Mutex::new(session),
            cancel,
        }));
        Ok(())
    })
}

/// Free a session (NULL is ignored).
/// Thread safety: Not concurrently with any other call on the same session.
#[no_mangle]
pub unsafe extern "C" fn nni_session_free(s: *mut nni_session) {
    if !s.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(s))));
    }
}

/// Set the image. Drops all prompts and the mask. Validates dtype, sizes, spacing and geometry
/// (finite), and voxels (no NaN/inf; not all zero). On failure the previous image stays.
/// Thread safety: Serialised with other calls on the session.
#[no_mangle]
pub unsafe extern "C" fn nni_session_set_image(
    s: *mut nni_session,
    desc: *const nni_image_desc,
) -> i32 {
    guard(|| {
        let s = session_ref(s)?;
        let d = desc.as_ref().ok_or(Error::NullPointer("desc"))?;
        if d.data.is_null() {
            return Err(Error::NullPointer("desc->data"));
        }
        if d.dims.iter().any(|&x| x == 0 || x > (1 << 20)) {
            return Err(Error::InvalidArgument(format!(
                "dims {:?} must be in 1..=2^20",
                d.dims
            )));
        }
        let n = d
            .dims
            .iter()
            .try_fold(1usize, |a, &x| a.checked_mul(x as usize));
        let n = n.ok_or_else(|| Error::InvalidArgument("dims overflow".into()))?;
        if d.voxel_count != n {
            return Err(Error::BufferSize(format!(
                "voxel_count {} but dims {:?} hold {n}",
                d.voxel_count, d.dims
            )));
        }
        if d.spacing.iter().any(|v| !v.is_finite() || *v <= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "spacing {:?} must be positive and finite",
                d.spacing
            )));
        }
        if d.origin
            .iter()
            .chain(d.direction.iter())
            .any(|v| !v.is_finite())
        {
            return Err(Error::InvalidArgument(
                "origin and direction must be finite".into(),
            ));
        }
        let shape = [d.dims[2] as usize, d.dims[1] as usize, d.dims[0] as usize];
        let voxels = match d.dtype {
            NNI_DTYPE_UINT8 => VoxelData::U8(std::slice::from_raw_parts(d.data as *const u8, n)),
            NNI_DTYPE_INT16 => VoxelData::I16(std::slice::from_raw_parts(d.data as *const i16, n)),
            NNI_DTYPE_UINT16 => VoxelData::U16(std::slice::from_raw_parts(d.data as *const u16, n)),
            NNI_DTYPE_INT32 => VoxelData::I32(std::slice::from_raw_parts(d.data as *const i32, n)),
            NNI_DTYPE_FLOAT32 => {
                VoxelData::F32(std::slice::from_raw_parts(d.data as *const f32, n))
            }
            NNI_DTYPE_FLOAT64 => {
                VoxelData::F64(std::slice::from_raw_parts(d.data as *const f64, n))
            }
            t => return Err(Error::InvalidArgument(format!("unknown dtype {t}"))),
        };
        s.inner.lock().set_image(voxels, shape)
    })
}

fn check_inside(sess: &Session, a: [i64; 3]) -> Result<()> {
    let shape = sess.shape().ok_or(Error::NoImage)?;
    if (0..3).any(|d| a[d] < 0 || a[d] >= shape[d] as i64) {
        return Err(Error::OutOfBounds(format!(
            "voxel ({}, {}, {}) is outside the image ({} x {} x {})",
            a[2], a[1], a[0], shape[2], shape[1], shape[0]
        )));
    }
    Ok(())
}

/// Add a point prompt at voxel `ijk` (positive if `positive` != 0); predict if `run_prediction`.
/// Thread safety: Serialised with other calls on the session; cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_add_point(
    s: *mut nni_session,
    ijk: *const i64,
    positive: i32,
    run_prediction: i32,
) -> i32 {
    guard(|| {
        let s = session_ref(s)?;
        let a = to_axes(read_ijk(ijk, "ijk")?);
        let mut sess = s.inner.lock();
        check_inside(&sess, a)?;
        sess.add_point(
            [a[0] as f64, a[1] as f64, a[2] as f64],
            positive != 0,
            run_prediction != 0,
        )
        .map(|_| ())
    })
}

/// Add a box prompt, half-open `[min_ijk, max_ijk)`. An axis of size 1 makes it a 2D box (drawn on
/// a slice); boxes partly outside the image are clipped, boxes entirely outside are an error.
/// Thread safety: Serialised with other calls on the session; cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_add_box(
    s: *mut nni_session,
    min_ijk: *const i64,
    max_ijk: *const i64,
    positive: i32,
    run_prediction: i32,
) -> i32 {
    guard(|| {
        let s = session_ref(s)?;
        let min = read_ijk(min_ijk, "min_ijk")?;
        let max = read_ijk(max_ijk, "max_ijk")?;
        let (lo, hi) = (to_axes(min), to_axes(max));
        let f = |v: [i64; 3]| [v[0] as f64, v[1] as f64, v[2] as f64];
        {
            let sess = s.inner.lock();
            let shape = sess.shape().ok_or(Error::NoImage)?;
            let dims = [shape[2] as i64, shape[1] as i64, shape[0] as i64];
            if (0..3).any(|d| max[d] > min[d] && (max[d] <= 0 || min[d] >= dims[d])) {
                return Err(Error::OutOfBounds(format!(
                    "box ({}, {}, {})..({}, {}, {}) does not intersect the image ({} x {} x {})",
                    min[0], min[1], min[2], max[0], max[1], max[2], dims[0], dims[1], dims[2]
                )));
            }
        }
        s.inner
            .lock()
            .add_box(f(lo), f(hi), positive != 0, run_prediction != 0)
            .map(|_| ())
    })
}

/// The box `[min_ijk, max_ijk)` (C arrays of 3, i/j/k) in engine axes.
unsafe fn read_region(min_ijk: *const i64, max_ijk: *const i64) -> Result<BBox> {
    Ok(BBox::new(
        to_axes(read_ijk(min_ijk, "min_ijk")?),
        to_axes(read_ijk(max_ijk, "max_ijk")?),
    ))
}

unsafe fn add_mask(
    s: *mut nni_session,
    kind: MaskPrompt,
    region: Option<(*const i64, *const i64)>,
    mask: *const u8,
    len: usize,
    positive: i32,
    run_prediction: i32,
) -> i32 {
    guard(|| {
        let s = session_ref(s)?;
        let mask = bytes(mask, len, "mask")?;
        let region = match region {
            None => None,
            Some((lo, hi)) => Some(read_region(lo, hi)?),
        };
        s.inner
            .lock()
            .add_mask(kind, mask, region, positive != 0, run_prediction != 0)
            .map(|_| ())
    })
}

/// Add a scribble: `mask` (nonzero = drawn) covers the whole image (`len` = voxel count).
/// Thread safety: Serialised with other calls on the session; cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_add_scribble(
    s: *mut nni_session,
    mask: *const u8,
    len: usize,
    positive: i32,
    run_prediction: i32,
) -> i32 {
    add_mask(
        s,
        MaskPrompt::Scribble,
        None,
        mask,
        len,
        positive,
        run_prediction,
    )
}

/// Add a lasso (filled contour): `mask` covers the whole image (`len` = voxel count).
/// Thread safety: Serialised with other calls on the session; cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_add_lasso(
    s: *mut nni_session,
    mask: *const u8,
    len: usize,
    positive: i32,
    run_prediction: i32,
) -> i32 {
    add_mask(
        s,
        MaskPrompt::Lasso,
        None,
        mask,
        len,
        positive,
        run_prediction,
    )
}

/// Add a scribble given only over the box `[min_ijk, max_ijk)` (inside the image); `mask` is that
/// box's voxels, i fastest (`len` = box voxel count). A stroke on one slice costs one slice.
/// Thread safety: Serialised with other calls on the session; cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_add_scribble_region(
    s: *mut nni_session,
    min_ijk: *const i64,
    max_ijk: *const i64,
    mask: *const u8,
    len: usize,
    positive: i32,
    run_prediction: i32,
) -> i32 {
    add_mask(
        s,
        MaskPrompt::Scribble,
        Some((min_ijk, max_ijk)),
        mask,
        len,
        positive,
        run_prediction,
    )
}

/// Add a lasso given only over the box `[min_ijk, max_ijk)`; see `nni_session_add_scribble_region`.
/// Thread safety: Serialised with other calls on the session; cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_add_lasso_region(
    s: *mut nni_session,
    min_ijk: *const i64,
    max_ijk: *const i64,
    mask: *const u8,
    len: usize,
    positive: i32,
    run_prediction: i32,
) -> i32 {
    add_mask(
        s,
        MaskPrompt::Lasso,
        Some((min_ijk, max_ijk)),
        mask,
        len,
        positive,
        run_prediction,
    )
}

/// Start from an initial segmentation (image-shaped, `len` = voxel count): resets all prompts;
/// if `run_prediction`, refines it.
/// Thread safety: Serialised with other calls on the session; cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_set_initial_mask(
    s: *mut nni_session,
    mask: *const u8,
    len: usize,
    run_prediction: i32,
) -> i32 {
    set_initial(s, None, mask, len, run_prediction)
}

/// Start from an initial segmentation given only over the box `[min_ijk, max_ijk)` (inside the
/// image): `mask` is that box's voxels, i fastest (`len` = box voxel count); the rest of the image
/// is 0. Same as `nni_session_set_initial_mask` with that image-shaped mask, without one: a viewer
/// passes just the box of an existing label. Undoable; the changed region is the old mask's box
/// and this box.
/// Thread safety: Serialised with other calls on the session; cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_set_initial_mask_region(
    s: *mut nni_session,
    min_ijk: *const i64,
    max_ijk: *const i64,
    mask: *const u8,
    len: usize,
    run_prediction: i32,
) -> i32 {
    set_initial(s, Some((min_ijk, max_ijk)), mask, len, run_prediction)
}

/// The two initial-mask calls: image-shaped (`region` None) or over a box.
unsafe fn set_initial(
    s: *mut nni_session,
    region: Option<(*const i64, *const i64)>,
    mask: *const u8,
    len: usize,
    run_prediction: i32,
) -> i32 {
    guard(|| {
        let s = session_ref(s)?;
        let mask = bytes(mask, len, "mask")?;
        let region = match region {
            None => None,
            Some((lo, hi)) => Some(read_region(lo, hi)?),
        };
        s.inner
            .lock()
            .set_initial_mask_region(mask, region, run_prediction != 0)
            .map(|_| ())
    })
}

/// Drop all prompts and clear the mask (not undoable).
/// Thread safety: Serialised with other calls on the session.
#[no_mangle]
pub unsafe extern "C" fn nni_session_reset(s: *mut nni_session) -> i32 {
    guard(|| session_ref(s)?.inner.lock().reset())
}

/// Undo the last prompt (one level). `NNI_ERR_NOTHING_TO_UNDO` when there is none (nothing changes).
/// Thread safety: Serialised with other calls on the session.
#[no_mangle]
pub unsafe extern "C" fn nni_session_undo(s: *mut nni_session) -> i32 {
    guard(|| {
        if session_ref(s)?.inner.lock().undo()? {
            Ok(())
        } else {
            Err(Error::NothingToUndo)
        }
    })
}

/// Copy the current mask (0/1; image-shaped, i fastest) into `out` (`len` = voxel count).
/// Thread safety: Serialised with other calls on the session (blocks while a prompt runs).
#[no_mangle]
pub unsafe extern "C" fn nni_session_get_mask(
    s: *mut nni_session,
    out: *mut u8,
    len: usize,
) -> i32 {
    guard(|| {
        let s = session_ref(s)?;
        if out.is_null() {
            return Err(Error::NullPointer("out"));
        }
        let sess = s.inner.lock();
        let mask = sess.mask().ok_or(Error::NoImage)?;
        if len != mask.len() {
            return Err(Error::BufferSize(format!(
                "out holds {len} voxels, the image {}",
                mask.len()
            )));
        }
        std::ptr::copy_nonoverlapping(mask.as_ptr(), out, len);
        Ok(())
    })
}

/// Copy the mask over the box `[min_ijk, max_ijk)` (inside the image) into `out`, i fastest.
/// Thread safety: Serialised with other calls on the session (blocks while a prompt runs).
#[no_mangle]
pub unsafe extern "C" fn nni_session_get_mask_region(
    s: *mut nni_session,
    min_ijk: *const i64,
    max_ijk: *const i64,
    out: *mut u8,
    len: usize,
) -> i32 {
    guard(|| {
        let s = session_ref(s)?;
        let region = BBox::new(
            to_axes(read_ijk(min_ijk, "min_ijk")?),
            to_axes(read_ijk(max_ijk, "max_ijk")?),
        );
        if out.is_null() {
            return Err(Error::NullPointer("out"));
        }
        let sess = s.inner.lock();
        let shape = sess.shape().ok_or(Error::NoImage)?;
        if region.is_empty() || region.clip(shape) != Some(region) {
            return Err(Error::OutOfBounds(
                "region must be non-empty and inside the image".into(),
            ));
        }
        if len != region.voxels() {
            return Err(Error::BufferSize(format!(
                "out holds {len} voxels, the region {}",
                region.voxels()
            )));
        }
        let dst = std::slice::from_raw_parts_mut(out, len);
        crate::geometry::copy_region_out(sess.mask().ok_or(Error::NoImage)?, shape, &region, dst);
        Ok(())
    })
}

/// The box `[min_ijk, max_ijk)` the last prompt, undo or initial mask wrote (clipped to the image);
/// both all zero when nothing was written. Copy just this region after each call.
/// Thread safety: Serialised with other calls on the session.
#[no_mangle]
pub unsafe extern "C" fn nni_session_get_changed_region(
    s: *mut nni_session,
    min_ijk: *mut i64,
    max_ijk: *mut i64,
) -> i32 {
    guard(|| {
        let s = session_ref(s)?;
        let lo = (min_ijk as *mut [i64; 3])
            .as_mut()
            .ok_or(Error::NullPointer("min_ijk"))?;
        let hi = (max_ijk as *mut [i64; 3])
            .as_mut()
            .ok_or(Error::NullPointer("max_ijk"))?;
        let sess = s.inner.lock();
        sess.shape().ok_or(Error::NoImage)?;
        let b = sess.last_changed().unwrap_or(BBox::new([0; 3], [0; 3]));
        *lo = to_axes(&b.lo);
        *hi = to_axes(&b.hi);
        Ok(())
    })
}

/// Turn AutoZoom on (nonzero) or off.
/// Thread safety: Serialised with other calls on the session.
#[no_mangle]
pub unsafe extern "C" fn nni_session_set_autozoom(s: *mut nni_session, on: i32) -> i32 {
    guard(|| {
        session_ref(s)?.inner.lock().set_autozoom(on != 0);
        Ok(())
    })
}

/// Describe the session (model name, execution provider, and why CUDA is not used when `auto`
/// fell back to the CPU) into `buf`, snprintf-style; returns the full length (0 for NULL `s`).
/// Thread safety: Serialised with other calls on the session.
#[no_mangle]
pub unsafe extern "C" fn nni_session_describe(
    s: *mut nni_session,
    buf: *mut c_char,
    len: usize,
) -> usize {
    let text = match catch_unwind(AssertUnwindSafe(|| {
        s.as_ref().map(|s| s.inner.lock().describe_network())
    })) {
        Ok(Some(t)) => t,
        _ => return 0,
    };
    if !buf.is_null() && len > 0 {
        let n = text.len().min(len - 1);
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf as *mut u8, n);
        *buf.add(n) = 0;
    }
    text.len()
}

struct CallbackPtr(
    unsafe extern "C" fn(*mut c_void, f64, *const c_char) -> i32,
    *mut c_void,
);
// SAFETY: the caller of nni_session_set_progress_callback promises the callback and user data
// may be used from the threads that call into the session.
unsafe impl Send for CallbackPtr {}

impl CallbackPtr {
    fn call(&self, fraction: f64, stage: &str) -> bool {
        let stage = std::ffi::CString::new(stage).unwrap_or_default();
        // SAFETY: see the Send impl; the callback is a C function and cannot unwind into Rust.
        unsafe { (self.0)(self.1, fraction, stage.as_ptr()) == 0 }
    }
}

/// Install a progress callback (NULL removes it). It runs on the calling thread during prompts.
/// Thread safety: Serialised with other calls on the session.
#[no_mangle]
pub unsafe extern "C" fn nni_session_set_progress_callback(
    s: *mut nni_session,
    cb: nni_progress_callback,
    user_data: *mut c_void,
) -> i32 {
    guard(|| {
        let s = session_ref(s)?;
        let progress: Option<crate::session::ProgressFn> = cb.map(|f| {
            let ptr = CallbackPtr(f, user_data);
            Box::new(move |fraction: f64, stage: &str| ptr.call(fraction, stage))
                as crate::session::ProgressFn
        });
        s.inner.lock().set_progress(progress);
        Ok(())
    })
}

/// Ask the running call on this session to stop at its next checkpoint (it then returns
/// `NNI_ERR_CANCELLED` and changes nothing). Any thread; never blocks.
/// Thread safety: Any thread, at any time; never blocks.
#[no_mangle]
pub unsafe extern "C" fn nni_session_request_cancel(s: *mut nni_session) -> i32 {
    guard(|| {
        session_ref(s)?.cancel.store(true, Ordering::SeqCst);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_macros_match_cargo() {
        assert_eq!(
            NNI_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            NNI_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            NNI_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        assert_eq!(
            nni_version(),
            (NNI_VERSION_MAJOR << 16) | (NNI_VERSION_MINOR << 8) | NNI_VERSION_PATCH
        );
    }

    #[test]
    fn status_codes_match_the_engine() {
        for code in 0..=15 {
            let name = unsafe { CStr::from_ptr(nni_status_name(code)) }
                .to_str()
                .unwrap();
            assert_eq!(name, status::name(code));
        }
        assert_eq!(Error::NothingToUndo.status(), NNI_ERR_NOTHING_TO_UNDO);
        assert_eq!(Error::Cancelled.status(), NNI_ERR_CANCELLED);
        assert_eq!(Error::NoImage.status(), NNI_ERR_NO_IMAGE);
    }

    #[test]
    fn last_error_is_snprintf_like() {
        let code = unsafe { nni_session_reset(std::ptr::null_mut()) };
        assert_eq!(code, NNI_ERR_NULL_POINTER);
        let n = unsafe { nni_last_error_message(std::ptr::null_mut(), 0) };
        assert!(n > 0);
        let mut buf = [0 as c_char; 8];
        let m = unsafe { nni_last_error_message(buf.as_mut_ptr(), buf.len()) };
        assert_eq!(m, n);
        let s = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert_eq!(s.len(), 7);
    }
}
