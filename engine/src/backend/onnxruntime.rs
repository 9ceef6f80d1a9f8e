//! The ONNX Runtime backend: finds and loads libonnxruntime at run time (`ort` with
//! `load-dynamic`), opens the model with the CPU or CUDA execution provider and runs patches.
//! Memory: the CPU arena and the memory pattern are off (each forward of the released network
//! would otherwise keep gigabytes of activations reserved between clicks).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use ort::environment::Environment;
use ort::session::{RunOptions, Session as OrtSession};
use ort::value::Tensor;

use crate::error::{Error, Result};
use crate::metadata::ModelMetadata;

use super::{Device, Interrupt, Network};

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

/// Candidate library paths in resolution order: explicit, environment, next to this library.
pub fn candidate_paths(explicit: Option<&Path>) -> Vec<PathBuf> {
    super::locate::candidates(
        explicit,
        &[ENV_ORT_PATH, "ORT_DYLIB_PATH"],
        ort_library_name(),
    )
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

fn runtime(e: impl std::fmt::Display) -> Error {
    Error::Runtime(e.to_string())
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
