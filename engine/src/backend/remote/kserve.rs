//! The Open Inference Protocol (KServe v2) as the remote network speaks it: the model's URL,
//! the metadata and config answers, and the binary tensor extension of `/infer` (a JSON header
//! whose length `Inference-Header-Content-Length` gives, then the raw little-endian tensors in
//! the header's order). Pure functions over bytes and JSON: the HTTP is in `client`.

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::metadata::{ModelMetadata, METADATA_KEY};

/// The header that gives the length of the JSON part of a binary request or reply.
pub const HEADER_LENGTH: &str = "Inference-Header-Content-Length";

/// The config parameter holding the model file's SHA-256 (the prompt log names the model by it).
pub const SHA256_PARAMETER: &str = "nninteractive.sha256";

/// A model on a KServe v2 server, named as the protocol names it:
/// `http[s]://HOST[:PORT]/v2/models/NAME[/versions/VERSION]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelUrl {
    /// `http[s]://HOST[:PORT]`.
    pub origin: String,
    /// The model's name.
    pub name: String,
    /// The version asked for, if any.
    pub version: Option<String>,
}

impl ModelUrl {
    /// Parse `url`; anything but the protocol's model URL is refused with the expected form.
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::InvalidArgument(format!(
                "network URL {url:?} {why}: expected http://HOST:PORT/v2/models/NAME (or https://, optionally /versions/VERSION)"
            ))
        };
        let rest = url
            .strip_prefix("http://")
            .map(|r| ("http", r))
            .or_else(|| url.strip_prefix("https://").map(|r| ("https", r)));
        let (scheme, rest) = rest.ok_or_else(|| bad("is not http or https"))?;
        let slash = rest.find('/').ok_or_else(|| bad("names no model"))?;
        let (authority, path) = rest.split_at(slash);
        if authority.is_empty() || authority.contains(['?', '#', '@', ' ']) {
            return Err(bad("has no valid host"));
        }
        if path.contains(['?', '#']) {
            return Err(bad("has a query or fragment"));
        }
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                && s != "."
                && s != ".."
        };
        let (name, version) = match segments.as_slice() {
            ["v2", "models", name] if valid(name) => (*name, None),
            ["v2", "models", name, "versions", v] if valid(name) && valid(v) => (*name, Some(*v)),
            _ => return Err(bad("is not a model URL")),
        };
        Ok(ModelUrl {
            origin: format!("{scheme}://{authority}"),
            name: name.to_string(),
            version: version.map(str::to_string),
        })
    }

    /// The model's own URL (its metadata).
    pub fn model(&self) -> String {
        match &self.version {
            Some(v) => format!("{}/v2/models/{}/versions/{v}", self.origin, self.name),
            None => format!("{}/v2/models/{}", self.origin, self.name),
        }
    }

    /// `/ready` of the model.
    pub fn ready(&self) -> String {
        format!("{}/ready", self.model())
    }

    /// `/config` of the model (Triton's model configuration extension).
    pub fn config(&self) -> String {
        format!("{}/config", self.model())
    }

    /// `/infer` of the model.
    pub fn infer(&self) -> String {
        format!("{}/infer", self.model())
    }

    /// The server's liveness.
    pub fn server_live(&self) -> String {
        format!("{}/v2/health/live", self.origin)
    }
}

/// The model metadata carried in the server's model configuration: the `nninteractive.meta`
/// parameter (what `--triton-repo` writes into `config.pbtxt`), with the model file's SHA-256
/// from `nninteractive.sha256`. None when the configuration has no such parameter.
pub fn metadata_from_config(config: &Value) -> Result<Option<ModelMetadata>> {
    let parameter = |key: &str| {
        config
            .get("parameters")
            .and_then(|p| p.get(key))
            .and_then(|p| p.get("string_value"))
            .and_then(Value::as_str)
    };
    let Some(text) = parameter(METADATA_KEY) else {
        return Ok(None);
    };
    let mut meta = ModelMetadata::from_json(text)?;
    meta.sha256 = parameter(SHA256_PARAMETER).unwrap_or_default().to_string();
    Ok(Some(meta))
}

