//! Semantic gradient descent over one workflow (DESIGN.md "Recommended
//! optimisation algorithm"), incremental over the lock.
//!
//! 1. Nodes are visited wave by wave (nodes that do not read each other; each wave
//!    after the ones it reads). A node whose build key matches its locked entry is
//!    reused as locked (no model call). Otherwise, if the plan
//!    fails training examples, the node is descended: tried against its gold
//!    outputs (the teacher's gold trace; the training targets for output nodes)
//!    on the inputs the *current* plan feeds it, with the moves in order of cost;
//!    the best candidate is kept only if the whole plan, validated on the training
//!    examples, passes at least as many as before (validate-and-revert).
//! 2. Then, while training examples fail and the budget lasts, the first failing
//!    example's failing node is localised (first node whose output differs from
//!    gold; the teacher decides when gold cannot) and descended again, asking the
//!    teacher for other samples each round.
//! 3. Where the previous lock's plan of the same workflow passes more training
//!    examples than the plan found, it is kept (`previous_plan.rs`).
//! 4. The plan's nodes get their final fingerprints and build keys; the workflow
//!    gets its training figures, teacher cost and PAC bound.
//!
//! The nodes of a wave are searched concurrently; their changes are validated one
//! after another, so each keep-or-revert decision sees the plan as it stands.

mod build_record;
mod cut_off_by_value;
mod diagnosis;
mod localisation;
mod move_schedule;
mod plan_editing;
mod previous_plan;
mod stop_reason;
mod training_runs;
mod validate_and_revert;

pub use build_record::{BuildSummary, NodeOutcome, WorkflowBuild};
pub use stop_reason::{BudgetLimit, StopReason};
use training_runs::Validation;


use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::critique_history::{Attempt, AttemptVerdict};
use super::build_key::{build_key, settings_fingerprint, value_fingerprint, value_key, OPTIMISER_VERSION};
use super::events::{BuildEvent, EventSink};
use super::gold_trace::{gold_trace, pretty, GoldTrace, NodeGold};
use super::moves::{self, Candidate, MoveContext};
use super::pac_bound::{describe, pac_bound};
use super::settings::{Move, OptimizeSettings};
use super::teacher::{json_object_in, render_prompt, user, Teacher, TeacherError, TeacherSpend, LOCALISE_FAILURE_PROMPT};
use super::trial::NodeTrial;
use super::value_match::{value_covers, values_match};
use crate::models::{ModelBackend, OutputConstraint};
use crate::plan::from_source::node_fingerprint;
use crate::plan::lock_file::{LockedBuild, LockedEvaluation, LockedModel, LockedNode, LockedWorkflow};
use crate::runtime::call_cache::CallCache;
use crate::runtime::executor::WorkflowExecutor;
use crate::runtime::metric::{score_outputs, Example};
use crate::runtime::trace::RunTrace;
use crate::runtime::values::Environment;
use crate::sandbox::Sandbox;

/// Where the build gets live models: from the plan's declarations (the CLI), or
/// test doubles (unit tests count calls through them).
#[async_trait]
pub trait ModelProvider: Send + Sync {
    async fn load(&self, name: &str, model: &LockedModel) -> Result<Arc<dyn ModelBackend>, String>;
}

/// A student backend that reports every call reaching it (below the call cache),
/// for the progress line and the summary.
struct ReportingBackend {
    name: String,
    inner: Arc<dyn ModelBackend>,
    calls: Arc<AtomicU64>,
    events: EventSink,
}

#[async_trait]
impl ModelBackend for ReportingBackend {
    fn identity(&self) -> crate::models::ModelIdentity {
        self.inner.identity()
    }

    async fn chat(&self, request: &crate::models::ChatRequest) -> Result<crate::models::ChatResponse, crate::models::ModelError> {
        let calls = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        (self.events)(&BuildEvent::StudentCall { model: self.name.clone(), calls });
        self.inner.chat(request).await
    }

    async fn score(&self, request: &crate::models::ScoreRequest) -> Result<crate::models::ScoreResponse, crate::models::ModelError> {
        let calls = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        (self.events)(&BuildEvent::StudentCall { model: self.name.clone(), calls });
        self.inner.score(request).await
    }
}

/// The models a plan declares, loaded as `flowc run` loads them.
pub struct DeclaredModels {
    pub source_dir: std::path::PathBuf,
}

#[async_trait]
impl ModelProvider for DeclaredModels {
    async fn load(&self, name: &str, model: &LockedModel) -> Result<Arc<dyn ModelBackend>, String> {
        crate::runtime::backends::load_backend(name, model, &self.source_dir).await
    }
}

pub struct BuildRequest {
    /// The workflow as `flowc lock` writes it.
    pub as_written: LockedWorkflow,
    /// The workflow in the existing lock, if any: the cache across runs.
    pub previous: Option<LockedWorkflow>,
    pub models: BTreeMap<String, LockedModel>,
    pub settings: OptimizeSettings,
    pub examples: Vec<Example>,
    /// The optimize block's `validation` set: run once on the final plan and
    /// reported, never used to choose (it stays a fair estimate).
    pub validation_examples: Vec<Example>,
}

