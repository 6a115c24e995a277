//! One file per endpoint.

pub mod batch;
pub mod health;
pub mod metrics_endpoint;
pub mod plan;
pub mod run;
pub mod workflow_call;
