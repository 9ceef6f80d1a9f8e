//! Running the network: the [`Network`] seam the session predicts through, and the runtimes
//! behind it. [`open_network`] picks one from [`NetworkOptions`]:
//!
//! | precision | device | runtime |
//! |---|---|---|
//! | `Exact` | CPU | ONNX Runtime, float32 (the reference's results; exact conformance) |
//! | `Exact` | CUDA | ONNX Runtime CUDA, float32 |
//! | `Fast` | CPU | OpenVINO: bfloat16 where the CPU has it natively, else float32; ONNX Runtime float32 when OpenVINO cannot be loaded (the reason said in `describe`) |
//! | `Fast` | CUDA | ONNX Runtime CUDA running the float16 model `NAME.fp16.onnx` beside `NAME.onnx` (`tools/model/to_fp16.py`); float32 when there is none (said in `describe`) |
//!
//! An explicit [`BackendChoice`] overrides the runtime (an error when it cannot be used);
//! [`BackendChoice::TensorRt`] is the opt-in for TensorRT on CUDA (float16 in `Fast`), its
//! engines and timing caches kept in [`tensorrt_cache_dir`].

pub mod cancel;
pub mod cuda_libs;
pub mod locate;
pub mod onnxruntime;
pub mod openvino;
pub mod ort_runner;
pub mod remote;
pub mod shared;
pub mod timing;

pub use self::cancel::{CancelToken, Interrupt};
pub use self::onnxruntime::{
    candidate_paths, init_runtime, tensorrt_cache_dir, OrtConfig, OrtNetwork, ENV_ORT_PATH,
};
pub use self::openvino::{init_openvino, OpenVinoNetwork, ENV_OPENVINO_PATH};
pub use self::remote::{RemoteNetwork, RemoteOptions, RemotePool};
pub use self::shared::SharedNetwork;
pub use self::timing::NetworkClock;

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
    /// ONNX Runtime's TensorRT execution provider (CUDA only; TensorRT 10 must be loadable), with
    /// the CUDA provider and the CPU for what TensorRT does not take. `Fast` builds float16
    /// engines. The first session on a model builds its engine (minutes); later ones load it
    /// from [`tensorrt_cache_dir`].
    TensorRt,
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
    /// Run one forward when the network is opened, so the first click does not pay for the
    /// runtime's one-time work (cuDNN's convolution search, TensorRT's engine, OpenVINO's
    /// first-inference compilation).
    pub warm_up: bool,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        NetworkOptions {
            device: Device::Auto,
            precision: Precision::Exact,
            backend: BackendChoice::Auto,
            num_threads: 0,
            warm_up: false,
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
    /// A buffer for the next input: the last forward's, handed back so that its memory is reused
    /// (no patch-sized allocation per forward); empty when the runtime keeps none or it is in use.
    fn take_input_buffer(&mut self) -> Vec<f32> {
        Vec::new()
    }
    /// What stops a run under way from another thread, when the runtime allows it.
    fn interrupter(&self) -> Option<std::sync::Arc<dyn Interrupt>> {
        None
    }
}

/// Where a server's or a host's sessions get their networks: one loaded network shared by all
/// (forwards one at a time), or a remote model each session reaches on its own (forwards
/// concurrent, batched by the network server).
#[derive(Clone)]
pub enum NetworkSource {
    /// One network in this process.
    Shared(SharedNetwork),
    /// A model on a KServe v2 server.
    Remote(RemotePool),
}

impl NetworkSource {
    /// A network for one more session.
    pub fn handle(&self) -> Box<dyn Network> {
        match self {
            NetworkSource::Shared(s) => s.handle(),
            NetworkSource::Remote(r) => r.network(),
        }
    }

