//! The word-frequency classifier move (an offload, v22; v24: word stems, the
//! node's own class words weighted): a node that chooses one of a closed set of
//! classes (an `enum` output) becomes deterministic code over a table of word
//! weights — naive Bayes — fitted on example texts the teacher writes for each
//! class, the node's own description of each class, and the training texts.
//!
//! Why: the 135M student is at chance on four-way triage; the keyword classifier
//! (`keyword_classifier`) counts the words the teacher lists per class, which are
//! precise but few, so a message worded otherwise gets the fallback class. Writing
//! plausible texts of a class is what a language model does best and needs no
//! judgement about words from a 1.5B teacher: the table learns from those texts
//! which words go with which class, and how strongly. Probed on the five triage
//! sets already measured (development data; the same teacher GGUF, greedy, one
//! request of 12 texts per class with `prompts/class_examples.md`; held-out of
//! 100): first 43, later 65, later2 68, later3 78, later4 75 — the builds had kept
//! 37 (a vocabulary probe), 64, 67, 62 and 24. Measured on later5, written before
//! this move.
//!
//! v23 (first measured on later7, written before it): a second request per class
//! for short, hurried messages, words cut to their first six letters and each
//! phrase of the node's description of a class counted as `DESCRIPTION_WEIGHT`
//! texts. Probed on the seven triage sets measured before it (held-out of 100,
//! mean over the sets): 65.1 → 70.7, every set at or above v22's. Its build on
//! later7: 0.64, where v22's was 0.69. Rescoring both builds' own teacher texts
//! (from the call cache) showed why: the builds' teacher texts were not the
//! probe's (one answer of eight the same, for the same prompts and GGUF; one
//! cause found since, the llama.cpp server reading a prompt after the last
//! request's tokens, is fixed in `models::llama_cpp_server`), and with the texts
//! the builds got the short request did not help (dev 63.7 → 63.0, later7 69 →
//! 64), while the stems and the weighted descriptions did with both sets of texts
//! (dev +5.2 and +3.3, later7 +1).
//! v24 keeps those two and drops the short request.
//!
//! Evidence it was not fitted to: the table holds the training texts, so its own
//! training score says little. The move also fits a table without them (the
//! teacher's texts and the node's descriptions only) and scores that one on the
//! training texts, and refits leaving each training text out in turn; both figures
//! go into the critique and the provenance.

use serde_json::{json, Value};

use super::keyword_classifier::{majority_class, ClassChoice};
pub use crate::runtime::word_table::{text_words, WordTable, STEM_LETTERS, STOP_WORDS};
use super::{as_code_node, Candidate, FittedCandidate, MoveContext};
use crate::models::OutputConstraint;
use crate::optimize::settings::Move;
use crate::optimize::teacher::{json_array_in, render_prompt, user, AskTuning, TeacherError, CLASS_EXAMPLES_PROMPT};

/// Texts asked per class (the prompt asks for 12; the schema allows 8 to 12).
const TEXTS_ASKED_PER_CLASS: usize = 12;
/// How many texts each phrase of the node's own description of a class counts
/// as. The user's words for a class are the surest evidence of it, and a table of
/// ~12 teacher texts per class would otherwise let words those texts share by
/// chance outweigh them (probed with v23's texts 1, 3 and 6: 68.7, 70.1, 70.7).
const DESCRIPTION_WEIGHT: usize = 6;
/// Twelve short messages fit in this many tokens.
const CLASS_TEXTS_MAX_TOKENS: u32 = 700;
/// A light repeat penalty: without one the greedy teacher starts its texts alike.
const CLASS_TEXTS_REPEAT_PENALTY: f64 = 1.1;
/// The example texts the teacher writes for each class of a class choice
/// (`prompts/class_examples.md`, one request per class), read by both this move
/// and `likelihood_choice` (as the demonstrations of the student's class prompts).
#[derive(Clone, Debug, Default)]
pub struct ClassTexts {
    /// `(class, text)`, in the order of the classes.
    pub texts: Vec<(String, String)>,
    /// Classes whose reply held no readable text.
    pub unreadable: Vec<String>,
}

