//! The session handle and its lifecycle calls: create, free, set the image, AutoZoom, describe,
//! reset and undo. Prompts are in [`crate::prompts`], mask reads in [`crate::mask`].

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use nninteractive_engine::{
    BackendChoice, CancelToken, Device, Error, NetworkOptions, Precision, RemoteOptions, Result,
    Session, SessionReader,
};

use crate::boundary::{guard, write_c_string};
use crate::types::*;

/// An opaque session handle.
pub struct nni_session {
    /// The engine session, held by the call that changes it or runs the network.
    inner: Mutex<Session>,
    /// Shape, mask and last changed box, read without `inner` (see `crate::mask`).
    pub(crate) reader: SessionReader,
    /// What `nni_session_describe` returns (fixed when the session is made).
    pub(crate) description: String,
    /// What `nni_session_capabilities` returns (the model's, fixed when the session is made).
    pub(crate) capabilities: String,
    /// The session's cancel request, used without the lock by `nni_session_request_cancel`.
    pub(crate) cancel: Arc<CancelToken>,
}

impl nni_session {
    /// The engine session, for a call that changes it or runs the network. Never waits: when
    /// another call holds it (a prompt on another thread, or the progress callback of this one
    /// calling back in, which would otherwise deadlock), `NNI_ERR_BUSY` at once.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Session>> {
        self.inner.try_lock().ok_or_else(|| {
            Error::Busy(
                "the session is running another call (a prompt, or the progress callback calling back in); retry when it has returned"
                    .into(),
            )
        })
    }
}

/// Most inference threads a session may ask for (a runtime given 100000 crashes creating them).
const MAX_THREADS: i32 = 1024;

/// The handle behind `s`.
///
/// # Safety
/// `s` is NULL or a handle from `nni_session_new` not yet freed.
pub(crate) unsafe fn session_ref<'a>(s: *mut nni_session) -> Result<&'a nni_session> {
    // SAFETY: the caller promises NULL or a live handle; as_ref checks NULL.
    unsafe { s.as_ref() }.ok_or(Error::NullPointer("session"))
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
        // SAFETY: the caller promises NULL or a writable pointer slot.
        let out = unsafe { out.as_mut() }.ok_or(Error::NullPointer("out"))?;
        *out = std::ptr::null_mut();
        // SAFETY: the caller promises NULL or a readable nni_session_options of its struct_size.
        let opts = unsafe { read_options(opts)? };
        // SAFETY: the caller promises NULL or NUL-terminated strings in these fields.
        let (model, url, token, ca_file) = unsafe {
            (
                optional_str(opts.model_path, "model_path")?,
                optional_str(opts.network_url, "network_url")?,
                optional_str(opts.network_token, "network_token")?,
                optional_str(opts.network_ca_file, "network_ca_file")?,
            )
        };
        let mut session = match url {
            Some(url) => open_remote(&opts, url, token, ca_file, model)?,
            None => open_local(&opts, model.ok_or(Error::NullPointer("opts->model_path"))?)?,
        };
        session.set_autozoom(opts.autozoom != 0);
        let budget = match opts.history_bytes {
            0 => nninteractive_engine::session::transaction::DEFAULT_HISTORY_BUDGET,
            b => usize::try_from(b).unwrap_or(usize::MAX),
        };
        session.set_history_budget(budget);
        let cancel = session.cancel_token();
        let capabilities = session.metadata().capabilities_json().to_string();
        *out = Box::into_raw(Box::new(nni_session {
            capabilities,
            reader: session.reader(),
            description: format!(
                "{}; undo history up to {} MiB",
                session.describe_network(),
                budget >> 20
            ),
            inner: Mutex::new(session),
            cancel,
        }));
        Ok(())
    })
}

/// The string a pointer field holds, None when NULL.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn optional_str<'a>(p: *const c_char, field: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL; the caller promises a NUL-terminated string.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map(Some)
        .map_err(|_| Error::InvalidArgument(format!("{field} is not UTF-8")))
}

/// A session on the model a KServe v2 server serves.
fn open_remote(
    opts: &nni_session_options,
    url: &str,
    token: Option<&str>,
    ca_file: Option<&str>,
    model: Option<&str>,
) -> Result<Session> {
    if opts.network_retries > 10 {
        return Err(Error::InvalidArgument(format!(
            "network_retries must be in 0..=10, got {}",
            opts.network_retries
        )));
    }
    let mut remote = RemoteOptions::new(url);
    if opts.network_timeout_ms > 0 {
        remote.timeout = std::time::Duration::from_millis(opts.network_timeout_ms.into());
    }
    remote.retries = opts.network_retries;
    remote.ca_file = ca_file.map(std::path::PathBuf::from);
    if let Some(token) = token {
        remote = remote.with_bearer_token(token);
    }
    nninteractive_engine::open_session_remote(&remote, model.map(std::path::Path::new))
}

