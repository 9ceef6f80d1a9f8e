//! The ONNX Runtime backend: finds and loads libonnxruntime at run time (`ort` with
//! `load-dynamic`), opens the model with the CPU, CUDA or TensorRT execution provider and runs
//! patches.
//!
//! Memory: the CPU arena and the memory pattern are off (each forward of the released network
//! would otherwise keep gigabytes of activations reserved between clicks).
//!
//! Forwards run on a worker thread of the network's own ([`super::ort_runner`]): a cancel returns
//! at once while the terminated run ends after its graph node. Inputs are read in place on the
//! CPU and staged through page-locked memory on CUDA; the input buffer is handed back for the
//! next forward ([`Network::take_input_buffer`]), so no patch-sized input is allocated (and its
//! pages faulted in) per forward.
//!
//! CUDA: cuDNN's exhaustive convolution algorithm search with its largest workspace (the search
//! runs at the first forward of each shape: see [`super::NetworkOptions::warm_up`]); TF32
//! convolutions only in `Fast` precision, so `Exact` computes float32. TensorRT (opt-in):
//! engines and timing caches in [`tensorrt_cache_dir`], float16 engines in `Fast`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session as OrtSession;

use crate::error::{Error, Result};
use crate::metadata::ModelMetadata;

use super::ort_runner::{IoPath, OrtInterrupt, Runner, Worker};
use super::{Device, Interrupt, Network, Precision};

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

/// Where ONNX Runtime was loaded from, for messages ("?" before it is).
fn runtime_label() -> String {
    runtime_path().map_or("?".into(), |p| p.display().to_string())
}

/// Whether ONNX Runtime (loaded on demand) offers the CUDA execution provider.
pub fn cuda_available() -> bool {
    environment().is_ok()
        && matches!(
            <ort::ep::CUDA as ort::ep::ExecutionProvider>::is_available(),
            Ok(true)
        )
}

/// Environment variable naming the folder of TensorRT's engine and timing caches.
pub const ENV_TENSORRT_CACHE: &str = "NNI_TENSORRT_CACHE";

/// Where TensorRT's engines and timing caches are kept: `$NNI_TENSORRT_CACHE`, else
/// `$XDG_CACHE_HOME/nninteractive/tensorrt`, else `~/.cache/nninteractive/tensorrt`, else the
/// system's temporary folder. An engine is specific to the model, the GPU and the TensorRT
/// version; TensorRT names and checks them itself.
pub fn tensorrt_cache_dir() -> PathBuf {
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(dir) = nonempty(ENV_TENSORRT_CACHE) {
        return PathBuf::from(dir);
    }
    let base = nonempty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| nonempty("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("nninteractive").join("tensorrt")
}

/// How an [`OrtNetwork`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrtConfig {
    /// CPU, CUDA, or CUDA when available.
    pub device: Device,
    /// TensorRT first (CUDA only), then CUDA, then the CPU.
    pub tensorrt: bool,
    /// `Fast` allows TF32 convolutions on CUDA and float16 TensorRT engines.
    pub precision: Precision,
}

/// An ONNX model opened in ONNX Runtime; its forwards run on a worker thread of its own
/// ([`super::ort_runner`]), so a cancel returns at once.
pub struct OrtNetwork {
    meta: ModelMetadata,
    provider: String,
    /// What the network computes in, in words ("float32", "float16 weights", ...).
    arithmetic: String,
    interrupt: Arc<OrtInterrupt>,
    worker: Worker,
    /// The input buffer of the last forward, for the session's next input.
    spare_input: Vec<f32>,
}

/// Whether ONNX Runtime, as loaded, can use CUDA for `device`: Some(reason) when it cannot, for
/// the description; an error when CUDA was demanded.
fn cuda_unusable(device: Device) -> Result<Option<String>> {
    let build_has_cuda = matches!(
        <ort::ep::CUDA as ort::ep::ExecutionProvider>::is_available(),
        Ok(true)
    );
    match device {
        Device::Cpu => Ok(Some(String::new())),
        Device::Cuda => {
            if !build_has_cuda {
                return Err(Error::Runtime(format!(
                    "CUDA asked for, but the ONNX Runtime loaded from {} has no CUDA execution provider (it is the CPU build); tools/setup/gpu.sh installs the CUDA build (onnxruntime-gpu) and the CUDA 13 libraries into .deps/onnxruntime-gpu: point NNI_ONNXRUNTIME_PATH (or nni_runtime_init) at its libonnxruntime.so",
                    runtime_label()
                )));
            }
            if let Some(missing) = super::cuda_libs::missing_message(runtime_path()) {
                return Err(Error::Runtime(missing));
            }
            Ok(None)
        }
        Device::Auto => {
            if !build_has_cuda {
                Ok(Some(
                    "CUDA execution provider not available in this ONNX Runtime build".into(),
                ))
            } else {
                Ok(super::cuda_libs::missing_message(runtime_path()))
            }
        }
    }
}

