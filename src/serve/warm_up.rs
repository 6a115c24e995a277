//! Loading and warming up: `/readyz` turns 200 only after every model the plan uses
//! is loaded and has answered one call, and the sandbox has run one, so a load
//! balancer never sends traffic to a replica that would spend the first request
//! loading weights.

use std::sync::Arc;

use serde_json::Map;

use super::state::{LoadedPlan, Readiness, ServeState};
use crate::models::{ChatMessage, ChatRequest, DecodingParameters, OutputConstraint, Role};
use crate::runtime::plan_loading::executors_for_every_workflow;
use crate::sandbox::{Sandbox, SandboxConfig};

/// The text of the warm-up call: recognisable in a model server's logs.
pub const WARM_UP_PROMPT: &str = "flowc serve warm-up: reply with OK.";

/// Loads everything, warms it up and records the outcome in `state`.
pub async fn load_and_warm_up(state: Arc<ServeState>) -> Result<f64, String> {
    let started = std::time::Instant::now();
    let outcome = load(&state).await;
    match outcome {
        Ok(plan) => {
            state.set_readiness(Readiness::Ready(Arc::new(plan)));
            Ok(started.elapsed().as_secs_f64() * 1000.0)
        }
        Err(message) => {
            state.set_readiness(Readiness::Failed(message.clone()));
            Err(message)
        }
    }
}

async fn load(state: &ServeState) -> Result<LoadedPlan, String> {
    // Starting workers blocks while each reports ready: off the async threads.
    let sandbox = tokio::task::spawn_blocking(|| Sandbox::new(SandboxConfig::default()))
        .await
        .map_err(|error| format!("the code sandbox could not start: {error}"))?
        .map_err(|error| format!("the code sandbox could not start: {error}"))?;
    let (models, executors) = executors_for_every_workflow(&state.lock, &state.config.plan, state.config.jobs, state.config.no_cache, sandbox.clone()).await?;
    sandbox
        .call("def run():\n    return 1\n", "run", Map::new())
        .await
        .map_err(|error| format!("the sandbox's warm-up call failed: {error}"))?;
    let mut names: Vec<&String> = models.keys().collect();
    names.sort();
    for name in names {
        let request = ChatRequest {
            messages: vec![ChatMessage { role: Role::User, content: WARM_UP_PROMPT.into() }],
            decoding: DecodingParameters { temperature: Some(0.0), seed: Some(0), max_tokens: Some(1), ..DecodingParameters::default() },
            constraint: OutputConstraint::None,
        };
        // Bounded by --timeout, as any served call is: a model server that accepts
        // the connection and never answers would otherwise keep the replica
        // "loading" for ever, with no message.
        let limit = state.config.timeout;
        match tokio::time::timeout(limit, models[name].chat(&request)).await {
            Ok(answer) => answer.map(|_| ()).map_err(|error| format!("the warm-up call to model `{name}` failed: {error}"))?,
            Err(_) => return Err(format!("the warm-up call to model `{name}` did not answer within --timeout ({} s)", limit.as_secs_f64())),
        }
    }
    Ok(LoadedPlan { executors: executors.into_iter().map(|executor| (executor.workflow.name.clone(), executor)).collect(), sandbox })
}
