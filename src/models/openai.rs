//! Any OpenAI-compatible chat-completions server: OpenAI itself, vLLM, llama.cpp's
//! `llama-server`, llama-cpp-python's server, Ollama, …
//!
//! One request is one `POST {base_url}/chat/completions` without streaming. Every
//! decoding parameter that is set is sent, and none that is not: `temperature = 0`
//! and `seed = 0` are values, sent as `0`, never mistaken for "unset".
//!
//! Parameters beyond OpenAI's own (`top_k`, `repeat_penalty`) are sent when set,
//! because the local servers flowc targets (llama.cpp, llama-cpp-python, vLLM for
//! `top_k`) read them; OpenAI's API refuses unknown parameters with an HTTP 400, which
//! is a clearer outcome than silently ignoring a setting the user wrote.
//!
//! Output constraints:
//! - a JSON schema becomes `response_format: {type: "json_schema", json_schema:
//!   {name, schema, strict: true}}`, OpenAI's structured outputs, which vLLM, Ollama
//!   and llama.cpp's `llama-server` understand too. llama-cpp-python's server (0.3.x)
//!   only knows the older `{type: "json_object", schema}` and refuses `json_schema`
//!   with HTTP 500 ("Input should be 'text' or 'json_object'"). When a server refuses
//!   that way, the request is sent again at once in the older form (the refusal is
//!   not retried), and the backend uses the older form from then on (see
//!   [`JsonSchemaStyle`]);
//! - a regular expression has no counterpart in the OpenAI API, so nothing is sent;
//!   the caller checks the output against the pattern.

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use reqwest::Url;
use serde_json::{json, Map, Value};

use super::http::{self, ApiKeyHeader, HttpBackendConfig, JsonHttpClient};
use super::{ChatRequest, ChatResponse, ModelBackend, ModelError, ModelIdentity, OutputConstraint};

/// The public API, used when a declaration gives no `base_url`.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The variable read for the public API when the declaration names none: the one the
/// OpenAI SDKs read. A server at a custom `base_url` gets no key unless one is named,
/// since local servers need none.
pub const DEFAULT_OPENAI_API_KEY_VARIABLE: &str = "OPENAI_API_KEY";
/// The name given to the schema in `response_format` (OpenAI requires one; it is not
/// shown to the model as an instruction). The same name as the Anthropic backend's
/// forced tool, so both read alike in logs of requests.
pub const JSON_SCHEMA_NAME: &str = "answer";

/// How a JSON-schema constraint is written in `response_format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonSchemaStyle {
    /// `{type: "json_schema", json_schema: {name, schema, strict: true}}`: OpenAI's
    /// structured outputs, the default.
    StructuredOutputs,
    /// `{type: "json_object", schema}`: the older form of llama-cpp-python's server
    /// (and Anyscale's), used after a server refused the first.
    JsonObjectWithSchema,
}

pub struct OpenAiBackend {
    model: String,
    /// The base URL without credentials, for identities and messages.
    public_endpoint: String,
    chat_completions_url: Url,
    client: JsonHttpClient,
    /// A [`JsonSchemaStyle`] as a number, so that `chat` (which takes `&self` and may
    /// run concurrently) can switch to the fallback once and for all.
    json_schema_style: AtomicU8,
}

const STYLE_STRUCTURED_OUTPUTS: u8 = 0;
const STYLE_JSON_OBJECT_WITH_SCHEMA: u8 = 1;

