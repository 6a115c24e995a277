//! `POST /v1/workflows/{name}:{action}`: which workflow, which action, and the
//! checks every run shares (known workflow, ready, admitted).

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::Response;

use super::super::errors::{ApiError, ErrorCode};
use super::super::state::{Readiness, SharedState};
use crate::runtime::executor::WorkflowExecutor;

/// What the part after the colon asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkflowAction {
    Run,
    Batch,
}

/// Text kept for the request log when `--log-bodies` is on (a response extension
/// the logging layer removes).
#[derive(Clone, Debug)]
pub struct LoggedBody(pub String);

/// `solve:run` → (`solve`, Run). The path segment is split here rather than by the
/// router, whose patterns cannot put a literal after a parameter in one segment.
pub fn parse_workflow_call(segment: &str) -> Result<(&str, WorkflowAction), ApiError> {
    let Some((name, action)) = segment.rsplit_once(':') else {
        return Err(ApiError::new(ErrorCode::UnknownAction, format!("`/v1/workflows/{segment}` names no action")));
    };
    let action = match action {
        "run" => WorkflowAction::Run,
        "batch" => WorkflowAction::Batch,
        other => return Err(ApiError::new(ErrorCode::UnknownAction, format!("`{other}` is not an action (use `:run` or `:batch`)"))),
    };
    Ok((name, action))
}

/// Takes the whole request rather than axum's `HeaderMap` and `RawQuery` extractors,
/// which copy every header and the query on every request; the handlers only read
/// them.
pub async fn workflow_call(State(state): State<SharedState>, Path(segment): Path<String>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let outcome = async {
        let (name, action) = parse_workflow_call(&segment)?;
        if !state.signatures.contains_key(name) {
            let names: Vec<&str> = state.lock.workflows.iter().map(|workflow| workflow.name.as_str()).collect();
            return Err(ApiError::new(ErrorCode::UnknownWorkflow, format!("the plan has no workflow `{name}` (it has: {})", names.join(", "))));
        }
        let trace = parts.uri.query().is_some_and(wants_trace);
        Ok(match action {
            WorkflowAction::Run => super::run::run_one(Arc::clone(&state), name, trace, &parts.headers, body).await,
            WorkflowAction::Batch => super::batch::run_batch(Arc::clone(&state), name, &parts.headers, body).await,
        })
    }
    .await;
    match outcome {
        Ok(response) => response,
        Err(error) => axum::response::IntoResponse::into_response(error),
    }
}

fn wants_trace(query: &str) -> bool {
    query.split('&').any(|pair| matches!(pair, "trace=true" | "trace=1" | "trace"))
}

/// The executor of `name`, or 503 while loading (or after a failed load), or while
/// stopping.
pub fn ready_executor(state: &SharedState, name: &str) -> Result<Arc<WorkflowExecutor>, ApiError> {
    if state.is_shutting_down() {
        return Err(ApiError::new(ErrorCode::ShuttingDown, "the server is shutting down and takes no new runs").with_retry_after(1));
    }
    match state.readiness() {
        Readiness::Ready(plan) => plan
            .executors
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, format!("the workflow `{name}` has no executor"))),
        Readiness::Loading => Err(ApiError::new(ErrorCode::NotReady, "the server is loading its models and warming up").with_retry_after(1)),
        Readiness::Failed(message) => Err(ApiError::new(ErrorCode::NotReady, format!("the server could not load the plan: {message}")).with_retry_after(30)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_action_off_the_last_colon() {
        assert_eq!(parse_workflow_call("solve:run").unwrap(), ("solve", WorkflowAction::Run));
        assert_eq!(parse_workflow_call("solve:batch").unwrap(), ("solve", WorkflowAction::Batch));
        assert_eq!(parse_workflow_call("solve").unwrap_err().code, ErrorCode::UnknownAction);
        assert_eq!(parse_workflow_call("solve:walk").unwrap_err().code, ErrorCode::UnknownAction);
        assert!(wants_trace("a=1&trace=true"));
        assert!(!wants_trace("trace=false"));
    }
}
