//! What a build reports while it works: the terminal's progress bar, the human
//! summary and `--message-format json` all read these events.

use std::sync::Arc;

use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum BuildEvent {
    WorkflowStarted { workflow: String, nodes: usize, train_examples: usize },
    /// The node's build key matched the lock: reused as locked, no model call.
    NodeReused { workflow: String, node: String },
    /// The node's key changed (it was edited, or what it reads was), but run again
    /// it produced its locked values on every example: kept as written, and what
    /// reads it is not rebuilt (cut-off by value).
    NodeUnchangedByValue { workflow: String, node: String },
    /// The teacher's gold outputs for one training example (targets filled in).
    GoldTrace { workflow: String, example: usize, values: serde_json::Map<String, serde_json::Value> },
    Validated { workflow: String, step: u32, passed: usize, total: usize, note: String },
    NodeStarted { workflow: String, node: String, step: u32, gold_passed: usize, gold_total: usize },
    MoveTried {
        workflow: String,
        node: String,
        step: u32,
        #[serde(rename = "move")]
        move_name: String,
        detail: String,
        gold_passed: usize,
        gold_total: usize,
    },
    ChangeKept { workflow: String, node: String, step: u32, #[serde(rename = "move")] move_name: String, train_passed: usize, train_total: usize },
    ChangeReverted { workflow: String, node: String, step: u32, #[serde(rename = "move")] move_name: String, train_passed: usize, previously_passed: usize },
    TeacherCall { purpose: String, cached: bool, prompt_tokens: u32, completion_tokens: u32, calls: u64 },
    /// A call that reached a student model (cache hits are not reported).
    StudentCall { model: String, calls: u64 },
    Note { workflow: String, message: String },
}

pub type EventSink = Arc<dyn Fn(&BuildEvent) + Send + Sync>;

pub fn silent() -> EventSink {
    Arc::new(|_| {})
}
