//! The OpenVINO backend, for the CPU: the OpenVINO runtime is loaded at run time (the `openvino`
//! crate with `runtime-linking`) from the libraries of the `openvino` PyPI wheel, found as ONNX
//! Runtime is (a path from the host, `NNI_OPENVINO_PATH`, next to this library). It reads the
//! ONNX file itself and compiles it for the CPU in float32 (precision hint `f32`: OpenVINO would
//! otherwise pick bfloat16 on CPUs that have it) or in bfloat16 (the fast mode).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use openvino::{
    CompiledModel, Core, DeviceType, ElementType, InferRequest, InferenceError, InferenceErrorKind,
    PropertyKey, RwPropertyKey, Shape, Tensor,
};

use crate::error::{Error, Result};
use crate::metadata::ModelMetadata;

use super::{Interrupt, Network};

/// How long one wait for a running request lasts before the cancel flag is looked at again.
const POLL_MS: i64 = 50;

/// A cancel request for the forward under way: the forward runs asynchronously and is polled;
/// when this is set, the request is cancelled (OpenVINO stops between the graph's nodes).
#[derive(Default)]
struct OvInterrupt {
    requested: AtomicBool,
}

impl Interrupt for OvInterrupt {
    fn interrupt(&self) {
        self.requested.store(true, Ordering::SeqCst);
    }

    fn rearm(&self) {
        self.requested.store(false, Ordering::SeqCst);
    }
}

/// Environment variable naming the OpenVINO C library (`libopenvino_c.so`).
pub const ENV_OPENVINO_PATH: &str = "NNI_OPENVINO_PATH";

/// File name of the OpenVINO C library looked for next to this library.
const LIBRARY_NAME: &str = "libopenvino_c.so";

/// Where OpenVINO was loaded from, once it was. A failed load is not remembered: a later call
/// (with a corrected path) may succeed.
static LOADED: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Load the OpenVINO runtime once per process: `explicit`, else `NNI_OPENVINO_PATH`, else
/// `libopenvino_c.so` next to this library. Returns where it was loaded from.
pub fn init_openvino(explicit: Option<&Path>) -> Result<PathBuf> {
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = loaded.as_ref() {
        if let Some(p) = explicit {
            if std::fs::canonicalize(p).ok() != std::fs::canonicalize(path).ok() {
                return Err(Error::Runtime(format!(
                    "OpenVINO is already loaded from {}; it cannot be switched to {} in this process",
                    path.display(),
                    p.display()
                )));
            }
        }
        return Ok(path.clone());
    }
    let candidates = super::locate::candidates(explicit, &[ENV_OPENVINO_PATH], LIBRARY_NAME);
    let mut tried = Vec::new();
    for path in candidates {
        if !path.exists() {
            tried.push(format!("{} (not found)", path.display()));
            continue;
        }
        match openvino_sys::library::load_from(path.clone()) {
            Ok(()) => {
                *loaded = Some(path.clone());
                return Ok(path);
            }
            Err(e) => tried.push(format!("{}: {e}", path.display())),
        }
    }
    Err(Error::Runtime(format!(
        "no usable OpenVINO runtime; set {ENV_OPENVINO_PATH} to libopenvino_c.so (tools/setup/core.sh installs it into .deps/openvino). Tried: {}",
        if tried.is_empty() { "nothing".to_string() } else { tried.join("; ") }
    )))
}

fn runtime(e: impl std::fmt::Display) -> Error {
    Error::Runtime(format!("OpenVINO: {e}"))
}

/// Whether this CPU runs bfloat16 natively in OpenVINO (its `OPTIMIZATION_CAPABILITIES`). Asked
/// of OpenVINO once per process (a session's opening asks it to choose the file it compiles, and
/// again to choose the precision); a failed query is not remembered.
pub fn cpu_has_bf16() -> Result<bool> {
    static HAS_BF16: OnceLock<bool> = OnceLock::new();
    if let Some(has) = HAS_BF16.get() {
        return Ok(*has);
    }
    init_openvino(None)?;
    let caps = Core::new()
        .map_err(runtime)?
        .get_property(&DeviceType::CPU, &PropertyKey::DeviceCapabilities)
        .map_err(runtime)?;
    Ok(*HAS_BF16.get_or_init(|| caps.split_whitespace().any(|c| c == "BF16")))
}

