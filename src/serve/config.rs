//! What `flowc serve` is told: the plan, where to listen, how much to run at once,
//! how long a request may take, and the security switches.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The default address: loopback, so a server is never exposed by accident.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:8080";
/// Requests above this many bytes are refused with 413 (a JSON-lines batch of a few
/// thousand inputs fits).
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 8 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The plan (`flow.lock`).
    pub plan: PathBuf,
    pub address: SocketAddr,
    /// Workflow runs executing at once (and node executions across them, as
    /// `flowc run --jobs`).
    pub jobs: usize,
    /// Requests that may wait for a free run slot; beyond them, 429.
    pub queue: usize,
    /// The longest a request may take, waiting included; beyond it, 504.
    pub timeout: Duration,
    pub body_limit_bytes: usize,
    /// The environment variable holding the bearer token every request (but the
    /// health probes) must carry; `None`: no token.
    pub token_variable: Option<String>,
    /// Report one [`super::ServeEvent::Request`] per request (off with `--quiet`:
    /// then the server does not even build the events, whose strings cost an
    /// allocation each on every request).
    pub log_requests: bool,
    /// Include request bodies in the request log (off: inputs may be private).
    pub log_bodies: bool,
    /// Neither read nor write the model-call cache.
    pub no_cache: bool,
}
