//! The topology move: insert an extraction node before a node that must compute
//! from numbers written in text, so the code the teacher writes receives the
//! numbers as a list instead of parsing prose (measured: a 1.5B teacher wrote
//! working `compute(numbers)` for 4 of 6 families and working whole-text parsers
//! for none).

use serde_json::Value;

use super::offload::teacher_code;
use super::{code_arguments, reference_value, Candidate, MoveContext};
use crate::optimize::capabilities::numbers_in_node_source;
use crate::optimize::settings::Move;
use crate::optimize::teacher::TeacherError;
use crate::plan::lock_file::{LockedNode, LockedProvenance};

pub async fn insert_extraction(context: &MoveContext<'_>, score_before: usize) -> Result<Option<Candidate>, TeacherError> {
    let node = context.node;
    let mut arguments = code_arguments(node);
    let environments = &context.trial.environments;
    let is_number_list = |reference: &str| {
        environments.iter().all(|environment| matches!(reference_value(environment, reference), Some(Value::Array(items)) if items.iter().all(Value::is_number)))
    };
    // Only for a node that computes from the numbers: an extraction node (whose
    // output is itself a list) would get an extraction before the extraction.
    let outputs_a_list = crate::optimize::gold_trace::node_schema(node).and_then(|schema| schema.get("type").cloned()).is_some_and(|kind| kind == "array" || kind == "object");
    if outputs_a_list || arguments.iter().any(|(_, reference)| is_number_list(reference)) {
        return Ok(None);
    }
    let Some((_, text_reference)) = arguments.iter().find(|(_, reference)| environments.iter().all(|environment| matches!(reference_value(environment, reference), Some(Value::String(_))))).cloned() else {
        return Ok(None);
    };
    let mut name = format!("{}_numbers", node.name);
    while context.workflow.nodes.iter().any(|existing| existing.name == name) {
        name.push('_');
    }
    let schema = serde_json::json!({"type": "array", "items": {"type": "number"}});
    let Some(source) = numbers_in_node_source("text", Some(&schema)) else { return Ok(None) };
    let root = text_reference.split('.').next().unwrap_or(&text_reference).to_string();
    let inserted = LockedNode {
        name: name.clone(),
        kind: crate::plan::lock_file::PlanNodeKind::Code,
        fingerprint: String::new(),
        reads: vec![root],
        model: None,
        decoding: None,
        system: None,
        prompt: None,
        code: Some(source),
        code_inputs: [("text".to_string(), text_reference.clone())].into_iter().collect(),
        consensus: None,
            likelihood: None,
        output_type: "[number]".into(),
        output_schema: Some(schema.to_string()),
        provenance: LockedProvenance {
            origin: Move::Topology.name().into(),
            step: Some(context.step),
            critique: Some(format!("Inserted before `{}` so that its code receives the numbers of `{text_reference}` in order instead of parsing text.", node.name)),
            node_score: None,
            inserted_for: Some(node.name.clone()),
            ..Default::default()
        },
    };
    let mut argument_name = "numbers".to_string();
    while arguments.iter().any(|(existing, _)| *existing == argument_name) {
        argument_name.push('_');
    }
    arguments.push((argument_name, name.clone()));
    let candidate = teacher_code(context, score_before, &arguments, std::slice::from_ref(&inserted)).await?;
    Ok(candidate.map(|mut candidate| {
        candidate.the_move = Move::Topology;
        candidate.critique = format!("inserted `{name}` (the numbers of `{text_reference}`); {}", candidate.critique);
        if let Some(last) = candidate.nodes.last_mut() {
            last.provenance.origin = "topology+offload".into();
        }
        candidate
    }))
}