    /// Where the forwards run, in words.
    pub fn describe(&self) -> String {
        match self {
            NetworkSource::Shared(s) => s.describe(),
            NetworkSource::Remote(r) => r.describe(),
        }
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

    fn take_input_buffer(&mut self) -> Vec<f32> {
        self.inner.take_input_buffer()
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

/// The fast CPU path on OpenVINO: on a CPU with native bfloat16, the model's bfloat16 variant
/// (`NAME.bf16.onnx`, [`bfloat16_variant_path`]) in bfloat16; without the variant, or on a CPU
/// without bfloat16, the model in float32 (still OpenVINO's faster kernels), the reason noted.
fn openvino_fast(
    bytes: &[u8],
    label: &str,
    meta: &ModelMetadata,
    threads: usize,
    bfloat16: Option<&ModelVariant<'_>>,
) -> Result<Box<dyn Network>> {
    let why_float32 = if !openvino::cpu_has_bf16()? {
        "fast precision asked: this CPU has no native bfloat16, so OpenVINO runs float32"
            .to_string()
    } else if let Some(variant) = bfloat16 {
        let vmeta = checked_variant(meta, variant, "to_bf16.py", "bfloat16-plan", |m| {
            m.bfloat16_graph == Some(crate::metadata::Bfloat16Graph::Plan)
        })?;
        let net = OpenVinoNetwork::from_bytes(variant.bytes, variant.label, vmeta, true, threads)?;
        return Ok(Box::new(net));
    } else {
        format!(
            "fast precision asked, OpenVINO runs float32: no bfloat16 variant {} beside the model (tools/model/to_bf16.py makes it; bfloat16 on the plain graph misses the fidelity target)",
            bfloat16_variant_path(std::path::Path::new(label)).display()
        )
    };
    let net = OpenVinoNetwork::from_bytes(bytes, label, meta.clone(), false, threads)?;
    Ok(noted(Box::new(net), Some(why_float32)))
}

/// The metadata of `variant`, checked: `is_kind` holds for it (`kind` says what in messages), it
/// has `meta`'s network contract and it was made from the model file `meta` hashes (`tool` names
/// what makes the variant).
fn checked_variant(
    meta: &ModelMetadata,
    variant: &ModelVariant<'_>,
    tool: &str,
    kind: &str,
    is_kind: impl Fn(&ModelMetadata) -> bool,
) -> Result<ModelMetadata> {
    let vmeta = ModelMetadata::from_onnx(variant.bytes, variant.label)?;
    if !is_kind(&vmeta) {
        return Err(Error::Model(format!(
            "{}: its metadata does not say {kind}; make it with tools/model/{tool}",
            variant.label
        )));
    }
    if !meta.same_network_contract(&vmeta) {
        return Err(Error::Model(format!(
            "{} does not belong to {}: their metadata differ (patch size, channels or prompts); make it again with tools/model/{tool}",
            variant.label, meta.name
        )));
    }
    // Same contract but other weights (the model converted again, the variant left beside it):
    // only the model file's hash tells.
    match vmeta.source_sha256.as_deref() {
        Some(source) if source == meta.sha256 => Ok(vmeta),
        Some(source) => Err(Error::Model(format!(
            "{} was made from another model file (sha256 {source}), not {} (sha256 {}); make it again with tools/model/{tool}",
            variant.label, meta.name, meta.sha256
        ))),
        None => Err(Error::Model(format!(
            "{} does not say which model file it was made from (no source_sha256: an older tools/model/{tool}); make it again",
            variant.label
        ))),
    }
}

/// A variant of a model held in memory: the float16 one (`NAME.fp16.onnx` beside `NAME.onnx`)
/// or the bfloat16 one (`NAME.bf16.onnx`).
pub struct ModelVariant<'a> {
    /// The variant's ONNX bytes.
    pub bytes: &'a [u8],
    /// Its name in messages (the file's path).
    pub label: &'a str,
}

/// Where the float16 variant of the model file at `path` is looked for: `NAME.fp16.onnx` beside
/// `NAME.onnx` (what `tools/model/to_fp16.py` writes).
pub fn float16_variant_path(path: &std::path::Path) -> std::path::PathBuf {
    variant_path(path, "fp16")
}

/// `NAME.KIND.onnx` beside the model file `NAME.onnx` at `path`.
fn variant_path(path: &std::path::Path, kind: &str) -> std::path::PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}.{kind}.onnx"))
}

/// Where the bfloat16 variant of the model file at `path` is looked for: `NAME.bf16.onnx` beside
/// `NAME.onnx` (what `tools/model/to_bf16.py` writes).
pub fn bfloat16_variant_path(path: &std::path::Path) -> std::path::PathBuf {
    variant_path(path, "bf16")
}

/// Whether `opts` would run on OpenVINO in `Fast` precision on the CPU: then the bfloat16
/// variant of the model is used when there is one and the CPU has native bfloat16.
pub fn wants_bfloat16_variant(opts: &NetworkOptions) -> bool {
    opts.precision == Precision::Fast
        && match opts.backend {
            BackendChoice::OpenVino => opts.device != Device::Cuda,
            BackendChoice::Auto => match opts.device {
                Device::Cpu => true,
                Device::Auto => !onnxruntime::cuda_available(),
                Device::Cuda => false,
            },
            _ => false,
        }
}

