//! The Anthropic Messages API: `POST {base_url}/v1/messages`.
//!
//! How flowc's request maps onto it:
//! - system messages go to the top-level `system` field (the API has no system role
//!   in `messages`); several are joined with blank lines, in order;
//! - `max_tokens` is required by the API: [`DEFAULT_MAX_TOKENS`] when unset;
//! - `temperature`, `top_p`, `top_k` are sent when set (`temperature = 0` as 0); the
//!   API has no `seed` and no repetition penalty and refuses unknown fields, so those
//!   two are not sent (Anthropic's sampling is not seedable);
//! - a JSON-schema constraint: the API has no `response_format`, so the schema
//!   becomes the input schema of one tool, `answer`, which the model is forced to call
//!   (`tool_choice: {type: "tool", name: "answer"}`); the tool's input, serialised as
//!   JSON, is the output text. A tool's input must be a JSON object, so a schema of
//!   another type (a number, a list) is wrapped as `{value: schema}` and unwrapped
//!   from the answer;
//! - a regular expression has no counterpart: nothing is sent, the caller checks it.

use std::fmt;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use serde_json::{json, Map, Value};

use super::http::{self, ApiKeyHeader, HttpBackendConfig, JsonHttpClient};
use super::{ChatRequest, ChatResponse, ModelBackend, ModelError, ModelIdentity, OutputConstraint, Role};

/// The public API, used when a declaration gives no `base_url`.
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// The variable read for the public API when the declaration names none: the one the
/// Anthropic SDKs read.
pub const DEFAULT_ANTHROPIC_API_KEY_VARIABLE: &str = "ANTHROPIC_API_KEY";
/// The API version flowc's request and answer formats follow.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// `max_tokens` when the model or node sets none (the API requires a value).
pub const DEFAULT_MAX_TOKENS: u32 = 1024;
/// The forced tool that carries JSON-schema-constrained answers.
pub const ANSWER_TOOL_NAME: &str = "answer";
/// The property a non-object schema is wrapped in.
const WRAPPED_VALUE_PROPERTY: &str = "value";

pub struct AnthropicBackend {
    model: String,
    /// The base URL without credentials, for identities and messages.
    public_endpoint: String,
    messages_url: Url,
    client: JsonHttpClient,
}

impl AnthropicBackend {
    /// Builds the backend, reading the API key from the environment now, so that a
    /// missing key is reported before any work starts.
    pub fn new(config: HttpBackendConfig) -> Result<AnthropicBackend, ModelError> {
        if config.model.trim().is_empty() {
            return Err(ModelError::Configuration("an anthropic model needs a model name: `anthropic(\"claude-sonnet-4-5\")`".to_string()));
        }
        let base_url = http::parse_base_url(config.base_url.as_deref().unwrap_or(DEFAULT_ANTHROPIC_BASE_URL))?;
        let api_key = http::read_api_key(&config, DEFAULT_ANTHROPIC_API_KEY_VARIABLE)?;
        let mut fixed_headers = HeaderMap::new();
        fixed_headers.insert(HeaderName::from_static("anthropic-version"), HeaderValue::from_static(ANTHROPIC_VERSION));
        let client = JsonHttpClient::new(config.http.clone(), fixed_headers, api_key, ApiKeyHeader::Named(HeaderName::from_static("x-api-key")))?;
        Ok(AnthropicBackend {
            model: config.model,
            public_endpoint: http::public_endpoint(&base_url),
            messages_url: http::endpoint_url(&base_url, "/v1/messages")?,
            client,
        })
    }

    /// The JSON body of one Messages request, and whether the schema was wrapped.
    fn request_body(&self, request: &ChatRequest) -> (Value, bool) {
        let mut body = Map::new();
        body.insert("model".to_string(), json!(self.model));
        let decoding = &request.decoding;
        body.insert("max_tokens".to_string(), json!(decoding.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)));

        let system_texts: Vec<&str> =
            request.messages.iter().filter(|message| message.role == Role::System).map(|message| message.content.as_str()).collect();
        if !system_texts.is_empty() {
            body.insert("system".to_string(), json!(system_texts.join("\n\n")));
        }
        let turns: Vec<Value> = request
            .messages
            .iter()
            .filter(|message| message.role != Role::System)
            .map(|message| json!({ "role": message.role, "content": message.content }))
            .collect();
        body.insert("messages".to_string(), Value::Array(turns));

        // Each parameter only when set: `Some(0.0)` is sent as 0.
        if let Some(temperature) = decoding.temperature {
            body.insert("temperature".to_string(), json!(temperature));
        }
        if let Some(top_p) = decoding.top_p {
            body.insert("top_p".to_string(), json!(top_p));
        }
        if let Some(top_k) = decoding.top_k {
            body.insert("top_k".to_string(), json!(top_k));
        }

