//! The endpoints of the protocol (paths, headers, bodies and answers as nninteractive 2.6.0's
//! server gives them), authentication, and the glue between HTTP and the leases.
//!
//! Work on a session (decoding arrays, preprocessing, prompts, the network, encoding the reply)
//! runs on tokio's blocking pool, so heartbeats, health checks and the reaper stay responsive
//! while predictions run; a client's own requests run one at a time under its session's lock.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use nninteractive_engine::geometry::BBox;
use nninteractive_engine::MaskPrompt;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::dtype::WireDType;
use crate::error::ApiError;
use crate::lease::{Change, TargetBuffer};
use crate::nnia;
use crate::registry::Lease;
use crate::AppState;

/// Header of the JSON metadata that travels beside an array body.
pub const META_HEADER: &str = "x-meta";
/// Header of the client's lease token.
pub const LEASE_HEADER: &str = "x-lease-token";

type Shared = State<Arc<AppState>>;
/// A request body, read whole before the handler runs. Every POST handler takes one, also where it
/// ignores it: a body left unread when the response is sent makes hyper close the connection
/// without `Connection: close` (when the body arrives after the headers, as clients often send
/// it), and the client's next request on that pooled connection fails with "server disconnected"
/// (the server stage's one-off failure, reproduced with the body sent 50 ms after the headers).
type Body = Result<Bytes, BytesRejection>;

/// The server's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let authenticated = Router::new()
        .route("/capabilities", get(capabilities))
        .route("/claim", post(claim))
        .route("/release", post(release))
        .route("/heartbeat", post(heartbeat))
        .route("/lease_status", get(lease_status))
        .route("/set_image", post(set_image))
        .route("/set_target_buffer", post(set_target_buffer))
        .route("/set_do_autozoom", post(set_do_autozoom))
        .route("/reset_interactions", post(reset_interactions))
        .route("/undo", post(undo))
        .route("/predict", post(predict))
        .route("/add_point_interaction", post(add_point))
        .route("/add_bbox_interaction", post(add_bbox))
        .route("/add_scribble_interaction", post(add_scribble))
        .route("/add_lasso_interaction", post(add_lasso))
        .route("/add_initial_seg_interaction", post(add_initial_seg))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_auth));
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"ok": true})) }))
        .merge(authenticated)
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "Not Found").closing() })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

// ------------------------------------------------------------------ helpers

/// Bearer-token check (constant time in the token's length).
async fn require_auth(State(st): Shared, req: Request, next: Next) -> Response {
    if let Some(key) = &st.config.api_key {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match given {
            None => return ApiError::unauthorized("Missing bearer token").closing(),
            Some(g) if !same_secret(g.as_bytes(), key.as_bytes()) => {
                return ApiError::unauthorized("Invalid bearer token").closing()
            }
            Some(_) => {}
        }
    }
    next.run(req).await
}

fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn token(headers: &HeaderMap) -> Option<&str> {
    headers.get(LEASE_HEADER).and_then(|v| v.to_str().ok())
}

/// The caller's lease, marked seen; 410 when missing or unknown.
fn lease(st: &AppState, headers: &HeaderMap) -> Result<Arc<Lease>, ApiError> {
    st.registry.get(token(headers)).map_err(ApiError::gone)
}

/// The body, or the reason it could not be read (413 over the size limit).
fn body_bytes(body: Body) -> Result<Bytes, ApiError> {
    body.map_err(|r| {
        ApiError::new(
            r.status(),
            format!("cannot read the body: {}", r.body_text()),
        )
    })
}

/// A JSON body (an empty one reads as `{}`).
fn json_body<T: DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    let bytes = body_bytes(body)?;
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    serde_json::from_slice(text).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("invalid JSON body: {e}"),
        )
    })
}

/// Deepest nesting of arrays and objects an `X-Meta` header may have (the protocol's is 3:
/// `{"interaction_bbox": [[lo, hi], ...]}`).
const MAX_META_DEPTH: usize = 8;

