//! The network on another machine: forwards sent to a model on a KServe v2 server (the Open
//! Inference Protocol; NVIDIA Triton, KServe) over HTTP with the binary tensor extension.
//! Sessions, prompts and undo stay here; only `[1, C, p0, p1, p2]` patches go out and
//! `[1, 2, p0, p1, p2]` logits come back, so the masks are those of the same network run here.
//!
//! [`RemotePool`] connects once (the model's metadata from the server's config, its declared
//! tensors checked, its readiness) and hands every session its own [`RemoteNetwork`]: they share
//! the connection pool but not a lock, so concurrent sessions' forwards reach the server together
//! and its dynamic batcher can merge them. A cancel stops the wait at once (the request's thread
//! finishes on its own; its reply is dropped). A failed forward is an error that leaves the
//! session as it was; the next one tries the server again.

mod client;
pub mod kserve;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use self::client::Client;
use self::kserve::ModelUrl;
use super::{Interrupt, Network};
use crate::error::{Error, Result};
use crate::metadata::ModelMetadata;

/// Where the network is served and how to reach it.
#[derive(Clone, Debug)]
pub struct RemoteOptions {
    /// The model, as KServe v2 names it: `http[s]://HOST:PORT/v2/models/NAME[/versions/V]`.
    pub url: String,
    /// HTTP headers sent with every request (a bearer token is `Authorization: Bearer ...`).
    pub headers: Vec<(String, String)>,
    /// How long one forward may take, the upload and the reply included.
    pub timeout: Duration,
    /// How many more times a forward or a metadata call is tried when the server cannot be
    /// reached or says it is not ready (502/503/504).
    pub retries: u32,
    /// For `https://`: a PEM file of the CA certificates to trust instead of the built-in
    /// Mozilla roots (a hospital's internal CA). None: the Mozilla roots.
    pub ca_file: Option<std::path::PathBuf>,
}

/// The default forward timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// The default number of retries.
pub const DEFAULT_RETRIES: u32 = 3;

impl RemoteOptions {
    /// The model at `url`, with the default timeout and retries and no headers.
    pub fn new(url: &str) -> Self {
        RemoteOptions {
            url: url.to_string(),
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            ca_file: None,
        }
    }

    /// Send `token` as `Authorization: Bearer TOKEN`.
    pub fn with_bearer_token(mut self, token: &str) -> Self {
        self.headers
            .push(("Authorization".into(), format!("Bearer {token}")));
        self
    }
}

/// A connected remote model: makes each session's [`RemoteNetwork`].
#[derive(Clone)]
pub struct RemotePool {
    client: Arc<Client>,
    meta: Arc<ModelMetadata>,
}

impl RemotePool {
    /// Connect to the model `opts.url` names: its metadata is read from the server's model
    /// configuration (the `nninteractive.meta` parameter that `--triton-repo` writes), or is
    /// `local` (a model file's) when given, and the served tensors are checked against it. The
    /// model must be ready.
    pub fn connect(opts: &RemoteOptions, local: Option<ModelMetadata>) -> Result<Self> {
        let url = ModelUrl::parse(&opts.url)?;
        let client = Client::new(
            url.clone(),
            opts.headers.clone(),
            opts.timeout,
            opts.retries,
            opts.ca_file.as_deref(),
        )?;
        let not_found = || {
            let live = client.is_ok(&url.server_live()).unwrap_or(false);
            Error::Model(if live {
                format!(
                    "the network server at {} has no model `{}`",
                    url.origin, url.name
                )
            } else {
                format!(
                    "{} does not answer as a KServe v2 server (no /v2/health/live)",
                    url.origin
                )
            })
        };
        let served = client.get_json(&url.model())?.ok_or_else(not_found)?;
        let meta = match local {
            Some(meta) => meta,
            None => {
                let config = client.get_json(&url.config())?.unwrap_or_default();
                kserve::metadata_from_config(&config)?.ok_or_else(|| {
                    Error::Model(format!(
                        "the served model `{}` carries no nnInteractive metadata (config parameter `{}`): serve a model repository written by `nni-convert --triton-repo`, or give the model file too",
                        url.name,
                        crate::metadata::METADATA_KEY
                    ))
                })?
            }
        };
        kserve::check_model_metadata(&served, &meta)?;
        if !client.is_ok(&url.ready())? {
            return Err(Error::Unavailable(format!(
                "the model `{}` on {} is not ready",
                url.name, url.origin
            )));
        }
        Ok(RemotePool {
            client: Arc::new(client),
            meta: Arc::new(meta),
        })
    }

