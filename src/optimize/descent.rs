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
//! 3. The plan's nodes get their final fingerprints and build keys; the workflow
//!    gets its training figures, teacher cost and PAC bound.
//!
//! The nodes of a wave are searched concurrently; their changes are validated one
//! after another, so each keep-or-revert decision sees the plan as it stands.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::build_key::{build_key, settings_fingerprint, OPTIMISER_VERSION};
use super::events::{BuildEvent, EventSink};
use super::gold_trace::{gold_trace, pretty, GoldTrace};
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

#[derive(Clone, Debug, Serialize)]
pub struct NodeOutcome {
    pub node: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct BuildSummary {
    pub workflow: String,
    /// Every node came from the lock and nothing was run.
    pub reused_all: bool,
    pub nodes: Vec<NodeOutcome>,
    pub train_examples: usize,
    pub train_passed_before: Option<usize>,
    pub train_passed_after: usize,
    pub teacher: TeacherSpend,
    /// Student calls that reached a model in this build (cache hits excluded).
    pub student_calls: u64,
    pub hypotheses: u64,
    pub stopped: String,
    pub pac: String,
    /// Passed / total on the optimize block's validation set, if it has one.
    pub validation: Option<(u32, u32)>,
    pub seconds: f64,
}

pub struct WorkflowBuild {
    pub workflow: LockedWorkflow,
    pub summary: BuildSummary,
}

/// What the search half of a descent found.
enum SearchOutcome {
    /// The node already matches its gold outputs (or has none): nothing to do.
    Matches { before: usize, total: usize },
    NothingBetter { before: usize, total: usize },
    Found(Candidate),
}

struct Validation {
    passed: Vec<bool>,
    traces: Vec<RunTrace>,
}

impl Validation {
    fn count(&self) -> usize {
        self.passed.iter().filter(|passed| **passed).count()
    }

    fn all(&self) -> bool {
        self.passed.iter().all(|passed| *passed)
    }
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
    hypotheses: AtomicU64,
    step: u32,
    outcomes: BTreeMap<String, String>,
    baseline: Option<usize>,
    stopped: Option<String>,
    /// Student calls that reached a model (cache hits excluded).
    student_calls: Arc<AtomicU64>,
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
        hypotheses: AtomicU64::new(1),
        step: 0,
        outcomes: BTreeMap::new(),
        baseline: None,
        stopped: None,
        student_calls: Arc::new(AtomicU64::new(0)),
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
        let mut finals: BTreeMap<String, String> = BTreeMap::new();
        let mut any_dirty = false;
        // Waves of nodes that do not read each other: a node's wave is one more
        // than the latest wave among the nodes it reads.
        for wave in self.waves() {
            let mut dirty = Vec::new();
            for name in &wave {
                let declared = self.request.as_written.nodes.iter().find(|node| node.name == *name).expect("order lists nodes").clone();
                let key = build_key(&self.settings_fingerprint, &declared, self.model_of(&declared), &finals);
                if let Some(reused) = self.reusable(name, &key) {
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
                self.ensure_validation().await?;
                if !self.validation.as_ref().expect("validated").all() {
                    let descended = self.descend_independent(&dirty).await;
                    self.stop_if_spent(descended)?;
                } else {
                    for name in &dirty {
                        self.outcomes.entry(name.clone()).or_insert_with(|| "kept as written (the plan passes every training example)".into());
                    }
                }
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
                    let summary = BuildSummary {
                        workflow: self.workflow_name(),
                        reused_all: true,
                        nodes: order.iter().map(|node| NodeOutcome { node: node.clone(), outcome: "reused from the lock".into() }).collect(),
                        train_examples: build.train_examples as usize,
                        train_passed_before: Some(build.train_passed_before as usize),
                        train_passed_after: build.train_passed_after as usize,
                        teacher: TeacherSpend::default(),
                        student_calls: 0,
                        hypotheses: build.hypotheses_tried,
                        stopped: build.stopped.clone(),
                        pac: describe(&build.pac, build.train_examples, build.hypotheses_tried),
                        validation: build.validation_passed.zip(build.validation_examples),
                        seconds: started.elapsed().as_secs_f64(),
                    };
                    return Ok(WorkflowBuild { workflow, summary });
                }
            }
        }
        self.ensure_validation().await?;
        let mut round = 1;
        let mut unchanged_rounds = 0;
        while round <= self.request.settings.budget.iterations && self.stopped.is_none() && !self.validation.as_ref().expect("validated").all() {
            let localised = self.localise().await;
            let Some(target) = self.stop_if_spent(localised)? else { break };
            let descended = self.descend(&target, round).await;
            match self.stop_if_spent(descended)? {
                Some(true) => unchanged_rounds = 0,
                Some(false) => unchanged_rounds += 1,
                None => break,
            }
            // Two rounds without a kept change: more rounds would ask the same
            // questions of the same teacher.
            if unchanged_rounds >= 2 {
                self.stopped = Some("no-progress".into());
                break;
            }
            round += 1;
        }
        let validation = self.validation.as_ref().expect("validated");
        let passed = validation.count();
        let total = validation.passed.len();
        let stopped = if validation.all() {
            "all-passed".to_string()
        } else {
            self.stopped.clone().unwrap_or_else(|| if round > self.request.settings.budget.iterations { "budget:iterations".into() } else { "no-progress".into() })
        };
        let validation_passed = if self.request.validation_examples.is_empty() {
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
            Some(validation.count() as u32)
        };
        self.finish(evaluation, passed, total, stopped, started, validation_passed)
    }

