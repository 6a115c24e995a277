//! The HTTP model backends against a scripted local server: the exact JSON they send,
//! how they read answers, retries, timeouts, and that API keys never leak.

#[path = "support/scripted_http_server.rs"]
mod scripted_http_server;

use std::time::{Duration, Instant};

use flowc::models::anthropic::AnthropicBackend;
use flowc::models::http::{HttpBackendConfig, HttpSettings};
use flowc::models::openai::{JsonSchemaStyle, OpenAiBackend};
use flowc::models::{ChatMessage, ChatRequest, DecodingParameters, ModelBackend, ModelError, OutputConstraint, Role};
use scripted_http_server::{ScriptedHttpServer, ScriptedResponse};
use serde_json::{json, Value};

/// Short delays so that retry tests take milliseconds, and a timeout long enough
/// for a loaded test machine.
fn fast_settings() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        max_retries: 2,
        first_retry_delay: Duration::from_millis(10),
        longest_retry_delay: Duration::from_millis(40),
        longest_server_requested_delay: Duration::from_secs(5),
    }
}

fn openai_config(server: &ScriptedHttpServer, api_key_variable: Option<&str>) -> HttpBackendConfig {
    HttpBackendConfig {
        model: "smollm2".to_string(),
        base_url: Some(format!("{}/v1", server.base_url())),
        api_key_variable: api_key_variable.map(str::to_string),
        http: fast_settings(),
    }
}

fn anthropic_config(server: &ScriptedHttpServer, api_key_variable: &str) -> HttpBackendConfig {
    HttpBackendConfig {
        model: "claude-test".to_string(),
        base_url: Some(server.base_url()),
        api_key_variable: Some(api_key_variable.to_string()),
        http: fast_settings(),
    }
}

/// Sets a variable whose name no other test uses, so parallel tests do not race.
fn set_test_variable(name: &str, value: &str) {
    std::env::set_var(name, value);
}

fn message(role: Role, content: &str) -> ChatMessage {
    ChatMessage { role, content: content.to_string() }
}

fn plain_request(decoding: DecodingParameters) -> ChatRequest {
    ChatRequest { messages: vec![message(Role::User, "Say hi.")], decoding, constraint: OutputConstraint::None }
}

fn openai_answer(text: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15 },
    })
}

fn anthropic_text_answer(texts: &[&str]) -> Value {
    let blocks: Vec<Value> = texts.iter().map(|text| json!({ "type": "text", "text": text })).collect();
    json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
        "content": blocks, "stop_reason": "end_turn",
        "usage": { "input_tokens": 20, "output_tokens": 4 },
    })
}

fn answer_schema() -> Value {
    json!({
        "type": "object",
        "properties": { "answer": { "type": "integer" } },
        "required": ["answer"],
        "additionalProperties": false,
    })
}

// ---------------------------------------------------------------- OpenAI success

#[tokio::test]
async fn openai_sends_every_set_parameter_with_zero_temperature_and_zero_seed_as_values() {
    let server = ScriptedHttpServer::start(vec![ScriptedResponse::json(200, openai_answer("{\"answer\":4}"))]).await;
    set_test_variable("FLOWC_TEST_OPENAI_KEY_SUCCESS", "sk-success-key");
    let backend = OpenAiBackend::new(openai_config(&server, Some("FLOWC_TEST_OPENAI_KEY_SUCCESS"))).unwrap();
    let request = ChatRequest {
        messages: vec![message(Role::System, "Answer in JSON."), message(Role::User, "2+2?")],
        decoding: DecodingParameters {
            temperature: Some(0.0),
            seed: Some(0),
            max_tokens: Some(64),
            top_p: Some(0.9),
            top_k: None,
            repeat_penalty: None,
        },
        constraint: OutputConstraint::JsonSchema { schema: answer_schema() },
    };

    let response = backend.chat(&request).await.unwrap();

    assert_eq!(response.text, "{\"answer\":4}");
    assert_eq!((response.prompt_tokens, response.completion_tokens), (12, 3));
    assert_eq!((response.prompt_seconds, response.generation_seconds), (None, None));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(requests[0].header("authorization"), Some("Bearer sk-success-key"));
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    assert_eq!(
        requests[0].json(),
        json!({
            "model": "smollm2",
            "messages": [
                { "role": "system", "content": "Answer in JSON." },
                { "role": "user", "content": "2+2?" },
            ],
            "temperature": 0.0,
            "seed": 0,
            "max_tokens": 64,
            "top_p": 0.9,
            "response_format": {
                "type": "json_schema",
                "json_schema": { "name": "answer", "schema": answer_schema(), "strict": true },
            },
        })
    );
    // On the wire, the zeros are there as numbers.
    let body_text = String::from_utf8(requests[0].body.clone()).unwrap();
    assert!(body_text.contains("\"temperature\":0.0") && body_text.contains("\"seed\":0"), "{body_text}");
}

