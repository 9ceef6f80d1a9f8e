//! The HTTP side of the remote network: one `ureq` agent (its connection pool shared by every
//! session on the server), the caller's auth headers on every request, timeouts, and bounded
//! retries. Every call it makes is idempotent (reads, and `/infer`, a pure function of its input),
//! so a connection refused or reset, or a 502/503/504 (the server or model not ready yet), is
//! tried again after a growing pause; a timeout is not (the forward may still be running there).

use std::time::Duration;

use serde_json::Value;

use super::kserve::{error_text, ModelUrl, HEADER_LENGTH};
use crate::error::{Error, Result};

/// A reply's body and the length of its JSON header.
pub struct Reply {
    /// The whole body.
    pub body: Vec<u8>,
    /// `Inference-Header-Content-Length`, or the body's length when absent (a reply all JSON).
    pub header_length: usize,
}

/// How one attempt failed: worth another try or not.
enum Attempt {
    Retry(Error),
    Fail(Error),
}

impl Attempt {
    /// The error, whether or not it was worth another try.
    fn into_error(self) -> Error {
        match self {
            Attempt::Retry(e) | Attempt::Fail(e) => e,
        }
    }
}

/// The client of one model on one KServe v2 server.
pub struct Client {
    agent: ureq::Agent,
    url: ModelUrl,
    headers: Vec<(String, String)>,
    retries: u32,
    timeout: Duration,
}

/// How long metadata, config and readiness calls may take.
const SHORT_TIMEOUT: Duration = Duration::from_secs(15);

impl Client {
    /// A client of `url` sending `headers` with every request; `/infer` calls may take up to
    /// `timeout`; failed attempts are retried up to `retries` times.
    pub fn new(
        url: ModelUrl,
        headers: Vec<(String, String)>,
        timeout: Duration,
        retries: u32,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Self> {
        for (name, value) in &headers {
            let valid_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
            if !valid_name || value.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
                return Err(Error::InvalidArgument(format!(
                    "network header {name:?} is not a valid HTTP header (name: letters, digits, - and _; value: no control characters)"
                )));
            }
        }
        if timeout.is_zero() {
            return Err(Error::InvalidArgument(
                "the network timeout must be positive".into(),
            ));
        }
        let mut config = ureq::Agent::config_builder();
        if let Some(path) = ca_file {
            let roots = trusted_roots(path)?;
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
                    .build(),
            );
        }
        let agent = config
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .max_idle_connections_per_host(64)
            .build()
            .new_agent();
        Ok(Client {
            agent,
            url,
            headers,
            retries,
            timeout,
        })
    }

    /// The model this client talks to.
    pub fn url(&self) -> &ModelUrl {
        &self.url
    }

    /// GET `url` as JSON (the metadata, the config); a 404 is `Ok(None)`.
    pub fn get_json(&self, url: &str) -> Result<Option<Value>> {
        let reply = self.with_retries(&|| false, || self.get_once(url))?;
        match reply {
            None => Ok(None),
            Some(r) => serde_json::from_slice(&r.body).map(Some).map_err(|e| {
                Error::Inference(format!(
                    "the network server's answer to {url} is not JSON: {e}"
                ))
            }),
        }
    }

    /// Whether GET `url` answers 200 (readiness, liveness); errors only when unreachable.
    pub fn is_ok(&self, url: &str) -> Result<bool> {
        let response = self.get(url).map_err(Attempt::into_error)?;
        Ok(response.status().as_u16() == 200)
    }

    /// GET `url` with the auth headers, within [`SHORT_TIMEOUT`].
    fn get(&self, url: &str) -> std::result::Result<ureq::http::Response<ureq::Body>, Attempt> {
        self.authorised(self.agent.get(url))
            .config()
            .timeout_global(Some(SHORT_TIMEOUT))
            .build()
            .call()
            .map_err(|e| transport_failure(&self.url, e, SHORT_TIMEOUT))
    }

    /// POST an `/infer` request `body` (JSON header of `header_length` bytes, then the binary
    /// input); the reply may be up to `reply_limit` bytes. `cancelled` stops the retries.
    pub fn infer(
        &self,
        body: &[u8],
        header_length: usize,
        reply_limit: u64,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Reply> {
        let url = self.url.infer();
        let reply = self.with_retries(cancelled, || {
            let request = self
                .authorised(self.agent.post(&url))
                .header("Content-Type", "application/octet-stream")
                .header(HEADER_LENGTH, header_length.to_string());
            let response = request
                .config()
                .timeout_global(Some(self.timeout))
                .build()
                .send(body)
                .map_err(|e| transport_failure(&self.url, e, self.timeout))?;
            self.read_reply(response, reply_limit, &url, self.timeout)
        })?;
        reply.ok_or_else(|| {
            Error::Model(format!(
                "the network server has no model `{}` (404 from {url})",
                self.url.name
            ))
        })
    }

    fn get_once(&self, url: &str) -> std::result::Result<Option<Reply>, Attempt> {
        let response = self.get(url)?;
        self.read_reply(response, 64 << 20, url, SHORT_TIMEOUT)
    }

    /// The body of a 200 (read within the request's `timeout`); `None` for a 404; a retry for
    /// 502/503/504; an error otherwise.
    fn read_reply(
        &self,
        mut response: ureq::http::Response<ureq::Body>,
        limit: u64,
        url: &str,
        timeout: Duration,
    ) -> std::result::Result<Option<Reply>, Attempt> {
        let status = response.status().as_u16();
        let header_length = response
            .headers()
            .get(HEADER_LENGTH)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().parse::<usize>());
        let body = response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => Attempt::Fail(Error::Inference(format!(
                    "the network server's reply from {url} is larger than {limit} bytes"
                ))),
                ureq::Error::Timeout(_) => transport_failure(&self.url, e, timeout),
                other => Attempt::Retry(Error::Inference(format!(
                    "the network server's reply from {url} broke off: {other}"
                ))),
            })?;
        match status {
            200 => {
                let header_length = match header_length {
                    None => body.len(),
                    Some(Ok(n)) => n,
                    Some(Err(_)) => {
                        return Err(Attempt::Fail(Error::Inference(format!(
                            "the network server sent an invalid {HEADER_LENGTH}"
                        ))))
                    }
                };
                Ok(Some(Reply {
                    body,
                    header_length,
                }))
            }
            404 => Ok(None),
            502..=504 => Err(Attempt::Retry(Error::Unavailable(format!(
                "the network server at {} answered {status}: {}",
                self.url.origin,
                error_text(&body)
            )))),
            401 | 403 => Err(Attempt::Fail(Error::Unavailable(format!(
                "the network server at {} refused the credentials ({status}): {}; check the network token",
                self.url.origin,
                error_text(&body)
            )))),
            _ => Err(Attempt::Fail(Error::Inference(format!(
                "the network server answered {status} to {url}: {}",
                error_text(&body)
            )))),
        }
    }

    fn authorised<B>(&self, mut request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        request
    }

    /// Run `attempt` until it succeeds, fails for good, or `retries` more tries have failed,
    /// pausing 0.25 s, 0.5 s, 1 s, ... between tries (and stopping when `cancelled`).
    fn with_retries<T>(
        &self,
        cancelled: &dyn Fn() -> bool,
        mut attempt: impl FnMut() -> std::result::Result<T, Attempt>,
    ) -> Result<T> {
        let mut pause = Duration::from_millis(250);
        let mut tries = 0;
        loop {
            match attempt() {
                Ok(v) => return Ok(v),
                Err(Attempt::Fail(e)) => return Err(e),
                Err(Attempt::Retry(e)) => {
                    if tries >= self.retries || cancelled() {
                        return Err(e);
                    }
                    tries += 1;
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(4));
                    if cancelled() {
                        return Err(Error::Cancelled);
                    }
                }
            }
        }
    }
}

