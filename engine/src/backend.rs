//! ONNX Runtime backend: finds and loads libonnxruntime at run time (`ort` with `load-dynamic`),
//! opens the model with the CPU or CUDA execution provider, reads its metadata and runs patches.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::Session as OrtSession;
use ort::value::Tensor;

use crate::error::{Error, Result};
use crate::metadata::{ModelMetadata, METADATA_KEY};

/// Environment variable naming the ONNX Runtime shared library.
pub const ENV_ORT_PATH: &str = "NNI_ONNXRUNTIME_PATH";

static ENVIRONMENT: OnceLock<std::result::Result<(Environment, PathBuf), String>> = OnceLock::new();

/// File name of the ONNX Runtime library on this platform.
fn ort_library_name() -> &'static str {
    if cfg!(target_os = "windows") {
        "onnxruntime.dll"
    } else if cfg!(target_os = "macos") {
        "libonnxruntime.dylib"
    } else {
        "libonnxruntime.so"
    }
}

/// Directory holding this library (the cdylib, or the executable for static builds).
fn own_directory() -> Option<PathBuf> {
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

/// Candidate library paths in resolution order: explicit, environment, next to this library.
pub fn candidate_paths(explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = explicit {
        out.push(p.to_path_buf());
        return out;
    }
    for var in [ENV_ORT_PATH, "ORT_DYLIB_PATH"] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                out.push(PathBuf::from(v));
                return out;
            }
        }
    }
    if let Some(dir) = own_directory() {
        out.push(dir.join(ort_library_name()));
        // Cargo puts test executables one level below the library (target/debug/deps).
        if let Some(parent) = dir.parent() {
            out.push(parent.join(ort_library_name()));
        }
    }
    out
}

/// Load ONNX Runtime once per process. `explicit` (if given) wins over the environment variable
/// `NNI_ONNXRUNTIME_PATH`, which wins over a library next to libnninteractive. Later calls return
/// the first outcome; asking for a different explicit path after success is an error.
pub fn init_runtime(explicit: Option<&Path>) -> Result<PathBuf> {
    let outcome = ENVIRONMENT.get_or_init(|| {
        let candidates = candidate_paths(explicit);
        let mut tried = Vec::new();
        for path in &candidates {
            if !path.exists() {
                tried.push(format!("{} (not found)", path.display()));
                continue;
            }
            match ort::init_from(path) {
                Ok(builder) => {
                    return match builder.with_name("nninteractive").build() {
                        Ok(env) => Ok((env, path.clone())),
                        Err(e) => Err(format!("ONNX Runtime at {} failed to start: {e}", path.display())),
                    }
                }
                Err(e) => tried.push(format!("{}: {e}", path.display())),
            }
        }
        Err(format!(
            "no usable ONNX Runtime library; pass its path to nni_runtime_init or set {ENV_ORT_PATH}. Tried: {}",
            if tried.is_empty() { "nothing".to_string() } else { tried.join("; ") }
        ))
    });
    match outcome {
        Ok((_, path)) => {
            if let Some(p) = explicit {
                let same = std::fs::canonicalize(p).ok() == std::fs::canonicalize(path).ok();
                if !same {
                    return Err(Error::Runtime(format!(
                        "ONNX Runtime is already loaded from {}; it cannot be switched to {} in this process",
                        path.display(),
                        p.display()
                    )));
                }
            }
            Ok(path.clone())
        }
        Err(msg) => Err(Error::Runtime(msg.clone())),
    }
}

fn environment() -> Result<&'static Environment> {
    init_runtime(None)?;
    match ENVIRONMENT.get() {
        Some(Ok((env, _))) => Ok(env),
        Some(Err(msg)) => Err(Error::Runtime(msg.clone())),
        None => Err(Error::Runtime("ONNX Runtime not initialised".into())),
    }
}

/// Where the network runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// CUDA when available, else CPU.
    Auto,
    /// CPU execution provider only.
    Cpu,
    /// CUDA execution provider; an error when it cannot be used.
    Cuda,
}

/// Something that maps a network input patch to a foreground mask. Implemented by the ONNX
/// Runtime network; the trait keeps the session independent of the runtime.
pub trait Network: Send {
    /// Run one patch: `input` is `[1, C, p0, p1, p2]` float32; returns the argmax mask
    /// (`logit1 > logit0`) of `p0*p1*p2` voxels.
    fn predict(&mut self, input: Vec<f32>) -> Result<Vec<u8>>;
    /// Human-readable description of where it runs.
    fn describe(&self) -> String;
}

/// An ONNX model opened in ONNX Runtime.
pub struct OrtNetwork {
    session: OrtSession,
    meta: ModelMetadata,
    provider: String,
}