/// The variants of a model that a session may run instead of it.
#[derive(Default)]
pub struct ModelVariants<'a> {
    /// For CUDA in `Fast` precision.
    pub float16: Option<ModelVariant<'a>>,
    /// For OpenVINO in `Fast` precision on a CPU with native bfloat16.
    pub bfloat16: Option<ModelVariant<'a>>,
}

/// Whether `opts` would run on CUDA through ONNX Runtime's CUDA provider in `Fast` precision:
/// then a float16 variant of the model is used when there is one.
pub fn wants_float16_variant(opts: &NetworkOptions) -> bool {
    opts.precision == Precision::Fast
        && matches!(
            opts.backend,
            BackendChoice::Auto | BackendChoice::OnnxRuntime
        )
        && match opts.device {
            Device::Cuda => true,
            Device::Auto => onnxruntime::cuda_available(),
            Device::Cpu => false,
        }
}

/// The bytes of the model file at `path` (a missing or unreadable file is [`Error::Model`]).
pub fn read_model_file(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Model(format!("cannot read {}: {e}", path.display())))
}

/// The metadata the ONNX model in `bytes` carries (`label` names it in messages), with the
/// model's SHA-256 (what prompt logs name it by).
pub fn model_metadata(bytes: &[u8], label: &str) -> Result<ModelMetadata> {
    let mut meta = ModelMetadata::from_onnx(bytes, label)?;
    meta.sha256 = crate::session::log::sha256_hex(bytes);
    Ok(meta)
}

/// Read the model file at `path` and, when `opts` would use them, its float16 and bfloat16
/// variants; then [`open_network_with`].
pub fn open_network_file(
    path: &std::path::Path,
    opts: &NetworkOptions,
) -> Result<(Box<dyn Network>, ModelMetadata)> {
    let read = read_model_file;
    let read_if = |wanted: bool, p: &std::path::Path| -> Result<Option<(Vec<u8>, String)>> {
        if wanted && p.is_file() {
            Ok(Some((read(p)?, p.display().to_string())))
        } else {
            Ok(None)
        }
    };
    let bytes = read(path)?;
    let label = path.display().to_string();
    let float16 = read_if(wants_float16_variant(opts), &float16_variant_path(path))?;
    let bfloat16 = read_if(wants_bfloat16_variant(opts), &bfloat16_variant_path(path))?;
    fn as_variant(v: &Option<(Vec<u8>, String)>) -> Option<ModelVariant<'_>> {
        v.as_ref()
            .map(|(bytes, label)| ModelVariant { bytes, label })
    }
    open_network_with(
        &bytes,
        &label,
        opts,
        ModelVariants {
            float16: as_variant(&float16),
            bfloat16: as_variant(&bfloat16),
        },
    )
}

/// Open the ONNX model in `bytes` (`label` names it in messages) on the runtime the options ask
/// for; returns the network and the model's metadata.
pub fn open_network(
    bytes: &[u8],
    label: &str,
    opts: &NetworkOptions,
) -> Result<(Box<dyn Network>, ModelMetadata)> {
    open_network_with(bytes, label, opts, ModelVariants::default())
}

