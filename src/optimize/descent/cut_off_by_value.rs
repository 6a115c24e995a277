//! Cut-off by value: a rebuilt node whose outputs on every training and validation
//! example are the ones the lock recorded invalidates nothing downstream.
//!
//! The build key (`build_key.rs`) reuses a node whose declaration and upstream
//! *artefacts* are unchanged. That misses the common edit: a reworded prompt, a
//! refactored code node, that changes the artefact but not what it produces. So
//! every node also records a fingerprint of its outputs on the examples (`values`),
//! and a second key over its upstream *values* (`value_key`). A node whose key
//! changed is first run alone — with only the part of the plan it reads, so its
//! cost is that node's own calls (the rest answered by the call cache) — and if it
//! produced exactly its locked values it is *settled*: kept as written, not
//! descended, no gold asked, and its dependents keep their value keys and are
//! reused. Only a node whose values really changed is descended, and then exactly
//! its dependents are rebuilt.
//!
//! The rule is over the examples the build sees (training and validation): two
//! artefacts that agree on all of them are interchangeable to the optimiser, which
//! chooses by those examples alone.

use std::collections::BTreeSet;

use super::*;
use crate::optimize::build_key::value_fingerprint;

impl Engine {
    /// Each of `names`' value fingerprint in the current plan: the part of the plan
    /// they depend on, run on every training example, then every validation example.
    pub(super) async fn produced_values(&mut self, names: &[String]) -> Result<BTreeMap<String, String>, String> {
        let examples: Vec<Example> = self.request.examples.iter().chain(&self.request.validation_examples).cloned().collect();
        let traces = self.run_upstream(names, examples).await?;
        Ok(names.iter().map(|name| (name.clone(), value_fingerprint(name, &traces))).collect())
    }

    /// The same fingerprints read from the current plan's validation on the training
    /// examples (run if stale), with only the validation examples run apart: after a
    /// descent, whose validation ran the whole plan anyway.
    pub(super) async fn current_values(&mut self, names: &[String]) -> Result<BTreeMap<String, String>, String> {
        self.ensure_validation().await?;
        let held = if self.request.validation_examples.is_empty() { Vec::new() } else { self.run_upstream(names, self.request.validation_examples.clone()).await? };
        let training = &self.validation.as_ref().expect("validated").traces;
        Ok(names.iter().map(|name| (name.clone(), value_fingerprint(name, training.iter().chain(&held)))).collect())
    }

    /// Whether any of `names` could settle: the lock was built with these settings
    /// and records values for it. (Otherwise running them first would only cost
    /// time: a first build has nothing to compare with.)
    pub(super) fn could_settle(&self, names: &[String]) -> bool {
        self.same_settings_as_locked() && names.iter().any(|name| self.locked_values(name).is_some())
    }

    fn same_settings_as_locked(&self) -> bool {
        self.request.previous.as_ref().and_then(|previous| previous.build.as_ref()).is_some_and(|build| build.settings_fingerprint == self.settings_fingerprint)
    }

    /// `names` and everything they read, transitively, run on `examples`.
    async fn run_upstream(&mut self, names: &[String], examples: Vec<Example>) -> Result<Vec<RunTrace>, String> {
        let mut needed: BTreeSet<String> = names.iter().cloned().collect();
        // `order` is an execution order: walking it backwards meets a node's
        // readers before the node, so the closure of what they read is complete.
        for name in self.plan.order.iter().rev() {
            if let Some(node) = self.plan.nodes.iter().find(|node| node.name == *name).filter(|node| needed.contains(&node.name)) {
                needed.extend(node.reads.iter().cloned());
            }
        }
        let mut upstream = self.plan.clone();
        upstream.nodes.retain(|node| needed.contains(&node.name));
        upstream.order.retain(|name| needed.contains(name));
        // The workflow's outputs may read nodes left out; the values are read from
        // the node traces, not from the outputs.
        upstream.outputs.clear();
        self.ensure_models(&upstream).await?;
        let executor = self.executor(&upstream);
        let mut tasks = JoinSet::new();
        for (index, example) in examples.into_iter().enumerate() {
            let executor = Arc::clone(&executor);
            tasks.spawn(async move { (index, executor.run(example.inputs).await) });
        }
        let mut runs = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            runs.push(joined.map_err(|error| format!("a run of the plan failed: {error}"))?);
        }
        runs.sort_by_key(|(index, _)| *index);
        Ok(runs.into_iter().map(|(_, trace)| trace).collect())
    }

    /// The value fingerprint the lock recorded for `name`, if any.
    pub(super) fn locked_values(&self, name: &str) -> Option<&String> {
        self.request.previous.as_ref()?.nodes.iter().find(|node| node.name == name)?.provenance.values.as_ref()
    }

    /// Splits rebuilt nodes into those that produced their locked values (settled:
    /// recorded, reported, left as written) and those whose values changed.
    /// Only under the settings the lock was built with: the locked values are the
    /// conclusion of a descent under those settings (moves, metric, teacher,
    /// examples), which a change of settings must be able to revisit.
    pub(super) fn settle_by_value(&mut self, dirty: &[String], produced: &BTreeMap<String, String>, values: &mut BTreeMap<String, String>) -> Vec<String> {
        let same_settings = self.same_settings_as_locked();
        let mut changed = Vec::new();
        for name in dirty {
            let fingerprint = produced.get(name).expect("every rebuilt node was run");
            if same_settings && self.locked_values(name) == Some(fingerprint) {
                values.insert(name.clone(), fingerprint.clone());
                self.outcomes.insert(name.clone(), "rebuilt as written: its outputs on every example are the locked ones, so nothing that reads it is rebuilt (cut-off by value)".into());
                (self.services.events)(&BuildEvent::NodeUnchangedByValue { workflow: self.workflow_name(), node: name.clone() });
            } else {
                changed.push(name.clone());
            }
        }
        changed
    }

    /// The build when every node was reused or settled by value: the plan's values
    /// on every example are the locked plan's, so the locked build's figures (passed
    /// examples, PAC bound, why it stopped) still hold, and nothing is descended.
    pub(super) fn finish_settled(mut self, previous: LockedBuild, values: &BTreeMap<String, String>, started: Instant) -> Result<WorkflowBuild, String> {
        self.seal(values);
        self.plan.build = Some(previous.clone());
        let nodes = self.node_outcomes("reused from the lock");
        let teacher = self.teacher.as_ref().map(|teacher| teacher.spend()).unwrap_or_default();
        let summary = BuildSummary::from_locked_build(self.workflow_name(), false, nodes, &previous, teacher, self.student_calls.load(Ordering::Relaxed), started);
        Ok(WorkflowBuild { workflow: self.plan, summary })
    }
}
