//! What every C ABI call does at the boundary: catch panics, turn errors into a status and the
//! calling thread's last error message, and read the caller's pointers.

use std::cell::RefCell;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use nninteractive_engine::{BBox, Error, Result};

use crate::status::nni_status;

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last_error(msg: String) {
    LAST_ERROR.with(|e| *e.borrow_mut() = msg);
}

/// Run `f`, catching panics and recording the error message; return the status code.
pub(crate) fn guard(f: impl FnOnce() -> Result<()>) -> i32 {
    let status = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => nni_status::NNI_OK,
        Ok(Err(e)) => {
            set_last_error(e.to_string());
            nni_status::from(&e)
        }
        Err(p) => {
            set_last_error(Error::Panic(nninteractive_engine::panic_message(&*p)).to_string());
            nni_status::NNI_ERR_PANIC
        }
    };
    status as i32
}

/// Copy `text` into the caller's `buf` snprintf-style; returns the full length in bytes.
///
/// # Safety
/// `buf` is NULL or points to `len` writable bytes.
pub(crate) unsafe fn write_c_string(text: &str, buf: *mut c_char, len: usize) -> usize {
    if !buf.is_null() && len > 0 {
        let n = text.len().min(len - 1);
        // SAFETY: the caller promises `len` writable bytes at `buf`; n + 1 <= len.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf as *mut u8, n);
            *buf.add(n) = 0;
        }
    }
    text.len()
}

/// Copy the calling thread's last error message into `buf` (snprintf-style: at most `len - 1`
/// bytes plus a NUL). Returns the full message length in bytes, excluding the NUL; `buf` may be
/// NULL with `len` 0 to ask for the length.
/// Thread safety: Any thread (each thread has its own message).
#[no_mangle]
pub unsafe extern "C" fn nni_last_error_message(buf: *mut c_char, len: usize) -> usize {
    // SAFETY: the caller promises `buf` is NULL or holds `len` writable bytes.
    LAST_ERROR.with(|e| unsafe { write_c_string(&e.borrow(), buf, len) })
}

/// Three `int64_t` at `p` (a C `int64_t[3]`).
///
/// # Safety
/// `p` is NULL or points to three readable `int64_t`.
pub(crate) unsafe fn read_ijk<'a>(p: *const i64, what: &'static str) -> Result<&'a [i64; 3]> {
    // SAFETY: the caller promises NULL or three readable int64_t; as_ref checks NULL.
    unsafe { (p as *const [i64; 3]).as_ref() }.ok_or(Error::NullPointer(what))
}

/// (i, j, k) to the engine's (a0, a1, a2).
pub(crate) fn to_axes(v: &[i64; 3]) -> [i64; 3] {
    [v[2], v[1], v[0]]
}

/// The box `[min_ijk, max_ijk)` (C arrays of 3, i/j/k) in engine axes.
///
/// # Safety
/// Each pointer is NULL or points to three readable `int64_t`.
pub(crate) unsafe fn read_region(min_ijk: *const i64, max_ijk: *const i64) -> Result<BBox> {
    // SAFETY: forwarded from the caller.
    let (lo, hi) = unsafe { (read_ijk(min_ijk, "min_ijk")?, read_ijk(max_ijk, "max_ijk")?) };
    Ok(BBox::new(to_axes(lo), to_axes(hi)))
}

/// `len` bytes at `p`.
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes that stay unchanged during the call.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize, what: &'static str) -> Result<&'a [u8]> {
    if p.is_null() {
        return Err(Error::NullPointer(what));
    }
    // SAFETY: non-NULL, and the caller promises `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn last_error_is_snprintf_like() {
        assert_eq!(
            guard(|| Err(Error::NullPointer("session"))),
            nni_status::NNI_ERR_NULL_POINTER as i32
        );
        // SAFETY: NULL with length 0 asks for the length.
        let n = unsafe { nni_last_error_message(std::ptr::null_mut(), 0) };
        assert!(n > 0);
        let mut buf = [0 as c_char; 8];
        // SAFETY: buf holds buf.len() bytes.
        let m = unsafe { nni_last_error_message(buf.as_mut_ptr(), buf.len()) };
        assert_eq!(m, n);
        // SAFETY: the call NUL-terminated buf.
        let s = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert_eq!(s.len(), 7);
    }

    #[test]
    fn a_panic_becomes_a_status() {
        let code = guard(|| panic!("boom"));
        assert_eq!(code, nni_status::NNI_ERR_PANIC as i32);
        let mut buf = [0 as c_char; 128];
        // SAFETY: buf holds buf.len() bytes.
        unsafe { nni_last_error_message(buf.as_mut_ptr(), buf.len()) };
        // SAFETY: NUL-terminated by the call.
        let s = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert!(s.contains("boom"), "{s}");
    }
}