/// [`open_network`], with the model's variants: float16 for CUDA and bfloat16 for OpenVINO, in
/// `Fast` precision (ignored otherwise). The metadata returned is the model's own (its SHA-256
/// among it), whichever file runs; a variant must agree with it on everything but the weights.
pub fn open_network_with(
    bytes: &[u8],
    label: &str,
    opts: &NetworkOptions,
    variants: ModelVariants<'_>,
) -> Result<(Box<dyn Network>, ModelMetadata)> {
    let meta = model_metadata(bytes, label)?;
    let threads = opts.num_threads;
    let ort = |device: Device, note: Option<String>| -> Result<Box<dyn Network>> {
        let config = OrtConfig {
            device,
            tensorrt: false,
            precision: opts.precision,
        };
        let net = OrtNetwork::from_bytes(bytes, label, meta.clone(), config, threads)?;
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
                openvino_fast(bytes, label, &meta, threads, variants.bfloat16.as_ref())?
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
        BackendChoice::TensorRt => {
            if opts.device == Device::Cpu {
                return Err(Error::InvalidArgument(
                    "the TensorRT backend runs on CUDA only; ask for the CUDA or auto device"
                        .into(),
                ));
            }
            let config = OrtConfig {
                device: Device::Cuda,
                tensorrt: true,
                precision: opts.precision,
            };
            Box::new(OrtNetwork::from_bytes(
                bytes,
                label,
                meta.clone(),
                config,
                threads,
            )?)
        }
        BackendChoice::OnnxRuntime | BackendChoice::Auto if wants_float16_variant(opts) => {
            match variants.float16 {
                Some(variant) => Box::new(open_float16_variant(&meta, &variant, opts, threads)?),
                None => ort(
                    opts.device,
                    Some(format!(
                        "fast precision asked, running float32: no float16 model {} beside it (tools/model/to_fp16.py makes one)",
                        float16_variant_path(std::path::Path::new(label)).display()
                    )),
                )?,
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
        BackendChoice::Auto => match openvino_fast(
            bytes,
            label,
            &meta,
            threads,
            variants.bfloat16.as_ref(),
        ) {
            Ok(net) => net,
            Err(e) => ort(
                Device::Cpu,
                Some(format!("fast precision asked, running float32 on ONNX Runtime: OpenVINO is not usable ({e})")),
            )?,
        },
    };
    let net = if opts.warm_up {
        warm_up(net, &meta)?
    } else {
        net
    };
    Ok((net, meta))
}

/// The float16 variant on CUDA, checked against the model's metadata.
fn open_float16_variant(
    meta: &ModelMetadata,
    variant: &ModelVariant<'_>,
    opts: &NetworkOptions,
    threads: usize,
) -> Result<OrtNetwork> {
    let vmeta = checked_variant(meta, variant, "to_fp16.py", "float16 weights", |m| {
        m.float16_weights
    })?;
    let config = OrtConfig {
        device: opts.device,
        tensorrt: false,
        precision: opts.precision,
    };
    OrtNetwork::from_bytes(variant.bytes, variant.label, vmeta, config, threads)
}

/// Run one forward of zeros (the runtime's one-time work is done by it) and say how long it took.
fn warm_up(mut net: Box<dyn Network>, meta: &ModelMetadata) -> Result<Box<dyn Network>> {
    let p = meta.patch_size;
    let n = meta.num_input_channels() * p[0] * p[1] * p[2];
    let input = crate::alloc::zeroed::<f32>(n, "the warm-up input")?;
    let start = std::time::Instant::now();
    net.predict(input)?;
    let note = format!(
        "warmed up at creation ({:.2} s)",
        start.elapsed().as_secs_f64()
    );
    Ok(noted(net, Some(note)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_bytes(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../models/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    /// The test model's bytes, when ONNX Runtime can be loaded (else the test is skipped).
    fn blob_with_runtime() -> Option<Vec<u8>> {
        if init_runtime(None).is_err() {
            eprintln!("skipped: no ONNX Runtime");
            return None;
        }
        Some(model_bytes("blob-grow-p32.onnx"))
    }

    fn cpu() -> NetworkOptions {
        NetworkOptions {
            device: Device::Cpu,
            num_threads: 1,
            ..NetworkOptions::default()
        }
    }

    #[test]
    fn the_float16_variant_lies_beside_the_model() {
        let p = std::path::Path::new("/models/resencl.onnx");
        assert_eq!(
            float16_variant_path(p),
            std::path::Path::new("/models/resencl.fp16.onnx")
        );
        let fast_cpu = NetworkOptions {
            precision: Precision::Fast,
            ..cpu()
        };
        assert!(!wants_float16_variant(&fast_cpu));
        assert!(!wants_float16_variant(&cpu()));
    }

    #[test]
    fn the_bfloat16_variant_lies_beside_the_model_and_serves_fast_on_the_cpu() {
        assert_eq!(
            bfloat16_variant_path(std::path::Path::new("/m/net.onnx")),
            std::path::PathBuf::from("/m/net.bf16.onnx")
        );
        let fast_cpu = NetworkOptions {
            precision: Precision::Fast,
            ..cpu()
        };
        assert!(wants_bfloat16_variant(&fast_cpu));
        assert!(!wants_bfloat16_variant(&cpu()));
        for backend in [BackendChoice::OnnxRuntime, BackendChoice::TensorRt] {
            assert!(!wants_bfloat16_variant(&NetworkOptions {
                backend,
                ..fast_cpu
            }));
        }
    }

    #[test]
    fn a_bfloat16_variant_must_say_so_and_belong_to_the_model() {
        let Some(fp32) = blob_with_runtime() else {
            return;
        };
        let meta = ModelMetadata::from_onnx(&fp32, "fp32").unwrap();
        let plain = ModelVariant {
            bytes: &fp32,
            label: "net.bf16.onnx",
        };
        let is_plan =
            |m: &ModelMetadata| m.bfloat16_graph == Some(crate::metadata::Bfloat16Graph::Plan);
        let err = checked_variant(&meta, &plain, "to_bf16.py", "bfloat16-plan", is_plan)
            .expect_err("refused");
        assert!(
            err.to_string().contains("does not say bfloat16-plan"),
            "{err}"
        );
        // The real one is accepted for its own model only.
        let bf16 = model_bytes("blob-grow-p32.bf16.onnx");
        let real = ModelVariant {
            bytes: &bf16,
            label: "net.bf16.onnx",
        };
        let mut own = meta.clone();
        own.sha256 = crate::session::log::sha256_hex(&fp32);
        checked_variant(&own, &real, "to_bf16.py", "bfloat16-plan", is_plan).expect("accepted");
        let err = checked_variant(&meta, &real, "to_bf16.py", "bfloat16-plan", is_plan)
            .expect_err("refused");
        assert!(
            err.to_string().contains("was made from another model file"),
            "{err}"
        );
    }

    #[test]
    fn a_float16_variant_is_checked_against_the_model() {
        let Some(fp32) = blob_with_runtime() else {
            return;
        };
        let fp16 = model_bytes("blob-grow-p32.fp16.onnx");
        let mut meta = ModelMetadata::from_onnx(&fp32, "fp32").unwrap();
        meta.sha256 = crate::session::log::sha256_hex(&fp32);
        assert!(!meta.float16_weights);
        let variant = |bytes| ModelVariant {
            bytes,
            label: "variant.fp16.onnx",
        };
        // A float32 file is no float16 variant.
        let err = open_float16_variant(&meta, &variant(&fp32), &cpu(), 1)
            .err()
            .expect("refused");
        assert!(
            err.to_string().contains("does not say float16 weights"),
            "{err}"
        );
        // The real one opens and says what it computes in.
        let net = open_float16_variant(&meta, &variant(&fp16), &cpu(), 1).unwrap();
        assert!(net.describe().contains("float16"), "{}", net.describe());
        // One of another network is refused, naming both.
        let mut other = meta.clone();
        other.patch_size = [64, 64, 64];
        let err = open_float16_variant(&other, &variant(&fp16), &cpu(), 1)
            .err()
            .expect("refused");
        assert!(err.to_string().contains("does not belong to"), "{err}");
        // Same contract, another model file (converted again, the variant left beside it).
        let mut reconverted = meta.clone();
        reconverted.sha256 = "0".repeat(64);
        let err = open_float16_variant(&reconverted, &variant(&fp16), &cpu(), 1)
            .err()
            .expect("refused");
        assert!(
            err.to_string().contains("was made from another model file"),
            "{err}"
        );
    }

    #[test]
    fn warm_up_runs_a_forward_and_says_so() {
        let Some(bytes) = blob_with_runtime() else {
            return;
        };
        let opts = NetworkOptions {
            warm_up: true,
            ..cpu()
        };
        let (net, _) = open_network(&bytes, "blob", &opts).unwrap();
        assert!(
            net.describe().contains("warmed up at creation ("),
            "{}",
            net.describe()
        );
        let (net, _) = open_network(&bytes, "blob", &cpu()).unwrap();
        assert!(!net.describe().contains("warmed up"), "{}", net.describe());
    }

    #[test]
    fn cuda_and_tensorrt_requests_on_a_cpu_build_say_what_is_missing() {
        let Ok(path) = init_runtime(None) else {
            eprintln!("skipped: no ONNX Runtime");
            return;
        };
        if onnxruntime::cuda_available() {
            eprintln!("skipped: this ONNX Runtime has CUDA");
            return;
        }
        let bytes = model_bytes("blob-grow-p32.onnx");
        for backend in [BackendChoice::OnnxRuntime, BackendChoice::TensorRt] {
            let opts = NetworkOptions {
                device: Device::Cuda,
                backend,
                ..cpu()
            };
            let err = open_network(&bytes, "blob", &opts).err().expect("refused");
            let msg = err.to_string();
            assert!(matches!(err, Error::Runtime(_)), "{msg}");
            let named = if backend == BackendChoice::TensorRt {
                "no TensorRT execution provider"
            } else {
                "no CUDA execution provider"
            };
            assert!(
                msg.contains(named) && msg.contains(&path.display().to_string()),
                "{msg}"
            );
        }
        let opts = NetworkOptions {
            backend: BackendChoice::TensorRt,
            ..cpu()
        };
        let err = open_network(&bytes, "blob", &opts).err().expect("refused");
        assert!(err.to_string().contains("CUDA only"), "{err}");
    }
}
