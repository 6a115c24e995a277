//! Checks of `model` declarations: backend, decoding parameters, secrets.

use super::analysis::Checker;
use super::hir::*;
use super::suggest::closest;
use crate::diagnostics::codes;

pub const BACKENDS: [&str; 3] = ["gguf", "openai", "anthropic"];

/// Decoding parameters, accepted on models and (as overrides) on llm nodes.
pub const DECODING_PARAMETERS: [&str; 7] = ["temperature", "seed", "max_tokens", "top_p", "top_k", "repeat_penalty", "context_size"];
pub const HTTP_SETTINGS: [&str; 4] = ["base_url", "api_key", "timeout_seconds", "max_retries"];

pub fn check_model(checker: &mut Checker, model: &SourcedItemHir) {
    let backend = model.source.callee.text.as_str();
    if !BACKENDS.contains(&backend) {
        let backends = "the backends are `gguf(\"file.gguf\")` in process, `openai(\"model\")` for any OpenAI-compatible server and `anthropic(\"model\")`";
        let help = match closest(backend, BACKENDS) {
            Some(best) => format!("did you mean `{best}`? {backends}"),
            None => backends.to_string(),
        };
        checker.error(&codes::UNKNOWN_BACKEND, format!("unknown model backend `{backend}`"), model.source.callee.anchor, "not a backend", help);
        return;
    }
    let what = if backend == "gguf" { "the model file" } else { "the model name" };
    check_single_string_argument(checker, &model.source, what);

    let mut known: Vec<&str> = DECODING_PARAMETERS.to_vec();
    if backend != "gguf" {
        known.extend(HTTP_SETTINGS);
    } else {
        known.push("engine");
    }
    let owner = format!("a `{backend}` model");
    let present = checker.check_keys(&model.properties, &known, &owner);
    for (key, property) in &present {
        match *key {
            "base_url" => check_string_or_env(checker, property),
            "api_key" => check_api_key(checker, property),
            "timeout_seconds" => check_range(checker, property, Range::Positive),
            "max_retries" => check_range(checker, property, Range::WholeAtLeast(0)),
            "engine" => check_engine(checker, property),
            _ => check_decoding_parameter(checker, property),
        }
    }
}

/// The engines a GGUF model runs on: in process, or a llama.cpp server that flowc
/// starts on loopback (faster at reading long prompts: what a teacher does).
pub const ENGINES: [&str; 2] = ["mistralrs", "llama.cpp"];

fn check_engine(checker: &mut Checker, property: &PropertyHir) {
    let Some(value) = property.value.as_value() else { return };
    let written = match &value.kind {
        ValueKindHir::String(string) => Some(string.value.as_str()),
        _ => None,
    };
    if written.is_some_and(|engine| ENGINES.contains(&engine)) {
        return;
    }
    let help = match written.and_then(|engine| closest(engine, ENGINES)) {
        Some(best) => format!("did you mean `\"{best}\"`? the engines are \"mistralrs\" (in process, the default) and \"llama.cpp\" (a llama.cpp server flowc starts on loopback)"),
        None => "the engines are \"mistralrs\" (in process, the default) and \"llama.cpp\" (a llama.cpp server flowc starts on loopback)".to_string(),
    };
    checker.error(&codes::INVALID_PROPERTY_VALUE, "unknown engine for a GGUF model", value.anchor, "not an engine", help);
}

/// `gguf("file.gguf")`, `jsonl("data.jsonl")`: exactly one string.
pub fn check_single_string_argument(checker: &mut Checker, call: &CallHir, what: &str) -> Option<String> {
    match call.arguments.as_slice() {
        [ArgumentHir { name: None, value: ValueHir { kind: ValueKindHir::String(string), .. } }] => Some(string.value.clone()),
        _ => {
            checker.error(
                &codes::INVALID_PROPERTY_VALUE,
                format!("`{}(...)` takes one string: {what}", call.callee.text),
                call.anchor,
                "expected one string argument",
                format!("write `{}(\"...\")`", call.callee.text),
            );
            None
        }
    }
}

