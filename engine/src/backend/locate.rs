//! Where a runtime library loaded at run time is looked for: a path the host gives, else an
//! environment variable, else next to this library (or the executable, for static builds).

use std::path::{Path, PathBuf};

/// Directory holding this library (the cdylib, or the executable for static builds).
pub fn own_directory() -> Option<PathBuf> {
    #[cfg(unix)]
    {
        // SAFETY: Dl_info is plain data (pointers and integers); all-zero is a valid value.
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        let addr = own_directory as *const () as *const libc::c_void;
        // SAFETY: dladdr only reads the address and fills `info`.
        if unsafe { libc::dladdr(addr, &mut info) } != 0 && !info.dli_fname.is_null() {
            // SAFETY: dli_fname is a NUL-terminated path owned by the loader.
            let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
            let p = PathBuf::from(name.to_string_lossy().into_owned());
            if let Some(dir) = p.parent() {
                return Some(dir.to_path_buf());
            }
        }
    }
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
}

/// Candidate paths of a library in resolution order: `explicit` alone when given; else the first
/// non-empty variable of `env_vars` alone; else `file_name` in this library's directory and in
/// its parent (Cargo puts test executables one level below the library: target/debug/deps).
pub fn candidates(explicit: Option<&Path>, env_vars: &[&str], file_name: &str) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_path_buf()];
    }
    for var in env_vars {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return vec![PathBuf::from(v)];
            }
        }
    }
    let mut out = Vec::new();
    if let Some(dir) = own_directory() {
        out.push(dir.join(file_name));
        if let Some(parent) = dir.parent() {
            out.push(parent.join(file_name));
        }
    }
    out
}
