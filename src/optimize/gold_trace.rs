//! The gold trace (DESIGN.md step 1): for each training example, the teacher writes
//! every node's output, so each node has its own input/output pairs to descend
//! against. Nodes bound to a workflow output take the training target instead: the
//! data is ground truth, the teacher only a prior.
//!
//! Gold is kept per node, in the lock (`gold_key`, `gold`), keyed by what the
//! teacher is shown to write that node's gold: the node's own contract, the gold of
//! the nodes it reads, and each training example (the per-node question below). A
//! first build asks the whole trace, one question per example; a rebuild reuses
//! every node's gold whose key is unchanged and asks the others one node at a
//! time, in order, so a prompt edit re-asks only the gold that depends on the
//! edited node (and what reads it, if its gold changed).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::teacher::{json_object_in, render_prompt, user, Teacher, TeacherError, GOLD_TRACE_PROMPT};
use crate::models::OutputConstraint;
use crate::plan::fingerprint::fingerprint_of;
use crate::plan::lock_file::{LockedNode, LockedWorkflow};
use crate::runtime::metric::Example;
use crate::runtime::output_parsing::conform_value;

/// Per training example: node name → gold output.
pub type GoldTrace = Vec<BTreeMap<String, Value>>;

/// One node's gold on every training example, and the key it holds for.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeGold {
    pub key: String,
    pub values: Vec<Option<Value>>,
}

impl NodeGold {
    /// As the lock records it: the key, and the values as one JSON array.
    pub fn to_locked(&self) -> (String, String) {
        (self.key.clone(), serde_json::to_string(&self.values).unwrap_or_default())
    }

    pub fn from_locked(node: &LockedNode) -> Option<NodeGold> {
        let key = node.provenance.gold_key.clone()?;
        let values = serde_json::from_str(node.provenance.gold.as_deref()?).ok()?;
        Some(NodeGold { key, values })
    }
}

/// The gold trace, and each node's gold record (nodes bound to an output have none).
pub struct GoldOutcome {
    pub trace: GoldTrace,
    pub records: BTreeMap<String, NodeGold>,
}

/// `locked`: the previous lock's gold records by node. `teacher_fingerprint`
/// identifies the teacher (its gold is its own).
pub async fn gold_trace(teacher: &Teacher, workflow: &LockedWorkflow, examples: &[Example], teacher_fingerprint: &str, locked: &BTreeMap<String, NodeGold>) -> Result<GoldOutcome, TeacherError> {
    // Per node, in order, its gold on every example (targets applied): what the
    // keys and questions of the nodes after it read.
    let mut per_node: BTreeMap<String, Vec<Option<Value>>> = BTreeMap::new();
    let mut records: BTreeMap<String, NodeGold> = BTreeMap::new();
    let mut whole: Option<GoldTrace> = None;
    let mut asked_alone = 0;
    for node in ordered_nodes(workflow) {
        if bound_to_an_output(workflow, node) {
            per_node.insert(node.name.clone(), examples.iter().map(|example| targeted(workflow, example, node, None)).collect());
            continue;
        }
        let key = gold_key(workflow, node, examples, &per_node, teacher_fingerprint);
        if let Some(record) = locked.get(&node.name).filter(|record| record.key == key && record.values.len() == examples.len()) {
            per_node.insert(node.name.clone(), record.values.clone());
            records.insert(node.name.clone(), record.clone());
            continue;
        }
        // A question per example either way: about this node alone (a rebuild's
        // first node to re-ask, typically the edited one) or about every node (a
        // first build, or a second node to re-ask: the whole trace then costs no
        // more than asking nodes one by one, and it is asked once).
        let values: Vec<Option<Value>> = if whole.is_none() && !locked.is_empty() && asked_alone == 0 {
            asked_alone += 1;
            let mut values = Vec::new();
            for (index, example) in examples.iter().enumerate() {
                let prompt = node_question(workflow, node, example, index, &per_node);
                let schema = json!({"type": "object", "properties": {node.name.clone(): node_schema(node).unwrap_or_else(|| json!({"type": "string"}))}, "required": [node.name.clone()]});
                let reply = teacher.ask(&format!("gold of `{}`", node.name), vec![user(prompt)], OutputConstraint::JsonSchema { schema }, 0).await?;
                let value = json_object_in(&reply).and_then(|object| object.get(&node.name).cloned()).and_then(|value| conform_value(value, node_schema(node).as_ref()).ok());
                values.push(targeted(workflow, example, node, value));
            }
            values
        } else {
            if whole.is_none() {
                whole = Some(whole_trace(teacher, workflow, examples).await?);
            }
            whole.as_ref().expect("asked above").iter().map(|values| values.get(&node.name).cloned()).collect()
        };
        records.insert(node.name.clone(), NodeGold { key, values: values.clone() });
        per_node.insert(node.name.clone(), values);
    }
    let trace = (0..examples.len()).map(|index| per_node.iter().filter_map(|(node, values)| Some((node.clone(), values.get(index)?.clone()?))).collect()).collect();
    Ok(GoldOutcome { trace, records })
}