/// A session on the model file at `path`, run here as the options ask.
fn open_local(opts: &nni_session_options, path: &str) -> Result<Session> {
    {
        let device = match opts.device {
            NNI_DEVICE_AUTO => Device::Auto,
            NNI_DEVICE_CPU => Device::Cpu,
            NNI_DEVICE_CUDA => Device::Cuda,
            d => return Err(Error::InvalidArgument(format!("unknown device {d}"))),
        };
        let precision = match opts.precision {
            NNI_PRECISION_EXACT => Precision::Exact,
            NNI_PRECISION_FAST => Precision::Fast,
            p => return Err(Error::InvalidArgument(format!("unknown precision {p}"))),
        };
        let backend = match opts.backend {
            NNI_BACKEND_AUTO => BackendChoice::Auto,
            NNI_BACKEND_ONNXRUNTIME => BackendChoice::OnnxRuntime,
            NNI_BACKEND_OPENVINO => BackendChoice::OpenVino,
            NNI_BACKEND_TENSORRT => BackendChoice::TensorRt,
            b => return Err(Error::InvalidArgument(format!("unknown backend {b}"))),
        };
        if !(0..=MAX_THREADS).contains(&opts.num_threads) {
            return Err(Error::InvalidArgument(format!(
                "num_threads must be in 0..={MAX_THREADS} (0: the runtime's choice), got {}",
                opts.num_threads
            )));
        }
        let network = NetworkOptions {
            device,
            precision,
            backend,
            num_threads: opts.num_threads as usize,
            warm_up: match opts.warm_up {
                0 => false,
                1 => true,
                w => {
                    return Err(Error::InvalidArgument(format!(
                        "warm_up must be 0 or 1, got {w}"
                    )))
                }
            },
        };
        nninteractive_engine::open_session_with(std::path::Path::new(path), &network)
    }
}

/// The caller's options, as many bytes as its `struct_size` says; the fields of a newer version
/// than the caller's keep their defaults.
///
/// # Safety
/// `opts` is NULL or points to a readable options struct of at least its `struct_size` bytes.
unsafe fn read_options(opts: *const nni_session_options) -> Result<nni_session_options> {
    if opts.is_null() {
        return Err(Error::NullPointer("opts"));
    }
    // SAFETY: non-NULL; every version starts with the u32 struct_size.
    let size = unsafe { std::ptr::read_unaligned(opts as *const u32) } as usize;
    let full = std::mem::size_of::<nni_session_options>();
    if size < NNI_SESSION_OPTIONS_SIZE_V1 as usize {
        return Err(Error::InvalidArgument(
            "opts->struct_size is too small: call nni_session_options_init first".into(),
        ));
    }
    if size > full {
        return Err(Error::InvalidArgument(format!(
            "opts->struct_size is {size}, this library's nni_session_options has {full} bytes: the caller was built against a newer header"
        )));
    }
    let mut out = nni_session_options::DEFAULTS;
    // SAFETY: the caller's struct holds `size <= full` readable bytes; `out` holds `full`.
    unsafe {
        std::ptr::copy_nonoverlapping(
            opts as *const u8,
            (&mut out as *mut nni_session_options).cast::<u8>(),
            size,
        )
    };
    // Fields the caller's version does not hold keep their defaults. A version 1 struct (32
    // bytes) ends with 4 bytes of padding where `precision` now lies: that is a default too.
    let defaults = nni_session_options::DEFAULTS;
    let holds = |offset: usize, len: usize| offset + len <= size;
    if size == NNI_SESSION_OPTIONS_SIZE_V1 as usize
        || !holds(std::mem::offset_of!(nni_session_options, precision), 4)
    {
        out.precision = defaults.precision;
    }
    if !holds(std::mem::offset_of!(nni_session_options, backend), 4) {
        out.backend = defaults.backend;
    }
    if !holds(std::mem::offset_of!(nni_session_options, history_bytes), 8) {
        out.history_bytes = defaults.history_bytes;
    }
    if !holds(std::mem::offset_of!(nni_session_options, warm_up), 4) {
        out.warm_up = defaults.warm_up;
    }
    Ok(out)
}

/// Free a session (NULL is ignored).
/// Thread safety: Not concurrently with any other call on the same session.
#[no_mangle]
pub unsafe extern "C" fn nni_session_free(s: *mut nni_session) {
    if !s.is_null() {
        // SAFETY: the caller promises a handle from nni_session_new, freed once.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(s) })));
    }
}