impl OrtNetwork {
    /// Open `path`, read and validate its metadata against its input and output tensors.
    pub fn open(path: &Path, device: Device, num_threads: usize) -> Result<(Self, ModelMetadata)> {
        if !path.is_file() {
            return Err(Error::Model(format!(
                "model file {} does not exist",
                path.display()
            )));
        }
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Model(format!("cannot read {}: {e}", path.display())))?;
        Self::from_bytes(&bytes, &path.display().to_string(), device, num_threads)
    }

    /// Open a model held in memory; `label` names it in messages.
    pub fn from_bytes(
        bytes: &[u8],
        label: &str,
        device: Device,
        num_threads: usize,
    ) -> Result<(Self, ModelMetadata)> {
        let env = environment()?;
        let mut builder = OrtSession::builder(env).map_err(|e| Error::Runtime(e.to_string()))?;
        if num_threads > 0 {
            builder = builder
                .with_intra_threads(num_threads)
                .map_err(|e| Error::Runtime(e.to_string()))?;
        }
        let mut provider = "CPU".to_string();
        let use_cuda = match device {
            Device::Cpu => false,
            Device::Cuda => {
                if !matches!(
                    <ort::ep::CUDA as ort::ep::ExecutionProvider>::is_available(),
                    Ok(true)
                ) {
                    return Err(Error::Runtime(
                        "the CUDA execution provider is not available in this ONNX Runtime build (install the onnxruntime-gpu wheel's library and the CUDA runtime)".into(),
                    ));
                }
                true
            }
            Device::Auto => {
                let ok = matches!(
                    <ort::ep::CUDA as ort::ep::ExecutionProvider>::is_available(),
                    Ok(true)
                );
                if !ok {
                    provider =
                        "CPU; CUDA execution provider not available in this ONNX Runtime build"
                            .into();
                }
                ok
            }
        };
        if use_cuda {
            let ep = ort::ep::CUDA::default().build();
            let ep = if device == Device::Cuda {
                ep.error_on_failure()
            } else {
                ep
            };
            builder = builder
                .with_execution_providers([ep])
                .map_err(|e| Error::Runtime(e.to_string()))?;
            provider = "CUDA".into();
        }
        let session = builder
            .commit_from_memory(bytes)
            .map_err(|e| Error::Model(format!("ONNX Runtime cannot load {label}: {e}")))?;
        let meta_json = session
            .metadata()
            .map_err(|e| Error::Model(format!("cannot read metadata: {e}")))?
            .custom(METADATA_KEY)
            .ok_or_else(|| {
                Error::Model(format!("{label} has no `{METADATA_KEY}` metadata entry"))
            })?;
        let meta = ModelMetadata::from_json(&meta_json)?;
        let input_ok = session.inputs().iter().any(|i| i.name() == meta.input_name);
        let output_ok = session
            .outputs()
            .iter()
            .any(|o| o.name() == meta.output_name);
        if !input_ok || !output_ok {
            return Err(Error::Model(format!(
                "model tensors do not match the metadata (input `{}`, output `{}`)",
                meta.input_name, meta.output_name
            )));
        }
        Ok((
            OrtNetwork {
                session,
                meta: meta.clone(),
                provider,
            },
            meta,
        ))
    }
}

impl Network for OrtNetwork {
    fn predict(&mut self, input: Vec<f32>) -> Result<Vec<u8>> {
        let p = self.meta.patch_size;
        let c = self.meta.num_input_channels();
        let n = p[0] * p[1] * p[2];
        if input.len() != c * n {
            return Err(Error::Inference(format!(
                "input has {} values, expected {}",
                input.len(),
                c * n
            )));
        }
        let shape = vec![1i64, c as i64, p[0] as i64, p[1] as i64, p[2] as i64];
        let tensor = Tensor::from_array((shape, input.into_boxed_slice()))
            .map_err(|e| Error::Inference(e.to_string()))?;
        let input_name = self.meta.input_name.clone();
        let outputs = self
            .session
            .run(ort::inputs![input_name.as_str() => tensor])
            .map_err(|e| Error::Inference(e.to_string()))?;
        let out = outputs
            .get(self.meta.output_name.as_str())
            .ok_or_else(|| Error::Inference("the network produced no output".into()))?;
        let (oshape, data) = out
            .try_extract_tensor::<f32>()
            .map_err(|e| Error::Inference(e.to_string()))?;
        if data.len() != 2 * n {
            return Err(Error::Model(format!(
                "network output has shape {oshape:?}, expected [1, 2, {p:?}]"
            )));
        }
        let (bg, fg) = data.split_at(n);
        Ok(bg.iter().zip(fg).map(|(b, f)| u8::from(f > b)).collect())
    }

    fn describe(&self) -> String {
        format!("{} on ONNX Runtime ({})", self.meta.name, self.provider)
    }
}
