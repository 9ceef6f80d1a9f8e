//! The prompt log: how the session's mask was made, as JSON (the engine's `session::log`).

use std::ffi::c_char;

use crate::boundary::{guard, write_c_string};
use crate::session::{nni_session, session_ref};

/// Write the session's prompt log into `buf` snprintf-style (UTF-8 JSON, at most `len - 1` bytes
/// plus a NUL) and return its full length in bytes, excluding the NUL; `buf` may be NULL with
/// `len` 0 to ask for the length. The log holds every call that changed the session since its
/// image was set, in order, with its arguments (coordinates in (i, j, k), masks as region plus
/// run-length code), undo, redo and reset, AutoZoom, the precision and runtime, the model's
/// SHA-256 and metadata, the library version, and SHA-256 hashes of the normalised image and of
/// the mask; `nni replay` gives the same mask from it. Returns 0 when there is no log to give
/// (NULL session, no image, or `NNI_ERR_BUSY` while another call runs), with the reason in
/// `nni_last_error_message`.
/// Thread safety: One call at a time on the session, as a changing call.
#[no_mangle]
pub unsafe extern "C" fn nni_session_export_log(
    s: *mut nni_session,
    buf: *mut c_char,
    len: usize,
) -> usize {
    let mut written = 0;
    guard(|| {
        // SAFETY: the caller promises NULL or a live handle.
        let s = unsafe { session_ref(s)? };
        let text = s.lock()?.export_log()?;
        // SAFETY: the caller promises NULL or `len` writable bytes at `buf`.
        written = unsafe { write_c_string(&text, buf, len) };
        Ok(())
    });
    written
}
