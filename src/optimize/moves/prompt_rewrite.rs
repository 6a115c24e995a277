//! The prompt move: the teacher's critique of the student's failures (the
//! "gradient") and a rewritten system prompt (the step); then the same prompt with
//! training examples as demonstrations. Both are tried with the student on the
//! node's training inputs.

use serde_json::{json, Value};

use super::{Candidate, MoveContext};
use crate::models::OutputConstraint;
use crate::optimize::gold_trace::pretty;
use crate::optimize::settings::Move;
use crate::optimize::teacher::{json_object_in, render_prompt, user, TeacherError, REWRITE_PROMPT_PROMPT};
use crate::plan::lock_file::LockedNode;
use crate::runtime::values::render_template;

/// At most this many demonstrations: a 135M model's context and speed are small.
const MAX_DEMONSTRATIONS: usize = 2;

pub async fn rewrite(context: &MoveContext<'_>, score_before: usize, outputs_before: &[Result<Value, String>]) -> Result<Option<Candidate>, TeacherError> {
    let node = context.node;
    let mut failures = String::new();
    for (index, output) in outputs_before.iter().enumerate() {
        let Some(Some(gold)) = context.trial.gold.get(index) else { continue };
        if context.trial.passes(index, output) {
            continue;
        }
        let rendered = node.prompt.as_deref().map(|prompt| render_template(prompt, &context.trial.environments[index]).unwrap_or_default()).unwrap_or_default();
        let replied = match output {
            Ok(value) => pretty(value),
            Err(error) => format!("(no usable reply: {})", error.chars().take(200).collect::<String>()),
        };
        failures.push_str(&format!("- Input: {}\n  It replied: {replied}\n  Correct reply: {}\n", rendered.trim(), pretty(gold)));
    }
    if failures.is_empty() {
        return Ok(None);
    }
    let prompt = render_prompt(
        REWRITE_PROMPT_PROMPT,
        &[
            ("model", node.model.as_deref().unwrap_or("the student")),
            ("system", node.system.as_deref().unwrap_or("(none)")),
            ("prompt", node.prompt.as_deref().unwrap_or("")),
            ("output_type", &node.output_type),
            ("failures", failures.trim_end()),
            ("diagnosis", &context.diagnosis.map(|diagnosis| format!("A reviewer who read the whole workflow's trace said of this step: {diagnosis}\n")).unwrap_or_default()),
            ("history", &crate::optimize::critique_history::render_history(context.history)),
        ],
    );
    let schema = json!({"type": "object", "properties": {"critique": {"type": "string"}, "system": {"type": "string"}}, "required": ["critique", "system"]});
    let reply = context.teacher.ask(&format!("rewrite the prompt of `{}`", node.name), vec![user(prompt)], OutputConstraint::JsonSchema { schema }, context.round).await?;
    let Some(object) = json_object_in(&reply) else {
        context.tried(Move::Prompt, "the teacher's reply was not JSON; no rewrite", 0);
        return Ok(None);
    };
    let (Some(critique), Some(system)) = (object.get("critique").and_then(Value::as_str), object.get("system").and_then(Value::as_str)) else {
        context.tried(Move::Prompt, "the teacher's reply lacked `critique` or `system`; no rewrite", 0);
        return Ok(None);
    };
    // Braces in a teacher's prose are text, not references.
    let system = system.trim().replace('{', "{{").replace('}', "}}");
    if system.is_empty() {
        return Ok(None);
    }
    let mut rewritten = node.clone();
    rewritten.system = Some(system);
    let outputs = context.trial.outputs_of(std::slice::from_ref(&rewritten)).await;
    let score = context.trial.score(&outputs);
    context.tried(Move::Prompt, "rewritten system prompt", score);
    context.record_attempt(Move::Prompt, critique, rewritten.system.as_deref().unwrap_or_default(), score, score_before);
    let mut best = (score > score_before).then(|| {
        let mut node = rewritten.clone();
        node.provenance = context.provenance(Move::Prompt, critique, score_before, score);
        Candidate { nodes: vec![node], the_move: Move::Prompt, critique: critique.to_string(), score, partial: context.trial.partial(&outputs) }
    });

    // Demonstrations, scored leave-one-out: example i is tried with demonstrations
    // from the other examples only, so the score does not reward copying.
    let demonstrations: Vec<(usize, String)> = context
        .trial
        .gold
        .iter()
        .enumerate()
        .filter_map(|(index, gold)| Some((index, demonstration(&rewritten, &context.trial.environments[index], gold.as_ref()?)?)))
        .collect();
    if demonstrations.len() >= 2 {
        // Which demonstrations, how many and in what order are chosen, not fixed:
        // each arrangement is scored leave-one-out (example i sees demonstrations
        // of the other examples only), so the choice is not fitted to the example
        // it is scored on. Fewer demonstrations win ties (a shorter prompt).
        let mut best_arrangement: Option<(Arrangement, usize, f64)> = None;
        for arrangement in ARRANGEMENTS {
            let outputs = context.trial.outputs(|index| vec![with_demonstrations(&rewritten, &demonstrations, Some(index), arrangement)]).await;
            let demo_score = context.trial.score(&outputs);
            context.tried(Move::Prompt, format!("rewritten system prompt + {} (leave-one-out)", arrangement.describe()), demo_score);
            context.record_attempt(Move::Prompt, critique, &format!("{} (with {})", rewritten.system.as_deref().unwrap_or_default(), arrangement.describe()), demo_score, score.max(score_before));
            if best_arrangement.as_ref().is_none_or(|(_, best, _)| demo_score > *best) {
                best_arrangement = Some((arrangement, demo_score, context.trial.partial(&outputs)));
            }
        }
        if let Some((arrangement, demo_score, partial)) = best_arrangement {
            if demo_score > best.as_ref().map_or(score_before, |best| best.score) {
                let critique = format!("{critique} Demonstrations of the training examples ({}, chosen among {} arrangements by their leave-one-out score) raised the leave-one-out match from {score} to {demo_score}.", arrangement.describe(), ARRANGEMENTS.len());
                let mut node = with_demonstrations(&rewritten, &demonstrations, None, arrangement);
                node.provenance = context.provenance(Move::Prompt, &critique, score_before, demo_score);
                node.provenance.leave_one_out = Some(format!("{demo_score}/{} left-out examples right (each scored with demonstrations of the others only)", context.trial.total()));
                best = Some(Candidate { nodes: vec![node], the_move: Move::Prompt, critique, score: demo_score, partial });
            }
        }
    }
    Ok(best)
}

