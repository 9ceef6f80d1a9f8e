//! nninteractive-server: nnInteractive's remote protocol (the wire format of the PyPI
//! `nninteractive-client` 2.6.0, `nnInteractiveRemoteInferenceSession`) on the native engine, so
//! the napari, Slicer and MITK plug-ins in remote mode work unchanged. `nni serve` runs it.
//!
//! One network is loaded and shared by every session ([`nninteractive_engine::SharedNetwork`]:
//! forwards one at a time, everything else concurrent); each client claims a lease and gets its
//! own session (prompts, mask, undo) on its image, which is normalised once for all leases that
//! send the same one (several objects on one image cost one float32 copy).
//!
//! # Module map
//! | module | job |
//! |---|---|
//! | [`routes`] | the endpoints, authentication, request parsing, replies |
//! | [`registry`] | leases: claim, lookup, release, reaping after the liveness and idle timeouts |
//! | [`lease`] | one client's session and target buffer, and what each operation changed |
//! | [`images`] | images shared between leases (the same upload, normalised once) |
//! | [`capabilities`] | the `/capabilities` answer, from the model's metadata |
//! | [`nnia`] | the protocol's array format (blosc2 chunks), read with limits |
//! | [`dtype`] | numpy element types and the conversions to and from the engine |
//! | [`error`] | error answers: status and `{"detail": ...}` |

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(target_endian = "big")]
compile_error!(
    "the wire format is little-endian and read in place: big-endian hosts are not supported"
);

pub mod capabilities;
pub mod dtype;
pub mod error;
pub mod images;
pub mod lease;
pub mod nnia;
pub mod registry;
pub mod routes;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use nninteractive_engine::metadata::ModelMetadata;
use nninteractive_engine::{NetworkOptions, NetworkSource, RemoteOptions, SharedNetwork};

pub use routes::router;

/// What `nni serve` was asked for.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The ONNX model (with a remote network: optional, its metadata only).
    pub model: Option<PathBuf>,
    /// Run the forwards on this KServe v2 server's model instead of a network in this process.
    pub remote: Option<RemoteOptions>,
    /// Address to listen on.
    pub host: String,
    /// Port to listen on (0: any free port).
    pub port: u16,
    /// Bearer token every request but `/healthz` must carry; None: no authentication.
    pub api_key: Option<String>,
    /// Most leases at once.
    pub max_sessions: usize,
    /// A lease without a user action for this long is reaped.
    pub idle_timeout: Duration,
    /// A lease without any request for this long is reaped.
    pub liveness_timeout: Duration,
    /// AutoZoom for new sessions.
    pub autozoom: bool,
    /// Device, precision, runtime and threads of the network.
    pub network: NetworkOptions,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Largest array (image, mask, target buffer) a client may send or ask for, bytes.
    pub max_array_bytes: usize,
    /// Undo history budget of each session, bytes (0: the engine's default).
    pub history_bytes: usize,
    /// Most bytes one lease's image may cost it (the float32 copy the engine normalises and the
    /// mask: 5 bytes a voxel); None: the machine's memory over `max_sessions`, so that no client
    /// can take the memory of the others.
    pub max_lease_bytes: Option<usize>,
}

impl ServerConfig {
    /// The reference's defaults for `model`: 127.0.0.1:1527, 3 sessions, idle 600 s, liveness
    /// 60 s, AutoZoom on; arrays up to a quarter of the machine's memory.
    pub fn new(model: PathBuf) -> Self {
        let quarter = physical_memory_bytes() / 4;
        ServerConfig {
            model: Some(model),
            remote: None,
            host: "127.0.0.1".into(),
            port: 1527,
            api_key: None,
            max_sessions: 3,
            idle_timeout: Duration::from_secs(600),
            liveness_timeout: Duration::from_secs(60),
            autozoom: true,
            network: NetworkOptions::default(),
            max_body_bytes: quarter,
            max_array_bytes: quarter,
            history_bytes: 0,
            max_lease_bytes: None,
        }
    }

    /// What one lease's image may cost: `max_lease_bytes`, else the memory over `max_sessions`.
    pub fn lease_budget(&self) -> usize {
        self.max_lease_bytes
            .unwrap_or_else(|| physical_memory_bytes() / self.max_sessions.max(1))
    }

    /// Check the settings (the reference's rules); a message for the user when they do not hold.
    pub fn validate(&self) -> Result<(), String> {
        if self.model.is_none() && self.remote.is_none() {
            return Err(
                "give --model FILE, or --network-url URL for a network on a KServe v2 server"
                    .into(),
            );
        }
        if self.max_sessions < 1 {
            return Err("--max-sessions must be >= 1".into());
        }
        if self.idle_timeout.is_zero() {
            return Err("--idle-timeout-seconds must be > 0".into());
        }
        if self.liveness_timeout.is_zero() {
            return Err("--liveness-timeout-seconds must be > 0".into());
        }
        Ok(())
    }
}

