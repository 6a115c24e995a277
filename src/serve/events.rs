//! What the server reports while it runs. The serve layer does not print (the CLI
//! does): it hands each event to a sink the caller gives.

use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub enum ServeEvent {
    /// A warning about the plan (its source is missing, say).
    PlanWarning(String),
    /// Bound and accepting; `/readyz` says 503 until [`ServeEvent::Ready`].
    Listening { address: SocketAddr, workflows: Vec<String> },
    /// Models loaded and the warm-up call passed.
    Ready { milliseconds: f64 },
    /// Loading failed: the server keeps answering 503 until it is stopped.
    LoadFailed(String),
    /// One request answered. `body` only with `--log-bodies`.
    Request { method: String, path: String, status: u16, milliseconds: f64, body: Option<String> },
    /// A signal arrived: no new connections; accepted requests finish.
    ShuttingDown { signal: &'static str },
    Stopped,
}

pub type EventSink = Arc<dyn Fn(ServeEvent) + Send + Sync>;