impl OpenAiBackend {
    /// Builds the backend, reading the API key from the environment now, so that a
    /// missing key is reported before any work starts.
    pub fn new(config: HttpBackendConfig) -> Result<OpenAiBackend, ModelError> {
        if config.model.trim().is_empty() {
            return Err(ModelError::Configuration("an openai model needs a model name: `openai(\"gpt-4.1\")`".to_string()));
        }
        let base_url = http::parse_base_url(config.base_url.as_deref().unwrap_or(DEFAULT_OPENAI_BASE_URL))?;
        let api_key = http::read_api_key(&config, DEFAULT_OPENAI_API_KEY_VARIABLE)?;
        let client = JsonHttpClient::new(config.http.clone(), HeaderMap::new(), api_key, ApiKeyHeader::Bearer)?;
        Ok(OpenAiBackend {
            model: config.model,
            public_endpoint: http::public_endpoint(&base_url),
            chat_completions_url: http::endpoint_url(&base_url, "/chat/completions")?,
            client,
            json_schema_style: AtomicU8::new(STYLE_STRUCTURED_OUTPUTS),
        })
    }

    /// The form JSON-schema constraints are sent in now.
    pub fn json_schema_style(&self) -> JsonSchemaStyle {
        match self.json_schema_style.load(Ordering::Relaxed) {
            STYLE_JSON_OBJECT_WITH_SCHEMA => JsonSchemaStyle::JsonObjectWithSchema,
            _ => JsonSchemaStyle::StructuredOutputs,
        }
    }

    /// The JSON body of one chat-completions request.
    fn request_body(&self, request: &ChatRequest, style: JsonSchemaStyle) -> Value {
        let mut body = Map::new();
        body.insert("model".to_string(), json!(self.model));
        body.insert("messages".to_string(), json!(request.messages));
        let decoding = &request.decoding;
        // Each parameter only when set: `Some(0.0)` and `Some(0)` are sent as 0.
        if let Some(temperature) = decoding.temperature {
            body.insert("temperature".to_string(), json!(temperature));
        }
        if let Some(seed) = decoding.seed {
            body.insert("seed".to_string(), json!(seed));
        }
        if let Some(max_tokens) = decoding.max_tokens {
            body.insert("max_tokens".to_string(), json!(max_tokens));
        }
        if let Some(top_p) = decoding.top_p {
            body.insert("top_p".to_string(), json!(top_p));
        }
        if let Some(top_k) = decoding.top_k {
            body.insert("top_k".to_string(), json!(top_k));
        }
        if let Some(repeat_penalty) = decoding.repeat_penalty {
            body.insert("repeat_penalty".to_string(), json!(repeat_penalty));
        }
        match &request.constraint {
            OutputConstraint::JsonSchema { schema } => {
                let response_format = match style {
                    JsonSchemaStyle::StructuredOutputs => json!({
                        "type": "json_schema",
                        "json_schema": { "name": JSON_SCHEMA_NAME, "schema": strict_top_level(schema), "strict": true },
                    }),
                    JsonSchemaStyle::JsonObjectWithSchema => json!({ "type": "json_object", "schema": schema }),
                };
                body.insert("response_format".to_string(), response_format);
            }
            // No OpenAI-compatible counterpart: the caller validates the output.
            OutputConstraint::Regex { .. } | OutputConstraint::None => {}
        }
        Value::Object(body)
    }
}

/// Whether a server's refusal says it does not know `response_format: {type:
/// "json_schema"}` but offers `json_object`. llama-cpp-python 0.3.x validates the
/// request and answers HTTP 500 (its error handler turns every exception into a
/// 500; FastAPI alone would say 422) with pydantic's message: "… 'loc': ('body',
/// 'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\",
/// 'input': 'json_schema' …". Requiring the mention of `json_object` and of
/// `response_format` or `json_schema` keeps other refusals (an invalid schema on
/// OpenAI is a 400 that names `response_format` but not `json_object`; a crash is a
/// 500 that names neither) as they are: never silently weakened to the older form.
fn refuses_structured_outputs(status: u16, message: &str) -> bool {
    matches!(status, 400 | 422 | 500)
        && message.contains("json_object")
        && (message.contains("response_format") || message.contains("json_schema"))
}

/// The property a non-object schema is wrapped in for strict structured outputs.
const WRAPPED_VALUE_PROPERTY: &str = "value";