/// The whole trace: per example, one question about every node.
async fn whole_trace(teacher: &Teacher, workflow: &LockedWorkflow, examples: &[Example]) -> Result<GoldTrace, TeacherError> {
    let description = describe_workflow(workflow);
    let constraint = OutputConstraint::JsonSchema { schema: reply_schema(workflow) };
    let mut gold = Vec::new();
    for example in examples {
        let prompt = render_prompt(
            GOLD_TRACE_PROMPT,
            &[
                ("workflow", &description),
                ("inputs", &pretty(&Value::Object(example.inputs.clone()))),
                ("expected", &pretty(&Value::Object(example.expected.clone()))),
            ],
        );
        let reply = teacher.ask("gold trace", vec![user(prompt)], constraint.clone(), 0).await?;
        let mut values = BTreeMap::new();
        if let Some(object) = json_object_in(&reply) {
            for node in &workflow.nodes {
                let Some(value) = object.get(&node.name) else { continue };
                // A gold value must have the node's type, or it teaches nothing.
                if let Ok(value) = conform_value(value.clone(), node_schema(node).as_ref()) {
                    values.insert(node.name.clone(), value);
                }
            }
        }
        apply_targets(workflow, example, &mut values);
        gold.push(values);
    }
    Ok(gold)
}

fn ordered_nodes(workflow: &LockedWorkflow) -> impl Iterator<Item = &LockedNode> {
    workflow.order.iter().filter_map(|name| workflow.nodes.iter().find(|node| node.name == *name))
}

/// A node a workflow output is bound to as a whole: its gold is the target.
fn bound_to_an_output(workflow: &LockedWorkflow, node: &LockedNode) -> bool {
    workflow.outputs.iter().any(|output| output.from == node.name)
}

/// `value` with the training targets of `example` written in where an output is
/// bound to the node (or one of its fields).
fn targeted(workflow: &LockedWorkflow, example: &Example, node: &LockedNode, value: Option<Value>) -> Option<Value> {
    let mut values = BTreeMap::new();
    if let Some(value) = value {
        values.insert(node.name.clone(), value);
    }
    apply_targets(workflow, example, &mut values);
    values.remove(&node.name)
}

