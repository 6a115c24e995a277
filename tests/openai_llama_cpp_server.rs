//! The OpenAI backend against a real server: llama-cpp-python's OpenAI-compatible
//! server with the real SmolLM2-135M-Instruct GGUF.
//!
//! Needs the project's set-up (see README): `pip install 'llama-cpp-python[server]'`
//! and the model file at
//! `${XDG_CACHE_HOME:-~/.cache}/flowc/models/SmolLM2-135M-Instruct.Q4_1.gguf`.
//! Without them these tests FAIL and say what to run: a test that passes without
//! having talked to a server would prove nothing.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use flowc::models::http::{HttpBackendConfig, HttpSettings};
use flowc::models::llama_cpp_server::LlamaCppServer;
use flowc::models::openai::{JsonSchemaStyle, OpenAiBackend};
use flowc::models::{ChatMessage, ChatRequest, DecodingParameters, ModelBackend, OutputConstraint, Role};
use serde_json::{json, Value};

const MODEL_FILE_NAME: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
const SET_UP_HINT: &str = "run the set-up in README.md (`pip install 'llama-cpp-python[server]'` and the model download)";

fn model_path() -> PathBuf {
    let cache = match std::env::var_os("XDG_CACHE_HOME").filter(|value| !value.is_empty()) {
        Some(cache) => PathBuf::from(cache),
        None => PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache"),
    };
    cache.join("flowc").join("models").join(MODEL_FILE_NAME)
}

/// Fails the test with the set-up hint when python3 or llama-cpp-python's server is
/// missing.
fn require_llama_cpp_python() {
    let probe = Command::new("python3").args(["-c", "import llama_cpp, llama_cpp.server; print(llama_cpp.__version__)"]).output();
    match probe {
        Err(error) => panic!("python3 could not be started ({error}); {SET_UP_HINT}"),
        Ok(output) if !output.status.success() => panic!(
            "llama-cpp-python's server is not installed for python3 ({}); {SET_UP_HINT}",
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("no message")
        ),
        Ok(_) => {}
    }
}

async fn start_server_and_backend() -> (LlamaCppServer, OpenAiBackend) {
    require_llama_cpp_python();
    let model = model_path();
    assert!(model.is_file(), "the model file {} is missing; {SET_UP_HINT}", model.display());
    let server = LlamaCppServer::start(&model, 2048, 2).await.unwrap_or_else(|error| panic!("{error}; {SET_UP_HINT}"));
    let config = HttpBackendConfig {
        model: "SmolLM2-135M-Instruct".to_string(),
        base_url: Some(server.base_url()),
        api_key_variable: None,
        // The default retries: the JSON-schema test then also shows that the
        // server's refusal of `json_schema` (an HTTP 500) is not retried.
        http: HttpSettings { timeout: Duration::from_secs(120), ..HttpSettings::default() },
    };
    let backend = OpenAiBackend::new(config).unwrap();
    (server, backend)
}

fn greedy() -> DecodingParameters {
    DecodingParameters { temperature: Some(0.0), seed: Some(0), max_tokens: Some(48), ..DecodingParameters::default() }
}

#[tokio::test]
async fn greedy_decoding_through_a_real_server_gives_the_same_text_twice() {
    let (server, backend) = start_server_and_backend().await;
    let request = ChatRequest {
        messages: vec![
            ChatMessage { role: Role::System, content: "You are a helpful assistant. Answer briefly.".to_string() },
            ChatMessage { role: Role::User, content: "What is the capital of France?".to_string() },
        ],
        decoding: greedy(),
        constraint: OutputConstraint::None,
    };

    let first = backend.chat(&request).await.unwrap_or_else(|error| panic!("{error}\n{}", server.log_tail()));
    let second = backend.chat(&request).await.unwrap_or_else(|error| panic!("{error}\n{}", server.log_tail()));

    eprintln!("greedy answer: {:?} ({} + {} tokens)", first.text, first.prompt_tokens, first.completion_tokens);
    assert!(!first.text.trim().is_empty(), "the model said nothing");
    assert_eq!(first.text, second.text, "temperature 0 and seed 0 must give the same text");
    assert!(first.prompt_tokens > 0 && first.completion_tokens > 0, "{first:?}");
    assert!(first.completion_tokens <= 48, "max_tokens was not applied: {first:?}");
    assert_eq!((first.prompt_tokens, first.completion_tokens), (second.prompt_tokens, second.completion_tokens));
}