pub(crate) async fn teacher_class_texts(context: &MoveContext<'_>, choice: &ClassChoice) -> Result<ClassTexts, TeacherError> {
    let schema = json!({"type": "array", "items": {"type": "string", "maxLength": 200}, "minItems": 8, "maxItems": TEXTS_ASKED_PER_CLASS});
    let mut class_texts = ClassTexts::default();
    for class in &choice.classes {
        let prompt = render_prompt(CLASS_EXAMPLES_PROMPT, &[("task", choice.task.trim()), ("class", class), ("description", &choice.description_of(class))]);
        let tuning = AskTuning { repeat_penalty: Some(CLASS_TEXTS_REPEAT_PENALTY), max_tokens: Some(CLASS_TEXTS_MAX_TOKENS) };
        let reply = context.teacher.ask_tuned(&format!("example texts of class `{class}` for `{}`", context.node.name), vec![user(prompt)], OutputConstraint::JsonSchema { schema: schema.clone() }, context.round, tuning).await?;
        let written: Vec<String> = json_array_in(&reply)
            .map(|items| items.iter().filter_map(Value::as_str).map(str::trim).filter(|text| !text.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        if written.is_empty() {
            class_texts.unreadable.push(class.clone());
        }
        class_texts.texts.extend(written.into_iter().map(|text| (class.clone(), text)));
    }
    Ok(class_texts)
}

/// The training texts whose gold is one of the classes: `(example index, class, text)`.
pub(crate) fn training_texts(context: &MoveContext<'_>, choice: &ClassChoice) -> Vec<(usize, String, String)> {
    choice
        .texts
        .iter()
        .zip(&context.trial.gold)
        .enumerate()
        .filter_map(|(index, (text, gold))| gold.as_ref().and_then(Value::as_str).filter(|class| choice.classes.iter().any(|name| name == class)).map(|class| (index, class.to_string(), text.clone())))
        .collect()
}

/// A table fitted on the teacher's texts, each phrase of what the node's text says
/// a class covers (counted `DESCRIPTION_WEIGHT` times: the user's words for a class
/// are evidence of it too), and, `with_training`, the training texts but
/// `left_out`.
pub(crate) fn fit_table(choice: &ClassChoice, class_texts: &ClassTexts, training: &[(usize, String, String)], left_out: Option<usize>, with_training: bool) -> WordTable {
    let described = choice
        .descriptions
        .iter()
        .flat_map(|(class, texts)| texts.iter().flat_map(|text| text.split([',', ';'])).map(str::trim).filter(|phrase| !phrase.is_empty()).map(move |phrase| (class.clone(), phrase.to_string())))
        .flat_map(|described| std::iter::repeat(described).take(DESCRIPTION_WEIGHT));
    let mut all: Vec<(String, String)> = class_texts.texts.iter().cloned().chain(described).collect();
    if with_training {
        all.extend(training.iter().filter(|(index, _, _)| Some(*index) != left_out).map(|(_, class, text)| (class.clone(), text.clone())));
    }
    WordTable::fit(&choice.classes, &all)
}

pub(crate) async fn word_frequency_classifier(context: &MoveContext<'_>, score_before: usize, choice: &ClassChoice, class_texts: &ClassTexts) -> Result<Option<FittedCandidate>, TeacherError> {
    let node = context.node;
    let ClassChoice { classes, text_argument, reference, .. } = choice;
    let teacher_texts = &class_texts.texts;
    let unreadable: Vec<&str> = class_texts.unreadable.iter().map(String::as_str).collect();
    let training = training_texts(context, choice);
    let fallback = majority_class(&classes, &context.trial.gold);
    let node_for = |table: &WordTable| {
        let mut candidate = as_code_node(node, word_table_source(&text_argument, &classes, table, &fallback), &[(text_argument.clone(), reference.clone())]);
        candidate.reads = vec![reference.split('.').next().unwrap_or(&reference).to_string()];
        candidate
    };
    let fitted_on = |left_out: Option<usize>, with_training: bool| fit_table(choice, class_texts, &training, left_out, with_training);
    // The estimate it was not fitted to: the table without the training texts.
    let without_training = node_for(&fitted_on(None, false));
    let unfitted = context.trial.score(&context.trial.outputs_of(std::slice::from_ref(&without_training)).await);
    // Leave-one-out: the table without one training text, on that text.
    let mut left_out_right = 0;
    for (index, _, _) in &training {
        let refit = node_for(&fitted_on(Some(*index), true));
        let (output, _) = context.trial.executor.run_node_alone(refit, context.trial.environments[*index].clone()).await;
        if context.trial.passes(*index, &output) {
            left_out_right += 1;
        }
    }
    let table = fitted_on(None, true);
    let mut candidate = node_for(&table);
    let outputs = context.trial.outputs_of(std::slice::from_ref(&candidate)).await;
    let score = context.trial.score(&outputs);
    let partial = context.trial.partial(&outputs);
    let total = context.trial.total();
    let unreadable_note = if unreadable.is_empty() { String::new() } else { format!(" (no readable texts for {})", unreadable.join(", ")) };
    context.tried(
        Move::Offload,
        format!("word-frequency classifier over {} words from {} teacher-written texts{unreadable_note}, the node's descriptions and {} training texts: {score}/{total}; without the training texts {unfitted}/{total}; leave-one-out {left_out_right}/{}", table.words(), teacher_texts.len(), training.len(), training.len()),
        score,
    );
    let critique = format!(
        "The student cannot reliably choose among {}: a table of word weights (naive Bayes over {} words), fitted on {} example texts the teacher wrote per class{unreadable_note}, the classes' descriptions in the node's text and the {} training texts, chose right on {score} of {total} training examples (the student: {score_before}). Evidence it was not fitted to: fitted without the training texts it chose right on {unfitted} of {total}, and refitted without each training text in turn it chose that text right on {left_out_right} of {}. A text with no known word gets `{fallback}`, the most frequent class in training.",
        classes.join(", "),
        table.words(),
        teacher_texts.len(),
        training.len(),
        training.len(),
    );
    let artefact = format!("{} teacher-written texts: {}", teacher_texts.len(), teacher_texts.iter().map(|(class, text)| format!("[{class}] {text}")).collect::<Vec<_>>().join(" | "));
    context.record_attempt(Move::Offload, &critique, &artefact, score, score_before);
    candidate.provenance = context.provenance(Move::Offload, &critique, score_before, score);
    candidate.provenance.leave_one_out = Some(format!("{left_out_right}/{} left-out training texts right (the table refitted without each); {unfitted}/{total} training texts right by the table fitted without any of them", training.len()));
    let candidate = Candidate { nodes: vec![candidate], the_move: Move::Offload, critique, score, partial };
    Ok(candidate.beats(score_before, 0.0, true).then_some(FittedCandidate { candidate, left_out_right }))
}

/// The starlark of the classifier: the table is data in the code, so the plan
/// shows exactly what decides. Each class scores the sum of its weights over the
/// distinct known words of the text (a known word the class was not seen with
/// counts `UNSEEN`); the highest wins, ties go to the class listed first, and a
/// text with no known word gets `FALLBACK`.
pub fn word_table_source(text_argument: &str, classes: &[String], table: &WordTable, fallback: &str) -> String {
    let mut weights = String::from("WEIGHTS = {\n");
    for (class, words) in &table.weights {
        let entries: Vec<String> = words.iter().map(|(word, weight)| format!("{}: {weight:?}", json!(word))).collect();
        weights.push_str(&format!("    {}: {{{}}},\n", json!(class), entries.join(", ")));
    }
    weights.push_str("}\n");
    let unseen: Vec<String> = table.unseen.iter().map(|(class, weight)| format!("{}: {weight:?}", json!(class))).collect();
    format!(
        r#"{weights}UNSEEN = {{{unseen}}}
CLASSES = {classes}
FALLBACK = {fallback}
STOP_WORDS = {stop_words}
STEM_LETTERS = {stem_letters}

def words_of(text):
    cleaned = ""
    for c in text.lower().elems():
        cleaned += c if c.isalnum() else " "
    seen = {{}}
    words = []
    for word in cleaned.split():
        if word.isdigit() or len(word) < 3 or word in STOP_WORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        word = word[:STEM_LETTERS]
        if word not in seen:
            seen[word] = True
            words.append(word)
    return words

def run({text_argument}):
    known = [word for word in words_of({text_argument}) if any([word in WEIGHTS[name] for name in CLASSES])]
    if len(known) == 0:
        return FALLBACK
    best = FALLBACK
    best_score = None
    for name in CLASSES:
        score = 0.0
        for word in known:
            score += WEIGHTS[name].get(word, UNSEEN[name])
        if best_score == None or score > best_score:
            best = name
            best_score = score
    return best
"#,
        unseen = unseen.join(", "),
        classes = json!(classes),
        fallback = json!(fallback),
        stop_words = json!(STOP_WORDS.as_slice()),
        stem_letters = STEM_LETTERS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_read_as_the_classifier_reads_them() {
        assert_eq!(text_words("Hi, I was charged TWICE for order 12345 — refunds please! Charges, charges."), vec!["charge", "twice", "order", "refund"]);
        assert_eq!(text_words("Überweisung delivered"), vec!["überwe", "delive"]);
        assert_eq!(text_words("Address: 10 Glass St"), vec!["addres", "glass"]);
    }

    #[test]
    fn a_table_weighs_a_word_by_the_classes_it_was_seen_with() {
        let classes = vec!["billing".to_string(), "shipping".to_string()];
        let texts = vec![
            ("billing".to_string(), "charged twice for the order".to_string()),
            ("billing".to_string(), "refund the charge".to_string()),
            ("shipping".to_string(), "the parcel and the order are late".to_string()),
        ];
        let table = WordTable::fit(&classes, &texts);
        // "order" is in texts of both classes; "parcel" only in shipping's.
        assert!(table.weights["shipping"]["parcel"] > table.unseen["shipping"]);
        assert!(!table.weights["billing"].contains_key("parcel"));
        assert!(table.weights["billing"].contains_key("order") && table.weights["shipping"].contains_key("order"));
        let source = word_table_source("message", &classes, &table, "billing");
        assert!(source.contains("\"parcel\": "), "{source}");
        assert!(source.contains("FALLBACK = \"billing\""));
    }
}
