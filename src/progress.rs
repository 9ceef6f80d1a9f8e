//! Progress reporting and cancellation: the progress callback (a nonzero return cancels) and the
//! lock-free cancel request.

use std::ffi::{c_char, c_void};

use nninteractive_engine::ProgressFn;

use crate::boundary::guard;
use crate::session::{nni_session, session_ref};
use crate::types::nni_progress_callback;

/// The host's callback and its user data.
struct HostCallback(
    unsafe extern "C" fn(*mut c_void, f64, *const c_char) -> i32,
    *mut c_void,
);

// SAFETY: the caller of nni_session_set_progress_callback promises the callback and user data
// may be used from the threads that call into the session.
unsafe impl Send for HostCallback {}

impl HostCallback {
    /// Call the host; true when it asks to cancel.
    fn call(&self, fraction: f64, stage: &str) -> bool {
        let stage = std::ffi::CString::new(stage).unwrap_or_default();
        // SAFETY: see the Send impl; the callback is a C function, `stage` outlives the call.
        unsafe { (self.0)(self.1, fraction, stage.as_ptr()) != 0 }
    }
}

/// Install a progress callback (NULL removes it); see `nni_progress_callback`. It runs on the
/// calling thread during prompts.
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from a progress callback).
#[no_mangle]
pub unsafe extern "C" fn nni_session_set_progress_callback(
    s: *mut nni_session,
    cb: nni_progress_callback,
    user_data: *mut c_void,
) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a live handle.
        let s = unsafe { session_ref(s)? };
        let progress: Option<ProgressFn> = cb.map(|f| {
            let host = HostCallback(f, user_data);
            Box::new(move |fraction: f64, stage: &str| host.call(fraction, stage)) as ProgressFn
        });
        s.lock()?.set_progress(progress);
        Ok(())
    })
}

/// Ask the running call on this session to stop (it then returns `NNI_ERR_CANCELLED` and changes
/// nothing): at its next checkpoint, and on ONNX Runtime within the network run under way, so it
/// returns within a fraction of a second rather than after a whole forward. (On OpenVINO the run
/// under way finishes first.)
/// Thread safety: Any thread, at any time; never blocks.
#[no_mangle]
pub unsafe extern "C" fn nni_session_request_cancel(s: *mut nni_session) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a live handle.
        unsafe { session_ref(s)? }.cancel.cancel();
        Ok(())
    })
}