    /// A spent budget ends the descent (the plan so far is kept and recorded as
    /// stopped by that limit): `None`. Any other teacher error fails the build.
    fn stop_if_spent<T>(&mut self, result: Result<T, TeacherError>) -> Result<Option<T>, String> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(TeacherError::BudgetSpent(limit)) => {
                self.stopped = Some(format!("budget:{limit}"));
                Ok(None)
            }
            Err(error) => Err(error.to_string()),
        }
    }

    /// The declared nodes in waves: each wave reads only inputs and earlier waves.
    fn waves(&self) -> Vec<Vec<String>> {
        let mut wave_of: BTreeMap<String, usize> = BTreeMap::new();
        let mut waves: Vec<Vec<String>> = Vec::new();
        for name in &self.request.as_written.order {
            let node = self.request.as_written.nodes.iter().find(|node| node.name == *name).expect("order lists nodes");
            let wave = node.reads.iter().filter_map(|read| wave_of.get(read)).map(|wave| wave + 1).max().unwrap_or(0);
            wave_of.insert(name.clone(), wave);
            if waves.len() <= wave {
                waves.resize(wave + 1, Vec::new());
            }
            waves[wave].push(name.clone());
        }
        waves
    }

    /// The locked nodes (inserted ones first) for `name` when its key matches.
    fn reusable(&self, name: &str, key: &str) -> Option<Vec<LockedNode>> {
        let previous = self.request.previous.as_ref()?;
        let node = previous.nodes.iter().find(|node| node.name == name && node.provenance.build_key.as_deref() == Some(key))?;
        let mut nodes: Vec<LockedNode> = previous.nodes.iter().filter(|inserted| inserted.provenance.inserted_for.as_deref() == Some(name)).cloned().collect();
        nodes.push(node.clone());
        Some(nodes)
    }

    /// Puts `nodes` (inserted ones, then the node) in the plan in place of `name`.
    fn replace_node(&mut self, name: &str, nodes: Vec<LockedNode>) {
        self.plan.nodes.retain(|node| node.name != name && node.provenance.inserted_for.as_deref() != Some(name));
        // Rebuild order and nodes together: declared order, each node preceded by
        // the nodes inserted for it.
        let mut by_name: BTreeMap<String, LockedNode> = self.plan.nodes.drain(..).map(|node| (node.name.clone(), node)).collect();
        for node in nodes {
            by_name.insert(node.name.clone(), node);
        }
        let mut ordered = Vec::new();
        let mut order = Vec::new();
        for declared in &self.request.as_written.order {
            let inserted: Vec<String> = by_name.values().filter(|node| node.provenance.inserted_for.as_deref() == Some(declared.as_str())).map(|node| node.name.clone()).collect();
            for inserted_name in inserted {
                if let Some(node) = by_name.remove(&inserted_name) {
                    order.push(node.name.clone());
                    ordered.push(node);
                }
            }
            if let Some(node) = by_name.remove(declared) {
                order.push(node.name.clone());
                ordered.push(node);
            }
        }
        self.plan.nodes = ordered;
        self.plan.order = order;
    }

    fn record_finals(&self, name: &str, finals: &mut BTreeMap<String, String>) {
        for node in self.plan.nodes.iter().filter(|node| node.name == name || node.provenance.inserted_for.as_deref() == Some(name)) {
            finals.insert(node.name.clone(), node_fingerprint(node, self.model_of(node), finals));
        }
        // The declared node last: it may read what was inserted for it.
        if let Some(node) = self.plan.nodes.iter().find(|node| node.name == name) {
            finals.insert(node.name.clone(), node_fingerprint(node, self.model_of(node), finals));
        }
    }

    async fn ensure_models(&mut self, workflow: &LockedWorkflow) -> Result<(), String> {
        let wanted: Vec<String> = workflow.nodes.iter().filter_map(|node| node.model.clone()).collect();
        for name in wanted {
            if self.loaded.contains_key(&name) {
                continue;
            }
            let model = self.request.models.get(&name).ok_or_else(|| format!("the plan uses the model `{name}` but does not declare it"))?.clone();
            let backend = self.services.provider.load(&name, &model).await?;
            let reporting = ReportingBackend { name: name.clone(), inner: backend, calls: Arc::clone(&self.student_calls), events: Arc::clone(&self.services.events) };
            self.loaded.insert(name, Arc::new(reporting));
        }
        Ok(())
    }

    async fn teacher(&mut self) -> Result<Arc<Teacher>, TeacherError> {
        if let Some(teacher) = &self.teacher {
            return Ok(Arc::clone(teacher));
        }
        let settings = &self.request.settings;
        let backend = self.services.provider.load(&settings.teacher_name, &settings.teacher).await.map_err(TeacherError::Model)?;
        let teacher = Arc::new(Teacher::new(backend, settings.teacher.decoding.clone(), self.services.cache.clone(), settings.budget.clone(), Arc::clone(&self.services.events)));
        self.teacher = Some(Arc::clone(&teacher));
        Ok(teacher)
    }

    fn executor(&self, workflow: &LockedWorkflow) -> Arc<WorkflowExecutor> {
        Arc::new(WorkflowExecutor {
            workflow: workflow.clone(),
            models: self.loaded.clone(),
            sandbox: self.services.sandbox.clone(),
            cache: self.services.cache.clone(),
            permits: Arc::new(Semaphore::new(self.services.jobs.max(1))),
        })
    }

    async fn validate(&mut self, workflow: &LockedWorkflow) -> Result<Validation, String> {
        let examples = self.request.examples.clone();
        self.validate_on(workflow, &examples).await
    }

    async fn validate_on(&mut self, workflow: &LockedWorkflow, examples: &[Example]) -> Result<Validation, String> {
        self.ensure_models(workflow).await?;
        let executor = self.executor(workflow);
        let evaluation = workflow.evaluation.clone().ok_or("the workflow has no metric")?;
        let mut tasks = JoinSet::new();
        for (index, example) in examples.iter().enumerate() {
            let executor = Arc::clone(&executor);
            let evaluation = evaluation.clone();
            let example = example.clone();
            tasks.spawn(async move {
                let trace = executor.run(example.inputs.clone()).await;
                let (_, passed, _) = score_outputs(&executor.sandbox, &evaluation, &example.expected, trace.outputs.as_ref()).await;
                (index, trace.error.is_none() && passed, trace)
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            results.push(joined.map_err(|error| format!("a validation run failed: {error}"))?);
        }
        results.sort_by_key(|(index, _, _)| *index);
        Ok(Validation { passed: results.iter().map(|(_, passed, _)| *passed).collect(), traces: results.into_iter().map(|(_, _, trace)| trace).collect() })
    }

    async fn ensure_validation(&mut self) -> Result<(), String> {
        if self.validation.is_some() {
            return Ok(());
        }
        let plan = self.plan.clone();
        let validation = self.validate(&plan).await?;
        (self.services.events)(&BuildEvent::Validated {
            workflow: self.workflow_name(),
            step: self.step,
            passed: validation.count(),
            total: validation.passed.len(),
            note: "the plan before any change".into(),
        });
        self.baseline.get_or_insert(validation.count());
        self.validation = Some(validation);
        Ok(())
    }

    async fn ensure_gold(&mut self) -> Result<(), TeacherError> {
        if self.gold.is_some() {
            return Ok(());
        }
        let teacher = self.teacher().await?;
        let gold = gold_trace(&teacher, &self.request.as_written, &self.request.examples).await?;
        for (example, values) in gold.iter().enumerate() {
            (self.services.events)(&BuildEvent::GoldTrace { workflow: self.workflow_name(), example, values: values.clone().into_iter().collect() });
        }
        self.gold = Some(gold);
        Ok(())
    }

    /// What `name` reads on each training example: the current plan's values,
    /// and gold values where the plan failed before reaching them.
    fn environments(&self, name: &str) -> Vec<Environment> {
        let validation = self.validation.as_ref().expect("validated before descending");
        let gold = self.gold.as_ref();
        self.request
            .examples
            .iter()
            .enumerate()
            .map(|(index, example)| {
                let mut environment: Environment = example.inputs.clone().into_iter().collect();
                if let Some(trace) = validation.traces.get(index) {
                    for node in &trace.nodes {
                        if let Some(output) = &node.output {
                            environment.insert(node.node.clone(), output.clone());
                        }
                    }
                }
                if let Some(gold) = gold.and_then(|gold| gold.get(index)) {
                    for (node, value) in gold {
                        if node != name {
                            environment.entry(node.clone()).or_insert_with(|| value.clone());
                        }
                    }
                }
                environment
            })
            .collect()
    }

    fn output_name(&self, node: &str) -> Option<String> {
        self.plan.outputs.iter().find(|output| output.from == node).map(|output| output.name.clone())
    }

    /// One descent of `name`: true when a change was kept.
    async fn descend(&mut self, name: &str, round: u32) -> Result<bool, TeacherError> {
        self.ensure_gold().await?;
        let teacher = self.teacher().await?;
        self.step += 1;
        let step = self.step;
        let found = self.search_node(name, round, step, &teacher).await?;
        self.apply(name, step, found).await
    }

    /// Descends several nodes that do not depend on each other: their searches run
    /// at the same time (each against the current plan), then each change is
    /// validated and kept or reverted in turn.
    async fn descend_independent(&mut self, names: &[String]) -> Result<(), TeacherError> {
        self.ensure_gold().await?;
        let teacher = self.teacher().await?;
        let first_step = self.step + 1;
        self.step += names.len() as u32;
        let searches = names.iter().enumerate().map(|(index, name)| self.search_node(name, 0, first_step + index as u32, &teacher));
        let results = futures::future::join_all(searches).await;
        for ((index, name), found) in names.iter().enumerate().zip(results) {
            self.apply(name, first_step + index as u32, found?).await?;
        }
        Ok(())
    }

    /// The search half of a descent: reads the plan, changes nothing.
    async fn search_node(&self, name: &str, round: u32, step: u32, teacher: &Teacher) -> Result<SearchOutcome, TeacherError> {
        let node = self.plan.nodes.iter().find(|node| node.name == name).expect("descended nodes are in the plan").clone();
        let gold: Vec<Option<Value>> = self.gold.as_ref().expect("gold").iter().map(|values| values.get(name).cloned()).collect();
        let trial = NodeTrial { executor: self.executor(&self.plan), environments: self.environments(name), gold, covering: self.output_name(name).is_none() };
        let outputs_before = trial.outputs_of(std::slice::from_ref(&node)).await;
        let before = trial.score(&outputs_before);
        let total = trial.total();
        (self.services.events)(&BuildEvent::NodeStarted { workflow: self.workflow_name(), node: name.to_string(), step, gold_passed: before, gold_total: total });
        if total == 0 || (before == total && round == 0) {
            return Ok(SearchOutcome::Matches { before, total });
        }
        let context = MoveContext {
            workflow: &self.plan,
            node: &node,
            trial: &trial,
            teacher,
            round,
            step,
            hypotheses: &self.hypotheses,
            events: &self.services.events,
            output_name: self.output_name(name),
        };
        Ok(match search_moves(&context, &self.request.settings.moves, before, &outputs_before).await? {
            Some(candidate) => SearchOutcome::Found(candidate),
            None => SearchOutcome::NothingBetter { before, total },
        })
    }

    /// The validate-and-revert half: true when the change was kept.
    async fn apply(&mut self, name: &str, step: u32, found: SearchOutcome) -> Result<bool, TeacherError> {
        let candidate = match found {
            SearchOutcome::Matches { before, total } => {
                self.outcomes.entry(name.to_string()).or_insert_with(|| format!("kept as written (matches gold on {before}/{total})"));
                return Ok(false);
            }
            SearchOutcome::NothingBetter { before, total } => {
                // A later round that finds nothing better does not erase what an
                // earlier one changed.
                let outcome = self.outcomes.entry(name.to_string()).or_default();
                if outcome.is_empty() || outcome.starts_with("kept as written") {
                    *outcome = format!("unchanged: no move beat {before}/{total} on the gold outputs (step {step})");
                } else if !outcome.contains("then no better move") {
                    outcome.push_str(&format!("; then no better move at step {step}"));
                }
                return Ok(false);
            }
            SearchOutcome::Found(candidate) => candidate,
        };
        let mut candidate_plan = self.plan.clone();
        std::mem::swap(&mut self.plan, &mut candidate_plan);
        self.replace_node(name, candidate.nodes.clone());
        let candidate_workflow = std::mem::replace(&mut self.plan, candidate_plan);
        let validation = self.validate(&candidate_workflow).await.map_err(TeacherError::Model)?;
        let previously = self.validation.as_ref().expect("validated").count();
        let passed = validation.count();
        if passed >= previously {
            (self.services.events)(&BuildEvent::ChangeKept {
                workflow: self.workflow_name(),
                node: name.to_string(),
                step,
                move_name: candidate.the_move.name().into(),
                train_passed: passed,
                train_total: validation.passed.len(),
            });
            self.outcomes.insert(name.to_string(), format!("{}: {} (step {step}; training {previously} → {passed} of {})", candidate.the_move.name(), candidate.critique, validation.passed.len()));
            self.plan = candidate_workflow;
            self.validation = Some(validation);
            Ok(true)
        } else {
            (self.services.events)(&BuildEvent::ChangeReverted {
                workflow: self.workflow_name(),
                node: name.to_string(),
                step,
                move_name: candidate.the_move.name().into(),
                train_passed: passed,
                previously_passed: previously,
            });
            let reverted = format!("reverted a {} change at step {step}: training would drop from {previously} to {passed}", candidate.the_move.name());
            let outcome = self.outcomes.entry(name.to_string()).or_default();
            if outcome.is_empty() || outcome.starts_with("kept as written") || outcome.starts_with("unchanged") {
                *outcome = reverted;
            } else {
                outcome.push_str(&format!("; {reverted}"));
            }
            Ok(false)
        }
    }

    /// The node to descend next: on the first failing example, the first node
    /// whose output differs from its gold value; the teacher decides when the gold
    /// trace cannot.
    async fn localise(&mut self) -> Result<String, TeacherError> {
        self.ensure_gold().await?;
        let validation = self.validation.as_ref().expect("validated");
        let gold = self.gold.as_ref().expect("gold");
        let Some(failing) = validation.passed.iter().position(|passed| !passed) else {
            return Ok(self.plan.order.last().cloned().unwrap_or_default());
        };
        let trace = &validation.traces[failing];
        for name in &self.request.as_written.order {
            let Some(gold_value) = gold[failing].get(name) else { continue };
            let output = trace.nodes.iter().find(|node| node.node == *name).and_then(|node| node.output.as_ref());
            let intermediate = self.output_name(name).is_none();
            let matched = output.is_some_and(|output| if intermediate { value_covers(gold_value, output) } else { values_match(gold_value, output) });
            if !matched {
                return Ok(name.clone());
            }
        }
        let names: Vec<String> = self.request.as_written.order.clone();
        let trace_text = trace
            .nodes
            .iter()
            .map(|node| format!("- {} read {} and produced {}", node.node, pretty(&Value::Object(node.inputs.clone())), node.output.as_ref().map(pretty).unwrap_or_else(|| node.error.clone().unwrap_or_default())))
            .collect::<Vec<_>>()
            .join("\n");
        let prompt = render_prompt(
            LOCALISE_FAILURE_PROMPT,
            &[("trace", &trace_text), ("expected", &pretty(&Value::Object(self.request.examples[failing].expected.clone()))), ("nodes", &pretty(&json!(names)))],
        );
        let schema = json!({"type": "object", "properties": {"node": {"enum": names}, "critique": {"type": "string"}}, "required": ["node", "critique"]});
        let teacher = self.teacher().await?;
        let reply = teacher.ask("localise the failing node", vec![user(prompt)], OutputConstraint::JsonSchema { schema }, 0).await?;
        let named = json_object_in(&reply).and_then(|object| object.get("node").and_then(Value::as_str).map(str::to_string));
        Ok(named.filter(|node| names.contains(node)).unwrap_or_else(|| names.last().cloned().unwrap_or_default()))
    }

    fn finish(mut self, evaluation: &LockedEvaluation, passed: usize, total: usize, stopped: String, started: Instant, validation_passed: Option<u32>) -> Result<WorkflowBuild, String> {
        // Final fingerprints and build keys, in order.
        let mut finals: BTreeMap<String, String> = BTreeMap::new();
        let declared_order = self.request.as_written.order.clone();
        for name in &declared_order {
            let declared = self.request.as_written.nodes.iter().find(|node| node.name == *name).expect("declared").clone();
            let key = build_key(&self.settings_fingerprint, &declared, self.model_of(&declared), &finals);
            let models = self.request.models.clone();
            for node in self.plan.nodes.iter_mut().filter(|node| node.provenance.inserted_for.as_deref() == Some(name.as_str())) {
                node.fingerprint = node_fingerprint(node, node.model.as_ref().and_then(|model| models.get(model)), &finals);
                finals.insert(node.name.clone(), node.fingerprint.clone());
            }
            if let Some(node) = self.plan.nodes.iter_mut().find(|node| node.name == *name) {
                node.fingerprint = node_fingerprint(node, node.model.as_ref().and_then(|model| models.get(model)), &finals);
                node.provenance.build_key = Some(key);
                finals.insert(node.name.clone(), node.fingerprint.clone());
            }
        }
        let spend = self.teacher.as_ref().map(|teacher| teacher.spend()).unwrap_or_default();
        let hypotheses = self.hypotheses.load(Ordering::Relaxed);
        let settings = &self.request.settings;
        let pac = pac_bound(total as u32, passed as u32, hypotheses, settings.delta, settings.target_epsilon);
        let teacher_identity = match &settings.teacher.file_sha256 {
            Some(digest) => format!("{} {} (sha256 {digest})", settings.teacher.backend, settings.teacher.model),
            None => format!("{} {}", settings.teacher.backend, settings.teacher.model),
        };
        self.plan.build = Some(LockedBuild {
            optimiser_version: OPTIMISER_VERSION,
            settings_fingerprint: self.settings_fingerprint.clone(),
            teacher: teacher_identity,
            metric: evaluation.metric.clone(),
            train_examples: total as u32,
            train_passed_before: self.baseline.unwrap_or(passed) as u32,
            train_passed_after: passed as u32,
            hypotheses_tried: hypotheses,
            iterations: self.step,
            teacher_calls: spend.calls,
            teacher_tokens: spend.prompt_tokens + spend.completion_tokens,
            stopped: stopped.clone(),
            pac: pac.clone(),
            validation_examples: (!self.request.validation_examples.is_empty()).then_some(self.request.validation_examples.len() as u32),
            validation_passed,
        });
        let nodes = self
            .plan
            .order
            .iter()
            .map(|name| {
                let node = self.plan.nodes.iter().find(|node| node.name == *name).expect("ordered");
                let outcome = match &node.provenance.inserted_for {
                    Some(owner) => format!("inserted for `{owner}` (topology)"),
                    None => self.outcomes.get(name).cloned().unwrap_or_else(|| "kept as written".into()),
                };
                NodeOutcome { node: name.clone(), outcome }
            })
            .collect();
        let summary = BuildSummary {
            workflow: self.workflow_name(),
            reused_all: false,
            nodes,
            train_examples: total,
            train_passed_before: self.baseline,
            train_passed_after: passed,
            teacher: spend,
            student_calls: self.student_calls.load(Ordering::Relaxed),
            hypotheses,
            stopped,
            pac: describe(&pac, total as u32, hypotheses),
            validation: validation_passed.zip((!self.request.validation_examples.is_empty()).then_some(self.request.validation_examples.len() as u32)),
            seconds: started.elapsed().as_secs_f64(),
        };
        Ok(WorkflowBuild { workflow: self.plan, summary })
    }
}

/// The moves for one node, cheapest first; stops at the first candidate that
/// matches gold everywhere, else returns the best that beats the node.
async fn search_moves(context: &MoveContext<'_>, allowed: &std::collections::BTreeSet<Move>, before: usize, outputs_before: &[Result<Value, String>]) -> Result<Option<Candidate>, TeacherError> {
    let total = context.trial.total();
    let mut best: Option<Candidate> = None;
    let partial_before = context.trial.partial(outputs_before);
    let node_calls_a_model = context.node.kind != "code";
    let better = |candidate: &Option<Candidate>, best: &Option<Candidate>| -> bool {
        let (score, partial, calls_a_model) = best.as_ref().map_or((before, partial_before, node_calls_a_model), |best| (best.score, best.partial, !best.is_deterministic()));
        candidate.as_ref().is_some_and(|candidate| candidate.beats(score, partial, calls_a_model))
    };
    // An intermediate node's gold values are the teacher's guess (a prior), an
    // output node's are the training targets. On a first descent, any improvement
    // of an intermediate node is enough: the nodes downstream are fitted to what
    // it really produces, and end-to-end validation has the last word. Searching
    // on for a perfect match to a guess spends the teacher on its own mistakes.
    let settle_for_improvement = context.round == 0 && context.output_name.is_none();
    let done = |best: &Option<Candidate>| best.as_ref().is_some_and(|best| best.score == total || settle_for_improvement);
    let is_llm = context.node.kind != "code";
    if allowed.contains(&Move::Offload) && context.node.kind != "code" {
        let candidate = moves::offload::capability(context, before, partial_before).await;
        if better(&candidate, &best) {
            best = candidate;
        }
    }
    if done(&best) {
        return Ok(best);
    }
    if allowed.contains(&Move::Prompt) && is_llm {
        let candidate = moves::prompt_rewrite::rewrite(context, before, outputs_before).await?;
        if better(&candidate, &best) {
            best = candidate;
        }
    }
    if done(&best) {
        return Ok(best);
    }
    if allowed.contains(&Move::Offload) {
        let candidate = moves::offload::formula(context, before).await;
        if better(&candidate, &best) {
            best = candidate;
        }
    }
    if done(&best) {
        return Ok(best);
    }
    if allowed.contains(&Move::Offload) {
        let arguments = moves::code_arguments(context.node);
        let candidate = moves::offload::teacher_code(context, before, &arguments, &[]).await?;
        if better(&candidate, &best) {
            best = candidate;
        }
    }
    if done(&best) {
        return Ok(best);
    }
    if allowed.contains(&Move::Topology) {
        let candidate = moves::topology::insert_extraction(context, before).await?;
        if better(&candidate, &best) {
            best = candidate;
        }
    }
    if done(&best) {
        return Ok(best);
    }
    if allowed.contains(&Move::Consensus) && is_llm {
        let candidate = moves::consensus::wrap(context, before).await;
        if better(&candidate, &best) {
            best = candidate;
        }
    }
    Ok(best)
}
