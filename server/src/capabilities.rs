//! The `/capabilities` answer: what the client mirrors of the reference session's attributes,
//! from the model's metadata (fixed for the server's lifetime).

use nninteractive_engine::metadata::ModelMetadata;
use serde_json::{json, Value};

/// The protocol version this server speaks (the client's `INFERENCE_SESSION_VERSION`).
pub const PROTOCOL_VERSION: &str = "2.6.0";

/// The capability snapshot for `meta`, with AutoZoom's default and the network in words.
pub fn snapshot(meta: &ModelMetadata, autozoom: bool, network: &str) -> Value {
    let supported: serde_json::Map<String, Value> = meta
        .supported
        .iter()
        .map(|(k, v)| ((*k).to_string(), Value::Bool(*v)))
        .collect();
    let thickness: Vec<Value> = meta
        .preferred_scribble_thickness
        .iter()
        .map(|&t| {
            if t.fract() == 0.0 {
                json!(t as i64)
            } else {
                json!(t)
            }
        })
        .collect();
    json!({
        "supported_interactions": supported,
        "channel_mapping": meta.channel_mapping_json(),
        "num_interaction_channels": meta.num_interaction_channels,
        "supports_initial_label": meta.supports_initial_label,
        "supports_zero_shot_label_refinement": meta.supports_zero_shot_label_refinement,
        "preferred_scribble_thickness": thickness,
        "interaction_decay": meta.interaction_decay,
        "patch_size": meta.patch_size,
        "do_autozoom": autozoom,
        "inference_session_version": PROTOCOL_VERSION,
        "license": meta.license,
        "supports_undo": true,
        "server": format!("nninteractive-native {}", env!("CARGO_PKG_VERSION")),
        "model": meta.name,
        "network": network,
    })
}
