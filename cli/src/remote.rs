//! The flags that put the network on a KServe v2 server (NVIDIA Triton, KServe): `nni serve`,
//! `nni segment` and `nni bench` send their forwards there instead of running them here.

use std::time::Duration;

use nninteractive_engine::RemoteOptions;

/// The remote network's flags.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RemoteArgs {
    /// Run the network's forwards on this model of a KServe v2 server (Open Inference Protocol,
    /// e.g. NVIDIA Triton): http[s]://HOST:PORT/v2/models/NAME. The model's metadata comes from
    /// the server (a repository written by `nni-convert --triton-repo`), or from --model when
    /// given. A bearer token for the server is read from $NNI_NETWORK_TOKEN.
    #[arg(long)]
    pub network_url: Option<String>,
    /// An HTTP header sent with every request to the network server, `Name: value`
    /// (repeatable).
    #[arg(long = "network-header", value_parser = parse_header)]
    pub network_headers: Vec<(String, String)>,
    /// Seconds one forward may take on the network server (upload and reply included).
    #[arg(long, default_value_t = 120.0)]
    pub network_timeout: f64,
    /// How many more times a forward is tried when the network server cannot be reached or
    /// says it is not ready.
    #[arg(long, default_value_t = nninteractive_engine::backend::remote::DEFAULT_RETRIES)]
    pub network_retries: u32,
    /// For an https:// network URL: a PEM file of the CA certificates to trust (an internal CA)
    /// instead of the built-in Mozilla roots.
    #[arg(long)]
    pub network_ca_file: Option<std::path::PathBuf>,
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("network header {s:?} is not `Name: value`"))?;
    Ok((name.trim().to_string(), value.trim().to_string()))
}

impl RemoteArgs {
    /// The remote network's options, when --network-url was given.
    pub fn options(&self) -> Result<Option<RemoteOptions>, String> {
        let Some(url) = &self.network_url else {
            return Ok(None);
        };
        if !(self.network_timeout.is_finite() && self.network_timeout > 0.0) {
            return Err("--network-timeout must be > 0".into());
        }
        let mut opts = RemoteOptions::new(url);
        opts.timeout = Duration::from_secs_f64(self.network_timeout);
        opts.retries = self.network_retries;
        opts.ca_file = self.network_ca_file.clone();
        if let Ok(token) = std::env::var("NNI_NETWORK_TOKEN") {
            if !token.is_empty() {
                opts = opts.with_bearer_token(&token);
            }
        }
        opts.headers.extend(self.network_headers.iter().cloned());
        Ok(Some(opts))
    }
}