/// How deeply `text`'s arrays and objects nest (brackets inside strings not counted).
fn json_nesting(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The `X-Meta` header's JSON (absent: `{}`), nested at most `MAX_META_DEPTH` deep.
fn meta_header<T: DeserializeOwned>(headers: &HeaderMap) -> Result<T, ApiError> {
    let text = match headers.get(META_HEADER) {
        None => "{}",
        Some(v) => v
            .to_str()
            .map_err(|_| ApiError::bad_request("Bad X-Meta: not ASCII"))?,
    };
    let depth = json_nesting(text);
    if depth > MAX_META_DEPTH {
        return Err(ApiError::bad_request(format!(
            "Bad X-Meta: nested {depth} deep (at most {MAX_META_DEPTH})"
        )));
    }
    serde_json::from_str(text).map_err(|e| ApiError::bad_request(format!("Bad X-Meta: {e}")))
}

/// Run `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("the request's worker failed: {e}")))?
}

/// A prediction-style reply, encoded off the session lock: `X-Meta` with `ran_prediction` and
/// the changed box, and the changed sub-volume as an array body.
struct ChangeReply {
    meta: Value,
    body: Vec<u8>,
}

impl ChangeReply {
    fn encode(change: Change) -> Result<Self, ApiError> {
        match change.region {
            None => Ok(ChangeReply {
                meta: json!({"ran_prediction": change.ran, "bbox": null}),
                body: Vec::new(),
            }),
            Some((region, dtype, bytes)) => {
                let shape = region.shape();
                let body = nnia::pack(dtype, &shape, &bytes)?;
                let bbox: Vec<[i64; 2]> = (0..3).map(|d| [region.lo[d], region.hi[d]]).collect();
                Ok(ChangeReply {
                    meta: json!({
                        "ran_prediction": true,
                        "bbox": bbox,
                        "dtype": dtype.name(),
                        "shape": shape,
                    }),
                    body,
                })
            }
        }
    }
}

impl IntoResponse for ChangeReply {
    fn into_response(self) -> Response {
        let meta = HeaderValue::from_str(&self.meta.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("{}"));
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (header::HeaderName::from_static(META_HEADER), meta),
            ],
            self.body,
        )
            .into_response()
    }
}

/// Run a user action on the caller's session (off the event loop) and reply with what changed.
async fn session_change(
    st: Arc<AppState>,
    headers: &HeaderMap,
    op: impl FnOnce(&mut crate::lease::LeaseSession) -> Result<Change, ApiError> + Send + 'static,
) -> Result<ChangeReply, ApiError> {
    let lease = lease(&st, headers)?;
    lease.mark_active();
    blocking(move || {
        let change = {
            let mut session = lease.session.lock();
            op(&mut session)
        };
        lease.mark_active();
        ChangeReply::encode(change?)
    })
    .await
}

/// Run a user action on the caller's session (off the event loop) and reply with JSON.
async fn session_json(
    st: Arc<AppState>,
    headers: &HeaderMap,
    op: impl FnOnce(&mut crate::lease::LeaseSession) -> Result<Value, ApiError> + Send + 'static,
) -> Result<Json<Value>, ApiError> {
    let lease = lease(&st, headers)?;
    lease.mark_active();
    let out = blocking(move || {
        let out = op(&mut lease.session.lock());
        lease.mark_active();
        out
    })
    .await?;
    Ok(Json(out))
}

fn yes() -> bool {
    true
}

// ------------------------------------------------------------------ leases

async fn capabilities(State(st): Shared) -> Json<Value> {
    Json(st.capabilities.clone())
}

async fn claim(State(st): Shared, _body: Body) -> Result<Json<Value>, ApiError> {
    let made = st.clone();
    match st.registry.claim(move || made.new_session()) {
        Ok(token) => Ok(Json(json!({
            "lease_token": token,
            "idle_timeout_seconds": st.config.idle_timeout.as_secs_f64(),
            "liveness_timeout_seconds": st.config.liveness_timeout.as_secs_f64(),
            "max_sessions": st.config.max_sessions,
        }))),
        Err(_) => Err(ApiError {
            retry_after: Some(10),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "server is at capacity ({} sessions)",
                    st.config.max_sessions
                ),
            )
        }),
    }
}

async fn release(State(st): Shared, headers: HeaderMap, _body: Body) -> Json<Value> {
    st.registry.release(token(&headers));
    Json(json!({"released": true}))
}

async fn heartbeat(
    State(st): Shared,
    headers: HeaderMap,
    _body: Body,
) -> Result<Json<Value>, ApiError> {
    let lease = lease(&st, &headers)?;
    Ok(Json(
        json!({"remaining_seconds": st.registry.remaining_seconds(&lease)}),
    ))
}