#[tokio::test]
async fn openai_sends_no_field_for_an_unset_parameter_and_no_key_when_none_is_named() {
    let server = ScriptedHttpServer::start(vec![ScriptedResponse::json(200, openai_answer("hi"))]).await;
    let backend = OpenAiBackend::new(openai_config(&server, None)).unwrap();

    let response = backend.chat(&plain_request(DecodingParameters::default())).await.unwrap();

    assert_eq!(response.text, "hi");
    let requests = server.requests();
    assert_eq!(requests[0].json(), json!({ "model": "smollm2", "messages": [{ "role": "user", "content": "Say hi." }] }));
    assert_eq!(requests[0].header("authorization"), None);
}

#[tokio::test]
async fn openai_sends_llama_cpp_sampling_extensions_when_set() {
    let server = ScriptedHttpServer::start(vec![ScriptedResponse::json(200, openai_answer("hi"))]).await;
    let backend = OpenAiBackend::new(openai_config(&server, None)).unwrap();
    let decoding = DecodingParameters { top_k: Some(0), repeat_penalty: Some(1.0), ..DecodingParameters::default() };

    backend.chat(&plain_request(decoding)).await.unwrap();

    assert_eq!(
        server.requests()[0].json(),
        json!({ "model": "smollm2", "messages": [{ "role": "user", "content": "Say hi." }], "top_k": 0, "repeat_penalty": 1.0 })
    );
}

#[tokio::test]
async fn openai_sends_no_constraint_for_a_regular_expression() {
    let server = ScriptedHttpServer::start(vec![ScriptedResponse::json(200, openai_answer("42"))]).await;
    let backend = OpenAiBackend::new(openai_config(&server, None)).unwrap();
    let request = ChatRequest { constraint: OutputConstraint::Regex { pattern: "[0-9]+".to_string() }, ..plain_request(DecodingParameters::default()) };

    assert_eq!(backend.chat(&request).await.unwrap().text, "42");

    assert!(server.requests()[0].json().get("response_format").is_none());
}

#[tokio::test]
async fn openai_falls_back_to_json_object_with_schema_at_once_when_the_server_offers_only_that() {
    // What llama-cpp-python's server (0.3.36) answers to `type: "json_schema"`: its
    // error handler turns the validation error into an HTTP 500.
    let refusal = json!({
        "error": {
            "message": "1 validation error: {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), \
                        'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', \
                        'ctx': {'expected': \"'text' or 'json_object'\"}}\n\nFile \"/site-packages/llama_cpp/server/app.py\"",
            "type": "internal_server_error",
            "param": null,
            "code": null,
        }
    });
    let server = ScriptedHttpServer::start(vec![
        ScriptedResponse::json(500, refusal),
        ScriptedResponse::json(200, openai_answer("{\"answer\":4}")),
        ScriptedResponse::json(200, openai_answer("{\"answer\":5}")),
    ])
    .await;
    let backend = OpenAiBackend::new(openai_config(&server, None)).unwrap();
    let request = ChatRequest {
        messages: vec![message(Role::User, "2+2?")],
        decoding: DecodingParameters::default(),
        constraint: OutputConstraint::JsonSchema { schema: answer_schema() },
    };

    assert_eq!(backend.chat(&request).await.unwrap().text, "{\"answer\":4}");
    assert_eq!(backend.json_schema_style(), JsonSchemaStyle::JsonObjectWithSchema);
    assert_eq!(backend.chat(&request).await.unwrap().text, "{\"answer\":5}");

    let requests = server.requests();
    assert_eq!(requests.len(), 3, "one refusal (not retried, although a 500), then the older form twice");
    assert_eq!(requests[0].json()["response_format"]["type"], json!("json_schema"));
    let older_form = json!({ "type": "json_object", "schema": answer_schema() });
    assert_eq!(requests[1].json()["response_format"], older_form);
    assert_eq!(requests[2].json()["response_format"], older_form);
}

