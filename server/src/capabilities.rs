//! The `/capabilities` answer: what the client mirrors of the reference session's attributes,
//! from the model's metadata (fixed for the server's lifetime).

use nninteractive_engine::metadata::ModelMetadata;
use serde_json::{json, Value};

/// The protocol version this server speaks (the client's `INFERENCE_SESSION_VERSION`).
pub const PROTOCOL_VERSION: &str = "2.6.0";

/// The capability snapshot for `meta` (the model's, `ModelMetadata::capabilities_json`), with
/// AutoZoom's default, the protocol version, the server and the network in words.
pub fn snapshot(meta: &ModelMetadata, autozoom: bool, network: &str) -> Value {
    let mut caps = meta.capabilities_json();
    let fields = caps
        .as_object_mut()
        .expect("capabilities_json is an object");
    fields.insert("do_autozoom".into(), json!(autozoom));
    fields.insert("inference_session_version".into(), json!(PROTOCOL_VERSION));
    fields.insert(
        "server".into(),
        json!(format!(
            "nninteractive-native {}",
            env!("CARGO_PKG_VERSION")
        )),
    );
    fields.insert("network".into(), json!(network));
    caps
}
