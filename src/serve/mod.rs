//! `flowc serve`: a locked plan as an HTTP service (axum on tokio).
//!
//! The serve layer sits at the edge of the pipeline, beside `cli`: it runs plans
//! through the same runtime `flowc run` uses (`runtime::plan_loading`, the
//! executor), so the same plan and input give the same output bytes. It never
//! prints: it reports [`events::ServeEvent`]s to a sink the CLI gives.
//!
//! Files, one concept each: [`config`] (what the server is told), [`server`]
//! (start, load in the background, serve, stop), [`router`] (routes, token check,
//! request log), [`handlers`] (one file per endpoint), [`errors`] (the JSON error
//! shape and its stable codes), [`input_validation`] (inputs against the
//! workflow's types), [`admission`] (run slots and the bounded queue), [`metrics`]
//! (Prometheus text) and [`metric_handles`] (its series, looked up once), [`auth`] (the bearer token), [`shutdown`] (signals),
//! [`warm_up`] (readiness), [`plan_page`] and [`plan_description`] (what the plan
//! is), [`body`] (size-limited bodies), [`state`] (what handlers share).
//!
//! A plan is immutable and the server keeps no state between requests (the call
//! cache is content-addressed), so replicas behind any load balancer answer alike.

pub mod admission;
pub mod auth;
pub mod body;
pub mod config;
pub mod errors;
pub mod events;
pub mod handlers;
pub mod input_validation;
pub mod metric_handles;
pub mod metrics;
pub mod plan_description;
pub mod plan_page;
pub mod router;
pub mod server;
pub mod shutdown;
pub mod state;
pub mod warm_up;

pub use config::ServeConfig;
pub use events::{EventSink, ServeEvent};
pub use server::{serve, StartError};
