//! `nni serve`: the remote protocol server (crate `nninteractive-server`) with the reference's
//! flags, so napari, Slicer and MITK clients in remote mode drive the native engine.

use std::path::PathBuf;
use std::time::Duration;

use nninteractive_server::{AppState, ServerConfig};

/// The flags of `nni serve` (the reference server's where they apply).
#[derive(clap::Args)]
pub struct ServeArgs {
    /// ONNX model to serve (loaded once, shared by every session). With --network-url it is
    /// optional: only its metadata is read (checked against the served model).
    #[arg(long, required_unless_present = "network_url")]
    pub model: Option<PathBuf>,
    /// Bind address (0.0.0.0 listens on every interface).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0: any free port; the address is printed once listening).
    #[arg(long, default_value_t = 1527)]
    pub port: u16,
    /// Bearer token required on every request but /healthz (default: $NN_INTERACTIVE_API_KEY;
    /// neither: no authentication).
    #[arg(long)]
    pub api_key: Option<String>,
    /// Most client sessions at once.
    #[arg(long, default_value_t = 3)]
    pub max_sessions: usize,
    /// Seconds without a user action before a session is reaped (heartbeats do not count).
    #[arg(long, default_value_t = 600.0)]
    pub idle_timeout_seconds: f64,
    /// Seconds without any request (not even a heartbeat) before a session is reaped.
    #[arg(long, default_value_t = 60.0)]
    pub liveness_timeout_seconds: f64,
    /// Inference threads (0: the runtime's default).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Largest request body and array, MiB (default: a quarter of the memory this process may use:
    /// the machine's, or the container's limit where lower).
    #[arg(long)]
    pub max_upload_mb: Option<usize>,
    /// Undo history budget of each session, MiB (default 1024).
    #[arg(long)]
    pub history_mb: Option<usize>,
    /// Most memory one session's image may cost, MiB: 5 bytes a voxel (its float32 copy and the
    /// mask); a larger image is refused with 413 (default: the memory this process may use, the
    /// container's limit where lower, over --max-sessions).
    #[arg(long)]
    pub max_lease_mb: Option<usize>,
}

fn seconds(flag: &str, v: f64) -> Result<Duration, String> {
    if v.is_finite() && v > 0.0 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(format!("{flag} must be > 0"))
    }
}

/// Load the model (or connect to the remote one), then serve until Ctrl-C or SIGTERM.
pub fn run(
    args: ServeArgs,
    network: nninteractive_engine::NetworkOptions,
    remote: Option<nninteractive_engine::RemoteOptions>,
    autozoom: bool,
) -> Result<(), String> {
    let mut config = ServerConfig::new(PathBuf::new());
    config.model = args.model;
    config.remote = remote;
    config.host = args.host;
    config.port = args.port;
    config.api_key = args
        .api_key
        .or_else(|| std::env::var("NN_INTERACTIVE_API_KEY").ok())
        .filter(|k| !k.is_empty());
    config.max_sessions = args.max_sessions;
    config.idle_timeout = seconds("--idle-timeout-seconds", args.idle_timeout_seconds)?;
    config.liveness_timeout = seconds("--liveness-timeout-seconds", args.liveness_timeout_seconds)?;
    config.autozoom = autozoom;
    config.network = network;
    if let Some(mb) = args.max_upload_mb {
        config.max_body_bytes = mb.saturating_mul(1 << 20);
        config.max_array_bytes = config.max_body_bytes;
    }
    if let Some(mb) = args.max_lease_mb {
        config.max_lease_bytes = Some(mb.saturating_mul(1 << 20));
    }
    if let Some(mb) = args.history_mb {
        config.history_bytes = mb.saturating_mul(1 << 20).max(1);
    }
    if config.api_key.is_none() {
        eprintln!(
            "warning: serving WITHOUT authentication: anyone who can reach {}:{} can drive inference (pass --api-key or set NN_INTERACTIVE_API_KEY)",
            config.host, config.port
        );
    }
    if config.liveness_timeout >= config.idle_timeout {
        eprintln!("warning: --liveness-timeout-seconds is not below --idle-timeout-seconds: idle clients are reaped at the liveness timeout");
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let state = AppState::load(config)?;
    eprintln!(
        "model {} on {}",
        state.meta.name,
        state.capabilities["network"].as_str().unwrap_or("?")
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server's runtime: {e}"))?;
    let s = state.clone();
    runtime
        .block_on(nninteractive_server::serve(state, move |addr| {
            eprintln!(
                "serving on http://{addr} (max_sessions={}, idle_timeout={}s, liveness_timeout={}s)",
                s.config.max_sessions,
                s.config.idle_timeout.as_secs_f64(),
                s.config.liveness_timeout.as_secs_f64()
            );
        }))
        .map_err(|e| format!("server: {e}"))
}