/// How many demonstrations a prompt carries and in which order.
#[derive(Clone, Copy, Debug)]
struct Arrangement {
    count: usize,
    /// Latest training example first (recency puts it next to the question).
    reversed: bool,
}

impl Arrangement {
    fn describe(self) -> String {
        match (self.count, self.reversed) {
            (1, _) => "1 demonstration".into(),
            (count, false) => format!("{count} demonstrations in training order"),
            (count, true) => format!("{count} demonstrations, latest first"),
        }
    }
}

/// Tried in this order; at equal scores the first (fewest demonstrations) wins.
const ARRANGEMENTS: [Arrangement; 3] = [Arrangement { count: 1, reversed: false }, Arrangement { count: MAX_DEMONSTRATIONS, reversed: false }, Arrangement { count: MAX_DEMONSTRATIONS, reversed: true }];

/// The node with demonstrations of the training examples other than `excluded`.
fn with_demonstrations(rewritten: &LockedNode, demonstrations: &[(usize, String)], excluded: Option<usize>, arrangement: Arrangement) -> LockedNode {
    let mut chosen: Vec<&String> = demonstrations.iter().filter(|(index, _)| Some(*index) != excluded).map(|(_, text)| text).take(arrangement.count).collect();
    if arrangement.reversed {
        chosen.reverse();
    }
    let mut node = rewritten.clone();
    let examples = chosen.iter().map(|text| text.replace('{', "{{").replace('}', "}}")).collect::<Vec<_>>().join("\n\n");
    node.prompt = Some(format!("Examples of correct replies:\n\n{examples}\n\nNow your turn.\n\n{}", rewritten.prompt.clone().unwrap_or_default()));
    node
}

/// "<the rendered prompt> → <the gold reply>" for one example.
fn demonstration(node: &LockedNode, environment: &crate::runtime::values::Environment, gold: &Value) -> Option<String> {
    let input = render_template(node.prompt.as_deref()?, environment).ok()?;
    Some(format!("{}\nReply: {}", input.trim(), pretty(gold)))
}