pub enum Range {
    /// A number ≥ 0.
    NonNegative,
    /// A number > 0.
    Positive,
    /// 0 < x ≤ 1.
    Probability,
    /// A whole number ≥ the bound.
    WholeAtLeast(i64),
}

pub fn check_decoding_parameter(checker: &mut Checker, property: &PropertyHir) {
    let range = match property.key.text.as_str() {
        "temperature" => Range::NonNegative,
        "seed" | "top_k" => Range::WholeAtLeast(0),
        "max_tokens" | "context_size" => Range::WholeAtLeast(1),
        "top_p" => Range::Probability,
        "repeat_penalty" => Range::Positive,
        _ => return,
    };
    check_range(checker, property, range);
}

pub fn check_range(checker: &mut Checker, property: &PropertyHir, range: Range) {
    let Some((value, is_integer)) = checker.number_property(property) else { return };
    let (valid, expectation) = match range {
        Range::NonNegative => (value >= 0.0, "a number ≥ 0".to_string()),
        Range::Positive => (value > 0.0, "a number > 0".to_string()),
        Range::Probability => (value > 0.0 && value <= 1.0, "a number in (0, 1]".to_string()),
        Range::WholeAtLeast(minimum) => (is_integer && value >= minimum as f64, format!("a whole number ≥ {minimum}")),
    };
    if !valid {
        let anchor = property.value.as_value().map(|value| value.anchor).unwrap_or(property.anchor);
        checker.error(
            &codes::INVALID_DECODING_PARAMETER,
            format!("`{}` must be {expectation}", property.key.text),
            anchor,
            "out of range",
            match property.key.text.as_str() {
                "temperature" => "use `temperature = 0` for greedy, deterministic decoding".to_string(),
                "seed" => "seeds are whole numbers; `seed = 0` is a real seed, not \"unset\"".to_string(),
                _ => format!("set `{}` to {expectation}", property.key.text),
            },
        );
    }
}

fn check_string_or_env(checker: &mut Checker, property: &PropertyHir) {
    match property.value.as_value().map(|value| &value.kind) {
        Some(ValueKindHir::String(_)) => {}
        Some(ValueKindHir::Call(call)) if call.callee.text == "env" => check_env_call(checker, call),
        _ => checker.wrong_form(property, "a string or `env(\"VARIABLE\")`", "write `base_url = env(\"FLOW_BASE_URL\")` or a literal URL"),
    }
}

fn check_api_key(checker: &mut Checker, property: &PropertyHir) {
    match property.value.as_value().map(|value| &value.kind) {
        Some(ValueKindHir::Call(call)) if call.callee.text == "env" => check_env_call(checker, call),
        Some(ValueKindHir::String(_)) => {
            let anchor = property.value.as_value().map(|value| value.anchor).unwrap_or(property.anchor);
            checker.error(
                &codes::LITERAL_SECRET,
                "an API key is written in the file",
                anchor,
                "secret in source",
                "read it from the environment: `api_key = env(\"OPENAI_API_KEY\")`; flowc never writes secrets to locks, caches or logs, and a file is not the place for them either",
            );
        }
        _ => checker.wrong_form(property, "`env(\"VARIABLE\")`", "write `api_key = env(\"OPENAI_API_KEY\")`"),
    }
}

/// `env("NAME")`: one string that is a plausible environment variable name.
pub fn check_env_call(checker: &mut Checker, call: &CallHir) {
    let valid = match call.arguments.as_slice() {
        [ArgumentHir { name: None, value: ValueHir { kind: ValueKindHir::String(name), .. } }] => {
            !name.value.is_empty()
                && !name.value.starts_with(|c: char| c.is_ascii_digit())
                && name.value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    };
    if !valid {
        checker.error(
            &codes::INVALID_PROPERTY_VALUE,
            "`env(...)` takes the name of one environment variable",
            call.anchor,
            "expected `env(\"NAME\")`",
            "environment variable names are letters, digits and `_`, e.g. `env(\"OPENAI_API_KEY\")`",
        );
    }
}
