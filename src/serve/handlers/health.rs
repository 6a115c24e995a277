//! `GET /healthz` (the process answers) and `GET /readyz` (models loaded, warm-up
//! passed, not stopping): what a load balancer's health check asks.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::super::errors::{ApiError, ErrorCode};
use super::super::state::{Readiness, SharedState};

pub async fn healthz() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{\"status\":\"alive\"}").into_response()
}

pub async fn readyz(State(state): State<SharedState>) -> Response {
    if state.is_shutting_down() {
        return ApiError::new(ErrorCode::ShuttingDown, "the server is shutting down").into_response();
    }
    match state.readiness() {
        Readiness::Ready(_) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{\"status\":\"ready\"}").into_response(),
        Readiness::Loading => ApiError::new(ErrorCode::NotReady, "loading the models and warming up").with_retry_after(1).into_response(),
        Readiness::Failed(message) => ApiError::new(ErrorCode::NotReady, format!("the plan could not be loaded: {message}")).into_response(),
    }
}
