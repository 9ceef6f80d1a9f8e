//! Errors as the reference server answers them: an HTTP status and a JSON body
//! `{"detail": "..."}` (what the client shows its user).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use nninteractive_engine::Error as EngineError;

use crate::nnia::NniaError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Text for the client.
    pub detail: String,
    /// Seconds the client should wait before retrying (503 at capacity).
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// An error with `status` and `detail`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 400: the request cannot be served as sent.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 410: the lease is missing, expired or unknown (the client raises `SessionExpiredError`).
    pub fn gone(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, detail)
    }

    /// 401: missing or wrong API key.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// 500: the server failed.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, detail)
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let status = match &e {
            EngineError::OutOfMemory(_) => StatusCode::INSUFFICIENT_STORAGE,
            EngineError::Runtime(_)
            | EngineError::Inference(_)
            | EngineError::Panic(_)
            | EngineError::Model(_)
            | EngineError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
            EngineError::Cancelled => StatusCode::SERVICE_UNAVAILABLE,
            // The network server is down or its model not ready: the client may try again.
            EngineError::Unavailable(_) => StatusCode::BAD_GATEWAY,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<NniaError> for ApiError {
    fn from(e: NniaError) -> Self {
        let status = match &e {
            NniaError::Malformed(_) => StatusCode::BAD_REQUEST,
            NniaError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            NniaError::OutOfMemory(_) => StatusCode::INSUFFICIENT_STORAGE,
        };
        ApiError::new(status, e.to_string())
    }
}

impl ApiError {
    /// The response, telling the client to close the connection: for a rejection sent before
    /// the request's body is read (an unauthenticated request, an unknown path), after which
    /// hyper closes the connection, and an unauthenticated body is not worth reading.
    pub fn closing(self) -> Response {
        let mut resp = self.into_response();
        close_connection(&mut resp);
        resp
    }
}

/// Adds `Connection: close` to `resp`.
fn close_connection(resp: &mut Response) {
    resp.headers_mut().insert(
        axum::http::header::CONNECTION,
        HeaderValue::from_static("close"),
    );
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "detail": self.detail });
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert("Retry-After", HeaderValue::from(s));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of an over-limit body is never read: the connection cannot carry another
            // request, so the client is told not to reuse it (else its next request on that
            // connection fails with "server disconnected").
            close_connection(&mut resp);
        }
        resp
    }
}
