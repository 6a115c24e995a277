//! The keyword-classifier move (an offload): a node that chooses one of a closed
//! set of classes (an `enum` output) becomes deterministic code over a vocabulary
//! the teacher writes — per class, the words that signal it.
//!
//! Why: the 135M student is at chance on four-way triage, with or without a good
//! prompt and constrained output; a 1.5B teacher writes poor classifiers as free
//! code but knows which words go with which class. So the teacher fills a structure
//! (JSON lists of words) and the build writes the code: each class scores the
//! number of its words found at word starts in the text, the highest wins, ties go
//! to the class listed first, and a text with none of the words gets the class the
//! training examples have most often. The vocabulary is asked to go beyond the
//! training wording, so the classifier can hold on texts worded otherwise; whether
//! it does is measured on held-out data, not assumed.

use serde_json::{json, Map, Value};

use super::{as_code_node, code_arguments, reference_value, Candidate, MoveContext};
use crate::models::OutputConstraint;
use crate::optimize::critique_history::render_history;
use crate::optimize::gold_trace::{node_schema, pretty};
use crate::optimize::settings::Move;
use crate::optimize::teacher::{json_object_in, render_prompt, user, TeacherError, CLASS_VOCABULARY_PROMPT};

/// At most this many words per class are kept (a longer list is mostly noise from
/// a small teacher) and this many examples shown.
const MAX_WORDS_PER_CLASS: usize = 40;
const MAX_EXAMPLES_SHOWN: usize = 8;

/// The classes of an enum-typed node, in declared order.
pub fn enum_classes(schema: &Value) -> Option<Vec<String>> {
    let values = schema.get("enum")?.as_array()?;
    let classes: Vec<String> = values.iter().map(|value| value.as_str().map(str::to_string)).collect::<Option<_>>()?;
    (classes.len() >= 2).then_some(classes)
}

pub async fn keyword_classifier(context: &MoveContext<'_>, score_before: usize) -> Result<Option<Candidate>, TeacherError> {
    let node = context.node;
    if node.kind == "code" {
        return Ok(None);
    }
    let Some(classes) = node_schema(node).as_ref().and_then(enum_classes) else { return Ok(None) };
    let arguments = code_arguments(node);
    let Some((text_argument, reference)) = arguments
        .iter()
        .find(|(_, reference)| context.trial.environments.iter().all(|environment| matches!(reference_value(environment, reference), Some(Value::String(_)))))
        .cloned()
    else {
        return Ok(None);
    };
    let texts: Vec<String> = context.trial.environments.iter().map(|environment| reference_value(environment, &reference).and_then(|value| value.as_str().map(str::to_string)).unwrap_or_default()).collect();
    let mut examples = String::new();
    for (text, gold) in texts.iter().zip(&context.trial.gold).take(MAX_EXAMPLES_SHOWN) {
        let Some(gold) = gold else { continue };
        examples.push_str(&format!("- {} → {}\n", pretty(&Value::String(text.chars().take(300).collect())), gold.as_str().unwrap_or_default()));
    }
    let task = node.system.clone().unwrap_or_else(|| format!("the step `{}` of the workflow `{}`", node.name, context.workflow.name));
    let shape: Map<String, Value> = classes.iter().map(|class| (class.clone(), json!(["..."]))).collect();
    let prompt = render_prompt(
        CLASS_VOCABULARY_PROMPT,
        &[
            ("task", task.trim()),
            ("classes", &classes.join(", ")),
            ("examples", examples.trim_end()),
            ("history", &render_history(context.history)),
            ("json_shape", &Value::Object(shape).to_string()),
        ],
    );
    let properties: Map<String, Value> = classes.iter().map(|class| (class.clone(), json!({"type": "array", "items": {"type": "string"}, "maxItems": MAX_WORDS_PER_CLASS}))).collect();
    let schema = json!({"type": "object", "properties": properties, "required": classes});
    let reply = context.teacher.ask(&format!("class vocabulary for `{}`", node.name), vec![user(prompt)], OutputConstraint::JsonSchema { schema }, context.round).await?;
    let Some(object) = json_object_in(&reply) else {
        context.tried(Move::Offload, "keyword classifier: the teacher's reply was not JSON", 0);
        return Ok(None);
    };
    let vocabulary = clean_vocabulary(&classes, &object);
    if vocabulary.iter().all(|(_, words)| words.is_empty()) {
        context.tried(Move::Offload, "keyword classifier: the teacher listed no words", 0);
        return Ok(None);
    }
    let fallback = majority_class(&classes, &context.trial.gold);
    let source = classifier_source(&text_argument, &classes, &vocabulary, &fallback);
    let mut candidate = as_code_node(node, source.clone(), &[(text_argument.clone(), reference.clone())]);
    candidate.reads = vec![reference.split('.').next().unwrap_or(&reference).to_string()];
    let outputs = context.trial.outputs_of(std::slice::from_ref(&candidate)).await;
    let score = context.trial.score(&outputs);
    let words: usize = vocabulary.iter().map(|(_, words)| words.len()).sum();
    context.tried(Move::Offload, format!("keyword classifier over {words} teacher-listed words"), score);
    let critique = format!(
        "The student cannot reliably choose among {}: the teacher listed the words that signal each class ({words} in all); counting them in `{reference}` chose right on {score} of {} training examples (the student: {score_before}); a text with none of them gets `{fallback}`, the most frequent class in training.",
        classes.join(", "),
        context.trial.total()
    );
    context.record_attempt(Move::Offload, &critique, &vocabulary_summary(&vocabulary), score, score_before);
    let partial = context.trial.partial(&outputs);
    candidate.provenance = context.provenance(Move::Offload, &critique, score_before, score);
    let candidate = Candidate { nodes: vec![candidate], the_move: Move::Offload, critique, score, partial };
    // At equal evidence, code beats the model call it replaces (`Candidate::beats`).
    Ok(candidate.beats(score_before, 0.0, true).then_some(candidate))
}

