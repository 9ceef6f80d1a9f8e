//! `nni replay`: apply a prompt log (written by `nni_session_export_log`, a binding's
//! `export_log`, or `nni segment --log-out`) to its image again and write the mask, refusing a log
//! whose model or image is not the one given, and checking the result against the logged mask.

use std::path::{Path, PathBuf};

use nninteractive_engine::session::log::{self, PromptLog, LOG_FORMAT, LOG_VERSION};
use nninteractive_engine::Session;

use nni::volume_io;

/// The flags of `nni replay`.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The prompt log (JSON).
    #[arg(long)]
    pub log: PathBuf,
    /// The image the log was made on (.nii, .nii.gz or .npy).
    #[arg(long)]
    pub image: PathBuf,
    /// The model the log was made with (default: the embedded default model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Where to write the mask (same format as the image).
    #[arg(long)]
    pub out: PathBuf,
    /// Inference threads (0: the runtime's default).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

fn read_log(path: &Path) -> Result<PromptLog, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let log: PromptLog = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a prompt log: {e}", path.display()))?;
    if log.format != LOG_FORMAT || log.version != LOG_VERSION {
        return Err(format!(
            "{}: format `{}` version {}, this nni reads `{LOG_FORMAT}` version {LOG_VERSION}",
            path.display(),
            log.format,
            log.version
        ));
    }
    Ok(log)
}

/// Replay `args.log` on `args.image`; `default_model` is the embedded model's bytes.
pub fn run(args: ReplayArgs, default_model: &[u8]) -> Result<(), String> {
    nninteractive_engine::init_runtime(None).map_err(|e| e.to_string())?;
    let log = read_log(&args.log)?;
    let options = log::options_of(&log.network, args.threads).map_err(|e| e.to_string())?;
    // A model file opens as a session on it would (its float16 or bfloat16 variant beside it, as
    // the options ask). Opening hashes the model (its metadata's sha256): compared here, not
    // hashed twice.
    let (session, label) = match &args.model {
        Some(m) => (
            nninteractive_engine::open_session_with(m, &options),
            m.display().to_string(),
        ),
        None => {
            let label = "the embedded default model";
            (
                nninteractive_engine::open_session_from_bytes(default_model, label, &options),
                label.to_string(),
            )
        }
    };
    let mut session: Session = session.map_err(|e| e.to_string())?;
    let model_sha = &session.metadata().sha256;
    if *model_sha != log.model.sha256 {
        return Err(format!(
            "refused: the log was made with model `{}` (sha256 {}), {label} has sha256 {model_sha}; give the log's model with --model",
            log.model.name, log.model.sha256
        ));
    }
    let vol = volume_io::read_volume(&args.image).map_err(|e| e.to_string())?;
    session.set_autozoom(log.autozoom);
    session
        .set_image(vol.voxels.view(), vol.shape)
        .map_err(|e| e.to_string())?;
    let image = session.image().ok_or("no image")?;
    let dims = log::swap_axes(vol.shape);
    if dims != log.image.dims_ijk || image.sha256() != log.image.sha256 {
        return Err(format!(
            "refused: the log was made on an image of {:?} voxels (i, j, k) with sha256 {}; {} has {dims:?} voxels and sha256 {}",
            log.image.dims_ijk,
            log.image.sha256,
            args.image.display(),
            image.sha256()
        ));
    }
    eprintln!(
        "replaying {} calls with {} ({})",
        log.calls.len(),
        log.model.name,
        session.describe_network()
    );
    log::replay(&mut session, &log).map_err(|e| e.to_string())?;
    let mask = session.mask().ok_or("no mask")?;
    let sha = log::sha256_hex(&mask);
    volume_io::write_mask(&args.out, &mask, vol.shape, vol.nifti_header.as_ref())
        .map_err(|e| e.to_string())?;
    if sha != log.mask.sha256 {
        return Err(format!(
            "the replayed mask (sha256 {sha}) differs from the logged one ({}); written to {} anyway",
            log.mask.sha256,
            args.out.display()
        ));
    }
    eprintln!(
        "mask written to {}: the logged mask, bit for bit ({} foreground voxels, sha256 {sha})",
        args.out.display(),
        log.mask.foreground_voxels
    );
    Ok(())
}
