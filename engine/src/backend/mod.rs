//! Running the network: the [`Network`] seam the session predicts through, and the runtimes
//! behind it. [`open_network`] picks one from [`NetworkOptions`]:
//!
//! | precision | device | runtime |
//! |---|---|---|
//! | `Exact` | CPU | ONNX Runtime, float32 (the reference's results; exact conformance) |
//! | `Exact` | CUDA | ONNX Runtime CUDA, float32 |
//! | `Fast` | CPU | OpenVINO: bfloat16 where the CPU has it natively, else float32; ONNX Runtime float32 when OpenVINO cannot be loaded (the reason said in `describe`) |
//! | `Fast` | CUDA | ONNX Runtime CUDA, float32 (float16 is not built yet; said in `describe`) |
//!
//! An explicit [`BackendChoice`] overrides the runtime (an error when it cannot be used).

pub mod cancel;
pub mod cuda_libs;
pub mod locate;
pub mod onnxruntime;
pub mod openvino;
pub mod shared;

pub use self::cancel::{CancelToken, Interrupt};
pub use self::onnxruntime::{candidate_paths, init_runtime, OrtNetwork, ENV_ORT_PATH};
pub use self::openvino::{init_openvino, OpenVinoNetwork, ENV_OPENVINO_PATH};
pub use self::shared::SharedNetwork;

use crate::error::{Error, Result};
use crate::metadata::ModelMetadata;

/// Where the network runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// CUDA when available, else CPU.
    Auto,
    /// CPU only.
    Cpu,
    /// CUDA; an error when it cannot be used.
    Cuda,
}

/// How exactly the network is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Precision {
    /// float32: the reference's results (the default).
    #[default]
    Exact,
    /// Reduced precision where the hardware has it (bfloat16 on such CPUs): several times faster,
    /// masks within a Dice of about 0.99 of the exact ones.
    Fast,
}

/// Which runtime runs the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// Chosen from the precision and device (see the module table).
    #[default]
    Auto,
    /// ONNX Runtime.
    OnnxRuntime,
    /// OpenVINO (CPU only).
    OpenVino,
}

/// What [`open_network`] needs besides the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkOptions {
    /// Where to run.
    pub device: Device,
    /// How exactly.
    pub precision: Precision,
    /// Which runtime.
    pub backend: BackendChoice,
    /// Inference threads; 0 lets the runtime choose.
    pub num_threads: usize,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        NetworkOptions {
            device: Device::Auto,
            precision: Precision::Exact,
            backend: BackendChoice::Auto,
            num_threads: 0,
        }
    }
}

/// Something that maps a network input patch to a foreground mask. The session predicts through
/// it and knows nothing of the runtime behind it.
pub trait Network: Send {
    /// Run one patch: `input` is `[1, C, p0, p1, p2]` float32; returns the argmax mask
    /// (`logit1 > logit0`) of `p0*p1*p2` voxels.
    fn predict(&mut self, input: Vec<f32>) -> Result<Vec<u8>>;
    /// Human-readable description of where and how it runs.
    fn describe(&self) -> String;
    /// What stops a run under way from another thread, when the runtime allows it.
    fn interrupter(&self) -> Option<std::sync::Arc<dyn Interrupt>> {
        None
    }
}

/// A network whose description carries why the options asked for something else (a fallback).
struct WithNote {
    inner: Box<dyn Network>,
    note: String,
}

impl Network for WithNote {
    fn predict(&mut self, input: Vec<f32>) -> Result<Vec<u8>> {
        self.inner.predict(input)
    }

    fn describe(&self) -> String {
        format!("{}; {}", self.inner.describe(), self.note)
    }

    fn interrupter(&self) -> Option<std::sync::Arc<dyn Interrupt>> {
        self.inner.interrupter()
    }
}

fn noted(net: Box<dyn Network>, note: Option<String>) -> Box<dyn Network> {
    match note {
        Some(note) => Box::new(WithNote { inner: net, note }),
        None => net,
    }
}

/// The fast CPU path on OpenVINO: bfloat16 where the CPU has it, else float32 (still OpenVINO's
/// faster kernels) with the reason noted.
fn openvino_fast(
    bytes: &[u8],
    label: &str,
    meta: &ModelMetadata,
    threads: usize,
) -> Result<Box<dyn Network>> {
    let net = OpenVinoNetwork::from_bytes(bytes, label, meta.clone(), true, threads)?;
    let note = (!net.runs_bf16()).then(|| {
        "fast precision asked: this CPU has no native bfloat16, so OpenVINO runs float32"
            .to_string()
    });
    Ok(noted(Box::new(net), note))
}

/// Open the ONNX model in `bytes` (`label` names it in messages) on the runtime the options ask
/// for; returns the network and the model's metadata.
pub fn open_network(
    bytes: &[u8],
    label: &str,
    opts: &NetworkOptions,
) -> Result<(Box<dyn Network>, ModelMetadata)> {
    let mut meta = ModelMetadata::from_onnx(bytes, label)?;
    meta.sha256 = crate::session::log::sha256_hex(bytes);
    let threads = opts.num_threads;
    let ort = |device: Device, note: Option<String>| -> Result<Box<dyn Network>> {
        let net = OrtNetwork::from_bytes(bytes, label, meta.clone(), device, threads)?;
        Ok(noted(Box::new(net), note))
    };
    let fast = opts.precision == Precision::Fast;
    let net = match opts.backend {
        BackendChoice::OpenVino => {
            if opts.device == Device::Cuda {
                return Err(Error::InvalidArgument(
                    "the OpenVINO backend runs on the CPU only; ask for the CPU or auto device"
                        .into(),
                ));
            }
            if fast {
                openvino_fast(bytes, label, &meta, threads)?
            } else {
                Box::new(OpenVinoNetwork::from_bytes(
                    bytes,
                    label,
                    meta.clone(),
                    false,
                    threads,
                )?)
            }
        }
        BackendChoice::OnnxRuntime => {
            let note = fast.then(|| {
                "fast precision asked, running float32: ONNX Runtime has no reduced-precision CPU path"
                    .to_string()
            });
            ort(opts.device, note)?
        }
        BackendChoice::Auto if !fast => ort(opts.device, None)?,
        BackendChoice::Auto => {
            let cuda = opts.device == Device::Cuda
                || (opts.device == Device::Auto && onnxruntime::cuda_available());
            if cuda {
                ort(
                    opts.device,
                    Some(
                        "fast precision asked, running float32: float16 on CUDA is not built yet"
                            .into(),
                    ),
                )?
            } else {
                match openvino_fast(bytes, label, &meta, threads) {
                    Ok(net) => net,
                    Err(e) => ort(
                        Device::Cpu,
                        Some(format!("fast precision asked, running float32 on ONNX Runtime: OpenVINO is not usable ({e})")),
                    )?,
                }
            }
        }
    };
    Ok((net, meta))
}
