//! `flowc serve PLAN`: a locked plan as an HTTP service. This file turns arguments
//! into a [`ServeConfig`] and prints the server's events (one line each, on
//! standard error); `crate::serve` does the rest.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::plan_loading::build_runtime;
use super::Outcome;
use crate::serve::{serve, EventSink, ServeConfig, ServeEvent, StartError};

pub struct ServeArguments {
    pub plan: PathBuf,
    pub address: String,
    pub jobs: usize,
    pub queue: usize,
    pub timeout_seconds: f64,
    pub body_limit_bytes: usize,
    pub token_env: Option<String>,
    pub log_bodies: bool,
    pub quiet: bool,
    pub no_cache: bool,
}

pub fn run(arguments: ServeArguments) -> Outcome {
    let address: SocketAddr = match arguments.address.parse() {
        Ok(address) => address,
        Err(_) => {
            eprintln!("error: --addr `{}` is not an address such as 127.0.0.1:8080", arguments.address);
            return Outcome::UsageError;
        }
    };
    let timeout = match Duration::try_from_secs_f64(arguments.timeout_seconds) {
        Ok(timeout) if !timeout.is_zero() => timeout,
        _ => {
            eprintln!("error: --timeout must be a positive number of seconds, not {}", arguments.timeout_seconds);
            return Outcome::UsageError;
        }
    };
    if arguments.jobs == 0 {
        eprintln!("error: --jobs must be at least 1");
        return Outcome::UsageError;
    }
    let config = ServeConfig {
        plan: arguments.plan,
        address,
        jobs: arguments.jobs,
        queue: arguments.queue,
        timeout,
        body_limit_bytes: arguments.body_limit_bytes,
        token_variable: arguments.token_env,
        log_requests: !arguments.quiet,
        log_bodies: arguments.log_bodies,
        no_cache: arguments.no_cache,
    };
    let quiet = arguments.quiet;
    let events: EventSink = Arc::new(move |event: ServeEvent| print_event(&event, quiet));
    let runtime = build_runtime();
    match runtime.block_on(serve(config, events)) {
        Ok(()) => Outcome::Success,
        Err(error) => {
            eprintln!("error: {}", error.message());
            match error {
                StartError::NotAPlan(_) => Outcome::UsageError,
                StartError::Stale(_) | StartError::Setup(_) => Outcome::Failure,
            }
        }
    }
}

fn print_event(event: &ServeEvent, quiet: bool) {
    let line = match event {
        ServeEvent::PlanWarning(message) => format!("warning: {message}"),
        ServeEvent::Listening { address, workflows } => {
            format!("flowc serve: listening on http://{address} (workflows: {}); loading models", workflows.join(", "))
        }
        ServeEvent::Ready { milliseconds } => format!("flowc serve: ready ({milliseconds:.0} ms to load and warm up)"),
        ServeEvent::LoadFailed(message) => format!("error: {message}; /readyz answers 503 until the server is restarted"),
        ServeEvent::Request { .. } if quiet => return,
        ServeEvent::Request { method, path, status, milliseconds, body } => match body {
            Some(body) => format!("{method} {path} {status} {milliseconds:.1}ms body={}", body.trim_end()),
            None => format!("{method} {path} {status} {milliseconds:.1}ms"),
        },
        ServeEvent::ShuttingDown { signal } => format!("flowc serve: {signal} received; finishing accepted requests"),
        ServeEvent::Stopped => "flowc serve: stopped".to_string(),
    };
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}