/// An ONNX model compiled by OpenVINO for the CPU, with one inference request and its input tensor
/// kept across forwards.
pub struct OpenVinoNetwork {
    request: InferRequest,
    input: Tensor,
    _compiled: CompiledModel,
    _core: Core,
    meta: ModelMetadata,
    /// Compiled in bfloat16 (else float32).
    bf16: bool,
    version: String,
    interrupt: Arc<OvInterrupt>,
}

// SAFETY: the OpenVINO objects are owned by this value alone and used by one thread at a time
// (the session serialises forwards); OpenVINO's core, compiled model and requests may be used
// from any thread.
unsafe impl Send for OpenVinoNetwork {}

impl OpenVinoNetwork {
    /// Compile the ONNX model in `bytes` (`label` names it in messages; `meta` read from the same
    /// bytes) for the CPU: in bfloat16 when `want_bf16` and the CPU has it natively, else float32
    /// ([`OpenVinoNetwork::runs_bf16`] tells which).
    pub fn from_bytes(
        bytes: &[u8],
        label: &str,
        meta: ModelMetadata,
        want_bf16: bool,
        num_threads: usize,
    ) -> Result<Self> {
        init_openvino(None)?;
        let mut core = Core::new().map_err(runtime)?;
        let bf16 = want_bf16 && cpu_has_bf16()?;
        let precision = if bf16 { "bf16" } else { "f32" };
        let cpu = DeviceType::CPU;
        core.set_property(&cpu, &RwPropertyKey::HintInferencePrecision, precision)
            .map_err(runtime)?;
        core.set_property(&cpu, &RwPropertyKey::HintPerformanceMode, "LATENCY")
            .map_err(runtime)?;
        if num_threads > 0 {
            core.set_property(
                &cpu,
                &RwPropertyKey::InferenceNumThreads,
                &num_threads.to_string(),
            )
            .map_err(runtime)?;
        }
        let model = core
            .read_model_from_buffer(bytes, None)
            .map_err(|e| Error::Model(format!("OpenVINO cannot read {label}: {e}")))?;
        let p = meta.patch_size;
        let c = meta.num_input_channels();
        let want_in = [1, c, p[0], p[1], p[2]];
        let want_out = [1, 2, p[0], p[1], p[2]];
        let port_shape =
            |name: &str,
             count: usize,
             get: &dyn Fn(
                usize,
            )
                -> std::result::Result<openvino::Node, openvino::InferenceError>|
             -> Result<Vec<i64>> {
                for i in 0..count {
                    let node = get(i).map_err(runtime)?;
                    if node.get_name().map_err(runtime)? == name {
                        let shape = node.get_shape().map_err(runtime)?;
                        return Ok(shape.get_dimensions().to_vec());
                    }
                }
                Err(Error::Model(format!("{label} has no tensor `{name}`")))
            };
        let in_shape = port_shape(
            &meta.input_name,
            model.get_inputs_len().map_err(runtime)?,
            &|i| model.get_input_by_index(i),
        )?;
        let out_shape = port_shape(
            &meta.output_name,
            model.get_outputs_len().map_err(runtime)?,
            &|i| model.get_output_by_index(i),
        )?;
        let as_i64 = |v: [usize; 5]| v.map(|x| x as i64).to_vec();
        if in_shape != as_i64(want_in) || out_shape != as_i64(want_out) {
            return Err(Error::Model(format!(
                "{label}: input {in_shape:?} and output {out_shape:?} disagree with the metadata (input {want_in:?}, output {want_out:?})"
            )));
        }
        let mut compiled = core.compile_model(&model, cpu).map_err(runtime)?;
        drop(model);
        let request = compiled.create_infer_request().map_err(runtime)?;
        let input = Tensor::new(
            ElementType::F32,
            &Shape::new(&as_i64(want_in)).map_err(runtime)?,
        )
        .map_err(runtime)?;
        // "2026.4.1-22982-e213a14-releases/2026/4": the release number is enough.
        let build = openvino::version().build_number;
        let version = build.split('-').next().unwrap_or(&build).to_string();
        Ok(OpenVinoNetwork {
            request,
            input,
            _compiled: compiled,
            _core: core,
            meta,
            bf16,
            version,
            interrupt: Arc::new(OvInterrupt::default()),
        })
    }
}

