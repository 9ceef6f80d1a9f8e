//! Process-wide calls: versions, loading ONNX Runtime, default session options.

use std::ffi::{c_char, CStr};

use nninteractive_engine::Error;

use crate::boundary::guard;
use crate::types::{nni_session_options, NNI_ABI_VERSION};

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

/// Load ONNX Runtime. `path` (UTF-8) names libonnxruntime; NULL searches the environment
/// variable `NNI_ONNXRUNTIME_PATH`, then the directory of this library. Optional: sessions load
/// it on first use. Once loaded it cannot be switched.
/// Thread safety: Any thread; concurrent calls load the library once.
#[no_mangle]
pub unsafe extern "C" fn nni_runtime_init(path: *const c_char) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let p = unsafe { utf8_path(path)? };
        nninteractive_engine::init_runtime(p.map(std::path::Path::new)).map(|_| ())
    })
}

/// Load the OpenVINO runtime (the fast CPU path). `path` (UTF-8) names `libopenvino_c.so`;
/// NULL searches the environment variable `NNI_OPENVINO_PATH`, then the directory of this
/// library. Optional: sessions that need it load it on first use. A failed load may be retried
/// with another path; once loaded it cannot be switched.
/// Thread safety: Any thread; concurrent calls load the library once.
#[no_mangle]
pub unsafe extern "C" fn nni_openvino_init(path: *const c_char) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        let p = unsafe { utf8_path(path)? };
        nninteractive_engine::init_openvino(p.map(std::path::Path::new)).map(|_| ())
    })
}

/// The optional UTF-8 path at `path`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
unsafe fn utf8_path<'a>(path: *const c_char) -> nninteractive_engine::Result<Option<&'a str>> {
    if path.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL; the caller promises a NUL-terminated string.
    let c = unsafe { CStr::from_ptr(path) };
    c.to_str()
        .map(Some)
        .map_err(|_| Error::InvalidArgument("path is not UTF-8".into()))
}

/// Fill `opts` with defaults (auto device, default threads, AutoZoom on, exact precision, auto
/// backend, no model path).
/// Thread safety: Any thread.
#[no_mangle]
pub unsafe extern "C" fn nni_session_options_init(opts: *mut nni_session_options) {
    // SAFETY: the caller promises NULL or a writable nni_session_options.
    if let Some(o) = unsafe { opts.as_mut() } {
        *o = nni_session_options::DEFAULTS;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{NNI_VERSION_MAJOR, NNI_VERSION_MINOR, NNI_VERSION_PATCH};

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
}