async fn lease_status(State(st): Shared, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let lease = st.registry.peek(token(&headers)).map_err(ApiError::gone)?;
    Ok(Json(json!({
        "remaining_seconds": st.registry.remaining_seconds(&lease),
        "idle_timeout_seconds": st.config.idle_timeout.as_secs_f64(),
    })))
}

// ------------------------------------------------------------------ image and settings

#[derive(Deserialize)]
struct SetImageMeta {
    #[serde(default)]
    #[allow(dead_code)]
    image_properties: Option<Value>,
}

async fn set_image(
    State(st): Shared,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let _meta: SetImageMeta = meta_header(&headers)?;
    let bytes = body_bytes(body)?;
    let max = st.config.max_array_bytes;
    let state = st.clone();
    session_json(st, &headers, move |s| {
        let image = nnia::unpack(&bytes, max)?;
        drop(bytes);
        let (shape, shared) = s.set_image(&image, &state.images, state.config.lease_budget())?;
        Ok(json!({"original_image_shape": shape, "image_shared": shared}))
    })
    .await
}

#[derive(Deserialize)]
struct TargetBufferRequest {
    shape: Option<Value>,
    dtype: Option<Value>,
}

/// The reference's checks of `/set_target_buffer`, with its messages.
fn target_buffer(req: TargetBufferRequest, max_bytes: usize) -> Result<TargetBuffer, ApiError> {
    let shape = req
        .shape
        .ok_or_else(|| ApiError::bad_request("missing required field: shape"))?;
    let dtype = req
        .dtype
        .ok_or_else(|| ApiError::bad_request("missing required field: dtype"))?;
    let dims = shape
        .as_array()
        .ok_or_else(|| ApiError::bad_request("shape must be a list of positive integers"))?;
    if dims.len() != 3 {
        return Err(ApiError::bad_request("shape must be 3D"));
    }
    let mut out = [0usize; 3];
    for (o, d) in out.iter_mut().zip(dims) {
        let v = d
            .as_i64()
            .ok_or_else(|| ApiError::bad_request("shape must contain only integers"))?;
        if v <= 0 {
            return Err(ApiError::bad_request("shape dimensions must be positive"));
        }
        *o = v as usize;
    }
    let name = dtype.as_str().unwrap_or_default();
    let dtype = WireDType::from_name(name)
        .ok_or_else(|| ApiError::bad_request(format!("invalid dtype: {dtype}")))?;
    if !dtype.is_label_type() {
        return Err(ApiError::bad_request(format!(
            "unsupported dtype {}: target buffer must be bool or an integer type",
            dtype.name()
        )));
    }
    let nbytes = out
        .iter()
        .try_fold(dtype.size(), |a: usize, &d| a.checked_mul(d))
        .unwrap_or(usize::MAX);
    if nbytes > max_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("target buffer would require {nbytes} bytes, limit is {max_bytes} bytes"),
        ));
    }
    Ok(TargetBuffer { shape: out, dtype })
}

async fn set_target_buffer(
    State(st): Shared,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let target = target_buffer(json_body(body)?, st.config.max_array_bytes)?;
    session_json(st, &headers, move |s| {
        s.set_target_buffer(target)?;
        Ok(json!({}))
    })
    .await
}

#[derive(Deserialize)]
struct AutozoomRequest {
    do_autozoom: bool,
}

async fn set_do_autozoom(
    State(st): Shared,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let req: AutozoomRequest = json_body(body)?;
    session_json(st, &headers, move |s| {
        s.set_autozoom(req.do_autozoom);
        Ok(json!({}))
    })
    .await
}

async fn reset_interactions(
    State(st): Shared,
    headers: HeaderMap,
    _body: Body,
) -> Result<Json<Value>, ApiError> {
    session_json(st, &headers, |s| {
        s.reset()?;
        Ok(json!({}))
    })
    .await
}

// ------------------------------------------------------------------ prompts and predictions

async fn undo(State(st): Shared, headers: HeaderMap, _body: Body) -> Result<ChangeReply, ApiError> {
    session_change(st, &headers, |s| s.undo()).await
}

#[derive(Deserialize)]
struct PredictRequest {
    #[serde(default)]
    force_full_refine: bool,
}

