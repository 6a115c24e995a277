//! The gold trace (DESIGN.md step 1): for each training example, the teacher writes
//! every node's output, so each node has its own input/output pairs to descend
//! against. Nodes bound to a workflow output take the training target instead: the
//! data is ground truth, the teacher only a prior.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::teacher::{json_object_in, render_prompt, user, Teacher, TeacherError, GOLD_TRACE_PROMPT};
use crate::models::OutputConstraint;
use crate::plan::lock_file::{LockedNode, LockedWorkflow};
use crate::runtime::metric::Example;
use crate::runtime::output_parsing::conform_value;

/// Per training example: node name → gold output.
pub type GoldTrace = Vec<BTreeMap<String, Value>>;

pub async fn gold_trace(teacher: &Teacher, workflow: &LockedWorkflow, examples: &[Example]) -> Result<GoldTrace, TeacherError> {
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
        text.push_str(&format!("\nNode `{}` ({}), reads {}, outputs {}\n", node.name, node.kind, node.reads.join(", "), node.output_type));
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
    }
    let outputs: Vec<String> = workflow.outputs.iter().map(|output| format!("{} = {}", output.name, output.from)).collect();
    text.push_str(&format!("\nOutputs: {}\n", outputs.join(", ")));
    text
}

pub fn pretty(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
