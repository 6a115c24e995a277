//! The teacher: any model backend, asked through versioned prompt files, with every
//! call counted against the build's budget and cached on disk.
//!
//! Budget counts *logical* calls, cached or not: a resumed build then takes exactly
//! the path the interrupted one took (the same calls, answered from the cache),
//! which keeps builds deterministic. What was really spent is reported apart.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::events::{BuildEvent, EventSink};
use super::settings::BudgetLimits;
use crate::models::{ChatMessage, ChatRequest, ChatResponse, DecodingParameters, ModelBackend, OutputConstraint, Role};
use crate::plan::fingerprint::sha256_hex;
use crate::plan::lock_file::LockedDecoding;
use crate::runtime::call_cache::CallCache;

pub const GOLD_TRACE_PROMPT: &str = include_str!("prompts/gold_trace.md");
pub const REWRITE_PROMPT_PROMPT: &str = include_str!("prompts/rewrite_prompt.md");
pub const WRITE_CODE_PROMPT: &str = include_str!("prompts/write_code.md");
pub const CODE_FEEDBACK_PROMPT: &str = include_str!("prompts/code_feedback.md");
pub const LOCALISE_FAILURE_PROMPT: &str = include_str!("prompts/localise_failure.md");
pub const CLASS_WORDS_PROMPT: &str = include_str!("prompts/class_words.md");
pub const CLASS_EXAMPLES_PROMPT: &str = include_str!("prompts/class_examples.md");
pub const SOLVE_WITH_NAMED_QUANTITIES_PROMPT: &str = include_str!("prompts/solve_with_named_quantities.md");
pub const FILL_PROGRAM_PROMPT: &str = include_str!("prompts/fill_program.md");

/// Changing any teacher prompt changes what a build produces: the prompts' hash is
/// part of every node's build key.
pub fn prompts_version() -> String {
    sha256_hex([GOLD_TRACE_PROMPT, REWRITE_PROMPT_PROMPT, WRITE_CODE_PROMPT, CODE_FEEDBACK_PROMPT, LOCALISE_FAILURE_PROMPT, CLASS_WORDS_PROMPT, CLASS_EXAMPLES_PROMPT, SOLVE_WITH_NAMED_QUANTITIES_PROMPT, FILL_PROGRAM_PROMPT].concat().as_bytes())
}

