//! Model metadata that travels inside the ONNX file (`nninteractive.meta`, see docs/model-format.md).

use serde::Deserialize;
use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// Most interaction channels a model may declare (nnInteractive has 7).
pub const MAX_INTERACTION_CHANNELS: usize = 64;

/// Largest network input one patch may need (float32, all channels): 4 GiB, against 226 MB for
/// the released 192^3 network.
pub const MAX_PATCH_INPUT_BYTES: usize = 4 << 30;

/// Key of the ONNX `metadata_props` entry that holds the JSON metadata.
pub const METADATA_KEY: &str = "nninteractive.meta";

/// Prompt kinds a model may support (the reference's `SUPPORTED_INTERACTION_KEYS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    /// Point clicks.
    Points,
    /// Boxes with at least one axis of size 1.
    BBox2d,
    /// Boxes with no axis of size 1.
    BBox3d,
    /// Scribble masks.
    Scribble,
    /// Lasso (filled contour) masks.
    Lasso,
}

impl PromptKind {
    /// The reference's name for this kind.
    pub fn key(self) -> &'static str {
        match self {
            PromptKind::Points => "points",
            PromptKind::BBox2d => "bbox2d",
            PromptKind::BBox3d => "bbox3d",
            PromptKind::Scribble => "scribble",
            PromptKind::Lasso => "lasso",
        }
    }
}

#[derive(Deserialize)]
struct RawMeta {
    format: Option<u32>,
    name: Option<String>,
    patch_size: Vec<i64>,
    num_image_channels: Option<usize>,
    num_interaction_channels: Option<usize>,
    channel_mapping: Option<BTreeMap<String, serde_json::Value>>,
    supported_interactions: Option<BTreeMap<String, bool>>,
    supports_initial_label: Option<bool>,
    point_radius: Option<f64>,
    interaction_decay: Option<f64>,
    pad_mode_image: Option<String>,
    preferred_scribble_thickness: Option<serde_json::Value>,
    supports_zero_shot_label_refinement: Option<bool>,
    license: Option<String>,
    input_name: Option<String>,
    output_name: Option<String>,
    weights: Option<String>,
    source_sha256: Option<String>,
}

/// Resolved model metadata: everything the engine needs besides the network itself.
#[derive(Clone, Debug)]
pub struct ModelMetadata {
    /// Human-readable model name.
    pub name: String,
    /// Static network patch size, reference axis order.
    pub patch_size: [usize; 3],
    /// Number of image channels at the front of the network input (1 for nnInteractive).
    pub num_image_channels: usize,
    /// Number of interaction channels, prev_seg included.
    pub num_interaction_channels: usize,
    /// Interaction channel of the previous segmentation.
    pub prev_seg_channel: usize,
    /// (positive, negative) channels per prompt kind.
    pub mapping: BTreeMap<&'static str, (usize, usize)>,
    /// Which prompt kinds the model accepts.
    pub supported: BTreeMap<&'static str, bool>,
    /// Whether an initial segmentation may be given.
    pub supports_initial_label: bool,
    /// Point radius in voxels (the reference's ball radius).
    pub point_radius: usize,
    /// Interaction decay in (0, 1].
    pub interaction_decay: f64,
    /// Scribble width the model was trained with, voxels per axis (viewers draw with it; the
    /// reference's default 1 per axis).
    pub preferred_scribble_thickness: [f64; 3],
    /// Whether the model refines a label it was not prompted for (the reference's capability flag,
    /// default true; reported to remote clients).
    pub supports_zero_shot_label_refinement: bool,
    /// License text or identifier of the weights.
    pub license: String,
    /// SHA-256 of the ONNX file (hex), when the model was opened from its bytes (empty else).
    pub sha256: String,
    /// The metadata as the file carries it (for prompt logs).
    pub source: serde_json::Value,
    /// Name of the network input tensor.
    pub input_name: String,
    /// Name of the network output tensor.
    pub output_name: String,
    /// The convolutions' weights are float16 (`"weights": "float16"`, written by
    /// `tools/model/to_fp16.py`); the graph's input and output stay float32.
    pub float16_weights: bool,
    /// The graph is a bfloat16 variant made by `tools/model/to_bf16.py` (`"weights":
    /// "bfloat16-plan"` or `"bfloat16-emulated"`): float32 weights, arranged for OpenVINO's
    /// bfloat16 mode or with that mode's rounding made explicit for ONNX Runtime.
    pub bfloat16_graph: Option<Bfloat16Graph>,
    /// For a variant (float16 or bfloat16): the SHA-256 of the model file it was made from
    /// (`"source_sha256"`, written by `tools/model/to_fp16.py` and `to_bf16.py`), so that a
    /// variant left beside a model converted again is refused instead of run.
    pub source_sha256: Option<String>,
}