impl OrtNetwork {
    /// Open a model held in memory (`label` names it in messages) whose metadata `meta` has been
    /// read from the same bytes; its input and output tensors are checked against `meta`.
    pub fn from_bytes(
        bytes: &[u8],
        label: &str,
        meta: ModelMetadata,
        config: OrtConfig,
        num_threads: usize,
    ) -> Result<Self> {
        Self::open(bytes, label, meta, config, num_threads, false)
    }

    /// [`Self::from_bytes`]; `stage_on_host` stages the input through host memory as on CUDA
    /// through page-locked memory (for tests of that path on the CPU).
    fn open(
        bytes: &[u8],
        label: &str,
        meta: ModelMetadata,
        config: OrtConfig,
        num_threads: usize,
        stage_on_host: bool,
    ) -> Result<Self> {
        let env = environment()?;
        let mut builder = OrtSession::builder(env)
            .map_err(runtime)?
            .with_memory_pattern(false)
            .map_err(runtime)?;
        if num_threads > 0 {
            builder = builder.with_intra_threads(num_threads).map_err(runtime)?;
        }
        let fast = config.precision == Precision::Fast;
        let cpu = ort::ep::CPU::default().with_arena_allocator(false).build();
        let mut arithmetic = if meta.float16_weights {
            "float16 convolutions".to_string()
        } else if meta.bfloat16_graph == Some(crate::metadata::Bfloat16Graph::Emulated) {
            "float32 with OpenVINO's bfloat16 rounding emulated".to_string()
        } else {
            "float32".to_string()
        };
        let (providers, provider, on_cuda) = if config.tensorrt {
            if !matches!(
                <ort::ep::TensorRT as ort::ep::ExecutionProvider>::is_available(),
                Ok(true)
            ) {
                return Err(Error::Runtime(format!(
                    "TensorRT asked for, but the ONNX Runtime loaded from {} has no TensorRT execution provider; use the CUDA build from tools/setup/gpu.sh",
                    runtime_label()
                )));
            }
            cuda_unusable(Device::Cuda)?;
            if let Some(missing) = super::cuda_libs::missing_tensorrt_message(runtime_path()) {
                return Err(Error::Runtime(missing));
            }
            let cache = tensorrt_cache_dir();
            std::fs::create_dir_all(&cache).map_err(|e| {
                Error::Runtime(format!(
                    "cannot make TensorRT's cache folder {} ({e}); set {ENV_TENSORRT_CACHE}",
                    cache.display()
                ))
            })?;
            let cache_str = cache.display().to_string();
            let trt = ort::ep::TensorRT::default()
                .with_engine_cache(true)
                .with_engine_cache_path(&cache_str)
                .with_timing_cache(true)
                .with_timing_cache_path(&cache_str)
                .with_fp16(fast)
                .build()
                .error_on_failure();
            if fast {
                arithmetic = "float16 (TensorRT engine)".into();
            }
            let cuda = cuda_provider(fast).build().error_on_failure();
            (
                vec![trt, cuda, cpu],
                format!("TensorRT, engine cache {cache_str}"),
                true,
            )
        } else {
            match cuda_unusable(config.device)? {
                Some(reason) if reason.is_empty() => (vec![cpu], "CPU".to_string(), false),
                Some(reason) => (vec![cpu], format!("CPU; {reason}"), false),
                None => {
                    let ep = cuda_provider(fast).build();
                    let ep = if config.device == Device::Cuda {
                        ep.error_on_failure()
                    } else {
                        ep
                    };
                    if fast && !meta.float16_weights {
                        arithmetic = "float32, TF32 convolutions".into();
                    }
                    (vec![ep, cpu], "CUDA".to_string(), true)
                }
            }
        };
        builder = builder
            .with_execution_providers(providers)
            .map_err(runtime)?;
        let session = builder
            .commit_from_memory(bytes)
            .map_err(|e| Error::Model(format!("ONNX Runtime cannot load {label}: {e}")))?;
        check_tensor(&session, &meta, label)?;
        let interrupt = Arc::new(OrtInterrupt::default());
        let io = if on_cuda {
            IoPath::pinned()?
        } else if stage_on_host {
            IoPath::host_staged()?
        } else {
            IoPath::InPlace
        };
        let worker = Worker::spawn(Runner {
            session,
            io,
            meta: meta.clone(),
            interrupt: interrupt.clone(),
        })?;
        Ok(OrtNetwork {
            meta,
            provider,
            arithmetic,
            interrupt,
            worker,
            spare_input: Vec::new(),
        })
    }
}

/// The CUDA provider as this engine uses it: exhaustive cuDNN search with the largest
/// workspace; TF32 only when `fast`.
fn cuda_provider(fast: bool) -> ort::ep::CUDA {
    ort::ep::CUDA::default()
        .with_conv_algorithm_search(ort::ep::cuda::ConvAlgorithmSearch::Exhaustive)
        .with_conv_max_workspace(true)
        .with_tf32(fast)
}

