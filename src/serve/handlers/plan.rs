//! `GET /v1/plan` (the plan as JSON) and `GET /` (the plan page), both rendered once
//! at start.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::super::state::SharedState;

pub async fn plan_json(State(state): State<SharedState>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], state.plan_json.clone()).into_response()
}

pub async fn plan_page(State(state): State<SharedState>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], state.page_html.clone()).into_response()
}