/// What a bfloat16 variant of a model is (`tools/model/to_bf16.py`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bfloat16Graph {
    /// For OpenVINO in bfloat16: native instance norms, the full-resolution decoder stage and head
    /// as transposed convolutions (OpenVINO keeps that graph tail in float32).
    Plan,
    /// The plan with OpenVINO's bfloat16 rounding written as casts, for ONNX Runtime on any CPU.
    Emulated,
}

const KINDS: [PromptKind; 5] = [
    PromptKind::Scribble,
    PromptKind::Lasso,
    PromptKind::Points,
    PromptKind::BBox2d,
    PromptKind::BBox3d,
];

impl ModelMetadata {
    /// Read the metadata carried by the ONNX model in `bytes` (`label` names it in messages).
    pub fn from_onnx(bytes: &[u8], label: &str) -> Result<Self> {
        let text =
            crate::onnx_file::metadata_prop(bytes, METADATA_KEY, label)?.ok_or_else(|| {
                Error::Model(format!("{label} has no `{METADATA_KEY}` metadata entry"))
            })?;
        Self::from_json(&text)
    }

    /// Parse and validate the JSON metadata string.
    pub fn from_json(text: &str) -> Result<Self> {
        let source: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::Model(format!("metadata `{METADATA_KEY}` is not valid: {e}")))?;
        let raw: RawMeta = serde_json::from_value(source.clone())
            .map_err(|e| Error::Model(format!("metadata `{METADATA_KEY}` is not valid: {e}")))?;
        if let Some(f) = raw.format {
            if f != 1 {
                return Err(Error::Model(format!(
                    "unsupported metadata format {f} (expected 1)"
                )));
            }
        }
        if raw.patch_size.len() != 3 || raw.patch_size.iter().any(|&p| !(1..=1024).contains(&p)) {
            return Err(Error::Model(format!(
                "patch_size must be 3 positive sizes, got {:?}",
                raw.patch_size
            )));
        }
        let patch_size = [
            raw.patch_size[0] as usize,
            raw.patch_size[1] as usize,
            raw.patch_size[2] as usize,
        ];

