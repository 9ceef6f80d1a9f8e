//! The one status table of the C ABI: [`nni_status`]. The header's `NNI_OK` / `NNI_ERR_*` codes,
//! `nni_status_name` and every binding's constants come from this enum (C and C++ through the
//! generated header, Python by asking `nni_status_name` at load time). Append-only: a value, once
//! released, never changes meaning.

use std::ffi::{c_char, CString};
use std::sync::OnceLock;

use nninteractive_engine::Error;

/// Status of a C ABI call: every function returning `int32_t` returns one of these values.
#[repr(i32)]
#[allow(non_camel_case_types)]
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::FromRepr, strum::IntoStaticStr, strum::EnumIter,
)]
pub enum nni_status {
    /// Success.
    NNI_OK = 0,
    /// A required pointer argument was NULL.
    NNI_ERR_NULL_POINTER = 1,
    /// An argument had an invalid value (unknown dtype or device, NaN spacing, empty box, ...).
    NNI_ERR_INVALID_ARGUMENT = 2,
    /// A buffer length did not match what the call needs.
    NNI_ERR_BUFFER_SIZE = 3,
    /// The call needs an image: call `nni_session_set_image` first.
    NNI_ERR_NO_IMAGE = 4,
    /// The prompt lies outside the image.
    NNI_ERR_OUT_OF_BOUNDS = 5,
    /// The model does not support this prompt type.
    NNI_ERR_UNSUPPORTED = 6,
    /// The model file is missing, corrupt or inconsistent.
    NNI_ERR_MODEL = 7,
    /// A runtime library (ONNX Runtime, OpenVINO) could not be loaded, or is incompatible.
    NNI_ERR_RUNTIME = 8,
    /// Running the network failed; nothing changed.
    NNI_ERR_INFERENCE = 9,
    /// The call was cancelled (by `nni_session_request_cancel` or the progress callback); nothing changed.
    NNI_ERR_CANCELLED = 10,
    /// Memory could not be allocated; nothing changed.
    NNI_ERR_OUT_OF_MEMORY = 11,
    /// An internal error (a caught panic); nothing changed.
    NNI_ERR_PANIC = 12,
    /// File input/output failed.
    NNI_ERR_IO = 13,
    /// `nni_session_undo` found nothing to undo; nothing changed.
    NNI_ERR_NOTHING_TO_UNDO = 14,
    /// The session is running another call (a prompt on another thread, or the progress callback
    /// of this one calling back in): a call that would change the session or run the network
    /// returns this at once, doing nothing. Since 0.2.0.
    NNI_ERR_BUSY = 15,
    /// `nni_session_redo` found nothing to redo (nothing undone since the last prompt); nothing
    /// changed. Since 0.2.0.
    NNI_ERR_NOTHING_TO_REDO = 16,
    /// The network server of a remote network (`network_url`) cannot be reached, refused the
    /// credentials or says the model is not ready; nothing changed, and the same call may succeed
    /// once the server is back. Since 0.3.0.
    NNI_ERR_UNAVAILABLE = 17,
}

impl nni_status {
    /// The stable name of this status, as in the header (`"NNI_ERR_NO_IMAGE"`).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl From<&Error> for nni_status {
    fn from(e: &Error) -> Self {
        match e {
            Error::NullPointer(_) => nni_status::NNI_ERR_NULL_POINTER,
            Error::InvalidArgument(_) => nni_status::NNI_ERR_INVALID_ARGUMENT,
            Error::BufferSize(_) => nni_status::NNI_ERR_BUFFER_SIZE,
            Error::NoImage => nni_status::NNI_ERR_NO_IMAGE,
            Error::OutOfBounds(_) => nni_status::NNI_ERR_OUT_OF_BOUNDS,
            Error::Unsupported(_) => nni_status::NNI_ERR_UNSUPPORTED,
            Error::Model(_) => nni_status::NNI_ERR_MODEL,
            Error::Runtime(_) => nni_status::NNI_ERR_RUNTIME,
            Error::Inference(_) => nni_status::NNI_ERR_INFERENCE,
            Error::Cancelled => nni_status::NNI_ERR_CANCELLED,
            Error::OutOfMemory(_) => nni_status::NNI_ERR_OUT_OF_MEMORY,
            Error::Panic(_) => nni_status::NNI_ERR_PANIC,
            Error::Io(_) => nni_status::NNI_ERR_IO,
            Error::NothingToUndo => nni_status::NNI_ERR_NOTHING_TO_UNDO,
            Error::Busy(_) => nni_status::NNI_ERR_BUSY,
            Error::NothingToRedo => nni_status::NNI_ERR_NOTHING_TO_REDO,
            Error::Unavailable(_) => nni_status::NNI_ERR_UNAVAILABLE,
        }
    }
}

/// The name returned for a code that is not in the table.
const UNKNOWN: &std::ffi::CStr = c"NNI_UNKNOWN_STATUS";

/// NUL-terminated names of the table, indexed by code (the table is dense from 0).
fn c_names() -> &'static [CString] {
    static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
    NAMES.get_or_init(|| {
        use strum::IntoEnumIterator;
        nni_status::iter()
            .map(|s| CString::new(s.name()).expect("status names hold no NUL"))
            .collect()
    })
}

/// Stable name of a status code (e.g. `"NNI_ERR_NO_IMAGE"`), `"NNI_UNKNOWN_STATUS"` for a code
/// not in the table; a static string, never NULL.
/// Thread safety: Any thread.
#[no_mangle]
pub extern "C" fn nni_status_name(code: i32) -> *const c_char {
    match nni_status::from_repr(code) {
        Some(s) => c_names()[s as i32 as usize].as_ptr(),
        None => UNKNOWN.as_ptr(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use strum::IntoEnumIterator;

    #[test]
    fn the_table_is_dense_and_every_name_is_prefixed() {
        for (i, s) in nni_status::iter().enumerate() {
            assert_eq!(s as i32, i as i32, "codes are dense from 0");
            assert!(s.name().starts_with("NNI_OK") || s.name().starts_with("NNI_ERR_"));
            // SAFETY: nni_status_name returns a static NUL-terminated string.
            let c = unsafe { CStr::from_ptr(nni_status_name(s as i32)) };
            assert_eq!(c.to_str().unwrap(), s.name());
        }
        let count = nni_status::iter().count() as i32;
        for code in [-1, count, i32::MAX, i32::MIN] {
            // SAFETY: as above.
            let c = unsafe { CStr::from_ptr(nni_status_name(code)) };
            assert_eq!(c.to_str().unwrap(), "NNI_UNKNOWN_STATUS");
        }
    }

    #[test]
    fn engine_errors_map_to_their_codes() {
        assert_eq!(
            nni_status::from(&Error::NothingToUndo),
            nni_status::NNI_ERR_NOTHING_TO_UNDO
        );
        assert_eq!(
            nni_status::from(&Error::Cancelled),
            nni_status::NNI_ERR_CANCELLED
        );
        assert_eq!(
            nni_status::from(&Error::NoImage),
            nni_status::NNI_ERR_NO_IMAGE
        );
        assert_eq!(
            nni_status::from(&Error::Model(String::new())) as i32,
            7,
            "released values never change"
        );
    }
}
