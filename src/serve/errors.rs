//! Every error the server answers with: one JSON shape,
//! `{"error": {"code", "message", "field"?, "help"}}`, and a stable code per kind
//! of failure, each with its HTTP status and a help line.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The stable codes clients may match on. Renaming one is a breaking change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON, or not an object (a batch: a line is not).
    InvalidJson,
    /// An input is missing or does not have the workflow's declared type.
    InvalidInput,
    /// The body names an input the workflow does not have.
    UnknownInput,
    /// No bearer token, or the wrong one.
    Unauthorized,
    UnknownWorkflow,
    /// `POST /v1/workflows/{name}:{action}` with an action other than run/batch.
    UnknownAction,
    NotFound,
    MethodNotAllowed,
    BodyTooLarge,
    /// Every run slot is busy and the queue is full.
    QueueFull,
    /// A node failed (the sandbox's or the model's error is the message).
    RunFailed,
    /// Models are still loading (or failed to load).
    NotReady,
    ShuttingDown,
    Timeout,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidJson | ErrorCode::InvalidInput | ErrorCode::UnknownInput => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::UnknownWorkflow | ErrorCode::UnknownAction | ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::QueueFull => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RunFailed | ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::NotReady | ErrorCode::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::UnknownInput => "unknown_input",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::UnknownWorkflow => "unknown_workflow",
            ErrorCode::UnknownAction => "unknown_action",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::QueueFull => "queue_full",
            ErrorCode::RunFailed => "run_failed",
            ErrorCode::NotReady => "not_ready",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Internal => "internal",
        }
    }

    /// What to do about it, in one line.
    pub fn help(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "send one JSON object of the workflow's inputs (a batch: one object per line)",
            ErrorCode::InvalidInput => "give every input of the workflow with its declared type; GET /v1/plan lists them as JSON Schema",
            ErrorCode::UnknownInput => "send only the workflow's inputs; GET /v1/plan lists them",
            ErrorCode::Unauthorized => "send `Authorization: Bearer <token>` with the token the server was started with",
            ErrorCode::UnknownWorkflow => "GET /v1/plan lists the workflows this server runs",
            ErrorCode::UnknownAction => "use POST /v1/workflows/{name}:run or POST /v1/workflows/{name}:batch",
            ErrorCode::NotFound => "the API is POST /v1/workflows/{name}:run, POST /v1/workflows/{name}:batch, GET /v1/plan, GET /healthz, GET /readyz, GET /metrics and the plan page at GET /",
            ErrorCode::MethodNotAllowed => "runs are POST; the plan, probes, metrics and page are GET",
            ErrorCode::BodyTooLarge => "send fewer inputs per batch, or start the server with a larger --body-limit",
            ErrorCode::QueueFull => "retry after the number of seconds in Retry-After, or add replicas behind the load balancer",
            ErrorCode::RunFailed => "the message names the node that failed and why; the same input fails the same way under `flowc run`",
            ErrorCode::NotReady => "wait for GET /readyz to answer 200 (models are loading and warming up)",
            ErrorCode::ShuttingDown => "the server is stopping; send the request to another replica",
            ErrorCode::Timeout => "the run took longer than the server's --timeout; retry, or raise --timeout",
            ErrorCode::Internal => "this is a bug in flowc serve; the message says where",
        }
    }
}

/// An error answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// The input field at fault (`question`, `order.items[2]`, `line 3: question`).
    pub field: Option<String>,
    /// Seconds a client should wait (429 and 503 carry `Retry-After`).
    pub retry_after_seconds: Option<u64>,
    /// The run's trace when the client asked for it (`?trace=true`).
    pub trace: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), field: None, retry_after_seconds: None, trace: None }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after_seconds = Some(seconds);
        self
    }

    pub fn with_trace(mut self, trace: Option<serde_json::Value>) -> ApiError {
        self.trace = trace;
        self
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        let mut error = serde_json::Map::new();
        error.insert("code".into(), self.code.as_str().into());
        error.insert("message".into(), self.message.clone().into());
        if let Some(field) = &self.field {
            error.insert("field".into(), field.clone().into());
        }
        error.insert("help".into(), self.code.help().into());
        let mut body = serde_json::Map::new();
        body.insert("error".into(), serde_json::Value::Object(error));
        if let Some(trace) = &self.trace {
            body.insert("trace".into(), trace.clone());
        }
        serde_json::Value::Object(body)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.code.status(), [(header::CONTENT_TYPE, "application/json")], self.body().to_string()).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_code_message_field_and_help() {
        let error = ApiError::new(ErrorCode::InvalidInput, "the input `question` must be text").with_field("question");
        let body = error.body();
        assert_eq!(body["error"]["code"], "invalid_input");
        assert_eq!(body["error"]["field"], "question");
        assert!(body["error"]["help"].as_str().unwrap().contains("/v1/plan"));
        assert_eq!(ErrorCode::QueueFull.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(serde_json::to_value(ErrorCode::BodyTooLarge).unwrap(), "body_too_large");
    }
}
