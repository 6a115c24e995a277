//! The trace of a run: per node, what it read, what it was asked, what came back
//! and what it cost. `flowc run --trace FILE` writes it; the optimiser reads it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::models::ChatMessage;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunTrace {
    pub workflow: String,
    pub inputs: serde_json::Map<String, Value>,
    /// In the plan's order.
    pub nodes: Vec<NodeTrace>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<serde_json::Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub milliseconds: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeTrace {
    pub node: String,
    pub kind: String,
    /// The values of what the node reads (`reads` of the plan).
    pub inputs: serde_json::Map<String, Value>,
    /// Model calls: one for an llm node, one per sample for consensus.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallTrace>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub votes: Option<Value>,
    /// `likelihood_choice` nodes: each class's log-probability of the text
    /// (`student`), and the word table's score of each class (`word_table`, null
    /// when the plan has none or the text has no word it knows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likelihoods: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub milliseconds: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CallTrace {
    pub messages: Vec<ChatMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub raw_output: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parsed_output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub cached: bool,
    pub milliseconds: f64,
}