/// OpenAI's strict structured outputs take only an object at the top level; flowc's
/// outputs may be a number, a list or an enum.
fn needs_wrapping(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) != Some("object")
}

/// The schema as strict mode accepts it: `{value: schema}` when it is not an object.
fn strict_top_level(schema: &Value) -> Value {
    if needs_wrapping(schema) {
        json!({
            "type": "object",
            "properties": { WRAPPED_VALUE_PROPERTY: schema },
            "required": [WRAPPED_VALUE_PROPERTY],
            "additionalProperties": false,
        })
    } else {
        schema.clone()
    }
}

/// The answer to a wrapped schema, unwrapped: `{"value": 42}` reads as `42`.
fn unwrap_value(mut response: ChatResponse) -> Result<ChatResponse, ModelError> {
    let answer: Value = serde_json::from_str(&response.text)
        .map_err(|error| ModelError::BadResponse(format!("the structured answer is not JSON ({error}): {}", http::excerpt(&response.text, 200))))?;
    let value = answer
        .get(WRAPPED_VALUE_PROPERTY)
        .ok_or_else(|| ModelError::BadResponse(format!("no `{WRAPPED_VALUE_PROPERTY}` in the structured answer: {}", http::excerpt(&response.text, 200))))?;
    response.text = value.to_string();
    Ok(response)
}

/// Reads `choices[0].message.content`, `usage`, and llama.cpp's `timings` when
/// present.
fn parse_chat_completion(answer: &Value) -> Result<ChatResponse, ModelError> {
    let short = || http::excerpt(&answer.to_string(), 300);
    let message = answer
        .pointer("/choices/0/message")
        .ok_or_else(|| ModelError::BadResponse(format!("no `choices[0].message` in the answer: {}", short())))?;
    let text = match message.get("content") {
        Some(Value::String(text)) => text.clone(),
        _ => {
            // OpenAI puts a refusal in its own field and leaves `content` null.
            if let Some(Value::String(refusal)) = message.get("refusal") {
                return Err(ModelError::BadResponse(format!("the model refused: {}", http::excerpt(refusal, 300))));
            }
            return Err(ModelError::BadResponse(format!("no text in `choices[0].message.content`: {}", short())));
        }
    };
    let token_count = |field: &str| -> Result<u32, ModelError> {
        answer
            .pointer(&format!("/usage/{field}"))
            .and_then(Value::as_u64)
            .map(|count| u32::try_from(count).unwrap_or(u32::MAX))
            .ok_or_else(|| ModelError::BadResponse(format!("no `usage.{field}` in the answer: {}", short())))
    };
    // llama.cpp's server reports where the time went; others do not.
    let milliseconds = |field: &str| answer.pointer(&format!("/timings/{field}")).and_then(Value::as_f64).map(|ms| ms / 1000.0);
    Ok(ChatResponse {
        text,
        prompt_tokens: token_count("prompt_tokens")?,
        completion_tokens: token_count("completion_tokens")?,
        prompt_seconds: milliseconds("prompt_ms"),
        generation_seconds: milliseconds("predicted_ms"),
    })
}

