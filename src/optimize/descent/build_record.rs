//! The build record: final fingerprints and build keys, the summary, the PAC bound.

use super::*;

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
    /// The lock's string for a reused build; the reason itself for a new one.
    pub stopped: String,
    pub pac: String,
    /// What the nearest plan gets wrong, what was tried and what would help, when
    /// the build did not pass every training example.
    pub diagnosis: Option<String>,
    /// Passed / total on the optimize block's validation set, if it has one.
    pub validation: Option<(u32, u32)>,
    pub seconds: f64,
}

pub struct WorkflowBuild {
    pub workflow: LockedWorkflow,
    pub summary: BuildSummary,
}

impl BuildSummary {
    /// The summary of a build that descended nothing and so stands on the locked
    /// build's record: its examples, passes, hypotheses, PAC bound and stop reason.
    pub(super) fn from_locked_build(workflow: String, reused_all: bool, nodes: Vec<NodeOutcome>, build: &LockedBuild, teacher: TeacherSpend, student_calls: u64, started: Instant) -> BuildSummary {
        BuildSummary {
            workflow,
            reused_all,
            nodes,
            train_examples: build.train_examples as usize,
            train_passed_before: Some(build.train_passed_before as usize),
            train_passed_after: build.train_passed_after as usize,
            teacher,
            student_calls,
            hypotheses: build.hypotheses_tried,
            stopped: build.stopped.clone(),
            diagnosis: None,
            pac: describe(&build.pac, build.train_examples, build.hypotheses_tried),
            validation: build.validation_passed.zip(build.validation_examples),
            seconds: started.elapsed().as_secs_f64(),
        }
    }
}

impl Engine {
    pub(super) fn finish(mut self, evaluation: &LockedEvaluation, passed: usize, total: usize, stopped: StopReason, started: Instant, validation_set: Option<Validation>) -> Result<WorkflowBuild, String> {
        let diagnosis = self.diagnosis(stopped);
        let validation_passed = validation_set.as_ref().map(|validation| validation.count() as u32);
        // What every node of the final plan produced on every training example, then
        // every validation example: the values its dependents' value keys read.
        let values: BTreeMap<String, String> = {
            let training = self.validation.as_ref().map(|validation| validation.traces.as_slice()).unwrap_or(&[]);
            let held = validation_set.as_ref().map(|validation| validation.traces.as_slice()).unwrap_or(&[]);
            self.plan.nodes.iter().map(|node| (node.name.clone(), value_fingerprint(&node.name, training.iter().chain(held)))).collect()
        };
        self.seal(&values);
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
            stopped: stopped.to_string(),
            pac: pac.clone(),
            validation_examples: (!self.request.validation_examples.is_empty()).then_some(self.request.validation_examples.len() as u32),
            validation_passed,
        });
        let nodes = self.node_outcomes("kept as written");
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
            stopped: stopped.to_string(),
            diagnosis,
            pac: describe(&pac, total as u32, hypotheses),
            validation: validation_passed.zip((!self.request.validation_examples.is_empty()).then_some(self.request.validation_examples.len() as u32)),
            seconds: started.elapsed().as_secs_f64(),
        };
        Ok(WorkflowBuild { workflow: self.plan, summary })
    }
}

impl Engine {
    /// What the build did to each node, in plan order; `untouched` for a node no
    /// move changed.
    pub(super) fn node_outcomes(&self, untouched: &str) -> Vec<NodeOutcome> {
        self.plan
            .order
            .iter()
            .map(|name| {
                let node = self.plan.nodes.iter().find(|node| node.name == *name).expect("ordered");
                let outcome = match &node.provenance.inserted_for {
                    Some(owner) => format!("inserted for `{owner}` (topology)"),
                    None => self.outcomes.get(name).cloned().unwrap_or_else(|| untouched.into()),
                };
                NodeOutcome { node: name.clone(), outcome }
            })
            .collect()
    }

    /// Final fingerprints, build keys, value keys and values, in declared order
    /// (each node preceded by the nodes inserted for it). `values` holds the value
    /// fingerprints known for the plan's nodes; a node without one gets none, and
    /// its dependents no value key.
    pub(super) fn seal(&mut self, values: &BTreeMap<String, String>) {
        let mut finals: BTreeMap<String, String> = BTreeMap::new();
        let declared_order = self.request.as_written.order.clone();
        let node_names: std::collections::BTreeSet<String> = self.request.as_written.nodes.iter().map(|node| node.name.clone()).collect();
        let models = self.request.models.clone();
        for name in &declared_order {
            let declared = self.request.as_written.nodes.iter().find(|node| node.name == *name).expect("declared").clone();
            let key = build_key(&self.settings_fingerprint, &declared, self.model_of(&declared), &finals);
            let by_value = value_key(&self.settings_fingerprint, &declared, self.model_of(&declared), values, &node_names);
            for node in self.plan.nodes.iter_mut().filter(|node| node.provenance.inserted_for.as_deref() == Some(name.as_str())) {
                node.fingerprint = node_fingerprint(node, node.model.as_ref().and_then(|model| models.get(model)), &finals);
                node.provenance.values = values.get(&node.name).cloned();
                finals.insert(node.name.clone(), node.fingerprint.clone());
            }
            if let Some(node) = self.plan.nodes.iter_mut().find(|node| node.name == *name) {
                node.fingerprint = node_fingerprint(node, node.model.as_ref().and_then(|model| models.get(model)), &finals);
                node.provenance.build_key = Some(key);
                node.provenance.value_key = by_value;
                node.provenance.values = values.get(name).cloned();
                // Gold asked (or reused) in this build replaces the node's record; a
                // build that needed no gold keeps what the locked node had.
                if let Some(records) = &self.gold_records {
                    let (key, gold) = records.get(name).map(NodeGold::to_locked).unzip();
                    node.provenance.gold_key = key;
                    node.provenance.gold = gold;
                }
                finals.insert(node.name.clone(), node.fingerprint.clone());
            }
        }
    }
}
