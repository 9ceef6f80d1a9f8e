//! The prompt log: every call that changed the session since its image was set, in order, with
//! its arguments (coordinates in ITK/VTK `(i, j, k)`, masks as their region and a run-length
//! code), the settings that shape results, the model's SHA-256 and metadata, the library version
//! and hashes of the image and of the resulting mask. [`Session::export_log`] writes it as JSON;
//! [`replay`] applies its calls to a session on the same model and image, which gives the same
//! mask, bit for bit, with the same runtime and precision.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::backend::{BackendChoice, Device, NetworkOptions, Precision};
use crate::error::{Error, Result};
use crate::geometry::{nonzero_bbox, BBox};

use super::{MaskPrompt, Session};

/// The `format` of every log.
pub const LOG_FORMAT: &str = "nninteractive-native prompt log";
/// The log version written and read.
pub const LOG_VERSION: u32 = 1;

/// A log as written by [`Session::export_log`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PromptLog {
    /// [`LOG_FORMAT`].
    pub format: String,
    /// [`LOG_VERSION`].
    pub version: u32,
    /// Version of the library that wrote it.
    pub library_version: String,
    /// The model the session ran.
    pub model: LogModel,
    /// How the network ran.
    pub network: LogNetwork,
    /// AutoZoom when the image was set (later changes are calls).
    pub autozoom: bool,
    /// The image the prompts were made on.
    pub image: LogImage,
    /// The calls, oldest first.
    pub calls: Vec<LogCall>,
    /// The mask they made.
    pub mask: LogMask,
}

/// The model of a log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogModel {
    /// SHA-256 of the ONNX file (hex).
    pub sha256: String,
    /// The model's name.
    pub name: String,
    /// Its metadata as the file carries it.
    pub metadata: serde_json::Value,
}

/// The runtime settings of a log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogNetwork {
    /// `auto`, `cpu` or `cuda`.
    pub device: String,
    /// `exact` or `fast`.
    pub precision: String,
    /// `auto`, `onnxruntime` or `openvino`.
    pub backend: String,
    /// The network in words, as the session described it.
    pub description: String,
}

/// The image of a log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogImage {
    /// Size along i, j, k.
    pub dims_ijk: [usize; 3],
    /// SHA-256 of the normalised float32 voxels (little-endian, i fastest): the same for the
    /// same voxels whatever their type on input.
    pub sha256: String,
}

/// The mask of a log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogMask {
    /// SHA-256 of the mask bytes (i fastest).
    pub sha256: String,
    /// Nonzero voxels.
    pub foreground_voxels: usize,
}

/// One call of a log. Boxes and regions are half-open, `(i, j, k)`; masks are run-length codes
/// of their region's voxels (i fastest) as `[value, count]` pairs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum LogCall {
    /// A point.
    Point {
        /// Where.
        ijk: [f64; 3],
        /// Positive or negative.
        positive: bool,
        /// Whether it predicted.
        run_prediction: bool,
    },
    /// A box.
    Box {
        /// Lower corner.
        min_ijk: [f64; 3],
        /// Upper corner (exclusive).
        max_ijk: [f64; 3],
        /// Positive or negative.
        positive: bool,
        /// Whether it predicted.
        run_prediction: bool,
    },
    /// A scribble.
    Scribble {
        /// Its region's lower corner.
        min_ijk: [i64; 3],
        /// Its region's upper corner (exclusive).
        max_ijk: [i64; 3],
        /// The mask over the region.
        rle: Vec<[u32; 2]>,
        /// Positive or negative.
        positive: bool,
        /// Whether it predicted.
        run_prediction: bool,
    },
    /// A lasso.
    Lasso {
        /// Its region's lower corner.
        min_ijk: [i64; 3],
        /// Its region's upper corner (exclusive).
        max_ijk: [i64; 3],
        /// The mask over the region.
        rle: Vec<[u32; 2]>,
        /// Positive or negative.
        positive: bool,
        /// Whether it predicted.
        run_prediction: bool,
    },
    /// An initial segmentation (zero outside its region).
    InitialMask {
        /// Its region's lower corner.
        min_ijk: [i64; 3],
        /// Its region's upper corner (exclusive).
        max_ijk: [i64; 3],
        /// The mask over the region.
        rle: Vec<[u32; 2]>,
        /// Whether it predicted.
        run_prediction: bool,
    },
    /// A prediction on prompts queued without one.
    Predict {
        /// The reference's `force_full_refine`.
        force_full_refine: bool,
    },
    /// An undo that changed the session.
    Undo,
    /// A redo that changed the session.
    Redo,
    /// A reset.
    Reset,
    /// AutoZoom switched.
    Autozoom {
        /// On or off.
        on: bool,
    },
}

/// `[a0, a1, a2]` (engine axes) as `(i, j, k)`, and back (the same swap).
pub fn swap_axes<T: Copy>(v: [T; 3]) -> [T; 3] {
    [v[2], v[1], v[0]]
}

