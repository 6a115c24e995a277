//! Trying a candidate artefact on one node: run it on the node's inputs of every
//! training example and compare with the node's gold outputs. This is the per-node
//! loss of the descent; it costs student calls (llm nodes) or sandbox runs (code).

use std::sync::Arc;

use serde_json::Value;
use tokio::task::JoinSet;

use super::value_match::{similarity, value_covers, values_match};
use crate::plan::lock_file::LockedNode;
use crate::runtime::executor::WorkflowExecutor;
use crate::runtime::values::Environment;

pub struct NodeTrial {
    pub executor: Arc<WorkflowExecutor>,
    /// Per training example: what the node reads, as the current plan produces it.
    pub environments: Vec<Environment>,
    /// Per training example: the node's gold output, when known.
    pub gold: Vec<Option<Value>>,
    /// An output that covers its gold value counts as a match (see
    /// `value_match::value_covers`): true for intermediate nodes, whose gold is the
    /// teacher's guess; false for output nodes, whose gold is the training target.
    pub covering: bool,
}

impl NodeTrial {
    /// Runs `nodes_for(i)` (nodes inserted before the node, then the node itself)
    /// on example i; the last node's output per example.
    pub async fn outputs(&self, nodes_for: impl Fn(usize) -> Vec<LockedNode>) -> Vec<Result<Value, String>> {
        let mut tasks = JoinSet::new();
        for (index, environment) in self.environments.iter().enumerate() {
            let executor = Arc::clone(&self.executor);
            let nodes = nodes_for(index);
            let mut environment = environment.clone();
            tasks.spawn(async move {
                let mut last = Err("no node to run".to_string());
                for node in nodes {
                    let name = node.name.clone();
                    let (value, _trace) = executor.run_node_alone(node, environment.clone()).await;
                    if let Ok(value) = &value {
                        environment.insert(name, value.clone());
                    }
                    let failed = value.is_err();
                    last = value;
                    if failed {
                        break;
                    }
                }
                (index, last)
            });
        }
        let mut outputs: Vec<(usize, Result<Value, String>)> = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            outputs.push(joined.unwrap_or_else(|error| (usize::MAX, Err(format!("the trial task failed: {error}")))));
        }
        outputs.sort_by_key(|(index, _)| *index);
        outputs.into_iter().map(|(_, output)| output).collect()
    }

    pub async fn outputs_of(&self, nodes: &[LockedNode]) -> Vec<Result<Value, String>> {
        self.outputs(|_| nodes.to_vec()).await
    }

    /// Examples whose output matches the gold value.
    pub fn score(&self, outputs: &[Result<Value, String>]) -> usize {
        (0..outputs.len()).filter(|index| self.passes(*index, &outputs[*index])).count()
    }

    /// Partial credit summed over the examples with gold (tie-breaker).
    pub fn partial(&self, outputs: &[Result<Value, String>]) -> f64 {
        self.gold.iter().zip(outputs).map(|(gold, output)| match (gold, output) {
            (Some(gold), Ok(output)) => similarity(gold, output),
            _ => 0.0,
        }).sum()
    }

    pub fn passes(&self, index: usize, output: &Result<Value, String>) -> bool {
        match (self.gold.get(index), output) {
            (Some(Some(gold)), Ok(output)) if self.covering => value_covers(gold, output),
            (Some(Some(gold)), Ok(output)) => values_match(gold, output),
            _ => false,
        }
    }

    /// Examples that have a gold value (the most a candidate can score).
    pub fn total(&self) -> usize {
        self.gold.iter().filter(|gold| gold.is_some()).count()
    }
}
