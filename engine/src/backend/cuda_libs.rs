//! What ONNX Runtime's CUDA provider needs besides itself (the CUDA 13 build of `onnxruntime-gpu`
//! 1.31): the NVIDIA driver and the CUDA 13 libraries, each named with what provides it, so that a
//! session asked for CUDA can say exactly what is missing instead of a loader error.

use std::ffi::CString;
use std::path::{Path, PathBuf};

/// The shared libraries the CUDA provider loads (at its own load, or later: cuDNN, cuFFT), and
/// what provides each.
pub const CUDA_LIBRARIES: &[(&str, &str)] = &[
    (
        "libcuda.so.1",
        "the NVIDIA driver, version 580 or newer for CUDA 13",
    ),
    (
        "libcudart.so.13",
        "the CUDA 13 runtime (PyPI nvidia-cuda-runtime)",
    ),
    ("libcublas.so.13", "cuBLAS for CUDA 13 (PyPI nvidia-cublas)"),
    (
        "libcublasLt.so.13",
        "cuBLAS for CUDA 13 (PyPI nvidia-cublas)",
    ),
    ("libcurand.so.10", "cuRAND (PyPI nvidia-curand)"),
    ("libcufft.so.12", "cuFFT (PyPI nvidia-cufft)"),
    (
        "libcudnn.so.9",
        "cuDNN 9 for CUDA 13 (PyPI nvidia-cudnn-cu13)",
    ),
];

/// Whether the library `name` can be loaded: a file of that name in one of `dirs`, else found by
/// the system's loader (`LD_LIBRARY_PATH`, the loader cache).
fn loadable(name: &str, dirs: &[PathBuf]) -> bool {
    if dirs.iter().any(|d| d.join(name).is_file()) {
        return true;
    }
    let Ok(c) = CString::new(name) else {
        return false;
    };
    // SAFETY: dlopen with a NUL-terminated name; a handle it returns is closed at once. Loading
    // these libraries runs no code of ours.
    unsafe {
        let handle = libc::dlopen(c.as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL);
        if handle.is_null() {
            return false;
        }
        libc::dlclose(handle);
    }
    true
}

/// The CUDA libraries that cannot be loaded, looking first in `dirs` (the folder ONNX Runtime was
/// loaded from: the provider's run path is `$ORIGIN`), with what provides each.
pub fn missing(dirs: &[PathBuf]) -> Vec<(&'static str, &'static str)> {
    CUDA_LIBRARIES
        .iter()
        .copied()
        .filter(|(name, _)| !loadable(name, dirs))
        .collect()
}

/// The folder of the ONNX Runtime library at `runtime` (its providers look there first).
fn runtime_dirs(runtime: Option<&Path>) -> Vec<PathBuf> {
    runtime
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .into_iter()
        .collect()
}

/// A sentence naming what is missing for CUDA, with where to get it; None when nothing is.
pub fn missing_message(runtime: Option<&Path>) -> Option<String> {
    let gone = missing(&runtime_dirs(runtime));
    if gone.is_empty() {
        return None;
    }
    let list: Vec<String> = gone
        .iter()
        .map(|(name, what)| format!("{name} ({what})"))
        .collect();
    Some(format!(
        "CUDA cannot be used: not found: {}; tools/setup/gpu.sh installs ONNX Runtime with CUDA and the CUDA 13 libraries from PyPI into .deps/onnxruntime-gpu (then set NNI_ONNXRUNTIME_PATH to its libonnxruntime.so); the driver comes with the GPU",
        list.join(", ")
    ))
}

/// The TensorRT 10 libraries ONNX Runtime's TensorRT provider loads, and what provides them.
pub const TENSORRT_LIBRARIES: &[(&str, &str)] = &[
    (
        "libnvinfer.so.10",
        "TensorRT 10 for CUDA 13 (PyPI tensorrt-cu13-libs 10.x)",
    ),
    (
        "libnvonnxparser.so.10",
        "TensorRT 10's ONNX parser (PyPI tensorrt-cu13-libs 10.x)",
    ),
];

/// A sentence naming the TensorRT libraries that cannot be loaded; None when all can.
pub fn missing_tensorrt_message(runtime: Option<&Path>) -> Option<String> {
    let dirs = runtime_dirs(runtime);
    let gone: Vec<String> = TENSORRT_LIBRARIES
        .iter()
        .filter(|(name, _)| !loadable(name, &dirs))
        .map(|(name, what)| format!("{name} ({what})"))
        .collect();
    (!gone.is_empty()).then(|| {
        format!(
            "TensorRT cannot be used: not found: {}; `tools/setup/gpu.sh --tensorrt` installs it beside ONNX Runtime",
            gone.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_beside_the_runtime_count_as_found() {
        let dir = std::env::temp_dir().join(format!("nni-cuda-libs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, _) in CUDA_LIBRARIES {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        assert!(missing(std::slice::from_ref(&dir)).is_empty());
        assert!(missing_message(Some(&dir.join("libonnxruntime.so"))).is_none());
        std::fs::remove_file(dir.join("libcudnn.so.9")).unwrap();
        let gone = missing(std::slice::from_ref(&dir));
        // cuDNN is missing unless the system's loader has it.
        assert!(gone.len() <= 1);
        if let Some(m) = missing_message(Some(&dir.join("libonnxruntime.so"))) {
            assert!(
                m.contains("libcudnn.so.9 (cuDNN 9") && m.contains("tools/setup/gpu.sh"),
                "{m}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tensorrt_libraries_are_named_when_missing() {
        let dir = std::env::temp_dir().join(format!("nni-trt-libs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let runtime = dir.join("libonnxruntime.so");
        if let Some(m) = missing_tensorrt_message(Some(&runtime)) {
            assert!(m.contains("libnvinfer.so.10") || m.contains("libnvonnxparser.so.10"));
            assert!(m.contains("tools/setup/gpu.sh --tensorrt"), "{m}");
        }
        for (name, _) in TENSORRT_LIBRARIES {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        assert!(missing_tensorrt_message(Some(&runtime)).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