// ---------------------------------------------------------------- Anthropic success

#[tokio::test]
async fn anthropic_puts_system_messages_in_the_system_field_and_defaults_max_tokens() {
    let server = ScriptedHttpServer::start(vec![ScriptedResponse::json(200, anthropic_text_answer(&["Hello", ", world"]))]).await;
    set_test_variable("FLOWC_TEST_ANTHROPIC_KEY_SUCCESS", "sk-ant-success-key");
    let backend = AnthropicBackend::new(anthropic_config(&server, "FLOWC_TEST_ANTHROPIC_KEY_SUCCESS")).unwrap();
    let request = ChatRequest {
        messages: vec![
            message(Role::System, "Be brief."),
            message(Role::User, "Hi"),
            message(Role::Assistant, "Hello"),
            message(Role::System, "Be kind."),
            message(Role::User, "Greet the world"),
        ],
        // The Messages API has no seed: it is not sent even when set.
        decoding: DecodingParameters { temperature: Some(0.0), seed: Some(0), top_k: Some(5), ..DecodingParameters::default() },
        constraint: OutputConstraint::None,
    };

    let response = backend.chat(&request).await.unwrap();

    assert_eq!(response.text, "Hello, world");
    assert_eq!((response.prompt_tokens, response.completion_tokens), (20, 4));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/messages");
    assert_eq!(requests[0].header("x-api-key"), Some("sk-ant-success-key"));
    assert_eq!(requests[0].header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(requests[0].header("authorization"), None);
    assert_eq!(
        requests[0].json(),
        json!({
            "model": "claude-test",
            "max_tokens": 1024,
            "system": "Be brief.\n\nBe kind.",
            "messages": [
                { "role": "user", "content": "Hi" },
                { "role": "assistant", "content": "Hello" },
                { "role": "user", "content": "Greet the world" },
            ],
            "temperature": 0.0,
            "top_k": 5,
        })
    );
}

#[tokio::test]
async fn anthropic_sends_only_the_required_fields_when_nothing_is_set() {
    let server = ScriptedHttpServer::start(vec![ScriptedResponse::json(200, anthropic_text_answer(&["hi"]))]).await;
    set_test_variable("FLOWC_TEST_ANTHROPIC_KEY_MINIMAL", "sk-ant-minimal");
    let backend = AnthropicBackend::new(anthropic_config(&server, "FLOWC_TEST_ANTHROPIC_KEY_MINIMAL")).unwrap();

    backend.chat(&plain_request(DecodingParameters::default())).await.unwrap();

    assert_eq!(
        server.requests()[0].json(),
        json!({ "model": "claude-test", "max_tokens": 1024, "messages": [{ "role": "user", "content": "Say hi." }] })
    );
}

#[tokio::test]
async fn anthropic_forces_the_answer_tool_for_a_json_schema_and_returns_its_input_as_json() {
    let tool_answer = json!({
        "id": "msg_2", "type": "message", "role": "assistant", "model": "claude-test",
        "content": [{ "type": "tool_use", "id": "toolu_1", "name": "answer", "input": { "answer": 4 } }],
        "stop_reason": "tool_use",
        "usage": { "input_tokens": 30, "output_tokens": 9 },
    });
    let server = ScriptedHttpServer::start(vec![ScriptedResponse::json(200, tool_answer)]).await;
    set_test_variable("FLOWC_TEST_ANTHROPIC_KEY_TOOL", "sk-ant-tool");
    let backend = AnthropicBackend::new(anthropic_config(&server, "FLOWC_TEST_ANTHROPIC_KEY_TOOL")).unwrap();
    let request = ChatRequest {
        messages: vec![message(Role::User, "2+2?")],
        decoding: DecodingParameters { max_tokens: Some(200), top_p: Some(0.5), ..DecodingParameters::default() },
        constraint: OutputConstraint::JsonSchema { schema: answer_schema() },
    };

    let response = backend.chat(&request).await.unwrap();

    assert_eq!(serde_json::from_str::<Value>(&response.text).unwrap(), json!({ "answer": 4 }));
    assert_eq!((response.prompt_tokens, response.completion_tokens), (30, 9));
    assert_eq!(
        server.requests()[0].json(),
        json!({
            "model": "claude-test",
            "max_tokens": 200,
            "messages": [{ "role": "user", "content": "2+2?" }],
            "top_p": 0.5,
            "tools": [{ "name": "answer", "description": "Give the answer in this form.", "input_schema": answer_schema() }],
            "tool_choice": { "type": "tool", "name": "answer" },
        })
    );
}

#[tokio::test]
async fn anthropic_wraps_a_schema_that_is_not_an_object() {
    let tool_answer = json!({
        "content": [{ "type": "tool_use", "id": "toolu_1", "name": "answer", "input": { "value": [1.5, 2] } }],
        "usage": { "input_tokens": 30, "output_tokens": 9 },
    });
    let server = ScriptedHttpServer::start(vec![ScriptedResponse::json(200, tool_answer)]).await;
    set_test_variable("FLOWC_TEST_ANTHROPIC_KEY_WRAP", "sk-ant-wrap");
    let backend = AnthropicBackend::new(anthropic_config(&server, "FLOWC_TEST_ANTHROPIC_KEY_WRAP")).unwrap();
    let list_of_numbers = json!({ "type": "array", "items": { "type": "number" } });
    let request = ChatRequest {
        messages: vec![message(Role::User, "Two numbers?")],
        decoding: DecodingParameters::default(),
        constraint: OutputConstraint::JsonSchema { schema: list_of_numbers.clone() },
    };

    assert_eq!(backend.chat(&request).await.unwrap().text, "[1.5,2]");

    assert_eq!(
        server.requests()[0].json()["tools"][0]["input_schema"],
        json!({ "type": "object", "properties": { "value": list_of_numbers }, "required": ["value"] })
    );
}

// ---------------------------------------------------------------- retries

#[tokio::test]
async fn too_many_requests_is_retried_after_the_delay_the_server_asks_for() {
    let server = ScriptedHttpServer::start(vec![
        ScriptedResponse::json(429, json!({ "error": { "message": "slow down" } })).with_header("Retry-After", "1"),
        ScriptedResponse::json(200, openai_answer("hi")),
    ])
    .await;
    let backend = OpenAiBackend::new(openai_config(&server, None)).unwrap();

    let started = Instant::now();
    let response = backend.chat(&plain_request(DecodingParameters::default())).await.unwrap();

    assert_eq!(response.text, "hi");
    assert_eq!(server.requests().len(), 2);
    // Our own schedule would have waited 10 ms; the server asked for 1 s.
    assert!(started.elapsed() >= Duration::from_millis(950), "waited only {:?}", started.elapsed());
}

#[tokio::test]
async fn a_retry_after_of_zero_replaces_a_long_backoff() {
    let server = ScriptedHttpServer::start(vec![
        ScriptedResponse::json(429, json!({ "error": { "message": "slow down" } })).with_header("Retry-After", "0"),
        ScriptedResponse::json(200, openai_answer("hi")),
    ])
    .await;
    let mut config = openai_config(&server, None);
    config.http.first_retry_delay = Duration::from_secs(60);
    config.http.longest_retry_delay = Duration::from_secs(60);
    let backend = OpenAiBackend::new(config).unwrap();

    let answer = tokio::time::timeout(Duration::from_secs(10), backend.chat(&plain_request(DecodingParameters::default()))).await;

    assert_eq!(answer.expect("the server's delay of 0 s replaced the 60 s backoff").unwrap().text, "hi");
}

#[tokio::test]
async fn a_server_error_is_retried_with_the_same_body() {
    let server = ScriptedHttpServer::start(vec![
        ScriptedResponse::json(500, json!({ "error": { "message": "try again" } })),
        ScriptedResponse::json(200, openai_answer("hi")),
    ])
    .await;
    let backend = OpenAiBackend::new(openai_config(&server, None)).unwrap();

    assert_eq!(backend.chat(&plain_request(DecodingParameters::default())).await.unwrap().text, "hi");

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
}

#[tokio::test]
async fn anthropic_overload_is_retried() {
    let overloaded = json!({ "type": "error", "error": { "type": "overloaded_error", "message": "Overloaded" } });
    let server = ScriptedHttpServer::start(vec![
        ScriptedResponse::json(529, overloaded),
        ScriptedResponse::json(200, anthropic_text_answer(&["fine"])),
    ])
    .await;
    set_test_variable("FLOWC_TEST_ANTHROPIC_KEY_OVERLOAD", "sk-ant-overload");
    let backend = AnthropicBackend::new(anthropic_config(&server, "FLOWC_TEST_ANTHROPIC_KEY_OVERLOAD")).unwrap();

    assert_eq!(backend.chat(&plain_request(DecodingParameters::default())).await.unwrap().text, "fine");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn persistent_server_errors_give_an_http_error_after_max_retries_plus_one_attempts() {
    let failure = || ScriptedResponse::json(500, json!({ "error": { "message": "model crashed" } }));
    let server = ScriptedHttpServer::start(vec![failure(), failure(), failure(), failure(), failure()]).await;
    let backend = OpenAiBackend::new(openai_config(&server, None)).unwrap();

    let error = backend.chat(&plain_request(DecodingParameters::default())).await.unwrap_err();

    match error {
        ModelError::Http { status, attempts, message } => {
            assert_eq!((status, attempts, message.as_str()), (500, 3, "model crashed"));
        }
        other => panic!("expected an HTTP error, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 3, "max_retries = 2: three attempts, no more");
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_carries_the_servers_message() {
    let server = ScriptedHttpServer::start(vec![
        ScriptedResponse::json(400, json!({ "error": { "message": "model `smollm2` not found", "type": "invalid_request_error" } })),
        ScriptedResponse::json(200, openai_answer("never sent")),
    ])
    .await;
    let backend = OpenAiBackend::new(openai_config(&server, None)).unwrap();

    let error = backend.chat(&plain_request(DecodingParameters::default())).await.unwrap_err();

    match error {
        ModelError::Http { status, attempts, message } => {
            assert_eq!((status, attempts, message.as_str()), (400, 1, "model `smollm2` not found"));
        }
        other => panic!("expected an HTTP error, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_client_error_after_a_retried_server_error_counts_both_attempts() {
    let server = ScriptedHttpServer::start(vec![
        ScriptedResponse::json(503, json!({ "error": { "message": "loading model" } })),
        ScriptedResponse::json(404, json!({ "error": { "message": "no such model" } })),
        ScriptedResponse::json(200, openai_answer("never sent")),
    ])
    .await;
    let backend = OpenAiBackend::new(openai_config(&server, None)).unwrap();

    let error = backend.chat(&plain_request(DecodingParameters::default())).await.unwrap_err();

    assert!(matches!(error, ModelError::Http { status: 404, attempts: 2, .. }), "{error:?}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported_as_a_transport_error() {
    // A port that was free a moment ago: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let mut config = HttpBackendConfig::new("smollm2");
    config.base_url = Some(format!("http://{address}/v1"));
    config.http = HttpSettings { max_retries: 1, ..fast_settings() };
    let backend = OpenAiBackend::new(config).unwrap();

    let error = backend.chat(&plain_request(DecodingParameters::default())).await.unwrap_err();

    match &error {
        ModelError::Transport(message) => assert!(message.contains("after 2 attempts"), "{message}"),
        other => panic!("expected a transport error, got {other:?}"),
    }
}

// ---------------------------------------------------------------- timeouts, bad answers

#[tokio::test]
async fn a_slow_answer_beyond_the_timeout_is_a_timeout_and_is_not_retried() {
    let server = ScriptedHttpServer::start(vec![
        ScriptedResponse::json(200, openai_answer("too late")).after(Duration::from_secs(5)),
        ScriptedResponse::json(200, openai_answer("too late")).after(Duration::from_secs(5)),
    ])
    .await;
    let mut config = openai_config(&server, None);
    config.http.timeout = Duration::from_millis(300);
    let backend = OpenAiBackend::new(config).unwrap();

    let started = Instant::now();
    let error = backend.chat(&plain_request(DecodingParameters::default())).await.unwrap_err();

    match error {
        ModelError::Timeout { seconds } => assert_eq!(seconds, 0.3),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(server.requests().len(), 1, "a timed-out generation is not redone");
}

#[tokio::test]
async fn malformed_json_is_a_bad_response_with_an_excerpt() {
    let server = ScriptedHttpServer::start(vec![ScriptedResponse::raw(200, "{\"choices\": [ this is not json")]).await;
    let backend = OpenAiBackend::new(openai_config(&server, None)).unwrap();

    let error = backend.chat(&plain_request(DecodingParameters::default())).await.unwrap_err();

    match error {
        ModelError::BadResponse(message) => assert!(message.contains("this is not json"), "{message}"),
        other => panic!("expected a bad response, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn missing_fields_are_bad_responses() {
    let no_usage = json!({ "choices": [{ "message": { "role": "assistant", "content": "hi" } }] });
    let no_choices = json!({ "choices": [], "usage": { "prompt_tokens": 1, "completion_tokens": 1 } });
    let server = ScriptedHttpServer::start(vec![ScriptedResponse::json(200, no_usage), ScriptedResponse::json(200, no_choices)]).await;
    let backend = OpenAiBackend::new(openai_config(&server, None)).unwrap();

    for expected in ["usage.prompt_tokens", "choices[0].message"] {
        match backend.chat(&plain_request(DecodingParameters::default())).await.unwrap_err() {
            ModelError::BadResponse(message) => assert!(message.contains(expected), "{message}"),
            other => panic!("expected a bad response, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn anthropic_answers_without_content_are_bad_responses() {
    let server = ScriptedHttpServer::start(vec![ScriptedResponse::json(200, json!({ "usage": { "input_tokens": 1, "output_tokens": 1 } }))]).await;
    set_test_variable("FLOWC_TEST_ANTHROPIC_KEY_NO_CONTENT", "sk-ant-no-content");
    let backend = AnthropicBackend::new(anthropic_config(&server, "FLOWC_TEST_ANTHROPIC_KEY_NO_CONTENT")).unwrap();

    assert!(matches!(backend.chat(&plain_request(DecodingParameters::default())).await, Err(ModelError::BadResponse(_))));
}

// ---------------------------------------------------------------- keys

#[test]
fn a_missing_api_key_variable_is_a_configuration_error_that_names_it() {
    let variable = "FLOWC_TEST_KEY_THAT_IS_NEVER_SET";
    let config = HttpBackendConfig {
        base_url: Some("http://127.0.0.1:9/v1".to_string()),
        api_key_variable: Some(variable.to_string()),
        ..HttpBackendConfig::new("smollm2")
    };

    for error in [OpenAiBackend::new(config.clone()).unwrap_err(), AnthropicBackend::new(config).unwrap_err()] {
        match error {
            ModelError::Configuration(message) => assert!(message.contains(variable), "{message}"),
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }
}

#[test]
fn an_empty_api_key_variable_is_a_configuration_error() {
    set_test_variable("FLOWC_TEST_KEY_EMPTY", "");
    let config = HttpBackendConfig { api_key_variable: Some("FLOWC_TEST_KEY_EMPTY".to_string()), ..HttpBackendConfig::new("smollm2") };
    assert!(matches!(OpenAiBackend::new(config), Err(ModelError::Configuration(message)) if message.contains("FLOWC_TEST_KEY_EMPTY")));
}

#[tokio::test]
async fn api_keys_never_appear_in_debug_output_identities_or_errors() {
    let openai_key = "sk-flowc-test-openai-0123456789-do-not-print";
    let anthropic_key = "sk-ant-flowc-test-9876543210-do-not-print";
    set_test_variable("FLOWC_TEST_OPENAI_KEY_SECRET", openai_key);
    set_test_variable("FLOWC_TEST_ANTHROPIC_KEY_SECRET", anthropic_key);
    // Servers that echo the rejected key, as some do.
    let server = ScriptedHttpServer::start(vec![
        ScriptedResponse::json(401, json!({ "error": { "message": format!("Incorrect API key provided: {openai_key}") } })),
        ScriptedResponse::json(403, json!({ "type": "error", "error": { "type": "permission_error", "message": format!("key {anthropic_key} is revoked") } })),
        ScriptedResponse::raw(200, &format!("not json, but it mentions {openai_key}")),
    ])
    .await;
    let openai = OpenAiBackend::new(openai_config(&server, Some("FLOWC_TEST_OPENAI_KEY_SECRET"))).unwrap();
    let anthropic = AnthropicBackend::new(anthropic_config(&server, "FLOWC_TEST_ANTHROPIC_KEY_SECRET")).unwrap();

    let openai_error = openai.chat(&plain_request(DecodingParameters::default())).await.unwrap_err();
    let anthropic_error = anthropic.chat(&plain_request(DecodingParameters::default())).await.unwrap_err();
    let bad_response_error = openai.chat(&plain_request(DecodingParameters::default())).await.unwrap_err();

    // The keys were sent…
    let requests = server.requests();
    assert_eq!(requests[0].header("authorization"), Some(format!("Bearer {openai_key}").as_str()));
    assert_eq!(requests[1].header("x-api-key"), Some(anthropic_key));
    // …and appear nowhere a person or a log could see them.
    let shown = [
        format!("{openai:?}"),
        format!("{openai:#?}"),
        format!("{anthropic:?}"),
        format!("{:?}", openai.identity()),
        format!("{}", openai.identity()),
        format!("{:?}", anthropic.identity()),
        format!("{openai_error}"),
        format!("{openai_error:?}"),
        format!("{anthropic_error}"),
        format!("{anthropic_error:?}"),
        format!("{bad_response_error}"),
        format!("{bad_response_error:?}"),
    ];
    for text in &shown {
        assert!(!text.contains(openai_key) && !text.contains(anthropic_key), "a key leaked into: {text}");
    }
    // The variable's name is fine to show, and the messages still say what happened.
    assert!(shown[0].contains("FLOWC_TEST_OPENAI_KEY_SECRET"), "{}", shown[0]);
    assert!(matches!(&openai_error, ModelError::Http { status: 401, message, .. } if message.contains("Incorrect API key provided")));
    assert!(matches!(&anthropic_error, ModelError::Http { status: 403, message, .. } if message.contains("revoked")));
}

#[test]
fn identities_name_the_endpoint_without_credentials() {
    let config = HttpBackendConfig { base_url: Some("https://user:hunter2@models.example.com/v1/".to_string()), ..HttpBackendConfig::new("gpt-test") };
    let backend = OpenAiBackend::new(config).unwrap();
    let identity = backend.identity();
    assert_eq!(identity.backend, "openai");
    assert_eq!(identity.model, "gpt-test");
    assert_eq!(identity.endpoint.as_deref(), Some("https://models.example.com/v1"));
    assert!(!format!("{backend:?}").contains("hunter2"));
}