        // Legacy default mapping (the reference's `_legacy_default_capability`), then overrides.
        let mut signed: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        let mut prev_seg: i64 = 0;
        for (k, v) in [
            ("bbox2d", (1, 2)),
            ("bbox3d", (1, 2)),
            ("lasso", (1, 2)),
            ("points", (3, 4)),
            ("scribble", (5, 6)),
        ] {
            signed.insert(k.to_string(), v);
        }
        if let Some(map) = &raw.channel_mapping {
            for (k, v) in map {
                if k == "prev_seg" {
                    prev_seg = v.as_i64().ok_or_else(|| {
                        Error::Model("prev_seg channel must be an integer".into())
                    })?;
                } else if KINDS.iter().any(|kind| kind.key() == k) {
                    let pair = v
                        .as_array()
                        .filter(|a| a.len() == 2)
                        .and_then(|a| Some((a[0].as_i64()?, a[1].as_i64()?)))
                        .ok_or_else(|| {
                            Error::Model(format!("channel mapping of `{k}` must be [pos, neg]"))
                        })?;
                    signed.insert(k.clone(), pair);
                } else {
                    return Err(Error::Model(format!("unknown channel mapping key `{k}`")));
                }
            }
        }
        let num_interaction_channels = match raw.num_interaction_channels {
            Some(n) => n,
            None => {
                let mut max_pos = -1i64;
                let mut max_neg = 0i64;
                for idx in signed.values().flat_map(|&(a, b)| [a, b]).chain([prev_seg]) {
                    if idx >= 0 {
                        max_pos = max_pos.max(idx);
                    } else {
                        max_neg = max_neg.max(-idx);
                    }
                }
                (max_pos + 1).max(max_neg).max(1) as usize
            }
        };
        let n = num_interaction_channels as i64;
        let resolve = |idx: i64| -> Result<usize> {
            let p = if idx >= 0 { idx } else { n + idx };
            if p < 0 || p >= n {
                return Err(Error::Model(format!(
                    "channel index {idx} out of range for {n} interaction channels"
                )));
            }
            Ok(p as usize)
        };
        let mut mapping = BTreeMap::new();
        for kind in KINDS {
            let (p, q) = signed[kind.key()];
            mapping.insert(kind.key(), (resolve(p)?, resolve(q)?));
        }
        let prev_seg_channel = resolve(prev_seg)?;