    /// The model's metadata.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.meta
    }

    /// A network for one more session.
    pub fn network(&self) -> Box<dyn Network> {
        Box::new(RemoteNetwork {
            client: self.client.clone(),
            meta: self.meta.clone(),
            cancel: Arc::new(RemoteCancel::default()),
        })
    }

    /// Where the forwards run, in words.
    pub fn describe(&self) -> String {
        describe(self.client.url())
    }
}

/// A remote model in words.
fn describe(url: &ModelUrl) -> String {
    format!(
        "remote: model `{}` on the KServe v2 server {} (HTTP, binary tensors)",
        url.name, url.origin
    )
}

/// One session's forwards on the remote model.
pub struct RemoteNetwork {
    client: Arc<Client>,
    meta: Arc<ModelMetadata>,
    cancel: Arc<RemoteCancel>,
}

/// The forward under way: its result, once its thread has one.
#[derive(Default)]
struct Pending {
    state: Mutex<PendingState>,
    changed: Condvar,
}

#[derive(Default)]
struct PendingState {
    result: Option<Result<Vec<u8>>>,
    cancelled: bool,
}

/// A session's cancel of its remote forward.
#[derive(Default)]
struct RemoteCancel {
    requested: AtomicBool,
    pending: Mutex<Option<Arc<Pending>>>,
}

impl RemoteCancel {
    /// The forward under way, if any.
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<Pending>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Interrupt for RemoteCancel {
    fn interrupt(&self) {
        self.requested.store(true, Ordering::SeqCst);
        let pending = self.slot().clone();
        if let Some(p) = pending {
            p.state.lock().unwrap_or_else(|e| e.into_inner()).cancelled = true;
            p.changed.notify_all();
        }
    }

    fn rearm(&self) {
        self.requested.store(false, Ordering::SeqCst);
    }
}

impl RemoteNetwork {
    /// The request body: the JSON header, then the input's float32 values little-endian.
    fn request_body(&self, input: &[f32]) -> Result<(Vec<u8>, usize)> {
        let p = self.meta.patch_size;
        let shape = [1, self.meta.num_input_channels(), p[0], p[1], p[2]];
        if input.len() != shape.iter().product::<usize>() {
            return Err(Error::BufferSize(format!(
                "network input has {} values, the model takes {shape:?}",
                input.len()
            )));
        }
        let header =
            kserve::infer_request_header(&self.meta.input_name, shape, &self.meta.output_name);
        let mut body = Vec::new();
        body.try_reserve_exact(header.len() + 4 * input.len())
            .map_err(|_| Error::OutOfMemory("cannot allocate the network request".into()))?;
        body.extend_from_slice(&header);
        for v in input {
            body.extend_from_slice(&v.to_le_bytes());
        }
        Ok((body, header.len()))
    }
}

impl Network for RemoteNetwork {
    fn predict(&mut self, input: Vec<f32>) -> Result<Vec<u8>> {
        if self.cancel.requested.load(Ordering::SeqCst) {
            return Err(Error::Cancelled);
        }
        let (body, header_length) = self.request_body(&input)?;
        drop(input);
        let p = self.meta.patch_size;
        let n = p[0] * p[1] * p[2];
        let out_shape = [1, 2, p[0], p[1], p[2]];
        let pending = Arc::new(Pending::default());
        *self.cancel.slot() = Some(pending.clone());
        // A cancel between the check above and the slot being set is seen here.
        if self.cancel.requested.load(Ordering::SeqCst) {
            *self.cancel.slot() = None;
            return Err(Error::Cancelled);
        }
        let client = self.client.clone();
        let output_name = self.meta.output_name.clone();
        let worker = pending.clone();
        // The reply limit: the logits and a generous JSON header.
        let limit = (8 * n + (1 << 20)) as u64;
        let spawned = std::thread::Builder::new()
            .name("nni-remote-forward".into())
            .spawn(move || {
                let cancelled = || worker.state.lock().map(|s| s.cancelled).unwrap_or(true);
                let result = client
                    .infer(&body, header_length, limit, &cancelled)
                    .and_then(|reply| {
                        let logits = kserve::output_bytes(
                            &reply.body,
                            reply.header_length,
                            &output_name,
                            out_shape,
                        )?;
                        Ok(kserve::argmax_le(logits, n))
                    });
                let mut state = worker.state.lock().unwrap_or_else(|e| e.into_inner());
                state.result = Some(result);
                worker.changed.notify_all();
            });
        let result = match spawned {
            Err(e) => Err(Error::Runtime(format!(
                "cannot start the network request's thread: {e}"
            ))),
            Ok(_) => {
                let mut state = pending.state.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if let Some(r) = state.result.take() {
                        break r;
                    }
                    if state.cancelled {
                        break Err(Error::Cancelled);
                    }
                    state = pending
                        .changed
                        .wait(state)
                        .unwrap_or_else(|e| e.into_inner());
                }
            }
        };
        *self.cancel.slot() = None;
        result
    }