        let mut wrapped = false;
        if let OutputConstraint::JsonSchema { schema } = &request.constraint {
            let input_schema = if schema.get("type") == Some(&json!("object")) {
                schema.clone()
            } else {
                wrapped = true;
                json!({
                    "type": "object",
                    "properties": { WRAPPED_VALUE_PROPERTY: schema },
                    "required": [WRAPPED_VALUE_PROPERTY],
                })
            };
            body.insert(
                "tools".to_string(),
                json!([{
                    "name": ANSWER_TOOL_NAME,
                    "description": "Give the answer in this form.",
                    "input_schema": input_schema,
                }]),
            );
            body.insert("tool_choice".to_string(), json!({ "type": "tool", "name": ANSWER_TOOL_NAME }));
        }
        (Value::Object(body), wrapped)
    }
}

/// Reads the answer: the forced tool's input (as JSON text) when a schema was sent,
/// the text blocks otherwise, and `usage`.
fn parse_message(answer: &Value, constrained: bool, wrapped: bool) -> Result<ChatResponse, ModelError> {
    let short = || http::excerpt(&answer.to_string(), 300);
    let blocks = answer
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| ModelError::BadResponse(format!("no `content` list in the answer: {}", short())))?;
    let text = if constrained {
        let input = blocks
            .iter()
            .find(|block| block.get("type") == Some(&json!("tool_use")) && block.get("name") == Some(&json!(ANSWER_TOOL_NAME)))
            .and_then(|block| block.get("input"))
            .ok_or_else(|| ModelError::BadResponse(format!("the model did not call the `{ANSWER_TOOL_NAME}` tool: {}", short())))?;
        let value = if wrapped {
            input
                .get(WRAPPED_VALUE_PROPERTY)
                .ok_or_else(|| ModelError::BadResponse(format!("the `{ANSWER_TOOL_NAME}` tool's input has no `{WRAPPED_VALUE_PROPERTY}`: {}", short())))?
        } else {
            input
        };
        value.to_string()
    } else {
        blocks
            .iter()
            .filter(|block| block.get("type") == Some(&json!("text")))
            .filter_map(|block| block.get("text").and_then(Value::as_str))
            .collect::<String>()
    };
    let token_count = |field: &str| -> Result<u32, ModelError> {
        answer
            .pointer(&format!("/usage/{field}"))
            .and_then(Value::as_u64)
            .map(|count| u32::try_from(count).unwrap_or(u32::MAX))
            .ok_or_else(|| ModelError::BadResponse(format!("no `usage.{field}` in the answer: {}", short())))
    };
    Ok(ChatResponse {
        text,
        prompt_tokens: token_count("input_tokens")?,
        completion_tokens: token_count("output_tokens")?,
        prompt_seconds: None,
        generation_seconds: None,
    })
}

#[async_trait]
impl ModelBackend for AnthropicBackend {
    fn identity(&self) -> ModelIdentity {
        ModelIdentity { backend: "anthropic".to_string(), model: self.model.clone(), file_sha256: None, endpoint: Some(self.public_endpoint.clone()) }
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let (body, wrapped) = self.request_body(request);
        let answer = self.client.post_json(&self.messages_url, &body).await?;
        let constrained = matches!(request.constraint, OutputConstraint::JsonSchema { .. });
        parse_message(&answer, constrained, wrapped)
    }
}

impl fmt::Debug for AnthropicBackend {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AnthropicBackend")
            .field("model", &self.model)
            .field("endpoint", &self.public_endpoint)
            .field("client", &self.client)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_schema_is_unwrapped_from_the_tool_input() {
        let answer = json!({
            "content": [{ "type": "tool_use", "id": "toolu_1", "name": "answer", "input": { "value": [1, 2] } }],
            "usage": { "input_tokens": 5, "output_tokens": 2 },
        });
        assert_eq!(parse_message(&answer, true, true).unwrap().text, "[1,2]");
    }

    #[test]
    fn text_blocks_are_concatenated() {
        let answer = json!({
            "content": [{ "type": "text", "text": "Hello, " }, { "type": "text", "text": "world" }],
            "usage": { "input_tokens": 5, "output_tokens": 2 },
        });
        let response = parse_message(&answer, false, false).unwrap();
        assert_eq!(response.text, "Hello, world");
        assert_eq!((response.prompt_tokens, response.completion_tokens), (5, 2));
    }

    #[test]
    fn a_missing_tool_call_is_a_bad_response() {
        let answer = json!({ "content": [{ "type": "text", "text": "{}" }], "usage": { "input_tokens": 1, "output_tokens": 1 } });
        assert!(matches!(parse_message(&answer, true, false), Err(ModelError::BadResponse(_))));
    }
}
