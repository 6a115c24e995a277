//! The routes, and the two layers around them: the bearer-token check and the
//! request log (which also counts requests by route and status for `/metrics`).

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::errors::{ApiError, ErrorCode};
use super::events::ServeEvent;
use super::handlers::workflow_call::LoggedBody;
use super::handlers::{health, metrics_endpoint, plan, workflow_call};
use super::metrics::Route;
use super::state::SharedState;

pub fn router(state: SharedState) -> Router {
    let routes = Router::new()
        .route("/", get(plan::plan_page))
        .route("/v1/plan", get(plan::plan_json))
        .route("/v1/workflows/{call}", post(workflow_call::workflow_call))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics_endpoint::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    // Without a token the check would pass every request; a middleware layer still
    // costs a boxed service clone and a boxed future per request, so it is left out.
    let routes = match &state.token {
        Some(_) => routes.layer(middleware::from_fn_with_state(state.clone(), require_token)),
        None => routes,
    };
    routes.layer(middleware::from_fn_with_state(state.clone(), log_request)).with_state(state)
}

async fn not_found(request: Request) -> Response {
    ApiError::new(ErrorCode::NotFound, format!("no endpoint at {}", request.uri().path())).into_response()
}

async fn method_not_allowed(request: Request) -> Response {
    ApiError::new(ErrorCode::MethodNotAllowed, format!("{} is not allowed on {}", request.method(), request.uri().path())).into_response()
}

/// Probes stay open so that a load balancer can check a replica without the token.
fn is_probe(method: &Method, path: &str) -> bool {
    method == Method::GET && matches!(path, "/healthz" | "/readyz")
}

async fn require_token(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        if !is_probe(request.method(), request.uri().path()) {
            let authorization = request.headers().get(header::AUTHORIZATION).and_then(|value| value.to_str().ok());
            if !token.accepts(authorization) {
                let mut response = ApiError::new(ErrorCode::Unauthorized, "this server needs a bearer token, and the request carries none or a wrong one").into_response();
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
        }
    }
    next.run(request).await
}

/// One log event per request: method, path (never the query or headers, which may
/// carry a token), status, time; the body only with `--log-bodies`. With `--quiet`
/// no event is built (its method and path would be copied for nobody), but every
/// request is still counted for `/metrics`.
async fn log_request(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = Route::of_path(request.uri().path());
    let logged_request = state.config.log_requests.then(|| (request.method().to_string(), request.uri().path().to_string()));
    let mut response = next.run(request).await;
    let status = response.status();
    let body = response.extensions_mut().remove::<LoggedBody>().map(|logged| logged.0);
    state.metrics.count_request(route, status.as_u16());
    if let Some((method, path)) = logged_request {
        state.report(ServeEvent::Request { method, path, status: status.as_u16(), milliseconds: started.elapsed().as_secs_f64() * 1000.0, body });
    }
    if status == StatusCode::METHOD_NOT_ALLOWED && !response.headers().contains_key(header::CONTENT_TYPE) {
        return ApiError::new(ErrorCode::MethodNotAllowed, "method not allowed").into_response();
    }
    response
}