/// Per class (declared order): its words, lower-cased, trimmed, without quotes or
/// duplicates, and without words the teacher listed under an earlier class.
fn clean_vocabulary(classes: &[String], object: &Map<String, Value>) -> Vec<(String, Vec<String>)> {
    let mut seen = std::collections::BTreeSet::new();
    classes
        .iter()
        .map(|class| {
            let words: Vec<String> = object
                .get(class)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(normalise)
                .filter(|word| word.len() >= 3 && word != class.as_str())
                .filter(|word| seen.insert(word.clone()))
                .take(MAX_WORDS_PER_CLASS)
                .collect();
            (class.clone(), words)
        })
        .collect()
}

/// Lower case, letters and digits, single spaces: how the classifier sees text.
fn normalise(text: &str) -> String {
    text.to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

fn majority_class(classes: &[String], gold: &[Option<Value>]) -> String {
    let count = |class: &String| gold.iter().flatten().filter(|value| value.as_str() == Some(class.as_str())).count();
    let most = classes.iter().map(count).max().unwrap_or(0);
    classes.iter().find(|class| count(class) == most).cloned().unwrap_or_default()
}

fn vocabulary_summary(vocabulary: &[(String, Vec<String>)]) -> String {
    vocabulary.iter().map(|(class, words)| format!("{class}: {}", words.join(", "))).collect::<Vec<_>>().join("; ")
}

/// The starlark of the classifier. The vocabulary is data in the code, so the plan
/// shows exactly what decides.
pub fn classifier_source(text_argument: &str, classes: &[String], vocabulary: &[(String, Vec<String>)], fallback: &str) -> String {
    let mut table = String::from("VOCABULARY = {\n");
    for (class, words) in vocabulary {
        table.push_str(&format!("    {}: {},\n", json!(class), json!(words)));
    }
    table.push_str("}\n");
    format!(
        r#"{table}CLASSES = {classes}
FALLBACK = {fallback}

def _normalise(text):
    out = ""
    for c in text.lower().elems():
        out += c if c.isalnum() else " "
    return " " + " ".join(out.split()) + " "

def run({text_argument}):
    text = _normalise({text_argument})
    best = FALLBACK
    best_score = 0
    for name in CLASSES:
        score = 0
        for word in VOCABULARY[name]:
            if (" " + word) in text:
                score += 1
        if score > best_score:
            best = name
            best_score = score
    return best
"#,
        classes = json!(classes),
        fallback = json!(fallback),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vocabulary_is_cleaned_and_not_shared_between_classes() {
        let classes = vec!["billing".to_string(), "shipping".to_string()];
        let object = json!({"billing": ["Refund", "refund", "charged twice", "billing", "ok"], "shipping": ["refund", "parcel", "Tracking-number"]});
        let vocabulary = clean_vocabulary(&classes, object.as_object().unwrap());
        assert_eq!(vocabulary[0].1, vec!["refund", "charged twice"]);
        assert_eq!(vocabulary[1].1, vec!["parcel", "tracking number"]);
    }

    #[test]
    fn the_fallback_is_the_most_frequent_training_class() {
        let classes = vec!["a".to_string(), "b".to_string()];
        assert_eq!(majority_class(&classes, &[Some(json!("b")), Some(json!("a")), Some(json!("b"))]), "b");
        assert_eq!(majority_class(&classes, &[Some(json!("b")), Some(json!("a"))]), "a");
    }
}
