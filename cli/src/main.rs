//! `nni`: segment a volume from prompts with nnInteractive, in process.
//!
//! `nni demo` runs the whole pipeline on the embedded default model and a generated phantom.
//! `nni segment --image CT.nii.gz --out mask.nii.gz --point 120,88,40 [...]` segments a file.
//! `nni serve --model M.onnx` serves nnInteractive's remote protocol (see `serve.rs`).
//! `nni replay --log LOG.json --image IMG --out MASK` makes a logged mask again (see `replay.rs`).

mod remote;
mod replay;
mod serve;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;

use nninteractive_engine::geometry::BBox;
use nninteractive_engine::phantom;
use nninteractive_engine::{BackendChoice, Device, MaskPrompt, NetworkOptions, Precision, Session};

use nni::preview::{self, Mark};
use nni::volume_io::{self, Volume, Voxels};

/// The embedded default model (`models/blob-grow-p32.onnx`: a region grower with known
/// behaviour, see models/README.md), used by `nni demo` and when `--model` is not given.
const DEFAULT_MODEL: &[u8] = include_bytes!("../../models/blob-grow-p32.onnx");

/// A session on the embedded default model.
fn open_default_session(opts: &NetworkOptions) -> nninteractive_engine::Result<Session> {
    nninteractive_engine::open_session_from_bytes(DEFAULT_MODEL, "embedded default model", opts)
}

#[derive(Parser)]
#[command(
    name = "nni",
    version,
    about = "nnInteractive 3D promptable segmentation, in process (ONNX Runtime)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Common {
    /// Device: auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Path of libonnxruntime (default: $NNI_ONNXRUNTIME_PATH, then next to the program).
    #[arg(long)]
    onnxruntime: Option<PathBuf>,
    /// Turn AutoZoom off.
    #[arg(long)]
    no_autozoom: bool,
    /// Fast mode: reduced precision where the hardware has it (bfloat16 on such CPUs, through
    /// OpenVINO; float16 on CUDA, from NAME.fp16.onnx beside the model); masks within a Dice of
    /// about 0.99 of the exact ones.
    #[arg(long)]
    fast: bool,
    /// Runtime: auto, onnxruntime, openvino or tensorrt (CUDA; engines cached in
    /// $NNI_TENSORRT_CACHE or ~/.cache/nninteractive/tensorrt).
    #[arg(long, default_value = "auto")]
    backend: String,
    /// Run one forward when the network is loaded, so the first prompt does not pay the
    /// runtime's one-time work (cuDNN's search on CUDA, a TensorRT engine).
    #[arg(long)]
    warm_up: bool,
    /// Path of libopenvino_c (default: $NNI_OPENVINO_PATH, then next to the program).
    #[arg(long)]
    openvino: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve nnInteractive's remote protocol (nninteractive-client 2.6.0) so napari, Slicer and
    /// MITK in remote mode use this engine: one network shared by every client session.
    Serve {
        #[command(flatten)]
        args: serve::ServeArgs,
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        remote: remote::RemoteArgs,
    },
    /// Make a logged mask again: apply a prompt log to its image (the same model and image,
    /// checked by their SHA-256) and write the mask, checked bit for bit against the log.
    Replay {
        #[command(flatten)]
        args: replay::ReplayArgs,
    },
    /// Segment a generated phantom with the embedded default model; writes the mask and a PNG of
    /// it with the prompts.
    Demo {
        /// Output folder.
        #[arg(long, default_value = "out")]
        out_dir: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Time each prompt of a prompts file on an image (JSON lines on stdout, peak memory at the end).
    Bench {
        /// ONNX model.
        #[arg(long)]
        model: PathBuf,
        /// Input volume (.npy or NIfTI).
        #[arg(long)]
        image: PathBuf,
        /// Prompts JSON (same format as `segment --prompts`).
        #[arg(long)]
        prompts: PathBuf,
        /// Inference threads (0 = ONNX Runtime's default).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Write the final mask here (.npy).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        remote: remote::RemoteArgs,
    },
    /// Segment a .nii/.nii.gz/.npy volume from prompts.
    Segment {
        /// ONNX model (default: the embedded default model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Input volume.
        #[arg(long)]
        image: PathBuf,
        /// Output mask (same format as the input).
        #[arg(long)]
        out: PathBuf,
        /// PNG preview: three orthogonal slices with the mask and the prompts.
        #[arg(long)]
        png: Option<PathBuf>,
        /// Positive point i,j,k (repeatable).
        #[arg(long = "point", value_parser = parse_ijk)]
        points: Vec<[i64; 3]>,
        /// Negative point i,j,k (repeatable).
        #[arg(long = "neg-point", value_parser = parse_ijk)]
        neg_points: Vec<[i64; 3]>,
        /// Positive box i0,j0,k0,i1,j1,k1 (half-open; repeatable).
        #[arg(long = "box", value_parser = parse_box)]
        boxes: Vec<[i64; 6]>,
        /// Prompts as JSON: {"prompts": [{"type": "point", "ijk": [i,j,k], "positive": true}, ...]}.
        #[arg(long)]
        prompts: Option<PathBuf>,
        /// Write the prompt log here (JSON; `nni replay` makes the mask again from it).
        #[arg(long)]
        log_out: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        remote: remote::RemoteArgs,
    },
}