impl Network for OrtNetwork {
    fn predict(&mut self, input: Vec<f32>) -> Result<Vec<u8>> {
        let p = self.meta.patch_size;
        let c = self.meta.num_input_channels();
        if input.len() != c * p[0] * p[1] * p[2] {
            return Err(Error::Inference(format!(
                "input has {} values, expected {}",
                input.len(),
                c * p[0] * p[1] * p[2]
            )));
        }
        let (back, result) = self.worker.run(input, [1, c, p[0], p[1], p[2]]);
        self.spare_input = back;
        result
    }

    fn take_input_buffer(&mut self) -> Vec<f32> {
        std::mem::take(&mut self.spare_input)
    }

    fn describe(&self) -> String {
        format!(
            "{} on ONNX Runtime ({}, {})",
            self.meta.name, self.provider, self.arithmetic
        )
    }

    fn interrupter(&self) -> Option<Arc<dyn Interrupt>> {
        Some(self.interrupt.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob() -> Option<(Vec<u8>, ModelMetadata)> {
        if init_runtime(None).is_err() {
            eprintln!("skipped: no ONNX Runtime");
            return None;
        }
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/blob-grow-p32.onnx"
        ))
        .unwrap();
        let meta = ModelMetadata::from_onnx(&bytes, "blob").unwrap();
        Some((bytes, meta))
    }

    /// A bright ball (channel 0) and a positive point at its centre (channel 4), 32^3.
    fn ball_input(meta: &ModelMetadata) -> Vec<f32> {
        let n = 32 * 32 * 32;
        let mut input = vec![0f32; meta.num_input_channels() * n];
        for (v, x) in input[..n].iter_mut().enumerate() {
            let (i, j, k) = (v % 32, v / 32 % 32, v / 1024);
            let d = [i, j, k].map(|c| c as f32 - 15.5);
            if d.iter().map(|c| c * c).sum::<f32>() < 64.0 {
                *x = 1.0;
            }
        }
        input[4 * n + 15 + 32 * (15 + 32 * 15)] = 1.0;
        input
    }

    #[test]
    fn staged_and_in_place_inputs_agree_and_buffers_are_reused() {
        let Some((bytes, meta)) = blob() else {
            return;
        };
        let config = OrtConfig {
            device: Device::Cpu,
            tensorrt: false,
            precision: Precision::Exact,
        };
        let mut in_place = OrtNetwork::from_bytes(&bytes, "blob", meta.clone(), config, 1).unwrap();
        let mut staged = OrtNetwork::open(&bytes, "blob", meta.clone(), config, 1, true).unwrap();
        let input = ball_input(&meta);
        let expected = in_place.predict(input.clone()).unwrap();
        assert!(expected.iter().filter(|&&v| v != 0).count() > 1000);
        // The staged input's new contents are seen on every forward.
        let mut no_prompt = input.clone();
        no_prompt[32 * 32 * 32..].fill(0.0);
        for round in 0..2 {
            assert_eq!(
                staged.predict(input.clone()).unwrap(),
                expected,
                "round {round}"
            );
            let empty = staged.predict(no_prompt.clone()).unwrap();
            assert!(
                empty.iter().all(|&v| v == 0),
                "round {round}: no prompt, no mask"
            );
        }
        // The in-place path hands the input's memory back for the next forward.
        let buf = ball_input(&meta);
        let at = buf.as_ptr();
        assert_eq!(in_place.predict(buf).unwrap(), expected);
        let again = in_place.take_input_buffer();
        assert_eq!(again.as_ptr(), at);
        assert!(in_place.take_input_buffer().is_empty(), "handed out once");
        // A wrong-sized input is refused, and nothing is lost.
        assert!(matches!(
            staged.predict(vec![0.0; 7]),
            Err(Error::Inference(_))
        ));
        assert_eq!(staged.predict(input).unwrap(), expected);
    }

    #[test]
    fn a_cancel_returns_while_the_node_under_way_still_runs() {
        if blob().is_none() {
            return;
        }
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/slow-conv-p32.onnx"
        ))
        .unwrap();
        let meta = ModelMetadata::from_onnx(&bytes, "slow").unwrap();
        let config = OrtConfig {
            device: Device::Cpu,
            tensorrt: false,
            precision: Precision::Exact,
        };
        let mut net = OrtNetwork::from_bytes(&bytes, "slow", meta.clone(), config, 1).unwrap();
        let input = vec![0.5f32; meta.num_input_channels() * 32 * 32 * 32];
        // Cancel once the forward (one heavy convolution node) is under way.
        let interrupt = net.interrupt.clone();
        let canceller = std::thread::spawn(move || {
            while !interrupt.running() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            interrupt.interrupt();
        });
        let outcome = net.predict(input.clone());
        canceller.join().unwrap();
        assert!(matches!(outcome, Err(Error::Cancelled)), "{outcome:?}");
        assert!(
            net.worker.busy_with_a_cancelled_forward(),
            "the cancel returned before the node under way had finished"
        );
        // The next forward waits for the terminated one, then runs in full.
        net.interrupt.rearm();
        let mask = net.predict(input).unwrap();
        assert_eq!(mask.len(), 32 * 32 * 32);
        assert!(!net.worker.busy_with_a_cancelled_forward());
    }
}