async fn predict(
    State(st): Shared,
    headers: HeaderMap,
    body: Body,
) -> Result<ChangeReply, ApiError> {
    let req: PredictRequest = json_body(body)?;
    session_change(st, &headers, move |s| s.predict(req.force_full_refine)).await
}

/// The flags every prompt carries (`override_capability_checks` is accepted and ignored: the
/// engine always checks what the model supports).
#[derive(Deserialize)]
struct PromptFlags {
    include_interaction: bool,
    #[serde(default = "yes")]
    run_prediction: bool,
    #[serde(default)]
    #[allow(dead_code)]
    override_capability_checks: bool,
}

#[derive(Deserialize)]
struct PointRequest {
    coordinates: [f64; 3],
    #[serde(flatten)]
    flags: PromptFlags,
}

async fn add_point(
    State(st): Shared,
    headers: HeaderMap,
    body: Body,
) -> Result<ChangeReply, ApiError> {
    let req: PointRequest = json_body(body)?;
    session_change(st, &headers, move |s| {
        s.add_point(
            req.coordinates,
            req.flags.include_interaction,
            req.flags.run_prediction,
        )
    })
    .await
}

#[derive(Deserialize)]
struct BboxRequest {
    bbox_coords: [[f64; 2]; 3],
    #[serde(flatten)]
    flags: PromptFlags,
}

async fn add_bbox(
    State(st): Shared,
    headers: HeaderMap,
    body: Body,
) -> Result<ChangeReply, ApiError> {
    let req: BboxRequest = json_body(body)?;
    let lo = req.bbox_coords.map(|a| a[0]);
    let hi = req.bbox_coords.map(|a| a[1]);
    session_change(st, &headers, move |s| {
        s.add_bbox(
            lo,
            hi,
            req.flags.include_interaction,
            req.flags.run_prediction,
        )
    })
    .await
}

#[derive(Deserialize)]
struct MaskMeta {
    #[serde(flatten)]
    flags: PromptFlags,
    #[serde(default)]
    interaction_bbox: Option<[[i64; 2]; 3]>,
}

async fn add_mask(
    st: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
    kind: MaskPrompt,
) -> Result<ChangeReply, ApiError> {
    let meta: MaskMeta = meta_header(&headers)?;
    let bytes = body_bytes(body)?;
    let region = meta
        .interaction_bbox
        .map(|b| BBox::new(b.map(|a| a[0]), b.map(|a| a[1])));
    let max = st.config.max_array_bytes;
    session_change(st, &headers, move |s| {
        let mask = nnia::unpack(&bytes, max)?;
        s.add_mask(
            kind,
            &mask,
            region,
            meta.flags.include_interaction,
            meta.flags.run_prediction,
        )
    })
    .await
}

async fn add_scribble(
    State(st): Shared,
    headers: HeaderMap,
    body: Body,
) -> Result<ChangeReply, ApiError> {
    add_mask(st, headers, body, MaskPrompt::Scribble).await
}

async fn add_lasso(
    State(st): Shared,
    headers: HeaderMap,
    body: Body,
) -> Result<ChangeReply, ApiError> {
    add_mask(st, headers, body, MaskPrompt::Lasso).await
}

#[derive(Deserialize)]
struct InitialSegMeta {
    #[serde(default)]
    run_prediction: bool,
    #[serde(default)]
    #[allow(dead_code)]
    override_capability_checks: bool,
}

async fn add_initial_seg(
    State(st): Shared,
    headers: HeaderMap,
    body: Body,
) -> Result<ChangeReply, ApiError> {
    let meta: InitialSegMeta = meta_header(&headers)?;
    let bytes = body_bytes(body)?;
    let max = st.config.max_array_bytes;
    session_change(st, &headers, move |s| {
        let mask = nnia::unpack(&bytes, max)?;
        s.add_initial_seg(&mask, meta.run_prediction)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::json_nesting;

    #[test]
    fn nesting_counts_brackets_outside_strings() {
        assert_eq!(json_nesting("{}"), 1);
        assert_eq!(
            json_nesting(r#"{"interaction_bbox": [[0, 2], [0, 2], [0, 9]]}"#),
            3
        );
        assert_eq!(json_nesting(r#"{"a": "[[[[{{{{", "b": "\"[[["}"#), 1);
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        assert_eq!(json_nesting(&deep), 300);
    }
}