#[derive(Deserialize)]
struct PromptFile {
    prompts: Vec<PromptSpec>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum PromptSpec {
    Point {
        ijk: [i64; 3],
        #[serde(default = "yes")]
        positive: bool,
    },
    Box {
        min: [i64; 3],
        max: [i64; 3],
        #[serde(default = "yes")]
        positive: bool,
    },
    Scribble {
        mask: PathBuf,
        #[serde(default = "yes")]
        positive: bool,
    },
    Lasso {
        mask: PathBuf,
        #[serde(default = "yes")]
        positive: bool,
    },
}

fn yes() -> bool {
    true
}

fn parse_ijk(s: &str) -> Result<[i64; 3], String> {
    let v: Vec<i64> = s
        .split(',')
        .map(|x| x.trim().parse::<i64>().map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    v.try_into().map_err(|_| "expected i,j,k".to_string())
}

fn parse_box(s: &str) -> Result<[i64; 6], String> {
    let v: Vec<i64> = s
        .split(',')
        .map(|x| x.trim().parse::<i64>().map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    v.try_into()
        .map_err(|_| "expected i0,j0,k0,i1,j1,k1".to_string())
}

/// A prompt in engine axes.
enum Prompt {
    Point([i64; 3], bool),
    Box([i64; 3], [i64; 3], bool),
    Mask(MaskPrompt, Vec<u8>, bool),
}

impl Prompt {
    /// How the preview draws it.
    fn mark(&self) -> Mark<'_> {
        match self {
            Prompt::Point(at, positive) => Mark::Point {
                at: *at,
                positive: *positive,
            },
            Prompt::Box(lo, hi, positive) => Mark::Box {
                lo: *lo,
                hi: *hi,
                positive: *positive,
            },
            Prompt::Mask(MaskPrompt::Scribble, mask, positive) => Mark::Scribble {
                mask,
                positive: *positive,
            },
            Prompt::Mask(MaskPrompt::Lasso, mask, positive) => Mark::Lasso {
                mask,
                positive: *positive,
            },
        }
    }
}

fn axes(v: [i64; 3]) -> [i64; 3] {
    [v[2], v[1], v[0]]
}

fn device(s: &str) -> Result<Device, String> {
    match s {
        "auto" => Ok(Device::Auto),
        "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::Cuda),
        o => Err(format!("unknown device `{o}` (auto, cpu, cuda)")),
    }
}

fn progress_bar(session: &mut Session) -> ProgressBar {
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {msg}")
            .unwrap()
            .progress_chars("=> "),
    );
    let b = bar.clone();
    session.set_progress(Some(Box::new(move |f, stage| {
        b.set_position((f * 1000.0) as u64);
        b.set_message(stage.to_string());
        false // go on (true would cancel)
    })));
    bar
}

fn run(
    session: &mut Session,
    vol: &Volume,
    prompts: &[Prompt],
    out: &Path,
    png: Option<&Path>,
) -> Result<(), String> {
    let shape = vol.shape;
    let t = Instant::now();
    session
        .set_image(vol.voxels.view(), shape)
        .map_err(|e| e.to_string())?;
    eprintln!(
        "image {}x{}x{} (i,j,k) set in {:.2} s; {}",
        shape[2],
        shape[1],
        shape[0],
        t.elapsed().as_secs_f64(),
        session.describe_network()
    );
    for (n, p) in prompts.iter().enumerate() {
        let bar = progress_bar(session);
        let t = Instant::now();
        let (what, r) = apply(session, p);
        bar.finish_and_clear();
        let changed = r.map_err(|e| format!("prompt {n} ({what}): {e}"))?;
        let fg = session
            .mask()
            .map(|m| m.iter().filter(|&&v| v != 0).count())
            .unwrap_or(0);
        eprintln!(
            "prompt {n} ({what}): {:.3} s, {fg} foreground voxels, changed region {}",
            t.elapsed().as_secs_f64(),
            changed
                .map(|b: BBox| format!("{:?}..{:?}", axes(b.lo), axes(b.hi)))
                .unwrap_or_else(|| "none".into())
        );
    }
    let mask = &*session.mask().ok_or("no mask")?;
    volume_io::write_mask(out, mask, shape, vol.nifti_header.as_ref())
        .map_err(|e| e.to_string())?;
    eprintln!("wrote {}", out.display());
    if let Some(png) = png {
        let marks: Vec<Mark> = prompts.iter().map(Prompt::mark).collect();
        let pic = preview::write_preview_png(png, &vol.voxels.to_f32(), mask, shape, &marks)
            .map_err(|e| e.to_string())?;
        let slices: Vec<&str> = pic.panels.iter().map(|p| p.label.as_str()).collect();
        eprintln!(
            "wrote {} ({}x{}: {})",
            png.display(),
            pic.width,
            pic.height,
            slices.join(", ")
        );
    }
    Ok(())
}

/// Apply one prompt (with prediction); returns its kind and the changed region.
fn apply(
    session: &mut Session,
    p: &Prompt,
) -> (&'static str, nninteractive_engine::Result<Option<BBox>>) {
    if let (Prompt::Point(a, _), Some(shape)) = (p, session.shape()) {
        if (0..3).any(|d| a[d] < 0 || a[d] >= shape[d] as i64) {
            let msg = format!(
                "point ({}, {}, {}) is outside the image ({} x {} x {})",
                a[2], a[1], a[0], shape[2], shape[1], shape[0]
            );
            return ("point", Err(nninteractive_engine::Error::OutOfBounds(msg)));
        }
    }
    let f = |v: [i64; 3]| [v[0] as f64, v[1] as f64, v[2] as f64];
    match p {
        Prompt::Point(a, pos) => ("point", session.add_point(f(*a), *pos, true)),
        Prompt::Box(lo, hi, pos) => ("box", session.add_box(f(*lo), f(*hi), *pos, true)),
        Prompt::Mask(MaskPrompt::Scribble, m, pos) => (
            "scribble",
            session.add_mask(MaskPrompt::Scribble, m, None, *pos, true),
        ),
        Prompt::Mask(MaskPrompt::Lasso, m, pos) => (
            "lasso",
            session.add_mask(MaskPrompt::Lasso, m, None, *pos, true),
        ),
    }
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

fn read_prompt_file(f: &Path, shape: [usize; 3]) -> Result<Vec<Prompt>, String> {
    let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
    let pf: PromptFile =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
    let base = f.parent().unwrap_or(Path::new("."));
    let mut list = Vec::new();
    for p in pf.prompts {
        list.push(match p {
            PromptSpec::Point { ijk, positive } => Prompt::Point(axes(ijk), positive),
            PromptSpec::Box { min, max, positive } => Prompt::Box(axes(min), axes(max), positive),
            PromptSpec::Scribble { mask, positive } => Prompt::Mask(
                MaskPrompt::Scribble,
                read_mask(&base.join(mask), shape)?,
                positive,
            ),
            PromptSpec::Lasso { mask, positive } => Prompt::Mask(
                MaskPrompt::Lasso,
                read_mask(&base.join(mask), shape)?,
                positive,
            ),
        });
    }
    Ok(list)
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = real_main(cli) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn backend(s: &str) -> Result<BackendChoice, String> {
    match s {
        "auto" => Ok(BackendChoice::Auto),
        "onnxruntime" => Ok(BackendChoice::OnnxRuntime),
        "openvino" => Ok(BackendChoice::OpenVino),
        "tensorrt" => Ok(BackendChoice::TensorRt),
        other => Err(format!(
            "unknown backend `{other}` (auto, onnxruntime, openvino or tensorrt)"
        )),
    }
}

fn network_options(common: &Common, threads: usize) -> Result<NetworkOptions, String> {
    if let Some(p) = common.openvino.as_deref() {
        nninteractive_engine::init_openvino(Some(p)).map_err(|e| e.to_string())?;
    }
    nninteractive_engine::init_runtime(common.onnxruntime.as_deref()).map_err(|e| e.to_string())?;
    Ok(NetworkOptions {
        device: device(&common.device)?,
        precision: if common.fast {
            Precision::Fast
        } else {
            Precision::Exact
        },
        backend: backend(&common.backend)?,
        num_threads: threads,
        warm_up: common.warm_up,
    })
}

fn init(
    common: &Common,
    threads: usize,
    session: impl FnOnce(&NetworkOptions) -> nninteractive_engine::Result<Session>,
) -> Result<Session, String> {
    let opts = network_options(common, threads)?;
    let mut s = session(&opts).map_err(|e| e.to_string())?;
    s.set_autozoom(!common.no_autozoom);
    Ok(s)
}

/// A session whose forwards run on a KServe v2 server (no runtime is loaded here).
/// The flags of the local network that a remote one does not use, as given (a warning each).
fn warn_local_flags_ignored(common: &Common, threads: usize) {
    let ignored: Vec<&str> = [
        (common.device != "auto", "--device"),
        (common.fast, "--fast"),
        (common.backend != "auto", "--backend"),
        (common.warm_up, "--warm-up"),
        (common.onnxruntime.is_some(), "--onnxruntime"),
        (common.openvino.is_some(), "--openvino"),
        (threads != 0, "--threads"),
    ]
    .into_iter()
    .filter_map(|(given, flag)| given.then_some(flag))
    .collect();
    if !ignored.is_empty() {
        eprintln!(
            "warning: {} ignored: with --network-url the network runs on the network server, as it is served there",
            ignored.join(", ")
        );
    }
}

fn open_remote_session(
    common: &Common,
    remote: &nninteractive_engine::RemoteOptions,
    model: Option<&Path>,
) -> Result<Session, String> {
    warn_local_flags_ignored(common, 0);
    let mut s =
        nninteractive_engine::open_session_remote(remote, model).map_err(|e| e.to_string())?;
    s.set_autozoom(!common.no_autozoom);
    Ok(s)
}

fn real_main(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Replay { args } => replay::run(args, DEFAULT_MODEL),
        Command::Serve {
            args,
            common,
            remote,
        } => match remote.options()? {
            Some(remote) => {
                warn_local_flags_ignored(&common, args.threads);
                serve::run(
                    args,
                    NetworkOptions::default(),
                    Some(remote),
                    !common.no_autozoom,
                )
            }
            None => {
                let opts = network_options(&common, args.threads)?;
                serve::run(args, opts, None, !common.no_autozoom)
            }
        },
        Command::Demo { out_dir, common } => {
            std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
            let mut session = init(&common, 0, open_default_session)?;
            let ph = phantom::demo_phantom();
            let vol = Volume {
                voxels: Voxels::I16(ph.image.clone()),
                shape: ph.shape,
                nifti_header: None,
            };
            let image_path = out_dir.join("demo_image.npy");
            volume_io::write_npy(&image_path, &ph.image, ph.shape).map_err(|e| e.to_string())?;
            eprintln!("phantom written to {}", image_path.display());
            // a click on the large object (bigger than the patch: AutoZoom grows), then a box on
            // the sphere's middle slice
            let prompts = vec![
                Prompt::Point([48, 40, 44], true),
                Prompt::Box([40, 64, 62], [41, 85, 83], true),
            ];
            run(
                &mut session,
                &vol,
                &prompts,
                &out_dir.join("demo_mask.npy"),
                Some(&out_dir.join("demo.png")),
            )?;
            let mask = &*session.mask().ok_or("no mask")?;
            let truth: Vec<u8> = ph
                .labels
                .iter()
                .map(|&l| u8::from(l == 1 || l == 2))
                .collect();
            eprintln!(
                "Dice against the two prompted objects: {:.4}",
                phantom::dice(mask, &truth)
            );
            Ok(())
        }
        Command::Bench {
            model,
            image,
            prompts,
            threads,
            out,
            common,
            remote,
        } => {
            let opened = Instant::now();
            let mut session = match remote.options()? {
                Some(r) => open_remote_session(&common, &r, Some(&model))?,
                None => init(&common, threads, |o| {
                    nninteractive_engine::open_session_with(&model, o)
                })?,
            };
            println!("network: {}", session.describe_network());
            println!(
                "{{\"step\": \"open\", \"seconds\": {:.4}}}",
                opened.elapsed().as_secs_f64()
            );
            let vol = volume_io::read_volume(&image).map_err(|e| e.to_string())?;
            let list = read_prompt_file(&prompts, vol.shape)?;
            let t = Instant::now();
            session
                .set_image(vol.voxels.view(), vol.shape)
                .map_err(|e| e.to_string())?;
            println!(
                "{{\"step\": \"set_image\", \"seconds\": {:.4}}}",
                t.elapsed().as_secs_f64()
            );
            for (n, p) in list.iter().enumerate() {
                let t = Instant::now();
                let (runs0, net0) = session.network_time();
                let (what, r) = apply(&mut session, p);
                r.map_err(|e| format!("prompt {n} ({what}): {e}"))?;
                let seconds = t.elapsed().as_secs_f64();
                let (runs1, net1) = session.network_time();
                let fg = session
                    .mask()
                    .map(|m| m.iter().filter(|&&v| v != 0).count())
                    .unwrap_or(0);
                println!(
                    "{{\"step\": \"{what}\", \"index\": {n}, \"seconds\": {seconds:.4}, \"network_seconds\": {:.4}, \"forwards\": {}, \"foreground\": {fg}}}",
                    (net1 - net0).as_secs_f64(),
                    runs1 - runs0
                );
            }
            println!("{{\"peak_rss_mib\": {:.1}}}", peak_rss_mib());
            if let Some(out) = out {
                volume_io::write_mask(&out, &session.mask().ok_or("no mask")?, vol.shape, None)
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        Command::Segment {
            model,
            image,
            out,
            png,
            points,
            neg_points,
            boxes,
            prompts,
            log_out,
            common,
            remote,
        } => {
            let mut session = match (remote.options()?, model) {
                (Some(r), m) => open_remote_session(&common, &r, m.as_deref())?,
                (None, Some(m)) => init(&common, 0, |o| {
                    nninteractive_engine::open_session_with(&m, o)
                })?,
                (None, None) => init(&common, 0, open_default_session)?,
            };
            let vol = volume_io::read_volume(&image).map_err(|e| e.to_string())?;
            let mut list = Vec::new();
            for p in points {
                list.push(Prompt::Point(axes(p), true));
            }
            for p in neg_points {
                list.push(Prompt::Point(axes(p), false));
            }
            for b in boxes {
                list.push(Prompt::Box(
                    axes([b[0], b[1], b[2]]),
                    axes([b[3], b[4], b[5]]),
                    true,
                ));
            }
            if let Some(f) = prompts {
                let text =
                    std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                let pf: PromptFile =
                    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
                for p in pf.prompts {
                    list.push(match p {
                        PromptSpec::Point { ijk, positive } => Prompt::Point(axes(ijk), positive),
                        PromptSpec::Box { min, max, positive } => {
                            Prompt::Box(axes(min), axes(max), positive)
                        }
                        PromptSpec::Scribble { mask, positive } => Prompt::Mask(
                            MaskPrompt::Scribble,
                            read_mask(&mask, vol.shape)?,
                            positive,
                        ),
                        PromptSpec::Lasso { mask, positive } => {
                            Prompt::Mask(MaskPrompt::Lasso, read_mask(&mask, vol.shape)?, positive)
                        }
                    });
                }
            }
            if list.is_empty() {
                return Err(
                    "no prompts given (use --point, --neg-point, --box or --prompts)".into(),
                );
            }
            run(&mut session, &vol, &list, &out, png.as_deref())?;
            if let Some(path) = log_out {
                let text = session.export_log().map_err(|e| e.to_string())?;
                std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
                eprintln!("prompt log written to {}", path.display());
            }
            Ok(())
        }
    }
}

fn read_mask(path: &Path, shape: [usize; 3]) -> Result<Vec<u8>, String> {
    let v = volume_io::read_volume(path).map_err(|e| e.to_string())?;
    if v.shape != shape {
        return Err(format!(
            "{}: mask shape {:?} differs from the image {:?}",
            path.display(),
            v.shape,
            shape
        ));
    }
    Ok(v.voxels
        .to_f32()
        .iter()
        .map(|&x| u8::from(x != 0.0))
        .collect())
}
