//! `GET /metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::super::metrics::METRICS_CONTENT_TYPE;
use super::super::state::SharedState;

pub async fn metrics(State(state): State<SharedState>) -> Response {
    state.update_queue_gauges();
    let text = state.metrics.encode(state.worker_restarts());
    (StatusCode::OK, [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response()
}
