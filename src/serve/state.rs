//! What every request handler shares: the plan (immutable), its pre-rendered page
//! and description, whether the models are loaded yet, the admission queue and the
//! metrics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use super::admission::AdmissionQueue;
use super::auth::BearerToken;
use super::config::ServeConfig;
use super::events::{EventSink, ServeEvent};
use super::input_validation::InputSignature;
use super::metrics::ServeMetrics;
use crate::plan::lock_file::LockFile;
use crate::runtime::executor::WorkflowExecutor;
use crate::sandbox::Sandbox;

/// Where loading stands. Requests that run need [`Readiness::Ready`].
#[derive(Clone)]
pub enum Readiness {
    Loading,
    Ready(Arc<LoadedPlan>),
    Failed(String),
}

/// The plan's workflows, ready to run.
pub struct LoadedPlan {
    pub executors: HashMap<String, Arc<WorkflowExecutor>>,
    pub sandbox: Sandbox,
}

pub struct ServeState {
    pub config: ServeConfig,
    pub lock: LockFile,
    /// sha256 of the plan file's bytes: replicas serving the same plan say the same.
    pub plan_fingerprint: String,
    /// Per workflow name.
    pub signatures: HashMap<String, InputSignature>,
    pub page_html: String,
    pub plan_json: String,
    pub readiness: RwLock<Readiness>,
    pub admission: AdmissionQueue,
    pub metrics: ServeMetrics,
    pub token: Option<BearerToken>,
    pub events: EventSink,
    pub shutting_down: AtomicBool,
}

impl ServeState {
    pub fn readiness(&self) -> Readiness {
        self.readiness.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub fn set_readiness(&self, readiness: Readiness) {
        *self.readiness.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = readiness;
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    pub fn report(&self, event: ServeEvent) {
        (self.events)(event);
    }

    /// The sandbox's worker restarts so far (0 while loading).
    pub fn worker_restarts(&self) -> u64 {
        match self.readiness() {
            Readiness::Ready(plan) => plan.sandbox.worker_restarts(),
            Readiness::Loading | Readiness::Failed(_) => 0,
        }
    }

    /// Refresh the queue gauges (cheap: two atomics).
    pub fn update_queue_gauges(&self) {
        self.metrics.set_queue_depth(self.admission.waiting());
        self.metrics.set_in_flight(self.admission.running());
    }
}

pub type SharedState = Arc<ServeState>;