/// Set the image (converted and normalised for this session alone; for several objects on one
/// image, make it once with `nni_image_new` and give it to each session with
/// `nni_session_set_shared_image`). Drops all prompts and the mask. Validates dtype, sizes,
/// alignment, spacing and geometry (finite), and voxels: none NaN, infinite or (float64) beyond
/// the float32 range, not all zero, and not constant over the nonzero box (it could not be
/// normalised). An image whose buffers cannot be allocated is `NNI_ERR_OUT_OF_MEMORY`. On failure
/// the previous image stays.
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from a progress callback).
#[no_mangle]
pub unsafe extern "C" fn nni_session_set_image(
    s: *mut nni_session,
    desc: *const nni_image_desc,
) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a live handle.
        let s = unsafe { session_ref(s)? };
        // SAFETY: the caller promises NULL or a readable nni_image_desc whose `data` holds
        // `voxel_count` voxels of `dtype`.
        let (voxels, shape) = unsafe { crate::image::described_voxels(desc)? };
        s.lock()?.set_image(voxels, shape)
    })
}

/// Turn AutoZoom on (nonzero) or off.
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from a progress callback).
#[no_mangle]
pub unsafe extern "C" fn nni_session_set_autozoom(s: *mut nni_session, on: i32) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a live handle.
        unsafe { session_ref(s)? }.lock()?.set_autozoom(on != 0);
        Ok(())
    })
}

/// Writes the text `field` picks from the handle `s` into `buf`, snprintf-style; returns its
/// full length, 0 for a NULL handle.
///
/// # Safety
/// `s` is NULL or a live handle; `buf` is NULL or holds `len` writable bytes.
unsafe fn write_session_text(
    s: *mut nni_session,
    field: impl Fn(&nni_session) -> &String,
    buf: *mut c_char,
    len: usize,
) -> usize {
    // SAFETY: the caller promises NULL or a live handle.
    match unsafe { session_ref(s) } {
        // SAFETY: the caller promises NULL or `len` writable bytes at `buf`.
        Ok(s) => unsafe { write_c_string(field(s), buf, len) },
        Err(_) => 0,
    }
}

/// The model's capabilities as one JSON object, the attributes the reference session states:
/// `supported_interactions` (prompt kind -> bool), `channel_mapping`, `num_interaction_channels`,
/// `supports_initial_label`, `supports_zero_shot_label_refinement`, `preferred_scribble_thickness`
/// (three numbers, per axis), `interaction_decay`, `patch_size`, `license`, `supports_undo` and
/// `model` (its name). Written into `buf` snprintf-style; returns the full length (0 for NULL
/// `s`).
/// Thread safety: Any thread, also while a prompt runs and from its progress callback; never
/// blocks.
#[no_mangle]
pub unsafe extern "C" fn nni_session_capabilities(
    s: *mut nni_session,
    buf: *mut c_char,
    len: usize,
) -> usize {
    // SAFETY: the caller's promises are write_session_text's.
    unsafe { write_session_text(s, |s| &s.capabilities, buf, len) }
}

/// Describe the session (model name, runtime, device, precision, and why a fallback happened)
/// into `buf`, snprintf-style; returns the full length (0 for NULL `s`).
/// Thread safety: Any thread, also while a prompt runs and from its progress callback; never
/// blocks.
#[no_mangle]
pub unsafe extern "C" fn nni_session_describe(
    s: *mut nni_session,
    buf: *mut c_char,
    len: usize,
) -> usize {
    // SAFETY: the caller's promises are write_session_text's.
    unsafe { write_session_text(s, |s| &s.description, buf, len) }
}

/// Drop all prompts and clear the mask (not undoable).
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from a progress callback).
#[no_mangle]
pub unsafe extern "C" fn nni_session_reset(s: *mut nni_session) -> i32 {
    // SAFETY: the caller promises NULL or a live handle.
    guard(|| unsafe { session_ref(s)? }.lock()?.reset())
}

/// Undo the last prompt; repeated, step back one prompt at a time through the history (the first
/// undo is the reference's one level). `NNI_ERR_NOTHING_TO_UNDO` when there is none (nothing
/// changes). The history keeps at most `history_bytes` of records (options; 1 GiB by default),
/// oldest dropped first; `nni_session_reset`
/// and `nni_session_set_image` clear it.
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from a progress callback).
#[no_mangle]
pub unsafe extern "C" fn nni_session_undo(s: *mut nni_session) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a live handle.
        if unsafe { session_ref(s)? }.lock()?.undo()? {
            Ok(())
        } else {
            Err(Error::NothingToUndo)
        }
    })
}

/// Re-apply the last undone prompt, without running the network. `NNI_ERR_NOTHING_TO_REDO` when
/// nothing was undone since the last prompt (a new prompt clears the redo steps).
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from a progress callback).
#[no_mangle]
pub unsafe extern "C" fn nni_session_redo(s: *mut nni_session) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a live handle.
        if unsafe { session_ref(s)? }.lock()?.redo()? {
            Ok(())
        } else {
            Err(Error::NothingToRedo)
        }
    })
}