#[tokio::test]
async fn a_long_greedy_answer_does_not_depend_on_the_request_before_it() {
    // llama-cpp-python's server, left as it is, reads a prompt equal to the last
    // one by replaying its last token alone, which computes slightly differently:
    // this story came back 889 characters long right after itself, 931 fresh.
    // flowc's server reads every prompt whole (`SERVER_READING_EVERY_PROMPT_WHOLE`).
    let (server, backend) = start_server_and_backend().await;
    let story = |prompt: &str| ChatRequest {
        messages: vec![ChatMessage { role: Role::User, content: prompt.to_string() }],
        decoding: DecodingParameters { max_tokens: Some(200), ..greedy() },
        constraint: OutputConstraint::None,
    };
    let lighthouse = story("Write a long story about a lighthouse keeper and a storm.");
    let fresh = backend.chat(&lighthouse).await.unwrap_or_else(|error| panic!("{error}\n{}", server.log_tail()));
    let right_after_itself = backend.chat(&lighthouse).await.unwrap_or_else(|error| panic!("{error}\n{}", server.log_tail()));
    backend.chat(&story("Write a long story about a lighthouse keeper and a calm sea.")).await.unwrap_or_else(|error| panic!("{error}\n{}", server.log_tail()));
    let after_a_shared_prefix = backend.chat(&lighthouse).await.unwrap_or_else(|error| panic!("{error}\n{}", server.log_tail()));
    assert!(fresh.completion_tokens > 100, "{fresh:?}");
    assert_eq!(fresh.text, right_after_itself.text, "the same request right after itself");
    assert_eq!(fresh.text, after_a_shared_prefix.text, "the same request after one that shares its start");
}

#[tokio::test]
async fn a_json_schema_constrained_answer_from_a_real_server_parses_and_matches_the_schema() {
    let (server, backend) = start_server_and_backend().await;
    let cities = ["Paris", "London", "Berlin"];
    let schema = json!({
        "type": "object",
        "properties": {
            "city": { "type": "string", "enum": cities },
            "is_capital": { "type": "boolean" },
        },
        "required": ["city", "is_capital"],
        "additionalProperties": false,
    });
    let request = ChatRequest {
        messages: vec![ChatMessage { role: Role::User, content: "Which city is the capital of France? Answer in JSON.".to_string() }],
        decoding: DecodingParameters { max_tokens: Some(64), ..greedy() },
        constraint: OutputConstraint::JsonSchema { schema },
    };

    let first = backend.chat(&request).await.unwrap_or_else(|error| panic!("{error}\n{}", server.log_tail()));
    // llama-cpp-python's server knows only `{type: "json_object", schema}`: the
    // backend must have noticed and switched to it.
    assert_eq!(backend.json_schema_style(), JsonSchemaStyle::JsonObjectWithSchema);
    let second = backend.chat(&request).await.unwrap_or_else(|error| panic!("{error}\n{}", server.log_tail()));
    assert_eq!(first.text, second.text);
    eprintln!("constrained answer: {:?}", first.text);

    let answer: Value = serde_json::from_str(&first.text).unwrap_or_else(|error| panic!("not JSON ({error}): {:?}", first.text));
    let object = answer.as_object().unwrap_or_else(|| panic!("not an object: {answer}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["city", "is_capital"], "{answer}");
    assert!(cities.iter().any(|city| object["city"] == json!(city)), "{answer}");
    assert!(object["is_capital"].is_boolean(), "{answer}");
}