#[async_trait]
impl ModelBackend for OpenAiBackend {
    fn identity(&self) -> ModelIdentity {
        ModelIdentity { backend: "openai".to_string(), model: self.model.clone(), file_sha256: None, endpoint: Some(self.public_endpoint.clone()) }
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let style = self.json_schema_style();
        let may_fall_back = style == JsonSchemaStyle::StructuredOutputs && matches!(request.constraint, OutputConstraint::JsonSchema { .. });
        if !may_fall_back {
            let answer = self.client.post_json(&self.chat_completions_url, &self.request_body(request, style)).await?;
            return parse_chat_completion(&answer);
        }
        let body = self.request_body(request, JsonSchemaStyle::StructuredOutputs);
        // The refusal comes back as a 500 from llama-cpp-python: not retried, since
        // it is the same answer every time.
        match self.client.post_json_unless_refused(&self.chat_completions_url, &body, refuses_structured_outputs).await {
            Ok(answer) => {
                let response = parse_chat_completion(&answer)?;
                match &request.constraint {
                    OutputConstraint::JsonSchema { schema } if needs_wrapping(schema) => unwrap_value(response),
                    _ => Ok(response),
                }
            }
            Err(ModelError::Http { status, message, .. }) if refuses_structured_outputs(status, &message) => {
                let fallback_body = self.request_body(request, JsonSchemaStyle::JsonObjectWithSchema);
                let answer = self.client.post_json(&self.chat_completions_url, &fallback_body).await?;
                // Only now, once the older form worked: a server that refuses both
                // keeps being asked in the standard form and reports its own error.
                self.json_schema_style.store(STYLE_JSON_OBJECT_WITH_SCHEMA, Ordering::Relaxed);
                parse_chat_completion(&answer)
            }
            Err(error) => Err(error),
        }
    }
}

impl fmt::Debug for OpenAiBackend {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("OpenAiBackend")
            .field("model", &self.model)
            .field("endpoint", &self.public_endpoint)
            .field("json_schema_style", &self.json_schema_style())
            .field("client", &self.client)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_object_schemas_are_wrapped_for_strict_mode_and_unwrapped_from_answers() {
        let number = json!({ "type": "number" });
        assert!(needs_wrapping(&number));
        assert_eq!(strict_top_level(&number)["properties"]["value"], number);
        let object = json!({ "type": "object", "properties": {}, "required": [], "additionalProperties": false });
        assert_eq!(strict_top_level(&object), object);
        let response = ChatResponse { text: "{\"value\": [1, 2.5]}".into(), ..Default::default() };
        assert_eq!(unwrap_value(response).unwrap().text, "[1,2.5]");
        assert!(unwrap_value(ChatResponse { text: "{\"other\": 1}".into(), ..Default::default() }).is_err());
    }

    #[test]
    fn a_refusal_of_json_schema_that_offers_json_object_triggers_the_fallback() {
        let llama_cpp_python = r#"1 validation error: {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': "Input should be 'text' or 'json_object'", 'input': 'json_schema'}"#;
        assert!(refuses_structured_outputs(500, llama_cpp_python));
        let pydantic = r#"[{"type":"literal_error","loc":["body","response_format","type"],"msg":"Input should be 'text' or 'json_object'"}]"#;
        assert!(refuses_structured_outputs(422, pydantic));
        let invalid_schema = "Invalid schema for response_format 'answer': 'additionalProperties' is required";
        assert!(!refuses_structured_outputs(400, invalid_schema));
        assert!(!refuses_structured_outputs(503, llama_cpp_python), "an overloaded server is retried, not answered in another form");
        assert!(!refuses_structured_outputs(500, "CUDA out of memory"));
    }

    #[test]
    fn llama_cpp_timings_become_seconds() {
        let answer = json!({
            "choices": [{ "message": { "role": "assistant", "content": "hi" } }],
            "usage": { "prompt_tokens": 3, "completion_tokens": 1 },
            "timings": { "prompt_ms": 250.0, "predicted_ms": 1500.0 },
        });
        let response = parse_chat_completion(&answer).unwrap();
        assert_eq!(response.prompt_seconds, Some(0.25));
        assert_eq!(response.generation_seconds, Some(1.5));
    }

    #[test]
    fn a_refusal_is_reported_as_such() {
        let answer = json!({
            "choices": [{ "message": { "role": "assistant", "content": null, "refusal": "I can't help with that." } }],
            "usage": { "prompt_tokens": 3, "completion_tokens": 1 },
        });
        let error = parse_chat_completion(&answer).unwrap_err();
        assert!(error.to_string().contains("refused"), "{error}");
    }
}