/// Bytes of memory this process may use: the machine's physical memory (32 GiB when unknown, as
/// the reference assumes), or the container's memory limit when that is lower (cgroup v2
/// `memory.max`, or v1 `memory.limit_in_bytes`), so that the defaults derived from it hold in a
/// container too.
pub fn physical_memory_bytes() -> usize {
    // SAFETY: sysconf only reads system configuration values.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGE_SIZE),
        )
    };
    let machine = if pages > 0 && size > 0 {
        (pages as usize).saturating_mul(size as usize)
    } else {
        32 << 30
    };
    let limit = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .filter_map(|p| std::fs::read_to_string(p).ok())
    .find_map(|text| cgroup_limit(&text));
    limit.map_or(machine, |l| l.min(machine))
}

/// A cgroup memory limit file's value in bytes; None for `max` (no limit) or anything unreadable.
fn cgroup_limit(text: &str) -> Option<usize> {
    text.trim()
        .parse::<u64>()
        .ok()
        .map(|v| usize::try_from(v).unwrap_or(usize::MAX))
}

/// The network the configuration asks for: the remote model, else the model file loaded here.
fn open_network_source(
    config: &ServerConfig,
) -> nninteractive_engine::Result<(NetworkSource, ModelMetadata)> {
    if let Some(remote) = &config.remote {
        let pool = nninteractive_engine::connect_remote(remote, config.model.as_deref())?;
        let meta = pool.metadata().clone();
        return Ok((NetworkSource::Remote(pool), meta));
    }
    let model = config.model.as_deref().unwrap_or(std::path::Path::new(""));
    let (net, meta) = nninteractive_engine::backend::open_network_file(model, &config.network)?;
    Ok((NetworkSource::Shared(SharedNetwork::new(net)), meta))
}

/// What every request handler shares.
pub struct AppState {
    /// The settings.
    pub config: ServerConfig,
    /// Where every session's forwards run.
    pub network: NetworkSource,
    /// The model's metadata.
    pub meta: ModelMetadata,
    /// The leases.
    pub registry: registry::Registry,
    /// The `/capabilities` answer (fixed at startup).
    pub capabilities: serde_json::Value,
    /// The images sessions hold, shared between leases.
    pub images: images::ImageCache,
}

impl AppState {
    /// Load the model once and make the state around it.
    pub fn load(config: ServerConfig) -> Result<Arc<Self>, String> {
        config.validate()?;
        let (network, meta) = open_network_source(&config).map_err(|e| e.to_string())?;
        let capabilities = capabilities::snapshot(&meta, config.autozoom, &network.describe());
        let registry = registry::Registry::new(
            config.max_sessions,
            config.idle_timeout,
            config.liveness_timeout,
        );
        Ok(Arc::new(AppState {
            config,
            network,
            meta,
            registry,
            capabilities,
            images: images::ImageCache::default(),
        }))
    }

    /// A fresh session on the shared network, with the server's settings.
    pub fn new_session(&self) -> lease::LeaseSession {
        let mut s = nninteractive_engine::Session::new(self.network.handle(), self.meta.clone());
        s.set_autozoom(self.config.autozoom);
        s.set_network_options(self.config.network);
        if self.config.history_bytes > 0 {
            s.set_history_budget(self.config.history_bytes);
        }
        lease::LeaseSession::new(s)
    }
}

/// How often the reaper looks: a quarter of the shorter timeout, between 0.2 s and 15 s.
pub fn sweep_interval(config: &ServerConfig) -> Duration {
    (config.liveness_timeout.min(config.idle_timeout) / 4)
        .clamp(Duration::from_millis(200), Duration::from_secs(15))
}

/// Serve until Ctrl-C or SIGTERM; `ready` is told the bound address once the server listens.
pub async fn serve(state: Arc<AppState>, ready: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let addr = format!("{}:{}", state.config.host, state.config.port);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    ready(listener.local_addr()?);
    let reaper = {
        let state = state.clone();
        let every = sweep_interval(&state.config);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                state.registry.sweep();
            }
        })
    };
    let app = router(state);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    reaper.abort();
    result
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_limits_are_read_and_max_is_none() {
        assert_eq!(cgroup_limit("12884901888\n"), Some(12 << 30));
        assert_eq!(cgroup_limit("max\n"), None);
        assert_eq!(cgroup_limit(""), None);
        assert!(physical_memory_bytes() > 0);
    }
}
