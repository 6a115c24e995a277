//! Starting and stopping: refuse a stale plan (with `flowc run`'s message), bind,
//! answer 503 while the models load in the background, serve, and on SIGTERM or
//! SIGINT finish every accepted request before returning.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

use super::admission::AdmissionQueue;
use super::auth::BearerToken;
use super::config::ServeConfig;
use super::events::{EventSink, ServeEvent};
use super::input_validation::InputSignature;
use super::metrics::ServeMetrics;
use super::plan_description::describe_plan;
use super::plan_page::render_plan_page;
use super::router::router;
use super::shutdown::stop_signal;
use super::state::{Readiness, ServeState};
use super::warm_up::load_and_warm_up;
use crate::plan::lock_file::LockFile;
use crate::runtime::plan_loading::check_fresh;

/// Why the server did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// The file cannot be read or is not a plan (a usage error).
    NotAPlan(String),
    /// The plan is stale: the message is the one `flowc run` gives.
    Stale(String),
    /// Anything else: the address is taken, the token variable is unset, …
    Setup(String),
}

impl StartError {
    pub fn message(&self) -> &str {
        match self {
            StartError::NotAPlan(message) | StartError::Stale(message) | StartError::Setup(message) => message,
        }
    }
}

/// Runs the server until a stop signal; returns once every accepted request is
/// answered.
pub async fn serve(config: ServeConfig, events: EventSink) -> Result<(), StartError> {
    let bytes = std::fs::read(&config.plan).map_err(|error| StartError::NotAPlan(format!("cannot read the plan {}: {error}", config.plan.display())))?;
    let text = String::from_utf8(bytes.clone()).map_err(|_| StartError::NotAPlan(format!("{} is not a flowc plan: it is not UTF-8 text", config.plan.display())))?;
    let lock = LockFile::from_toml(&text).map_err(|error| StartError::NotAPlan(format!("{} is not a flowc plan: {error}", config.plan.display())))?;
    let freshness = check_fresh(&lock, &config.plan).map_err(StartError::Stale)?;
    if let Some(warning) = freshness.warning() {
        events(ServeEvent::PlanWarning(warning));
    }
    let token = config.token_variable.as_deref().map(BearerToken::from_environment).transpose().map_err(StartError::Setup)?;
    let signatures: Vec<InputSignature> = lock.workflows.iter().map(InputSignature::of).collect::<Result<_, _>>().map_err(StartError::Setup)?;
    let plan_fingerprint = format!("{:x}", Sha256::digest(&bytes));
    let page_html = render_plan_page(&lock, &plan_fingerprint, &signatures);
    let plan_json = describe_plan(&lock, &plan_fingerprint, &signatures).to_string();
    // Installed before binding, so that a signal sent as soon as the port answers
    // is a graceful stop, not the default (immediate) death.
    let stop = stop_signal().map_err(|error| StartError::Setup(format!("cannot listen for SIGTERM/SIGINT: {error}")))?;
    let listener = TcpListener::bind(config.address).await.map_err(|error| StartError::Setup(format!("cannot listen on {}: {error}", config.address)))?;
    let address = listener.local_addr().map_err(|error| StartError::Setup(error.to_string()))?;
    let workflows: Vec<String> = lock.workflows.iter().map(|workflow| workflow.name.clone()).collect();
    let metrics = ServeMetrics::for_workflows(&lock.workflows);
    let state = Arc::new(ServeState {
        admission: AdmissionQueue::new(config.jobs, config.queue),
        config,
        signatures: lock.workflows.iter().map(|workflow| workflow.name.clone()).zip(signatures).collect::<HashMap<_, _>>(),
        lock,
        plan_fingerprint,
        page_html,
        plan_json,
        readiness: RwLock::new(Readiness::Loading),
        metrics,
        token,
        events: Arc::clone(&events),
        shutting_down: AtomicBool::new(false),
    });
    events(ServeEvent::Listening { address, workflows });
    let loading_state = Arc::clone(&state);
    let loading = tokio::spawn(async move {
        match load_and_warm_up(Arc::clone(&loading_state)).await {
            Ok(milliseconds) => loading_state.report(ServeEvent::Ready { milliseconds }),
            Err(message) => loading_state.report(ServeEvent::LoadFailed(message)),
        }
    });
    let stopping_state = Arc::clone(&state);
    let shutdown = async move {
        let signal = stop.await;
        stopping_state.shutting_down.store(true, Ordering::Release);
        stopping_state.report(ServeEvent::ShuttingDown { signal: signal.name() });
    };
    let served = axum::serve(listener, router(Arc::clone(&state))).with_graceful_shutdown(shutdown).await;
    loading.abort();
    served.map_err(|error| StartError::Setup(format!("the server failed: {error}")))?;
    events(ServeEvent::Stopped);
    Ok(())
}