/// A prompt file with its placeholders filled. The leading `<!-- ... -->` block
/// (the reasons for each instruction) is for maintainers, not for the model.
pub fn render_prompt(template: &str, values: &[(&str, &str)]) -> String {
    let body = match (template.find("<!--"), template.find("-->")) {
        (Some(0), Some(end)) => &template[end + 3..],
        _ => template,
    };
    let mut text = body.trim().to_string();
    for (name, value) in values {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    text
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TeacherSpend {
    /// Logical calls (what the budget counts).
    pub calls: u64,
    /// Calls that reached the model (not answered from the cache).
    pub model_calls: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum TeacherError {
    #[error("the teacher budget is spent ({})", .0.name())]
    BudgetSpent(super::descent::BudgetLimit),
    #[error("the teacher failed: {0}")]
    Model(String),
}

/// Decoding changes for one kind of teacher request, over the teacher model's own.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AskTuning {
    /// Lists of words: a greedy 1.5B teacher repeats one word until the list is
    /// full (`moves::keyword_classifier`); a penalty on repeated tokens breaks it.
    pub repeat_penalty: Option<f64>,
    /// A short answer is cut short, so a loop cannot spend the budget.
    pub max_tokens: Option<u32>,
}

pub struct Teacher {
    backend: Arc<dyn ModelBackend>,
    decoding: LockedDecoding,
    cache: Option<CallCache>,
    limits: BudgetLimits,
    spend: Mutex<TeacherSpend>,
    events: EventSink,
}

/// Replies longer than this are cut: a code function or a prompt fits easily.
const DEFAULT_TEACHER_MAX_TOKENS: u32 = 768;

impl Teacher {
    pub fn new(backend: Arc<dyn ModelBackend>, decoding: LockedDecoding, cache: Option<CallCache>, limits: BudgetLimits, events: EventSink) -> Teacher {
        Teacher { backend, decoding, cache, limits, spend: Mutex::new(TeacherSpend::default()), events }
    }

    pub fn spend(&self) -> TeacherSpend {
        self.spend.lock().expect("never poisoned").clone()
    }

    pub fn identity(&self) -> String {
        self.backend.identity().to_string()
    }

    /// Asks the teacher. `sample` 0 is the model's own decoding (greedy in the
    /// examples); sample i > 0 draws with temperature 0.7 and seed `seed + i`, so a
    /// retry asks for a different answer and a rerun gets the same one.
    pub async fn ask(&self, purpose: &str, messages: Vec<ChatMessage>, constraint: OutputConstraint, sample: u32) -> Result<String, TeacherError> {
        self.ask_tuned(purpose, messages, constraint, sample, AskTuning::default()).await
    }

    /// `ask`, with decoding changes one kind of request needs (see `AskTuning`);
    /// they are part of the request, so of its call-cache key.
    pub async fn ask_tuned(&self, purpose: &str, messages: Vec<ChatMessage>, constraint: OutputConstraint, sample: u32, tuning: AskTuning) -> Result<String, TeacherError> {
        {
            let spend = self.spend.lock().expect("never poisoned");
            if spend.calls >= self.limits.teacher_calls {
                return Err(TeacherError::BudgetSpent(super::descent::BudgetLimit::TeacherCalls));
            }
            if spend.prompt_tokens + spend.completion_tokens >= self.limits.tokens {
                return Err(TeacherError::BudgetSpent(super::descent::BudgetLimit::Tokens));
            }
        }
        let mut decoding = DecodingParameters {
            temperature: self.decoding.temperature,
            seed: self.decoding.seed,
            max_tokens: Some(self.decoding.max_tokens.unwrap_or(DEFAULT_TEACHER_MAX_TOKENS)),
            top_p: self.decoding.top_p,
            top_k: self.decoding.top_k,
            repeat_penalty: self.decoding.repeat_penalty,
        };
        if let Some(penalty) = tuning.repeat_penalty {
            decoding.repeat_penalty = Some(penalty);
        }
        if let Some(max_tokens) = tuning.max_tokens {
            decoding.max_tokens = Some(max_tokens);
        }
        if sample > 0 {
            decoding.temperature = Some(0.7);
            decoding.seed = Some(self.decoding.seed.unwrap_or(0) + u64::from(sample));
        }
        let request = ChatRequest { messages, decoding, constraint };
        let key = CallCache::key(&self.backend.identity(), &request);
        let cached = self.cache.as_ref().and_then(|cache| cache.get(&key));
        let (response, was_cached): (ChatResponse, bool) = match cached {
            Some(response) => (response, true),
            None => {
                let response = self.backend.chat(&request).await.map_err(|error| TeacherError::Model(error.to_string()))?;
                if let Some(cache) = &self.cache {
                    if let Err(error) = cache.put(&key, &response) {
                        eprintln!("warning: could not write the call cache in {}: {error}", cache.directory().display());
                    }
                }
                (response, false)
            }
        };
        let calls = {
            let mut spend = self.spend.lock().expect("never poisoned");
            spend.calls += 1;
            spend.model_calls += u64::from(!was_cached);
            spend.prompt_tokens += u64::from(response.prompt_tokens);
            spend.completion_tokens += u64::from(response.completion_tokens);
            spend.calls
        };
        (self.events)(&BuildEvent::TeacherCall {
            purpose: purpose.to_string(),
            cached: was_cached,
            prompt_tokens: response.prompt_tokens,
            completion_tokens: response.completion_tokens,
            calls,
        });
        Ok(response.text)
    }
}

pub fn user(content: String) -> ChatMessage {
    ChatMessage { role: Role::User, content }
}

pub fn assistant(content: String) -> ChatMessage {
    ChatMessage { role: Role::Assistant, content }
}

/// The first JSON array in a reply (models wrap JSON in prose or fences): from its
/// first `[` to the last `]`, or none when that is not an array.
pub fn json_array_in(text: &str) -> Option<Vec<serde_json::Value>> {
    let start = text.find('[')?;
    let end = text.rfind(']')?;
    if end < start {
        return None;
    }
    match serde_json::from_str::<serde_json::Value>(&text[start..=end]).ok()? {
        serde_json::Value::Array(items) => Some(items),
        _ => None,
    }
}

/// The first JSON object in a reply (models wrap JSON in prose or fences).
pub fn json_object_in(text: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let start = text.find('{')?;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, character) in text[start..].char_indices() {
        match character {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' if !in_string => depth += 1,
            '}' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return serde_json::from_str(&text[start..start + offset + 1]).ok();
                }
            }
            _ => {}
        }
    }
    None
}

/// The code of the first fenced block (```python or ```), or the whole reply when it
/// has no fence but defines `run`.
pub fn code_block_in(text: &str) -> Option<String> {
    if let Some(open) = text.find("```") {
        let after = &text[open + 3..];
        let body_start = after.find('\n').map(|newline| newline + 1).unwrap_or(0);
        let body = &after[body_start..];
        let end = body.find("```").unwrap_or(body.len());
        let code = body[..end].trim_end().to_string();
        return (!code.trim().is_empty()).then_some(code);
    }
    text.contains("def run").then(|| text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_comment_is_stripped_and_placeholders_filled() {
        let rendered = render_prompt("<!-- why -->\nHello {{name}}, {{name}}!", &[("name", "teacher")]);
        assert_eq!(rendered, "Hello teacher, teacher!");
    }

    #[test]
    fn json_is_found_inside_prose() {
        let object = json_object_in("Sure! {\"critique\": \"a } in a string\", \"system\": \"x\"} done").unwrap();
        assert_eq!(object["critique"], "a } in a string");
        assert!(json_object_in("no json here").is_none());
        assert!(json_object_in("{\"unclosed\": 1").is_none());
    }

    #[test]
    fn a_json_list_is_found_inside_prose() {
        assert_eq!(json_array_in("Words: [\"refund\", \"charge\"] (that is all)").unwrap(), vec![serde_json::json!("refund"), serde_json::json!("charge")]);
        assert!(json_array_in("Sure! refund, parcel, crash").is_none());
        assert!(json_array_in("[\"cut off").is_none());
        assert!(json_array_in("] before [").is_none());
    }

    #[test]
    fn code_is_taken_from_the_fence() {
        assert_eq!(code_block_in("Here:\n```python\ndef run(x):\n    return x\n```\nthanks").unwrap(), "def run(x):\n    return x");
        assert_eq!(code_block_in("def run(x):\n    return 1\n").unwrap(), "def run(x):\n    return 1");
        assert!(code_block_in("I cannot do that").is_none());
    }
}