/// The question that writes `node`'s gold on one example: the gold-trace prompt
/// about this node alone, the gold outputs of the nodes it reads given.
fn node_question(workflow: &LockedWorkflow, node: &LockedNode, example: &Example, index: usize, per_node: &BTreeMap<String, Vec<Option<Value>>>) -> String {
    let inputs: Vec<String> = workflow.inputs.iter().map(|port| format!("{} ({})", port.name, port.ty)).collect();
    let mut text = format!("Inputs: {}
", inputs.join(", "));
    let known: Vec<String> = node
        .reads
        .iter()
        .filter_map(|read| per_node.get(read).map(|values| format!("- `{read}` produced {}", values.get(index).cloned().flatten().map(|value| pretty(&value)).unwrap_or_else(|| "(unknown)".into()))))
        .collect();
    if !known.is_empty() {
        text.push_str(&format!("
Nodes already run on this example, with their outputs:
{}
", known.join("
")));
    }
    text.push_str(&describe_node(node));
    let outputs: Vec<String> = workflow.outputs.iter().filter(|output| output.from.split('.').next() == Some(node.name.as_str())).map(|output| format!("{} = {}", output.name, output.from)).collect();
    if !outputs.is_empty() {
        text.push_str(&format!("
Outputs: {}
", outputs.join(", ")));
    }
    render_prompt(GOLD_TRACE_PROMPT, &[("workflow", &text), ("inputs", &pretty(&Value::Object(example.inputs.clone()))), ("expected", &pretty(&Value::Object(example.expected.clone())))])
}

/// The key of `node`'s gold: what its per-node questions show the teacher, on every
/// example (so its contract, the gold of the nodes it reads and the examples), and
/// the teacher. The gold of every node it reads is in `per_node` (nodes come in order).
fn gold_key(workflow: &LockedWorkflow, node: &LockedNode, examples: &[Example], per_node: &BTreeMap<String, Vec<Option<Value>>>, teacher_fingerprint: &str) -> String {
    #[derive(Serialize)]
    struct GoldKey<'a> {
        format: &'static str,
        teacher: &'a str,
        questions: Vec<String>,
    }
    let questions = examples.iter().enumerate().map(|(index, example)| node_question(workflow, node, example, index, per_node)).collect();
    fingerprint_of(&GoldKey { format: "flowc-gold/1", teacher: teacher_fingerprint, questions })
}

/// The training targets, written into the gold values of the nodes the outputs
/// are bound to (`node` or `node.field`).
pub fn apply_targets(workflow: &LockedWorkflow, example: &Example, values: &mut BTreeMap<String, Value>) {
    for output in &workflow.outputs {
        let Some(expected) = example.expected.get(&output.name) else { continue };
        let (node, field) = match output.from.split_once('.') {
            Some((node, field)) => (node, Some(field)),
            None => (output.from.as_str(), None),
        };
        if !workflow.nodes.iter().any(|candidate| candidate.name == node) {
            continue;
        }
        match field {
            None => {
                values.insert(node.to_string(), expected.clone());
            }
            Some(field) => {
                let entry = values.entry(node.to_string()).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(object) = entry {
                    object.insert(field.to_string(), expected.clone());
                }
            }
        }
    }
}

pub fn node_schema(node: &LockedNode) -> Option<Value> {
    node.output_schema.as_deref().and_then(|schema| serde_json::from_str(schema).ok())
}

fn reply_schema(workflow: &LockedWorkflow) -> Value {
    let mut properties = Map::new();
    for node in &workflow.nodes {
        properties.insert(node.name.clone(), node_schema(node).unwrap_or_else(|| json!({"type": "string"})));
    }
    let required: Vec<Value> = workflow.nodes.iter().map(|node| Value::from(node.name.clone())).collect();
    json!({"type": "object", "properties": properties, "required": required})
}

/// The workflow as the teacher reads it: each node's contract, in execution order.
pub fn describe_workflow(workflow: &LockedWorkflow) -> String {
    let mut text = String::new();
    let inputs: Vec<String> = workflow.inputs.iter().map(|port| format!("{} ({})", port.name, port.ty)).collect();
    text.push_str(&format!("Inputs: {}\n", inputs.join(", ")));
    for node in &workflow.nodes {
        text.push_str(&describe_node(node));
    }
    let outputs: Vec<String> = workflow.outputs.iter().map(|output| format!("{} = {}", output.name, output.from)).collect();
    text.push_str(&format!("\nOutputs: {}\n", outputs.join(", ")));
    text
}

/// One node's contract as the teacher reads it (a paragraph of the workflow).
fn describe_node(node: &LockedNode) -> String {
    let mut text = format!("\nNode `{}` ({}), reads {}, outputs {}\n", node.name, node.kind, node.reads.join(", "), node.output_type);
    if let Some(system) = &node.system {
        text.push_str(&format!("  instructions: {}\n", system.trim()));
    }
    if let Some(prompt) = &node.prompt {
        text.push_str(&format!("  prompt: {}\n", prompt.trim().replace('\n', "\n          ")));
    }
    if node.code.is_some() {
        let arguments: Vec<String> = node.code_inputs.iter().map(|(argument, from)| format!("{argument} = {from}")).collect();
        text.push_str(&format!("  code node with arguments {}; its output is computed from them\n", arguments.join(", ")));
    }
    text
}

pub fn pretty(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
