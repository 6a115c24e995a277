//! Metric handles resolved once, not on every request.
//!
//! A `prometheus-client` family finds a series by hashing its label set under a
//! lock, and our label sets are owned strings: looking a series up per request cost
//! two to four string allocations, a hash and a lock for each of the request
//! counter, the workflow histogram and every node's histogram. A handle cloned out
//! of a family shares the series' value (an `Arc`), so it can be kept and updated
//! directly. Handles are taken from the family the first time a series is used
//! (`OnceLock`), not at start-up, so `/metrics` shows exactly the series it showed
//! before: a route, status, workflow or node appears once it has been seen.

use std::collections::HashMap;
use std::sync::OnceLock;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use super::metrics::{HistogramFamily, NodeLabels, RequestLabels, Route, WorkflowLabels};
use crate::plan::lock_file::LockedWorkflow;

/// Every status the server itself answers with (200 and the statuses of
/// [`super::errors::ErrorCode`]); another status (one a layer below us chose) is
/// still counted, through the family's own lookup.
const ANSWERED_STATUSES: [u16; 10] = [200, 400, 401, 404, 405, 413, 429, 500, 503, 504];

fn answered_status_index(status: u16) -> Option<usize> {
    ANSWERED_STATUSES.iter().position(|answered| *answered == status)
}

/// `flowc_http_requests_total` by route and status, one handle per pair.
pub struct RequestCounterHandles {
    by_route_and_status: [[OnceLock<Counter>; ANSWERED_STATUSES.len()]; Route::ALL.len()],
}

impl RequestCounterHandles {
    pub fn new() -> RequestCounterHandles {
        RequestCounterHandles { by_route_and_status: std::array::from_fn(|_| std::array::from_fn(|_| OnceLock::new())) }
    }

    pub fn count(&self, family: &Family<RequestLabels, Counter>, route: Route, status: u16) {
        match answered_status_index(status) {
            Some(status_index) => {
                self.by_route_and_status[route.index()][status_index].get_or_init(|| family.get_or_create(&RequestLabels::of(route, status)).clone()).inc();
            }
            None => {
                family.get_or_create(&RequestLabels::of(route, status)).inc();
            }
        }
    }
}

impl Default for RequestCounterHandles {
    fn default() -> Self {
        RequestCounterHandles::new()
    }
}

/// One node's series: its latency histogram, model calls and call-cache hits.
pub struct NodeMetricHandles {
    labels: NodeLabels,
    seconds: OnceLock<Histogram>,
    model_calls: OnceLock<Counter>,
    cache_hits: OnceLock<Counter>,
}

impl NodeMetricHandles {
    fn new(workflow: &str, node: &str) -> NodeMetricHandles {
        NodeMetricHandles {
            labels: NodeLabels { workflow: workflow.to_string(), node: node.to_string() },
            seconds: OnceLock::new(),
            model_calls: OnceLock::new(),
            cache_hits: OnceLock::new(),
        }
    }

    pub fn seconds(&self, family: &HistogramFamily<NodeLabels>) -> &Histogram {
        self.seconds.get_or_init(|| family.get_or_create(&self.labels).clone())
    }

    pub fn model_calls(&self, family: &Family<NodeLabels, Counter>) -> &Counter {
        self.model_calls.get_or_init(|| family.get_or_create(&self.labels).clone())
    }

    pub fn cache_hits(&self, family: &Family<NodeLabels, Counter>) -> &Counter {
        self.cache_hits.get_or_init(|| family.get_or_create(&self.labels).clone())
    }
}

/// One workflow's series: its run-time histogram and its nodes' series, by node name.
pub struct WorkflowMetricHandles {
    labels: WorkflowLabels,
    run_seconds: OnceLock<Histogram>,
    nodes: HashMap<String, NodeMetricHandles>,
}

impl WorkflowMetricHandles {
    pub fn of(workflow: &LockedWorkflow) -> WorkflowMetricHandles {
        WorkflowMetricHandles {
            labels: WorkflowLabels { workflow: workflow.name.clone() },
            run_seconds: OnceLock::new(),
            nodes: workflow.nodes.iter().map(|node| (node.name.clone(), NodeMetricHandles::new(&workflow.name, &node.name))).collect(),
        }
    }

    pub fn run_seconds(&self, family: &HistogramFamily<WorkflowLabels>) -> &Histogram {
        self.run_seconds.get_or_init(|| family.get_or_create(&self.labels).clone())
    }

    /// `None` for a node the plan's workflow does not have (a trace from elsewhere).
    pub fn node(&self, name: &str) -> Option<&NodeMetricHandles> {
        self.nodes.get(name)
    }
}
