//! The ONNX Runtime backend: finds and loads libonnxruntime at run time (`ort` with
//! `load-dynamic`), opens the model with the CPU or CUDA execution provider and runs patches.
//! Memory: the CPU arena and the memory pattern are off (each forward of the released network
//! would otherwise keep gigabytes of activations reserved between clicks).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::{RunOptions, Session as OrtSession};
use ort::value::Tensor;

use crate::error::{Error, Result};
use crate::metadata::ModelMetadata;

use super::{Device, Interrupt, Network};

/// Environment variable naming the ONNX Runtime shared library.
pub const ENV_ORT_PATH: &str = "NNI_ONNXRUNTIME_PATH";

/// The ONNX Runtime environment and where its library came from, once loaded.
static ENVIRONMENT: OnceLock<(Environment, PathBuf)> = OnceLock::new();
/// Serialises load attempts.
static INIT: Mutex<()> = Mutex::new(());

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

/// Candidate library paths in resolution order: explicit, environment, next to this library.
pub fn candidate_paths(explicit: Option<&Path>) -> Vec<PathBuf> {
    super::locate::candidates(
        explicit,
        &[ENV_ORT_PATH, "ORT_DYLIB_PATH"],
        ort_library_name(),
    )
}

/// Load ONNX Runtime once per process. `explicit` (if given) wins over the environment variable
/// `NNI_ONNXRUNTIME_PATH`, which wins over a library next to libnninteractive. A failed load is
/// not remembered: a later call (a corrected path from a settings dialog) may succeed. After a
/// success, later calls return it; asking for a different explicit path then is an error.
pub fn init_runtime(explicit: Option<&Path>) -> Result<PathBuf> {
    // One attempt at a time; the environment, once made, is kept for the process.
    let _attempt = INIT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, path)) = ENVIRONMENT.get() {
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
        return Ok(path.clone());
    }
    let mut tried = Vec::new();
    for path in candidate_paths(explicit) {
        if !path.exists() {
            tried.push(format!("{} (not found)", path.display()));
            continue;
        }
        match ort::init_from(&path) {
            Ok(builder) => match builder.with_name("nninteractive").build() {
                Ok(env) => {
                    let _ = ENVIRONMENT.set((env, path.clone()));
                    return Ok(path);
                }
                Err(e) => tried.push(format!("{} failed to start: {e}", path.display())),
            },
            Err(e) => tried.push(format!("{}: {e}", path.display())),
        }
    }
    Err(Error::Runtime(format!(
        "no usable ONNX Runtime library; pass its path to nni_runtime_init or set {ENV_ORT_PATH}. Tried: {}",
        if tried.is_empty() { "nothing".to_string() } else { tried.join("; ") }
    )))
}

fn environment() -> Result<&'static Environment> {
    if let Some((env, _)) = ENVIRONMENT.get() {
        return Ok(env);
    }
    init_runtime(None)?;
    ENVIRONMENT
        .get()
        .map(|(env, _)| env)
        .ok_or_else(|| Error::Runtime("ONNX Runtime not initialised".into()))
}

fn runtime(e: impl std::fmt::Display) -> Error {
    Error::Runtime(e.to_string())
}

/// The model's input and output tensors against its metadata: names, element type float32 and
/// static shapes `[1, C, p0, p1, p2]` and `[1, 2, p0, p1, p2]`, so a disagreeing model is refused
/// when the session is made, not at the first prompt.
fn check_tensor(session: &OrtSession, meta: &ModelMetadata, label: &str) -> Result<()> {
    let p = meta.patch_size;
    let want_in = [1, meta.num_input_channels(), p[0], p[1], p[2]].map(|v| v as i64);
    let want_out = [1, 2, p[0], p[1], p[2]].map(|v| v as i64);
    for (outlets, name, want, what) in [
        (session.inputs(), &meta.input_name, want_in, "input"),
        (session.outputs(), &meta.output_name, want_out, "output"),
    ] {
        let outlet = outlets
            .iter()
            .find(|o| o.name() == name.as_str())
            .ok_or_else(|| {
                Error::Model(format!(
                    "{label} has no {what} tensor `{name}` (named in its metadata)"
                ))
            })?;
        let ty = outlet.dtype();
        let shape: Option<Vec<i64>> = ty.tensor_shape().map(|s| s.iter().copied().collect());
        let ok = ty.tensor_type() == Some(ort::value::TensorElementType::Float32)
            && shape.as_deref() == Some(&want[..]);
        if !ok {
            return Err(Error::Model(format!(
                "{label}: {what} `{name}` is {ty:?}, its metadata needs float32 {want:?}"
            )));
        }
    }
    Ok(())
}