/// A tensor the model declares: its datatype and shape (-1 where any size goes).
fn declared<'a>(metadata: &'a Value, list: &str, name: &str) -> Result<(&'a str, Vec<i64>)> {
    let tensors = metadata
        .get(list)
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Model(format!("the model's metadata has no `{list}` list")))?;
    let tensor = tensors
        .iter()
        .find(|t| t.get("name").and_then(Value::as_str) == Some(name))
        .ok_or_else(|| {
            let names: Vec<&str> = tensors
                .iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .collect();
            Error::Model(format!(
                "the served model has no {} `{name}` (it has {names:?})",
                &list[..list.len() - 1]
            ))
        })?;
    let datatype = tensor
        .get("datatype")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let shape = tensor
        .get("shape")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    Ok((datatype, shape))
}

/// Check the served model's declared input and output against what the engine will send and
/// expects back: `[1, C, p0, p1, p2]` float32 in, `[1, 2, p0, p1, p2]` float32 out (a batch axis
/// of any size, or the sizes themselves, where the server says -1).
pub fn check_model_metadata(metadata: &Value, meta: &ModelMetadata) -> Result<()> {
    let p = meta.patch_size;
    let want_in = [1, meta.num_input_channels(), p[0], p[1], p[2]];
    let want_out = [1, 2, p[0], p[1], p[2]];
    for (list, name, want) in [
        ("inputs", meta.input_name.as_str(), want_in),
        ("outputs", meta.output_name.as_str(), want_out),
    ] {
        let (datatype, shape) = declared(metadata, list, name)?;
        let fits = shape.len() == 5
            && shape
                .iter()
                .zip(want)
                .all(|(&s, w)| s == -1 || s == w as i64);
        if datatype != "FP32" || !fits {
            return Err(Error::Model(format!(
                "the served model's `{name}` is {datatype} {shape:?}; this model needs FP32 {want:?}"
            )));
        }
    }
    Ok(())
}

/// The JSON header of an `/infer` request sending `input` (`shape`, float32) in binary and
/// asking for `output` in binary.
pub fn infer_request_header(input: &str, shape: [usize; 5], output: &str) -> Vec<u8> {
    let bytes = shape.iter().product::<usize>() * 4;
    json!({
        "inputs": [{
            "name": input,
            "shape": shape,
            "datatype": "FP32",
            "parameters": {"binary_data_size": bytes},
        }],
        "outputs": [{"name": output, "parameters": {"binary_data": true}}],
    })
    .to_string()
    .into_bytes()
}

/// The bytes of the output `name` in an `/infer` reply: `body` is the whole reply, its first
/// `header_length` bytes the JSON header; the output must be float32 of `expected_shape`, sent in
/// binary. A reply cut short, or one whose header and binary part disagree, is an error.
pub fn output_bytes<'a>(
    body: &'a [u8],
    header_length: usize,
    name: &str,
    expected_shape: [usize; 5],
) -> Result<&'a [u8]> {
    let bad = |why: String| Error::Inference(format!("the network server's reply {why}"));
    if header_length > body.len() {
        return Err(bad(format!(
            "is cut short: its JSON header is {header_length} bytes, the whole reply {}",
            body.len()
        )));
    }
    let header: Value = serde_json::from_slice(&body[..header_length])
        .map_err(|e| bad(format!("has no valid JSON header: {e}")))?;
    let outputs = header
        .get("outputs")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("has no outputs".into()))?;
    // Binary outputs follow the header in the header's order.
    let mut offset = header_length;
    for out in outputs {
        let size = out
            .get("parameters")
            .and_then(|p| p.get("binary_data_size"))
            .and_then(Value::as_u64)
            .map(|s| s as usize);
        if out.get("name").and_then(Value::as_str) != Some(name) {
            offset = offset.saturating_add(size.unwrap_or(0));
            continue;
        }
        let datatype = out.get("datatype").and_then(Value::as_str).unwrap_or("?");
        let shape: Vec<usize> = out
            .get("shape")
            .and_then(Value::as_array)
            .map(|s| {
                s.iter()
                    .filter_map(Value::as_u64)
                    .map(|v| v as usize)
                    .collect()
            })
            .unwrap_or_default();
        if datatype != "FP32" || shape != expected_shape {
            return Err(bad(format!(
                "has `{name}` as {datatype} {shape:?}, expected FP32 {expected_shape:?}"
            )));
        }
        let want = expected_shape.iter().product::<usize>() * 4;
        let size = size.ok_or_else(|| bad(format!("has `{name}` not in binary")))?;
        if size != want {
            return Err(bad(format!(
                "declares {size} bytes for `{name}`, its shape needs {want}"
            )));
        }
        let end = offset.saturating_add(size);
        if end > body.len() {
            return Err(bad(format!(
                "is cut short: {} bytes, `{name}` ends at byte {end}",
                body.len()
            )));
        }
        return Ok(&body[offset..end]);
    }
    Err(bad(format!("has no output `{name}`")))
}