/// Run-length code of `data`: `[value, count]` pairs.
pub fn rle_encode(data: &[u8]) -> Vec<[u32; 2]> {
    let mut out: Vec<[u32; 2]> = Vec::new();
    for &v in data {
        match out.last_mut() {
            Some(last) if last[0] == v as u32 && last[1] < u32::MAX => last[1] += 1,
            _ => out.push([v as u32, 1]),
        }
    }
    out
}

/// The voxels of a run-length code, which must hold exactly `len` of them.
pub fn rle_decode(runs: &[[u32; 2]], len: usize) -> Result<Vec<u8>> {
    let total = runs
        .iter()
        .try_fold(0usize, |a, r| a.checked_add(r[1] as usize));
    if total != Some(len) {
        return Err(Error::InvalidArgument(format!(
            "a mask's run-length code holds {} voxels, its region {len}",
            total.map_or("too many".to_string(), |t| t.to_string())
        )));
    }
    let mut out = Vec::new();
    out.try_reserve_exact(len)
        .map_err(|_| Error::OutOfMemory(format!("cannot allocate a logged mask ({len} voxels)")))?;
    for r in runs {
        let v = u8::try_from(r[0])
            .map_err(|_| Error::InvalidArgument(format!("mask value {} is not a byte", r[0])))?;
        out.extend(std::iter::repeat_n(v, r[1] as usize));
    }
    Ok(out)
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of float32 voxels (little-endian), hex.
pub fn float32_sha256(data: &[f32]) -> String {
    let mut h = Sha256::new();
    let mut buf = Vec::with_capacity(1 << 16);
    for chunk in data.chunks(1 << 14) {
        buf.clear();
        for v in chunk {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        h.update(&buf);
    }
    hex(&h.finalize())
}

/// A mask prompt as logged: trimmed to its nonzero box (the same prompt: zeros outside it write
/// nothing and queue nothing), or its whole region when it is all zero.
pub(super) fn logged_mask(mask: &[u8], region: BBox) -> ([i64; 3], [i64; 3], Vec<[u32; 2]>) {
    let rs = region.shape();
    match nonzero_bbox(mask, rs, |v| v != 0) {
        Some(local) if local.voxels() < mask.len() => {
            let mut data = vec![0u8; local.voxels()];
            crate::geometry::copy_region_out(mask, rs, &local, &mut data);
            let b = local.offset(region.lo);
            (swap_axes(b.lo), swap_axes(b.hi), rle_encode(&data))
        }
        _ => (swap_axes(region.lo), swap_axes(region.hi), rle_encode(mask)),
    }
}

fn name_of(options: &NetworkOptions) -> (String, String, String) {
    let device = match options.device {
        Device::Auto => "auto",
        Device::Cpu => "cpu",
        Device::Cuda => "cuda",
    };
    let precision = match options.precision {
        Precision::Exact => "exact",
        Precision::Fast => "fast",
    };
    let backend = match options.backend {
        BackendChoice::Auto => "auto",
        BackendChoice::OnnxRuntime => "onnxruntime",
        BackendChoice::OpenVino => "openvino",
        BackendChoice::TensorRt => "tensorrt",
    };
    (device.into(), precision.into(), backend.into())
}

/// The network options a log names (for running its replay the same way).
pub fn options_of(network: &LogNetwork, num_threads: usize) -> Result<NetworkOptions> {
    let device = match network.device.as_str() {
        "auto" => Device::Auto,
        "cpu" => Device::Cpu,
        "cuda" => Device::Cuda,
        d => return Err(Error::InvalidArgument(format!("log: unknown device `{d}`"))),
    };
    let precision = match network.precision.as_str() {
        "exact" => Precision::Exact,
        "fast" => Precision::Fast,
        p => {
            return Err(Error::InvalidArgument(format!(
                "log: unknown precision `{p}`"
            )))
        }
    };
    let backend = match network.backend.as_str() {
        "auto" => BackendChoice::Auto,
        "onnxruntime" => BackendChoice::OnnxRuntime,
        "openvino" => BackendChoice::OpenVino,
        "tensorrt" => BackendChoice::TensorRt,
        b => {
            return Err(Error::InvalidArgument(format!(
                "log: unknown backend `{b}`"
            )))
        }
    };
    Ok(NetworkOptions {
        device,
        precision,
        backend,
        num_threads,
        warm_up: false,
    })
}

impl Session {
    /// The prompt log since the image was set, as JSON (see [`PromptLog`]). Hashes the image
    /// (about a second per GiB).
    pub fn export_log(&self) -> Result<String> {
        let st = self.state.as_ref().ok_or(Error::NoImage)?;
        let mask = self.mask().ok_or(Error::NoImage)?;
        let (device, precision, backend) = name_of(&self.network_options);
        let log = PromptLog {
            format: LOG_FORMAT.into(),
            version: LOG_VERSION,
            library_version: env!("CARGO_PKG_VERSION").into(),
            model: LogModel {
                sha256: self.meta.sha256.clone(),
                name: self.meta.name.clone(),
                metadata: self.meta.source.clone(),
            },
            network: LogNetwork {
                device,
                precision,
                backend,
                description: self.net.describe(),
            },
            autozoom: self.log_autozoom,
            image: LogImage {
                dims_ijk: swap_axes(st.image.shape),
                sha256: st.image.sha256().to_string(),
            },
            calls: self.log.clone(),
            mask: LogMask {
                sha256: sha256_hex(&mask),
                foreground_voxels: mask.iter().filter(|&&v| v != 0).count(),
            },
        };
        serde_json::to_string(&log)
            .map_err(|e| Error::Runtime(format!("cannot write the log: {e}")))
    }
}

/// Apply `log`'s calls, in order, to `session` (whose image and AutoZoom the caller has set as
/// the log says). An undo or redo that changes nothing here, where it did when logged, means the
/// replay diverged: an error.
pub fn replay(session: &mut Session, log: &PromptLog) -> Result<()> {
    let region = |lo: [i64; 3], hi: [i64; 3]| BBox::new(swap_axes(lo), swap_axes(hi));
    for (n, call) in log.calls.iter().enumerate() {
        let step = |e: Error| Error::InvalidArgument(format!("log call {n} ({call:?}): {e}"));
        match call {
            LogCall::Point {
                ijk,
                positive,
                run_prediction,
            } => session
                .add_point(swap_axes(*ijk), *positive, *run_prediction)
                .map(drop),
            LogCall::Box {
                min_ijk,
                max_ijk,
                positive,
                run_prediction,
            } => session
                .add_box(
                    swap_axes(*min_ijk),
                    swap_axes(*max_ijk),
                    *positive,
                    *run_prediction,
                )
                .map(drop),
            LogCall::Scribble {
                min_ijk,
                max_ijk,
                rle,
                positive,
                run_prediction,
            }
            | LogCall::Lasso {
                min_ijk,
                max_ijk,
                rle,
                positive,
                run_prediction,
            } => {
                let kind = if matches!(call, LogCall::Lasso { .. }) {
                    MaskPrompt::Lasso
                } else {
                    MaskPrompt::Scribble
                };
                let b = region(*min_ijk, *max_ijk);
                rle_decode(rle, b.voxels()).and_then(|m| {
                    session
                        .add_mask(kind, &m, Some(b), *positive, *run_prediction)
                        .map(drop)
                })
            }
            LogCall::InitialMask {
                min_ijk,
                max_ijk,
                rle,
                run_prediction,
            } => {
                let b = region(*min_ijk, *max_ijk);
                rle_decode(rle, b.voxels()).and_then(|m| {
                    session
                        .set_initial_mask_region(&m, Some(b), *run_prediction)
                        .map(drop)
                })
            }
            LogCall::Predict { force_full_refine } => {
                session.predict_queued(*force_full_refine).map(drop)
            }
            LogCall::Undo => session.undo().and_then(|done| {
                done.then_some(())
                    .ok_or_else(|| Error::InvalidArgument("nothing to undo here".into()))
            }),
            LogCall::Redo => session.redo().and_then(|done| {
                done.then_some(())
                    .ok_or_else(|| Error::InvalidArgument("nothing to redo here".into()))
            }),
            LogCall::Reset => session.reset(),
            LogCall::Autozoom { on } => {
                session.set_autozoom(*on);
                Ok(())
            }
        }
        .map_err(step)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rle_round_trips() {
        let data = [0u8, 0, 0, 1, 1, 2, 0, 0];
        let runs = rle_encode(&data);
        assert_eq!(runs, vec![[0, 3], [1, 2], [2, 1], [0, 2]]);
        assert_eq!(rle_decode(&runs, 8).unwrap(), data);
        assert!(rle_decode(&runs, 9).is_err());
        assert!(rle_decode(&[[300, 1]], 1).is_err());
        assert!(rle_decode(&[[0, u32::MAX], [0, u32::MAX]], 10).is_err());
        assert!(rle_encode(&[]).is_empty());
    }

    #[test]
    fn masks_are_logged_over_their_nonzero_box() {
        let region = BBox::new([1, 2, 3], [3, 5, 7]);
        let mut m = vec![0u8; region.voxels()];
        m[5] = 1; // local (0, 1, 1)
        let (lo, hi, rle) = logged_mask(&m, region);
        assert_eq!((lo, hi), ([4, 3, 1], [5, 4, 2]));
        assert_eq!(rle, vec![[1, 1]]);
        let zeros = vec![0u8; region.voxels()];
        let (lo, hi, rle) = logged_mask(&zeros, region);
        assert_eq!((lo, hi), ([3, 2, 1], [7, 5, 3]));
        assert_eq!(rle, vec![[0, 24]]);
    }
}
