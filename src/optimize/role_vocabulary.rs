//! The teacher's vocabulary of roles: for a node whose output is computed from the
//! quantities of a text, the quantities named by the teacher, each with the words
//! written next to its number ("start_money": had, has, began, already, …).
//!
//! Why: the readers keyed on words every training text shares (`role_readers`)
//! find few anchors when the phrasings differ (measured: a family whose four
//! phrasings share only "week" and "$" had no role formula at m = 3), and a formula
//! that fits three training texts by such words held on 36% of held-out texts in
//! another family. A small teacher is poor at writing extraction code but knows the
//! words that go with a quantity; it fills that structure (JSON lists of words) and
//! the build writes the readers. The vocabulary is asked to go beyond the training
//! wording; whether it holds on other wordings is measured on held-out data.

use serde_json::{json, Value};

use super::critique_history::render_history;
use super::moves::MoveContext;
use super::teacher::{json_object_in, render_prompt, user, TeacherError, ROLE_VOCABULARY_PROMPT};
use crate::models::OutputConstraint;

/// At most this many roles and words per role are kept: a longer list from a small
/// teacher is mostly noise, and formula search's cost grows with its leaves.
pub const MAX_ROLES: usize = 6;
const MAX_WORDS_PER_ROLE: usize = 20;
const MAX_EXAMPLES_SHOWN: usize = 8;

/// Words that sit next to every number and so tell no role apart.
const UNINFORMATIVE_WORDS: [&str; 16] = ["a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "by", "with", "is", "it", "be"];

/// Asks the teacher for the roles of `texts` (whose outputs are `gold`). An
/// unreadable reply gives an empty vocabulary (the move then goes on without it);
/// only a teacher that cannot be asked (budget, failure) is an error.
pub async fn ask_role_vocabulary(context: &MoveContext<'_>, texts: &[String], gold: &[f64]) -> Result<Vec<(String, Vec<String>)>, TeacherError> {
    let node = context.node;
    let mut examples = String::new();
    for (text, answer) in texts.iter().zip(gold).take(MAX_EXAMPLES_SHOWN) {
        let text: String = text.chars().take(400).collect();
        examples.push_str(&format!("- {} → {}\n", Value::String(text), json!(answer)));
    }
    let task = node
        .system
        .clone()
        .or_else(|| node.prompt.clone())
        .unwrap_or_else(|| format!("the step `{}` of the workflow `{}`", node.name, context.workflow.name));
    let prompt = render_prompt(
        ROLE_VOCABULARY_PROMPT,
        &[
            ("task", task.trim()),
            ("examples", examples.trim_end()),
            ("history", &render_history(context.history)),
            ("json_shape", r#"{"first_quantity": ["word", "word", "..."], "second_quantity": ["..."]}"#),
        ],
    );
    let schema = json!({"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_WORDS_PER_ROLE}});
    let reply = context.teacher.ask(&format!("role vocabulary for `{}`", node.name), vec![user(prompt)], OutputConstraint::JsonSchema { schema }, context.round).await?;
    Ok(json_object_in(&reply).map(|object| clean_role_vocabulary(&object)).unwrap_or_default())
}

/// Roles in name order (the reply is read as a JSON map), named as identifiers; their words lower-cased,
/// split into single words and stemmed as the readers stem (a final "s" off words
/// longer than three letters, not "ss"); without uninformative words, digits, or
/// words listed under an earlier role; roles left with no word are dropped.
pub fn clean_role_vocabulary(object: &serde_json::Map<String, Value>) -> Vec<(String, Vec<String>)> {
    let mut seen_words = std::collections::BTreeSet::new();
    let mut seen_names = std::collections::BTreeSet::new();
    let mut roles = Vec::new();
    for (name, words) in object {
        let name = identifier(name);
        if name.is_empty() || !seen_names.insert(name.clone()) {
            continue;
        }
        let words: Vec<String> = words
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .flat_map(|phrase| phrase.to_lowercase().split(|c: char| !c.is_alphabetic() && c != '$' && c != '%').map(str::to_string).collect::<Vec<_>>())
            .filter(|word| !word.is_empty() && !UNINFORMATIVE_WORDS.contains(&word.as_str()))
            .map(|word| stem(&word))
            .filter(|word| seen_words.insert(word.clone()))
            .take(MAX_WORDS_PER_ROLE)
            .collect();
        if !words.is_empty() {
            roles.push((name, words));
        }
        if roles.len() == MAX_ROLES {
            break;
        }
    }
    roles
}

/// The readers' stemming (`_stem` in `capabilities::TEXT_TOKENS_SOURCE`).
fn stem(word: &str) -> String {
    if word.chars().count() > 3 && word.ends_with('s') && !word.ends_with("ss") {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    }
}

/// `Start money!` → `start_money`; an identifier starting with a digit gets `role_`.
fn identifier(name: &str) -> String {
    let mut text: String = name.trim().to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    while text.contains("__") {
        text = text.replace("__", "_");
    }
    let text = text.trim_matches('_').to_string();
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        format!("role_{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vocabulary_is_cleaned_into_single_stemmed_words_owned_by_one_role() {
        let reply = json!({
            "Start Money": ["had", "has", "began with", "Already saved", "the"],
            "weekly saving": ["saves", "saved", "a week", "each"],
            "weeks": ["weeks", "for"],
            "nothing": ["of", "the"],
        });
        let roles = clean_role_vocabulary(reply.as_object().unwrap());
        let words = |list: &[&str]| list.iter().map(|word| word.to_string()).collect::<Vec<_>>();
        assert_eq!(
            roles,
            vec![
                ("start_money".to_string(), words(&["had", "has", "began", "already", "saved"])),
                // "saved" belongs to the role listed first; "weeks" is left with no
                // word of its own ("week" went to "weekly saving") and is dropped.
                ("weekly_saving".to_string(), words(&["save", "week", "each"])),
            ]
        );
    }
}
