//! Graceful shutdown: on SIGTERM (what orchestrators and load balancers' drain
//! scripts send) or SIGINT (Ctrl-C) the server stops accepting connections, lets
//! every accepted request finish, then returns so the process exits 0.

use tokio::signal::unix::{signal, SignalKind};

/// Which signal asked the server to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    Terminate,
    Interrupt,
}

impl StopSignal {
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Interrupt => "SIGINT",
        }
    }
}

/// Resolves at the first SIGTERM or SIGINT. The handlers are installed when this
/// is called (before the server accepts anything), not when it is first polled.
pub fn stop_signal() -> std::io::Result<impl std::future::Future<Output = StopSignal>> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => StopSignal::Terminate,
            _ = interrupt.recv() => StopSignal::Interrupt,
        }
    })
}
