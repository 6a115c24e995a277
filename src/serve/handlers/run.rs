//! `POST /v1/workflows/{name}:run`: one input object → `{outputs, plan_fingerprint,
//! took_ms}` (and the trace with `?trace=true`). The `outputs` are written exactly as
//! `flowc run` writes its output line for the same input: the same bytes.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::super::body::read_limited_body;
use super::super::errors::{ApiError, ErrorCode};
use super::super::input_validation::parse_input_object;
use super::super::state::ServeState;
use super::workflow_call::{ready_executor, LoggedBody};
use crate::runtime::trace::RunTrace;

pub async fn run_one(state: Arc<ServeState>, name: &str, with_trace: bool, headers: &HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let mut logged = None;
    let outcome = run_checked(&state, name, with_trace, headers, body, started, &mut logged).await;
    let mut response = match outcome {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    if let Some(text) = logged {
        response.extensions_mut().insert(LoggedBody(text));
    }
    response
}

async fn run_checked(
    state: &Arc<ServeState>,
    name: &str,
    with_trace: bool,
    headers: &HeaderMap,
    body: Body,
    started: Instant,
    logged: &mut Option<String>,
) -> Result<Response, ApiError> {
    let bytes = read_limited_body(headers, body, state.config.body_limit_bytes).await?;
    if state.config.log_bodies {
        *logged = Some(String::from_utf8_lossy(&bytes).into_owned());
    }
    let input = parse_input_object(&bytes, "")?;
    state.signatures[name].check(&input, "")?;
    let executor = ready_executor(state, name)?;
    let run = async {
        let ticket = state.admission.admit().await.map_err(|full| {
            ApiError::new(ErrorCode::QueueFull, format!("every run slot is busy and {} request(s) already wait", full.capacity)).with_retry_after(1)
        })?;
        let trace = executor.run(input).await;
        drop(ticket);
        Ok::<RunTrace, ApiError>(trace)
    };
    let trace = match tokio::time::timeout(state.config.timeout, run).await {
        Ok(trace) => trace?,
        Err(_) => {
            return Err(ApiError::new(
                ErrorCode::Timeout,
                format!("the run took longer than the server's --timeout of {} s and was stopped", state.config.timeout.as_secs_f64()),
            ))
        }
    };
    state.metrics.record_run(&trace);
    let trace_value = with_trace.then(|| serde_json::to_value(&trace).expect("traces serialise"));
    let Some(outputs) = trace.outputs else {
        let message = trace.error.clone().unwrap_or_else(|| "the run produced no outputs".into());
        return Err(ApiError::new(ErrorCode::RunFailed, message).with_trace(trace_value));
    };
    let took_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
    // Written by hand so that `outputs` is the very text `flowc run` prints (a map
    // serialises as the object `flowc run` writes with `Value::to_string`), straight
    // into the body's one buffer rather than through a string per part.
    let mut text: Vec<u8> = Vec::with_capacity(256);
    text.extend_from_slice(b"{\"outputs\":");
    serde_json::to_writer(&mut text, &outputs).expect("JSON values serialise");
    text.extend_from_slice(b",\"plan_fingerprint\":");
    serde_json::to_writer(&mut text, &state.plan_fingerprint).expect("a string serialises");
    text.extend_from_slice(b",\"took_ms\":");
    serde_json::to_writer(&mut text, &took_ms).expect("a finite number serialises");
    if let Some(trace) = trace_value {
        text.extend_from_slice(b",\"trace\":");
        serde_json::to_writer(&mut text, &trace).expect("JSON values serialise");
    }
    text.push(b'}');
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], text).into_response())
}