/// The foreground mask of `[1, 2, n]` float32 logits sent little-endian: `logit1 > logit0`, as
/// the local runtimes compute it.
pub fn argmax_le(logits: &[u8], n: usize) -> Vec<u8> {
    let (bg, fg) = logits.split_at(4 * n);
    let value = |c: &[u8]| f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    bg.chunks_exact(4)
        .zip(fg.chunks_exact(4))
        .map(|(b, f)| u8::from(value(f) > value(b)))
        .collect()
}

/// The error message a KServe v2 server sent (`{"error": "..."}`), else the body as text.
pub fn error_text(body: &[u8]) -> String {
    let text = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned());
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ModelMetadata {
        ModelMetadata::from_json(r#"{"patch_size": [4, 6, 8]}"#).unwrap()
    }

    #[test]
    fn model_urls_are_parsed_as_the_protocol_names_models() {
        let u = ModelUrl::parse("http://triton:8000/v2/models/nnint").unwrap();
        assert_eq!(u.origin, "http://triton:8000");
        assert_eq!(u.name, "nnint");
        assert_eq!(u.infer(), "http://triton:8000/v2/models/nnint/infer");
        assert_eq!(u.config(), "http://triton:8000/v2/models/nnint/config");
        let v = ModelUrl::parse("https://h/v2/models/m-1.x/versions/3/").unwrap();
        assert_eq!(v.ready(), "https://h/v2/models/m-1.x/versions/3/ready");
        for bad in [
            "triton:8000/v2/models/m",
            "ftp://h/v2/models/m",
            "http://h:8000",
            "http:///v2/models/m",
            "http://h/v2/models/",
            "http://h/v2/models/m/infer",
            "http://h/v2/models/../x",
            "http://h/v2/models/m?x=1",
            "http://user@h/v2/models/m",
        ] {
            let e = ModelUrl::parse(bad).unwrap_err().to_string();
            assert!(e.contains("/v2/models/NAME"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_metadata_comes_from_the_config_parameters() {
        let config = json!({"parameters": {
            "nninteractive.meta": {"string_value": r#"{"patch_size": [4, 6, 8]}"#},
            "nninteractive.sha256": {"string_value": "ab12"},
        }});
        let m = metadata_from_config(&config).unwrap().unwrap();
        assert_eq!(m.patch_size, [4, 6, 8]);
        assert_eq!(m.sha256, "ab12");
        assert!(metadata_from_config(&json!({"name": "x"}))
            .unwrap()
            .is_none());
        let broken = json!({"parameters": {"nninteractive.meta": {"string_value": "{"}}});
        assert!(metadata_from_config(&broken).is_err());
    }

    #[test]
    fn the_served_shapes_are_checked_against_the_metadata() {
        let m = meta();
        let c = m.num_input_channels() as i64;
        let ok = json!({
            "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, c, 4, 6, 8]}],
            "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, 2, -1, -1, -1]}],
        });
        check_model_metadata(&ok, &m).unwrap();
        let wrong_channels = json!({
            "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, c + 1, 4, 6, 8]}],
            "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, 2, 4, 6, 8]}],
        });
        let e = check_model_metadata(&wrong_channels, &m).unwrap_err();
        assert!(e.to_string().contains("`input`"), "{e}");
        let wrong_type = json!({
            "inputs": [{"name": "input", "datatype": "FP16", "shape": [-1, c, 4, 6, 8]}],
            "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, 2, 4, 6, 8]}],
        });
        assert!(check_model_metadata(&wrong_type, &m).is_err());
        let other_name = json!({
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, c, 4, 6, 8]}],
            "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, 2, 4, 6, 8]}],
        });
        let e = check_model_metadata(&other_name, &m).unwrap_err();
        assert!(e.to_string().contains("[\"x\"]"), "{e}");
    }

    fn reply(outputs: Value, payload: &[u8]) -> (Vec<u8>, usize) {
        let header = json!({"model_name": "m", "outputs": outputs}).to_string();
        let mut body = header.clone().into_bytes();
        body.extend_from_slice(payload);
        (body, header.len())
    }

    #[test]
    fn binary_outputs_are_found_by_name_and_checked() {
        let shape = [1, 2, 1, 1, 2];
        let logits: Vec<u8> = [0.0f32, 1.0, 0.5, 0.5]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let extra = [7u8; 12];
        let mut payload = extra.to_vec();
        payload.extend_from_slice(&logits);
        let (body, len) = reply(
            json!([
                {"name": "other", "datatype": "UINT8", "shape": [12], "parameters": {"binary_data_size": 12}},
                {"name": "logits", "datatype": "FP32", "shape": shape, "parameters": {"binary_data_size": 16}},
            ]),
            &payload,
        );
        let out = output_bytes(&body, len, "logits", shape).unwrap();
        assert_eq!(out, &logits[..]);
        // bg = [0.0, 1.0], fg = [0.5, 0.5]: foreground where fg > bg.
        assert_eq!(argmax_le(out, 2), vec![1, 0]);

        let cut = &body[..body.len() - 1];
        let e = output_bytes(cut, len, "logits", shape).unwrap_err();
        assert!(e.to_string().contains("cut short"), "{e}");
        let e = output_bytes(&body[..len - 3], len, "logits", shape).unwrap_err();
        assert!(e.to_string().contains("cut short"), "{e}");
        let e = output_bytes(&body, len, "logits", [1, 2, 1, 2, 1]).unwrap_err();
        assert!(e.to_string().contains("expected FP32"), "{e}");
        let e = output_bytes(&body, len, "mask", shape).unwrap_err();
        assert!(e.to_string().contains("no output `mask`"), "{e}");
        let (lying, len) = reply(
            json!([{"name": "logits", "datatype": "FP32", "shape": shape, "parameters": {"binary_data_size": 8}}]),
            &logits,
        );
        assert!(output_bytes(&lying, len, "logits", shape).is_err());
        let (json_data, len) = reply(
            json!([{"name": "logits", "datatype": "FP32", "shape": shape, "data": [0, 1, 0, 1]}]),
            &[],
        );
        let e = output_bytes(&json_data, len, "logits", shape).unwrap_err();
        assert!(e.to_string().contains("not in binary"), "{e}");
    }

    #[test]
    fn requests_declare_their_binary_input() {
        let h: Value =
            serde_json::from_slice(&infer_request_header("input", [1, 2, 3, 4, 5], "logits"))
                .unwrap();
        assert_eq!(h["inputs"][0]["parameters"]["binary_data_size"], 480);
        assert_eq!(h["inputs"][0]["shape"], json!([1, 2, 3, 4, 5]));
        assert_eq!(h["outputs"][0]["parameters"]["binary_data"], true);
        assert_eq!(
            error_text(br#"{"error": "model not ready"}"#),
            "model not ready"
        );
        assert_eq!(error_text(b"plain"), "plain");
    }
}
