//! `/metrics`: the server's figures in the Prometheus text format (OpenMetrics,
//! through `prometheus-client`). Labels are bounded: routes are a fixed set,
//! workflows and nodes come from the plan, never from the request. Requests update
//! handles resolved once ([`super::metric_handles`]), not the families' lookups.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::metric_handles::{RequestCounterHandles, WorkflowMetricHandles};
use crate::plan::lock_file::LockedWorkflow;
use crate::runtime::trace::{NodeTrace, RunTrace};

/// The content type of the answer (Prometheus scrapes OpenMetrics text).
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which endpoint answered: a closed set, so a client cannot create label values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Run,
    Batch,
    Plan,
    Page,
    Healthz,
    Readyz,
    Metrics,
    Other,
}

impl Route {
    /// Every route, in the order of [`Route::index`].
    pub const ALL: [Route; 8] = [Route::Run, Route::Batch, Route::Plan, Route::Page, Route::Healthz, Route::Readyz, Route::Metrics, Route::Other];

    /// The route's place in [`Route::ALL`] (for tables of per-route handles).
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Route::Run => "run",
            Route::Batch => "batch",
            Route::Plan => "plan",
            Route::Page => "page",
            Route::Healthz => "healthz",
            Route::Readyz => "readyz",
            Route::Metrics => "metrics",
            Route::Other => "other",
        }
    }

    /// The route of a request path.
    pub fn of_path(path: &str) -> Route {
        match path {
            "/" => Route::Page,
            "/v1/plan" => Route::Plan,
            "/healthz" => Route::Healthz,
            "/readyz" => Route::Readyz,
            "/metrics" => Route::Metrics,
            other if other.starts_with("/v1/workflows/") && other.ends_with(":run") => Route::Run,
            other if other.starts_with("/v1/workflows/") && other.ends_with(":batch") => Route::Batch,
            _ => Route::Other,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    route: String,
    status: String,
}

impl RequestLabels {
    pub fn of(route: Route, status: u16) -> RequestLabels {
        RequestLabels { route: route.name().into(), status: status.to_string() }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkflowLabels {
    pub workflow: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NodeLabels {
    pub workflow: String,
    pub node: String,
}

pub type HistogramFamily<Labels> = Family<Labels, Histogram, fn() -> Histogram>;

/// 0.1 ms to ~100 s: a code node takes well under a millisecond, a model call on a
/// CPU seconds to minutes.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.5, 16))
}

pub struct ServeMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    workflow_seconds: HistogramFamily<WorkflowLabels>,
    node_seconds: HistogramFamily<NodeLabels>,
    model_calls: Family<NodeLabels, Counter>,
    cache_hits: Family<NodeLabels, Counter>,
    queue_depth: Gauge,
    in_flight: Gauge,
    worker_restarts: Counter,
    worker_restarts_seen: AtomicU64,
    request_counters: RequestCounterHandles,
    /// The plan's workflows, by name.
    workflow_handles: HashMap<String, WorkflowMetricHandles>,
    /// Encoding reads the registry while requests update metrics (atomics); the
    /// lock only keeps two scrapes from interleaving the restart update.
    scrape: Mutex<()>,
}

impl Default for ServeMetrics {
    fn default() -> Self {
        ServeMetrics::new()
    }
}

impl ServeMetrics {
    /// Metrics for a server that runs no plan's workflows (their series are still
    /// counted, through the families' lookups).
    pub fn new() -> ServeMetrics {
        ServeMetrics::for_workflows(&[])
    }

    /// Metrics with handles ready for `workflows` and their nodes.
    pub fn for_workflows(workflows: &[LockedWorkflow]) -> ServeMetrics {
        let mut registry = Registry::with_prefix("flowc");
        let requests = Family::<RequestLabels, Counter>::default();
        let workflow_seconds = HistogramFamily::<WorkflowLabels>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let node_seconds = HistogramFamily::<NodeLabels>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let model_calls = Family::<NodeLabels, Counter>::default();
        let cache_hits = Family::<NodeLabels, Counter>::default();
        let queue_depth = Gauge::default();
        let in_flight = Gauge::default();
        let worker_restarts = Counter::default();
        registry.register("http_requests", "HTTP requests answered, by route and status", requests.clone());
        registry.register("workflow_run_seconds", "Time of one workflow run (queue wait excluded), by workflow", workflow_seconds.clone());
        registry.register("node_seconds", "Time of one node execution, by workflow and node", node_seconds.clone());
        registry.register("model_calls", "Model calls that reached a model (not answered by the call cache)", model_calls.clone());
        registry.register("call_cache_hits", "Model calls answered by the on-disk call cache", cache_hits.clone());
        registry.register("queue_depth", "Requests waiting for a run slot", queue_depth.clone());
        registry.register("in_flight_requests", "Runs executing now", in_flight.clone());
        registry.register("sandbox_worker_restarts", "Sandbox workers started to replace one that died or was killed (memory limit, timeout)", worker_restarts.clone());
        ServeMetrics {
            registry,
            requests,
            workflow_seconds,
            node_seconds,
            model_calls,
            cache_hits,
            queue_depth,
            in_flight,
            worker_restarts,
            worker_restarts_seen: AtomicU64::new(0),
            request_counters: RequestCounterHandles::new(),
            workflow_handles: workflows.iter().map(|workflow| (workflow.name.clone(), WorkflowMetricHandles::of(workflow))).collect(),
            scrape: Mutex::new(()),
        }
    }

    pub fn count_request(&self, route: Route, status: u16) {
        self.request_counters.count(&self.requests, route, status);
    }

    /// Latencies, model calls and cache hits of one finished run.
    pub fn record_run(&self, trace: &RunTrace) {
        let Some(workflow) = self.workflow_handles.get(&trace.workflow) else {
            return self.record_run_by_lookup(trace);
        };
        workflow.run_seconds(&self.workflow_seconds).observe(trace.milliseconds / 1000.0);
        for node in &trace.nodes {
            let Some(handles) = workflow.node(&node.node) else {
                self.record_node_by_lookup(&trace.workflow, node);
                continue;
            };
            handles.seconds(&self.node_seconds).observe(node.milliseconds / 1000.0);
            let (reached, cached) = model_calls_and_cache_hits(node);
            if reached > 0 {
                handles.model_calls(&self.model_calls).inc_by(reached);
            }
            if cached > 0 {
                handles.cache_hits(&self.cache_hits).inc_by(cached);
            }
        }
    }

    /// A run of a workflow these metrics have no handles for: through the
    /// families' own lookups.
    fn record_run_by_lookup(&self, trace: &RunTrace) {
        self.workflow_seconds.get_or_create(&WorkflowLabels { workflow: trace.workflow.clone() }).observe(trace.milliseconds / 1000.0);
        for node in &trace.nodes {
            self.record_node_by_lookup(&trace.workflow, node);
        }
    }

    fn record_node_by_lookup(&self, workflow: &str, node: &NodeTrace) {
        let labels = NodeLabels { workflow: workflow.to_string(), node: node.node.clone() };
        self.node_seconds.get_or_create(&labels).observe(node.milliseconds / 1000.0);
        let (reached, cached) = model_calls_and_cache_hits(node);
        if reached > 0 {
            self.model_calls.get_or_create(&labels).inc_by(reached);
        }
        if cached > 0 {
            self.cache_hits.get_or_create(&labels).inc_by(cached);
        }
    }

    pub fn set_queue_depth(&self, depth: usize) {
        self.queue_depth.set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    pub fn set_in_flight(&self, running: usize) {
        self.in_flight.set(i64::try_from(running).unwrap_or(i64::MAX));
    }

    /// The text of `/metrics`; `worker_restarts` is the sandbox's count now.
    pub fn encode(&self, worker_restarts: u64) -> String {
        let _guard = self.scrape.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let seen = self.worker_restarts_seen.swap(worker_restarts, Ordering::Relaxed);
        if worker_restarts > seen {
            self.worker_restarts.inc_by(worker_restarts - seen);
        }
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String does not fail");
        text
    }
}

/// A node's model calls that reached a model, and those the call cache answered.
fn model_calls_and_cache_hits(node: &NodeTrace) -> (u64, u64) {
    let cached = node.calls.iter().filter(|call| call.cached).count() as u64;
    (node.calls.len() as u64 - cached, cached)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::trace::{CallTrace, NodeTrace};

    #[test]
    fn runs_and_requests_are_counted_in_the_text_format() {
        let metrics = ServeMetrics::new();
        metrics.count_request(Route::Run, 200);
        metrics.count_request(Route::Run, 200);
        metrics.count_request(Route::of_path("/v1/workflows/solve:batch"), 429);
        let call = CallTrace { cached: true, ..CallTrace::default() };
        let node = NodeTrace { node: "extract".into(), kind: "llm".into(), calls: vec![call.clone(), CallTrace { cached: false, ..call }], milliseconds: 3.0, ..NodeTrace::default() };
        metrics.record_run(&RunTrace { workflow: "solve".into(), nodes: vec![node], milliseconds: 4.0, ..RunTrace::default() });
        metrics.set_queue_depth(3);
        let text = metrics.encode(2);
        assert!(text.contains("flowc_http_requests_total{route=\"run\",status=\"200\"} 2"), "{text}");
        assert!(text.contains("flowc_http_requests_total{route=\"batch\",status=\"429\"} 1"), "{text}");
        assert!(text.contains("flowc_model_calls_total{workflow=\"solve\",node=\"extract\"} 1"), "{text}");
        assert!(text.contains("flowc_call_cache_hits_total{workflow=\"solve\",node=\"extract\"} 1"), "{text}");
        assert!(text.contains("flowc_queue_depth 3"), "{text}");
        assert!(text.contains("flowc_sandbox_worker_restarts_total 2"), "{text}");
        assert!(text.contains("flowc_node_seconds_count{workflow=\"solve\",node=\"extract\"} 1"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(metrics.encode(2).contains("flowc_sandbox_worker_restarts_total 2"));
    }

    #[test]
    fn handles_resolved_once_count_the_same_series_as_lookups() {
        // Any plan's workflow will do; its names are read from it, not assumed.
        let plan = crate::plan::lock_file::LockFile::from_toml(include_str!("../../examples/templated_shopping_change/flow.lock")).unwrap();
        let (workflow, node_name) = (plan.workflows[0].name.clone(), plan.workflows[0].nodes[0].name.clone());
        let metrics = ServeMetrics::for_workflows(&plan.workflows);
        let before = metrics.encode(0);
        assert!(!before.contains("route=\"run\""), "a series appears only once used: {before}");
        assert!(!before.contains(&format!("node=\"{node_name}\"")), "{before}");
        metrics.count_request(Route::Run, 200);
        metrics.count_request(Route::Run, 200);
        metrics.count_request(Route::Run, 418);
        let node = NodeTrace { node: node_name.clone(), calls: vec![CallTrace { cached: true, ..CallTrace::default() }], milliseconds: 1.0, ..NodeTrace::default() };
        let stranger = NodeTrace { node: "not_in_the_plan".into(), milliseconds: 1.0, ..NodeTrace::default() };
        metrics.record_run(&RunTrace { workflow: workflow.clone(), nodes: vec![node.clone(), stranger], milliseconds: 2.0, ..RunTrace::default() });
        metrics.record_run(&RunTrace { workflow: workflow.clone(), nodes: vec![node.clone()], milliseconds: 2.0, ..RunTrace::default() });
        metrics.record_run(&RunTrace { workflow: "elsewhere".into(), nodes: vec![node], milliseconds: 2.0, ..RunTrace::default() });
        let text = metrics.encode(0);
        for expected in [
            "flowc_http_requests_total{route=\"run\",status=\"200\"} 2".to_string(),
            "flowc_http_requests_total{route=\"run\",status=\"418\"} 1".to_string(),
            format!("flowc_workflow_run_seconds_count{{workflow=\"{workflow}\"}} 2"),
            format!("flowc_node_seconds_count{{workflow=\"{workflow}\",node=\"{node_name}\"}} 2"),
            format!("flowc_call_cache_hits_total{{workflow=\"{workflow}\",node=\"{node_name}\"}} 2"),
            format!("flowc_node_seconds_count{{workflow=\"{workflow}\",node=\"not_in_the_plan\"}} 1"),
            "flowc_workflow_run_seconds_count{workflow=\"elsewhere\"} 1".to_string(),
        ] {
            assert!(text.contains(&expected), "{expected} missing from\n{text}");
        }
        assert!(!text.contains(&format!("flowc_model_calls_total{{workflow=\"{workflow}\"")), "no model call reached a model: {text}");
        for (index, route) in Route::ALL.iter().enumerate() {
            assert_eq!(route.index(), index);
        }
    }
}