    fn describe(&self) -> String {
        describe(self.client.url())
    }

    fn interrupter(&self) -> Option<Arc<dyn Interrupt>> {
        Some(self.cancel.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;
    use std::sync::atomic::AtomicUsize;

    fn network(port: u16, timeout: Duration, retries: u32) -> RemoteNetwork {
        let url = ModelUrl::parse(&format!("http://127.0.0.1:{port}/v2/models/m")).unwrap();
        let meta = ModelMetadata::from_json(r#"{"patch_size": [2, 2, 2]}"#).unwrap();
        RemoteNetwork {
            client: Arc::new(Client::new(url, Vec::new(), timeout, retries, None).unwrap()),
            meta: Arc::new(meta),
            cancel: Arc::new(RemoteCancel::default()),
        }
    }

    fn input(net: &RemoteNetwork) -> Vec<f32> {
        vec![0.0; net.meta.num_input_channels() * 8]
    }

    #[test]
    fn a_cancel_stops_the_wait_for_a_server_that_never_answers() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Accept, read the request, never answer.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                });
            }
        });
        let mut net = network(port, Duration::from_secs(600), 0);
        let stop = net.interrupter().unwrap();
        let x = input(&net);
        let forward = std::thread::spawn(move || net.predict(x));
        std::thread::sleep(Duration::from_millis(200));
        stop.interrupt();
        // Without the cancel this would wait for the 600 s timeout.
        assert!(matches!(forward.join().unwrap(), Err(Error::Cancelled)));
    }

    #[test]
    fn a_server_that_hangs_up_is_tried_again_then_unavailable() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                count.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        let mut net = network(port, Duration::from_secs(30), 2);
        let x = input(&net);
        let e = net.predict(x).unwrap_err();
        assert!(
            matches!(e, Error::Unavailable(_) | Error::Inference(_)),
            "{e}"
        );
        assert!(e.to_string().contains("127.0.0.1"), "{e}");
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            3,
            "one try and two retries"
        );
    }

    #[test]
    fn a_wrong_input_size_is_refused_before_sending() {
        let mut net = network(9, Duration::from_secs(1), 0);
        assert!(matches!(
            net.predict(vec![0.0; 3]),
            Err(Error::BufferSize(_))
        ));
    }
}