/// The path ONNX Runtime was loaded from, once it is.
fn runtime_path() -> Option<&'static std::path::Path> {
    ENVIRONMENT.get().map(|(_, p)| p.as_path())
}

/// Whether ONNX Runtime (loaded on demand) offers the CUDA execution provider.
pub fn cuda_available() -> bool {
    environment().is_ok()
        && matches!(
            <ort::ep::CUDA as ort::ep::ExecutionProvider>::is_available(),
            Ok(true)
        )
}

/// ONNX Runtime's run options, whose terminate flag stops a run under way.
struct OrtInterrupt {
    options: RunOptions,
    interrupted: AtomicBool,
}

impl Interrupt for OrtInterrupt {
    fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        let _ = self.options.terminate();
    }

    fn rearm(&self) {
        self.interrupted.store(false, Ordering::SeqCst);
        let _ = self.options.unterminate();
    }
}

/// An ONNX model opened in ONNX Runtime.
pub struct OrtNetwork {
    session: OrtSession,
    meta: ModelMetadata,
    provider: String,
    interrupt: Arc<OrtInterrupt>,
}

impl OrtNetwork {
    /// Open a model held in memory (`label` names it in messages) whose metadata `meta` has been
    /// read from the same bytes; its input and output tensors are checked against `meta`.
    pub fn from_bytes(
        bytes: &[u8],
        label: &str,
        meta: ModelMetadata,
        device: Device,
        num_threads: usize,
    ) -> Result<Self> {
        let env = environment()?;
        let mut builder = OrtSession::builder(env)
            .map_err(runtime)?
            .with_memory_pattern(false)
            .map_err(runtime)?;
        if num_threads > 0 {
            builder = builder.with_intra_threads(num_threads).map_err(runtime)?;
        }
        let mut provider = "CPU".to_string();
        let build_has_cuda = matches!(
            <ort::ep::CUDA as ort::ep::ExecutionProvider>::is_available(),
            Ok(true)
        );
        let use_cuda = match device {
            Device::Cpu => false,
            Device::Cuda => {
                if !build_has_cuda {
                    return Err(Error::Runtime(format!(
                        "CUDA asked for, but the ONNX Runtime loaded from {} has no CUDA execution provider (it is the CPU build); tools/setup/gpu.sh installs the CUDA build (onnxruntime-gpu) and the CUDA 13 libraries into .deps/onnxruntime-gpu: point NNI_ONNXRUNTIME_PATH (or nni_runtime_init) at its libonnxruntime.so",
                        runtime_path().map_or("?".into(), |p| p.display().to_string())
                    )));
                }
                if let Some(missing) = super::cuda_libs::missing_message(runtime_path()) {
                    return Err(Error::Runtime(missing));
                }
                true
            }
            Device::Auto => {
                if !build_has_cuda {
                    provider =
                        "CPU; CUDA execution provider not available in this ONNX Runtime build"
                            .into();
                    false
                } else if let Some(missing) = super::cuda_libs::missing_message(runtime_path()) {
                    provider = format!("CPU; {missing}");
                    false
                } else {
                    true
                }
            }
        };
        let cpu = ort::ep::CPU::default().with_arena_allocator(false).build();
        let providers = if use_cuda {
            let ep = ort::ep::CUDA::default().build();
            let ep = if device == Device::Cuda {
                ep.error_on_failure()
            } else {
                ep
            };
            provider = "CUDA".into();
            vec![ep, cpu]
        } else {
            vec![cpu]
        };
        builder = builder
            .with_execution_providers(providers)
            .map_err(runtime)?;
        let session = builder
            .commit_from_memory(bytes)
            .map_err(|e| Error::Model(format!("ONNX Runtime cannot load {label}: {e}")))?;
        check_tensor(&session, &meta, label)?;
        let interrupt = Arc::new(OrtInterrupt {
            options: RunOptions::new().map_err(runtime)?,
            interrupted: AtomicBool::new(false),
        });
        Ok(OrtNetwork {
            session,
            meta,
            provider,
            interrupt,
        })
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
            .run_with_options(
                ort::inputs![input_name.as_str() => tensor],
                &self.interrupt.options,
            )
            .map_err(|e| {
                if self.interrupt.interrupted.load(Ordering::SeqCst) {
                    Error::Cancelled
                } else {
                    Error::Inference(e.to_string())
                }
            })?;
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
        format!(
            "{} on ONNX Runtime ({}, float32)",
            self.meta.name, self.provider
        )
    }

    fn interrupter(&self) -> Option<Arc<dyn Interrupt>> {
        Some(self.interrupt.clone())
    }
}