        let mut supported: BTreeMap<&'static str, bool> = BTreeMap::new();
        for kind in KINDS {
            supported.insert(kind.key(), kind != PromptKind::BBox3d);
        }
        if let Some(s) = &raw.supported_interactions {
            for (k, v) in s {
                let kind = KINDS.iter().find(|kind| kind.key() == k).ok_or_else(|| {
                    Error::Model(format!(
                        "unknown interaction `{k}` in supported_interactions"
                    ))
                })?;
                supported.insert(kind.key(), *v);
            }
        }
        let decay = raw.interaction_decay.unwrap_or(0.98);
        if !(decay > 0.0 && decay <= 1.0) {
            return Err(Error::Model(format!(
                "interaction_decay must be in (0, 1], got {decay}"
            )));
        }
        let radius = raw.point_radius.unwrap_or(4.0);
        if !((1.0..=64.0).contains(&radius) && radius.fract() == 0.0) {
            return Err(Error::Model(format!(
                "point_radius must be a whole number in [1, 64], got {radius}"
            )));
        }
        if let Some(p) = &raw.pad_mode_image {
            if p != "constant" {
                return Err(Error::Model(format!(
                    "pad_mode_image `{p}` is not implemented (only `constant`)"
                )));
            }
        }
        let num_image_channels = raw.num_image_channels.unwrap_or(1);
        if num_image_channels != 1 {
            return Err(Error::Model(format!(
                "num_image_channels must be 1 (nnInteractive takes one image channel), got {num_image_channels}"
            )));
        }
        if !(1..=MAX_INTERACTION_CHANNELS).contains(&num_interaction_channels) {
            return Err(Error::Model(format!(
                "num_interaction_channels must be in 1..={MAX_INTERACTION_CHANNELS}, got {num_interaction_channels}"
            )));
        }
        // One patch's input (all channels, float32) must stay within MAX_PATCH_INPUT_BYTES: a
        // hostile or corrupt patch_size would otherwise ask for terabytes at the first prompt.
        let patch_voxels: usize = patch_size.iter().product();
        let input_bytes = patch_voxels
            .checked_mul(1 + num_interaction_channels)
            .and_then(|v| v.checked_mul(4));
        if input_bytes.is_none_or(|b| b > MAX_PATCH_INPUT_BYTES) {
            return Err(Error::Model(format!(
                "patch_size {patch_size:?} with {num_interaction_channels} interaction channels needs a network input of more than {} GiB",
                MAX_PATCH_INPUT_BYTES >> 30
            )));
        }
        let (float16_weights, bfloat16_graph) = match raw.weights.as_deref() {
            None | Some("float32") => (false, None),
            Some("float16") => (true, None),
            Some("bfloat16-plan") => (false, Some(Bfloat16Graph::Plan)),
            Some("bfloat16-emulated") => (false, Some(Bfloat16Graph::Emulated)),
            Some(other) => {
                return Err(Error::Model(format!(
                    "metadata `weights` is {other:?}; float32, float16, bfloat16-plan and bfloat16-emulated are known"
                )))
            }
        };
        let preferred_scribble_thickness = match &raw.preferred_scribble_thickness {
            None => [1.0; 3],
            Some(v) => scribble_thickness(v)?,
        };
        Ok(ModelMetadata {
            preferred_scribble_thickness,
            supports_zero_shot_label_refinement: raw
                .supports_zero_shot_label_refinement
                .unwrap_or(true),
            name: raw.name.unwrap_or_else(|| "unnamed".into()),
            patch_size,
            num_image_channels,
            num_interaction_channels,
            prev_seg_channel,
            mapping,
            supported,
            supports_initial_label: raw.supports_initial_label.unwrap_or(true),
            point_radius: radius as usize,
            interaction_decay: decay,
            license: raw.license.unwrap_or_else(|| "!!MISSING!!".into()),
            sha256: String::new(),
            source,
            input_name: raw.input_name.unwrap_or_else(|| "input".into()),
            output_name: raw.output_name.unwrap_or_else(|| "logits".into()),
            float16_weights,
            bfloat16_graph,
            source_sha256: raw.source_sha256,
        })
    }

    /// Whether a network with metadata `other` can stand in for this one: the same patch,
    /// channels, prompts, constants and tensor names (the weights' type and the file's hash may
    /// differ).
    pub fn same_network_contract(&self, other: &ModelMetadata) -> bool {
        self.patch_size == other.patch_size
            && self.num_image_channels == other.num_image_channels
            && self.num_interaction_channels == other.num_interaction_channels
            && self.prev_seg_channel == other.prev_seg_channel
            && self.mapping == other.mapping
            && self.supported == other.supported
            && self.supports_initial_label == other.supports_initial_label
            && self.point_radius == other.point_radius
            && self.interaction_decay == other.interaction_decay
            && self.preferred_scribble_thickness == other.preferred_scribble_thickness
            && self.input_name == other.input_name
            && self.output_name == other.output_name
    }

    /// The channel mapping as the reference states it: `prev_seg` and `[positive, negative]` per
    /// prompt kind, interaction channel indices.
    pub fn channel_mapping_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("prev_seg".into(), self.prev_seg_channel.into());
        for (k, (p, n)) in &self.mapping {
            map.insert((*k).into(), serde_json::json!([p, n]));
        }
        serde_json::Value::Object(map)
    }

    /// What the reference session states about its model, as JSON (the attributes hosts read:
    /// `supported_interactions`, `channel_mapping`, `num_interaction_channels`,
    /// `supports_initial_label`, `supports_zero_shot_label_refinement`,
    /// `preferred_scribble_thickness` (integers where whole), `interaction_decay`, `patch_size`,
    /// `license`, `supports_undo`, `model`).
    pub fn capabilities_json(&self) -> serde_json::Value {
        let supported: serde_json::Map<String, serde_json::Value> = self
            .supported
            .iter()
            .map(|(k, v)| ((*k).to_string(), serde_json::Value::Bool(*v)))
            .collect();
        let thickness: Vec<serde_json::Value> = self
            .preferred_scribble_thickness
            .iter()
            .map(|&t| {
                if t.fract() == 0.0 {
                    serde_json::json!(t as i64)
                } else {
                    serde_json::json!(t)
                }
            })
            .collect();
        serde_json::json!({
            "supported_interactions": supported,
            "channel_mapping": self.channel_mapping_json(),
            "num_interaction_channels": self.num_interaction_channels,
            "supports_initial_label": self.supports_initial_label,
            "supports_zero_shot_label_refinement": self.supports_zero_shot_label_refinement,
            "preferred_scribble_thickness": thickness,
            "interaction_decay": self.interaction_decay,
            "patch_size": self.patch_size,
            "license": self.license,
            "supports_undo": true,
            "model": self.name,
        })
    }

    /// Whether the model accepts prompts of `kind`.
    pub fn supports(&self, kind: PromptKind) -> bool {
        self.supported.get(kind.key()).copied().unwrap_or(false)
    }

    /// (positive, negative) interaction channels of `kind`.
    pub fn channels(&self, kind: PromptKind) -> (usize, usize) {
        self.mapping[kind.key()]
    }

    /// Channels that are max-filtered before area resampling (points and scribbles of both signs,
    /// when supported), sorted (the reference's `_get_dilation_channels_for_resample`).
    pub fn dilation_channels(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for kind in [PromptKind::Points, PromptKind::Scribble] {
            if self.supports(kind) {
                let (p, n) = self.channels(kind);
                out.push(p);
                out.push(n);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Total number of network input channels.
    pub fn num_input_channels(&self) -> usize {
        self.num_image_channels + self.num_interaction_channels
    }
}

/// `preferred_scribble_thickness`: one positive number, or three (per axis).
fn scribble_thickness(v: &serde_json::Value) -> Result<[f64; 3]> {
    let bad = || {
        Error::Model(format!(
            "preferred_scribble_thickness must be a positive number or three, got {v}"
        ))
    };
    let ok = |x: f64| (x.is_finite() && x > 0.0 && x <= 1024.0).then_some(x);
    if let Some(x) = v.as_f64() {
        let x = ok(x).ok_or_else(bad)?;
        return Ok([x; 3]);
    }
    let a = v.as_array().filter(|a| a.len() == 3).ok_or_else(bad)?;
    let mut out = [0.0; 3];
    for (o, x) in out.iter_mut().zip(a) {
        *o = x.as_f64().and_then(ok).ok_or_else(bad)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_defaults_and_negative_indices() {
        let m = ModelMetadata::from_json(r#"{"patch_size":[64,64,64]}"#).unwrap();
        assert_eq!(m.num_interaction_channels, 7);
        assert_eq!(m.channels(PromptKind::Points), (3, 4));
        assert!(!m.supports(PromptKind::BBox3d));
        assert_eq!(m.interaction_decay, 0.98);
        assert_eq!(m.dilation_channels(), vec![3, 4, 5, 6]);
        let m = ModelMetadata::from_json(
            r#"{"patch_size":[8,8,8],"num_interaction_channels":7,"channel_mapping":{"points":[-4,-3]}}"#,
        )
        .unwrap();
        assert_eq!(m.channels(PromptKind::Points), (3, 4));
        assert!(ModelMetadata::from_json(r#"{"patch_size":[8,8]}"#).is_err());
        assert!(
            ModelMetadata::from_json(r#"{"patch_size":[8,8,8],"interaction_decay":0}"#).is_err()
        );
        assert!(ModelMetadata::from_json("not json").is_err());
    }

    #[test]
    fn hostile_sizes_are_refused_with_a_clear_message() {
        for (json, says) in [
            (r#"{"patch_size":[4096,4096,4096]}"#, "patch_size"),
            (r#"{"patch_size":[1024,1024,1024]}"#, "GiB"),
            (
                r#"{"patch_size":[8,8,8],"num_interaction_channels":2000000000}"#,
                "num_interaction_channels",
            ),
            (
                r#"{"patch_size":[8,8,8],"num_image_channels":3}"#,
                "num_image_channels",
            ),
            (
                r#"{"patch_size":[8,8,8],"point_radius":1e9}"#,
                "point_radius",
            ),
        ] {
            match ModelMetadata::from_json(json) {
                Err(Error::Model(m)) => assert!(m.contains(says), "{json}: {m}"),
                other => panic!("{json}: {other:?}"),
            }
        }
        // The released network's sizes pass.
        assert!(ModelMetadata::from_json(r#"{"patch_size":[192,192,192]}"#).is_ok());
    }
}