pub struct BuildServices {
    pub provider: Arc<dyn ModelProvider>,
    pub sandbox: Sandbox,
    pub cache: Option<CallCache>,
    pub jobs: usize,
    pub events: EventSink,
}


struct Engine {
    request: BuildRequest,
    services: BuildServices,
    settings_fingerprint: String,
    loaded: HashMap<String, Arc<dyn ModelBackend>>,
    teacher: Option<Arc<Teacher>>,
    plan: LockedWorkflow,
    validation: Option<Validation>,
    gold: Option<GoldTrace>,
    /// Per node, its gold record when this build obtained the gold trace (what
    /// the lock then records for the next build to reuse).
    gold_records: Option<BTreeMap<String, NodeGold>>,
    hypotheses: AtomicU64,
    step: u32,
    outcomes: BTreeMap<String, String>,
    baseline: Option<usize>,
    stopped: Option<StopReason>,
    /// Student calls that reached a model (cache hits excluded).
    student_calls: Arc<AtomicU64>,
    /// Per node: every proposal so far and how it fared (the teacher reads it).
    history: BTreeMap<String, Vec<Attempt>>,
    /// Per node: the failure localisation's latest diagnosis of it.
    diagnoses: BTreeMap<String, String>,
    /// Per node: the plan (`plan_key`) on which its last descents kept nothing,
    /// and how many of them in a row.
    fruitless: BTreeMap<String, (String, u32)>,
}

pub async fn build_workflow(request: BuildRequest, services: BuildServices) -> Result<WorkflowBuild, String> {
    let started = Instant::now();
    let evaluation = request.as_written.evaluation.clone().ok_or_else(|| format!("the workflow `{}` has no metric to optimise", request.as_written.name))?;
    let settings_fingerprint = settings_fingerprint(&request.settings, &evaluation, &request.examples, &request.validation_examples);
    (services.events)(&BuildEvent::WorkflowStarted {
        workflow: request.as_written.name.clone(),
        nodes: request.as_written.nodes.len(),
        train_examples: request.examples.len(),
    });
    let plan = request.as_written.clone();
    let engine = Engine {
        request,
        services,
        settings_fingerprint,
        loaded: HashMap::new(),
        teacher: None,
        plan,
        validation: None,
        gold: None,
        gold_records: None,
        hypotheses: AtomicU64::new(1),
        step: 0,
        outcomes: BTreeMap::new(),
        baseline: None,
        stopped: None,
        student_calls: Arc::new(AtomicU64::new(0)),
        history: BTreeMap::new(),
        diagnoses: BTreeMap::new(),
        fruitless: BTreeMap::new(),
    };
    engine.run(&evaluation, started).await
}

impl Engine {
    fn workflow_name(&self) -> String {
        self.request.as_written.name.clone()
    }

    fn model_of(&self, node: &LockedNode) -> Option<&LockedModel> {
        node.model.as_ref().and_then(|name| self.request.models.get(name))
    }

