//! The field-extraction move (an offload): a node that copies ids, dates and
//! amounts out of a text into an object becomes code whose every field is read by
//! a deterministic reader (`field_readers`), chosen per field on the training
//! examples (v22: a field no reader fits on every example gets the one that fits
//! the most, more than half). No teacher call.

use serde_json::{Map, Value};

use super::{as_code_node, code_arguments, reference_value, Candidate, MoveContext};
use crate::optimize::field_readers::{describe_plan, field_plan, field_plan_source};
use crate::optimize::gold_trace::node_schema;
use crate::optimize::settings::Move;

pub async fn read_fields(context: &MoveContext<'_>, score_before: usize, partial_before: f64) -> Option<Candidate> {
    let node = context.node;
    let schema = node_schema(node)?;
    let fields: Vec<String> = schema.get("properties")?.as_object()?.keys().cloned().collect();
    if fields.is_empty() {
        return None;
    }
    let gold: Vec<Map<String, Value>> = context.trial.gold.iter().map(|gold| gold.as_ref().and_then(Value::as_object).cloned()).collect::<Option<_>>()?;
    let (argument, reference, texts) = code_arguments(node).into_iter().find_map(|(argument, reference)| {
        let texts: Vec<String> = context.trial.environments.iter().map(|environment| match reference_value(environment, &reference) {
            Some(Value::String(text)) => Some(text),
            _ => None,
        }).collect::<Option<_>>()?;
        Some((argument, reference, texts))
    })?;
    let plan = match field_plan(&context.trial.executor.sandbox, &texts, &gold, &fields).await {
        Ok(Some(plan)) => plan,
        Ok(None) => {
            context.tried(Move::Offload, "field readers: some field has no reader that fits more than half of the training examples", 0);
            return None;
        }
        Err(message) => {
            (context.events)(&crate::optimize::events::BuildEvent::Note { workflow: context.workflow.name.clone(), message: format!("field readers on `{}`: {message}", node.name) });
            return None;
        }
    };
    context.hypotheses.fetch_add(plan.considered.saturating_sub(1), std::sync::atomic::Ordering::Relaxed);
    let mut candidate = as_code_node(node, field_plan_source(&argument, &plan.readers), &[(argument.clone(), reference.clone())]);
    candidate.reads = vec![reference.split('.').next().unwrap_or(&reference).to_string()];
    let outputs = context.trial.outputs_of(std::slice::from_ref(&candidate)).await;
    let score = context.trial.score(&outputs);
    let partial = context.trial.partial(&outputs);
    context.tried(Move::Offload, format!("field readers: {}", describe_plan(&plan.readers)), score);
    // Leave-one-out: the readers chosen on the other examples, run on the one left out.
    let mut right = 0;
    for left_out in 0..texts.len() {
        let others: Vec<usize> = (0..texts.len()).filter(|index| *index != left_out).collect();
        let fit_texts: Vec<String> = others.iter().map(|index| texts[*index].clone()).collect();
        let fit_gold: Vec<Map<String, Value>> = others.iter().map(|index| gold[*index].clone()).collect();
        let Ok(Some(refit)) = field_plan(&context.trial.executor.sandbox, &fit_texts, &fit_gold, &fields).await else { continue };
        let refit_node = as_code_node(node, field_plan_source(&argument, &refit.readers), &[(argument.clone(), reference.clone())]);
        let (output, _) = context.trial.executor.run_node_alone(refit_node, context.trial.environments[left_out].clone()).await;
        if context.trial.passes(left_out, &output) {
            right += 1;
        }
    }
    let partial_fields: Vec<String> = plan.partial_fields(texts.len()).into_iter().map(|(field, fitted)| format!("`{field}` fits {fitted} of {}", texts.len())).collect();
    let partial_note = if partial_fields.is_empty() { String::new() } else { format!(" No reader fits every example for every field: {} (the reader that fits the most).", partial_fields.join(", ")) };
    let critique = format!(
        "The node copies facts out of `{reference}`; deterministic readers, chosen per field on the training examples (the simplest that fits each), match the gold output on {score} of {} (the node: {score_before}): {}.{partial_note}",
        context.trial.total(),
        describe_plan(&plan.readers)
    );
    context.record_attempt(Move::Offload, &critique, &describe_plan(&plan.readers), score, score_before);
    candidate.provenance = context.provenance(Move::Offload, &critique, score_before, score);
    candidate.provenance.leave_one_out = Some(format!("{right}/{} left-out examples right (readers rechosen on the others each time)", texts.len()));
    let candidate = Candidate { nodes: vec![candidate], the_move: Move::Offload, critique, score, partial };
    candidate.beats(score_before, partial_before, node.kind != "code").then_some(candidate)
}