/// The CA certificates in the PEM file at `path`, trusted for `https://` instead of the
/// built-in Mozilla roots (a hospital's internal CA).
fn trusted_roots(path: &std::path::Path) -> Result<Vec<ureq::tls::Certificate<'static>>> {
    let pem = std::fs::read(path).map_err(|e| {
        Error::InvalidArgument(format!("cannot read the CA file {}: {e}", path.display()))
    })?;
    let mut roots = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => roots.push(c),
            Ok(_) => {}
            Err(e) => {
                return Err(Error::InvalidArgument(format!(
                    "the CA file {} is not valid PEM: {e}",
                    path.display()
                )))
            }
        }
    }
    if roots.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "the CA file {} holds no certificate",
            path.display()
        )));
    }
    Ok(roots)
}

/// A transport failure as the engine's error, and whether it is worth another try: an
/// unreachable server is [`Error::Unavailable`], tried again; a refused certificate is
/// [`Error::Unavailable`] too, not tried again; a timeout is an [`Error::Inference`] naming it,
/// not tried again (the forward may still run there).
fn transport_failure(url: &ModelUrl, e: ureq::Error, timeout: Duration) -> Attempt {
    let text = e.to_string();
    if text.contains("certificate") || matches!(e, ureq::Error::Tls(_)) {
        return Attempt::Fail(Error::Unavailable(format!(
            "TLS with the network server at {} failed: {text} (for an internal CA, give its certificates: --network-ca-file, network_ca_file)",
            url.origin
        )));
    }
    match e {
        ureq::Error::Timeout(_) => Attempt::Fail(Error::Inference(format!(
            "the network server at {} did not answer within {:.0} s",
            url.origin,
            timeout.as_secs_f64()
        ))),
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::Io(_)
        | ureq::Error::Protocol(_) => Attempt::Retry(Error::Unavailable(format!(
            "cannot reach the network server at {}: {e}",
            url.origin
        ))),
        other => Attempt::Fail(Error::Inference(format!(
            "talking to the network server at {}: {other}",
            url.origin
        ))),
    }
}