    async fn run(mut self, evaluation: &LockedEvaluation, started: Instant) -> Result<WorkflowBuild, String> {
        let order = self.request.as_written.order.clone();
        let node_names: std::collections::BTreeSet<String> = self.request.as_written.nodes.iter().map(|node| node.name.clone()).collect();
        let mut finals: BTreeMap<String, String> = BTreeMap::new();
        // The value fingerprints known so far (reused nodes: the lock's; rebuilt
        // ones: measured), which the value keys of the nodes after them read.
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        let mut any_dirty = false;
        // A rebuilt node whose values differ from the lock's (or that has none).
        let mut any_changed = false;
        // Waves of nodes that do not read each other: a node's wave is one more
        // than the latest wave among the nodes it reads.
        for wave in self.waves() {
            let mut dirty = Vec::new();
            for name in &wave {
                let declared = self.request.as_written.nodes.iter().find(|node| node.name == *name).expect("order lists nodes").clone();
                let key = build_key(&self.settings_fingerprint, &declared, self.model_of(&declared), &finals);
                let by_value = value_key(&self.settings_fingerprint, &declared, self.model_of(&declared), &values, &node_names);
                if let Some(reused) = self.reusable(name, &key, by_value.as_deref()) {
                    if let Some(locked) = reused.last().and_then(|node| node.provenance.values.clone()) {
                        values.insert(name.clone(), locked);
                    }
                    self.replace_node(name, reused);
                    // A validation of the plan before this node was reused is stale.
                    self.validation = None;
                    self.outcomes.insert(name.clone(), "reused from the lock".into());
                    (self.services.events)(&BuildEvent::NodeReused { workflow: self.workflow_name(), node: name.clone() });
                } else {
                    any_dirty = true;
                    dirty.push(name.clone());
                }
            }
            if !dirty.is_empty() && self.stopped.is_none() {
                // Cut-off by value: run the rebuilt nodes first (only what they
                // read, with them); those that produce their locked values settle.
                let produced = if self.could_settle(&dirty) { Some(self.produced_values(&dirty).await?) } else { None };
                let changed = match &produced {
                    Some(produced) => self.settle_by_value(&dirty, produced, &mut values),
                    None => dirty.clone(),
                };
                if !changed.is_empty() {
                    any_changed = true;
                    let plan_before = self.plan_key();
                    self.ensure_validation().await?;
                    if !self.validation.as_ref().expect("validated").all() {
                        let descended = self.descend_independent(&changed).await;
                        self.stop_if_spent(descended)?;
                    } else {
                        for name in &changed {
                            self.outcomes.entry(name.clone()).or_insert_with(|| "kept as written (the plan passes every training example)".into());
                        }
                    }
                    // What the nodes after them read: their values as they now stand.
                    let now = match produced {
                        Some(produced) if self.plan_key() == plan_before => produced,
                        _ => self.current_values(&changed).await?,
                    };
                    for name in &changed {
                        if let Some(fingerprint) = now.get(name) {
                            values.insert(name.clone(), fingerprint.clone());
                        }
                    }
                }
            } else if !dirty.is_empty() {
                any_changed = true;
            }
            for name in &wave {
                self.record_finals(name, &mut finals);
            }
        }
        if !any_dirty {
            if let Some(previous) = &self.request.previous {
                if previous.build.as_ref().is_some_and(|build| build.settings_fingerprint == self.settings_fingerprint) && previous.nodes.len() == self.plan.nodes.len() {
                    let mut workflow = previous.clone();
                    workflow.fingerprint = self.request.as_written.fingerprint.clone();
                    workflow.evaluation = self.request.as_written.evaluation.clone();
                    let build = previous.build.clone().expect("checked above");
                    let nodes = order.iter().map(|node| NodeOutcome { node: node.clone(), outcome: "reused from the lock".into() }).collect();
                    let summary = BuildSummary::from_locked_build(self.workflow_name(), true, nodes, &build, TeacherSpend::default(), 0, started);
                    return Ok(WorkflowBuild { workflow, summary });
                }
            }
        }
        // Every node reused or settled by value: the plan produces the locked plan's
        // values on every example, so its build record holds; nothing to descend.
        if !any_changed {
            if let Some(build) = self.request.previous.as_ref().and_then(|previous| previous.build.clone()).filter(|build| build.settings_fingerprint == self.settings_fingerprint) {
                return self.finish_settled(build, &values, started);
            }
        }
        self.ensure_validation().await?;
        let mut round = 1;
        let mut unchanged_rounds = 0;
        while round <= self.request.settings.budget.iterations && self.stopped.is_none() && !self.validation.as_ref().expect("validated").all() {
            let localised = self.localise().await;
            let Some(target) = self.stop_if_spent(localised)? else { break };
            // Fail fast: the node was already descended, fruitlessly, on exactly
            // this plan. Its deterministic moves would find the same nothing, and
            // the teacher would only be sampled again on the same question — unless
            // a move that reads the node's history (a prompt rewrite, a class
            // vocabulary) can ask a new one: those get a few more rounds.
            if self.exhausted(&target) {
                self.stopped = Some(StopReason::NothingLeftToTry);
                break;
            }
            let descended = self.descend(&target, round).await;
            match self.stop_if_spent(descended)? {
                Some(true) => unchanged_rounds = 0,
                Some(false) => unchanged_rounds += 1,
                None => break,
            }
            // Two rounds without a kept change: more rounds would ask the same
            // questions of the same teacher.
            if unchanged_rounds >= 2 {
                self.stopped = Some(StopReason::NoProgress);
                break;
            }
            round += 1;
        }
        self.keep_the_previous_plan_where_it_passes_more().await?;
        let validation = self.validation.as_ref().expect("validated");
        let passed = validation.count();
        let total = validation.passed.len();
        let stopped = if validation.all() {
            StopReason::AllPassed
        } else {
            self.stopped.unwrap_or(if round > self.request.settings.budget.iterations { StopReason::BudgetSpent(BudgetLimit::Iterations) } else { StopReason::NoProgress })
        };
        let validation_set = if self.request.validation_examples.is_empty() {
            None
        } else {
            let plan = self.plan.clone();
            let examples = self.request.validation_examples.clone();
            let validation = self.validate_on(&plan, &examples).await?;
            (self.services.events)(&BuildEvent::Validated {
                workflow: self.workflow_name(),
                step: self.step,
                passed: validation.count(),
                total: validation.passed.len(),
                note: "the final plan on the validation set (not used to choose)".into(),
            });
            Some(validation)
        };
        self.finish(evaluation, passed, total, stopped, started, validation_set)
    }

    /// A spent budget ends the descent (the plan so far is kept and recorded as
    /// stopped by that limit): `None`. Any other teacher error fails the build.
    fn stop_if_spent<T>(&mut self, result: Result<T, TeacherError>) -> Result<Option<T>, String> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(TeacherError::BudgetSpent(limit)) => {
                self.stopped = Some(StopReason::BudgetSpent(limit));
                Ok(None)
            }
            Err(error) => Err(error.to_string()),
        }
    }
}