impl OpenVinoNetwork {
    /// Run the request asynchronously, polling the cancel flag; a cancel stops it between the
    /// graph's nodes and waits until it has stopped (the request is then idle, ready for reuse).
    fn run_interruptibly(&mut self) -> Result<()> {
        let inference = |e: InferenceError| Error::Inference(format!("OpenVINO: {e}"));
        let not_ready = |e: &InferenceError| e.kind == InferenceErrorKind::ResultNotReady;
        if self.interrupt.requested.load(Ordering::SeqCst) {
            return Err(Error::Cancelled);
        }
        self.request.infer_async().map_err(inference)?;
        loop {
            match self.request.wait(POLL_MS) {
                Ok(()) => return Ok(()),
                Err(e) if not_ready(&e) => {
                    if self.interrupt.requested.load(Ordering::SeqCst) {
                        let _ = self.request.cancel();
                        // Until the request is idle again (finished or cancelled).
                        while matches!(self.request.wait(POLL_MS), Err(ref e) if not_ready(e)) {}
                        return Err(Error::Cancelled);
                    }
                }
                Err(_) if self.interrupt.requested.load(Ordering::SeqCst) => {
                    return Err(Error::Cancelled);
                }
                Err(e) => return Err(inference(e)),
            }
        }
    }

    /// Whether the network was compiled in bfloat16 (else float32).
    pub fn runs_bf16(&self) -> bool {
        self.bf16
    }
}

impl Network for OpenVinoNetwork {
    fn predict(&mut self, input: Vec<f32>) -> Result<Vec<u8>> {
        let p = self.meta.patch_size;
        let n = p[0] * p[1] * p[2];
        let inference = |e: openvino::InferenceError| Error::Inference(format!("OpenVINO: {e}"));
        {
            let dst = self.input.get_data_mut::<f32>().map_err(inference)?;
            if dst.len() != input.len() {
                return Err(Error::Inference(format!(
                    "input has {} values, expected {}",
                    input.len(),
                    dst.len()
                )));
            }
            dst.copy_from_slice(&input);
        }
        drop(input);
        self.request
            .set_tensor(&self.meta.input_name, &self.input)
            .map_err(inference)?;
        self.run_interruptibly()?;
        let out = self
            .request
            .get_tensor(&self.meta.output_name)
            .map_err(inference)?;
        let data = out.get_data::<f32>().map_err(inference)?;
        if data.len() != 2 * n {
            return Err(Error::Model(format!(
                "network output has {} values, expected 2 x {p:?}",
                data.len()
            )));
        }
        let (bg, fg) = data.split_at(n);
        Ok(bg.iter().zip(fg).map(|(b, f)| u8::from(f > b)).collect())
    }

    fn interrupter(&self) -> Option<Arc<dyn Interrupt>> {
        Some(self.interrupt.clone())
    }

    fn describe(&self) -> String {
        let arithmetic = match (self.bf16, self.meta.bfloat16_graph) {
            (false, _) => "float32",
            (true, Some(crate::metadata::Bfloat16Graph::Plan)) => {
                "bfloat16, the full-resolution decoder float32"
            }
            (true, _) => "bfloat16",
        };
        format!(
            "{} on OpenVINO {} (CPU, {arithmetic})",
            self.meta.name, self.version
        )
    }
}
