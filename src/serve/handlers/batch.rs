//! `POST /v1/workflows/{name}:batch`: JSON lines in, JSON lines out, streamed in
//! input order as results are ready. Each output line is what `flowc run --inputs`
//! writes for that input (the outputs, or `{"error": …}`), so a batch answer has
//! the bytes of `flowc run`'s output file.
//!
//! Every line is checked before anything runs (a bad line 7 is a 400 naming it, not
//! a half-streamed answer). A batch takes one run slot for its whole stream; its
//! lines run concurrently within the `--jobs` bound on nodes, each under
//! `--timeout`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Map, Value};

use super::super::body::read_limited_body;
use super::super::errors::{ApiError, ErrorCode};
use super::super::input_validation::parse_input_object;
use super::super::state::ServeState;
use super::workflow_call::{ready_executor, LoggedBody};

pub async fn run_batch(state: Arc<ServeState>, name: &str, headers: &HeaderMap, body: Body) -> Response {
    let mut logged = None;
    let mut response = match start_batch(&state, name, headers, body, &mut logged).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    if let Some(text) = logged {
        response.extensions_mut().insert(LoggedBody(text));
    }
    response
}

async fn start_batch(state: &Arc<ServeState>, name: &str, headers: &HeaderMap, body: Body, logged: &mut Option<String>) -> Result<Response, ApiError> {
    let bytes = read_limited_body(headers, body, state.config.body_limit_bytes).await?;
    if state.config.log_bodies {
        *logged = Some(String::from_utf8_lossy(&bytes).into_owned());
    }
    let text = std::str::from_utf8(&bytes).map_err(|error| ApiError::new(ErrorCode::InvalidJson, format!("the body is not UTF-8: {error}")))?;
    let signature = &state.signatures[name];
    let mut inputs: Vec<Map<String, Value>> = Vec::new();
    for (index, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
        let place = format!("line {}: ", index + 1);
        let input = parse_input_object(line.as_bytes(), &place)?;
        signature.check(&input, &place)?;
        inputs.push(input);
    }
    let executor = ready_executor(state, name)?;
    let timeout = state.config.timeout;
    let ticket = match tokio::time::timeout(timeout, state.admission.admit()).await {
        Ok(Ok(ticket)) => ticket,
        Ok(Err(full)) => {
            return Err(ApiError::new(ErrorCode::QueueFull, format!("every run slot is busy and {} request(s) already wait", full.capacity)).with_retry_after(1))
        }
        Err(_) => return Err(ApiError::new(ErrorCode::Timeout, "the batch waited longer than the server's --timeout for a run slot")),
    };
    let concurrency = state.config.jobs.max(1);
    let metrics_state = Arc::clone(state);
    let lines = futures::stream::iter(inputs)
        .map(move |input| {
            let executor = Arc::clone(&executor);
            let state = Arc::clone(&metrics_state);
            async move {
                let line = match tokio::time::timeout(timeout, executor.run(input)).await {
                    Ok(trace) => {
                        state.metrics.record_run(&trace);
                        match (trace.outputs, trace.error) {
                            (Some(outputs), _) => Value::Object(outputs),
                            (None, error) => serde_json::json!({ "error": error.unwrap_or_default() }),
                        }
                    }
                    Err(_) => serde_json::json!({ "error": format!("the run took longer than the server's --timeout of {} s and was stopped", timeout.as_secs_f64()) }),
                };
                let mut text = line.to_string();
                text.push('\n');
                text
            }
        })
        .buffered(concurrency)
        .map(move |line| {
            // The stream owns the run slot: it is given back when the last line is
            // sent (or the client goes away and the stream is dropped).
            let _slot = &ticket;
            Ok::<Bytes, Infallible>(Bytes::from(line))
        });
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/x-ndjson")], Body::from_stream(lines)).into_response())
}
