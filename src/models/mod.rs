//! Model backends: one trait, several implementations.
//!
//! - [`mistralrs_backend`]: GGUF files in process (the embedded default);
//! - [`openai`]: any OpenAI-compatible chat-completions server (OpenAI, vLLM,
//!   llama.cpp's server, Ollama, ...);
//! - [`anthropic`]: the Anthropic Messages API.
//!
//! Secrets: API keys are read from the environment when a backend is built, held in
//! memory only, and never appear in [`ModelIdentity`], requests' cache keys, errors
//! or logs.

pub mod anthropic;
pub mod counting;
pub mod gguf_format;
pub mod gguf_metadata;
pub mod gguf_requantize;
pub mod http;
pub mod llama_cpp_server;
#[cfg(feature = "in-process-models")]
pub mod mistralrs_backend;
pub mod model_files;
pub mod openai;
pub mod seeded_sampling;

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

/// Every decoding parameter, each `None` only when the user did not set it.
/// `Some(0.0)` temperature and `Some(0)` seed are values like any other.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DecodingParameters {
    pub temperature: Option<f64>,
    pub seed: Option<u64>,
    pub max_tokens: Option<u32>,
    pub top_p: Option<f64>,
    pub top_k: Option<u32>,
    pub repeat_penalty: Option<f64>,
}

/// What the output must look like, enforced by the backend where it can.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutputConstraint {
    None,
    /// A JSON schema the output must validate against.
    JsonSchema { schema: serde_json::Value },
    /// A regular expression the whole output must match.
    Regex { pattern: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    pub decoding: DecodingParameters,
    pub constraint: OutputConstraint,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub text: String,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    /// Time the backend spent reading the prompt and generating, when it says so.
    pub prompt_seconds: Option<f64>,
    pub generation_seconds: Option<f64>,
}

/// Who answers: stable across runs, free of secrets; part of every cache key and of
/// the lock.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelIdentity {
    /// `gguf`, `openai` or `anthropic`. In-process GGUF models add how flowc computes
    /// with them, since that changes the text they write: `gguf/f32+q4_1-as-q8_0` is
    /// F32 activations and the file's Q4_1 weights re-quantised to Q8_0 at load
    /// (`mistralrs_backend::NUMERICS`).
    pub backend: String,
    /// The GGUF file name, or the served model's name.
    pub model: String,
    /// sha256 of the GGUF file (in-process models).
    pub file_sha256: Option<String>,
    /// The base URL (HTTP models).
    pub endpoint: Option<String>,
}

/// How likely the model finds `reply` as its answer to `messages`: nothing is
/// generated; every token of `reply` is read as the model's own next token, and the
/// log-probabilities it gave them are summed. How a plan lets the student *read* a
/// text it could not answer about (`PlanNodeKind::LikelihoodChoice`): which class's
/// prompt makes the text most likely.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScoreRequest {
    pub messages: Vec<ChatMessage>,
    pub reply: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreResponse {
    /// The sum of the natural-log probabilities of the reply's tokens (0 for an
    /// empty reply), rounded to six decimals so that a plan's choice does not hang
    /// on the last bits of a float.
    pub log_probability: f64,
    pub prompt_tokens: u32,
    pub reply_tokens: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model could not be loaded: {0}")]
    Load(String),
    #[error("the request timed out after {seconds} s")]
    Timeout { seconds: f64 },
    #[error("the server kept refusing with HTTP {status} after {attempts} attempts: {message}")]
    Http { status: u16, attempts: u32, message: String },
    #[error("could not reach the server: {0}")]
    Transport(String),
    #[error("the server's answer could not be read: {0}")]
    BadResponse(String),
    #[error("configuration: {0}")]
    Configuration(String),
}

#[async_trait]
pub trait ModelBackend: Send + Sync {
    fn identity(&self) -> ModelIdentity;
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError>;

    /// Scores a reply (see [`ScoreRequest`]). Only backends that see the model's
    /// logits can: the in-process engine. The others say so, with the model's name.
    async fn score(&self, request: &ScoreRequest) -> Result<ScoreResponse, ModelError> {
        let _ = request;
        Err(ModelError::Configuration(format!(
            "{} cannot score a reply (a `likelihood_choice` node needs the model's probabilities for given text, which only the in-process GGUF engine gives); run this model in process (no `engine`), or rebuild the plan with it",
            self.identity()
        )))
    }
}

impl fmt::Display for ModelIdentity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.endpoint, &self.file_sha256) {
            (Some(endpoint), _) => write!(formatter, "{} {} at {}", self.backend, self.model, endpoint),
            (None, Some(digest)) => write!(formatter, "{} {} (sha256 {})", self.backend, self.model, &digest[..12.min(digest.len())]),
            (None, None) => write!(formatter, "{} {}", self.backend, self.model),
        }
    }
}
