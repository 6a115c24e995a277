//! The sandboxed, deterministic runtime for code: code nodes (`def run(<inputs>)`),
//! metrics (`def score(expected, actual, ...)`) and PAL-style programs
//! (`def solution()`), in a Python-like language (Starlark, through the `starlark`
//! crate).
//!
//! ```no_run
//! # async fn example() -> Result<(), flowc::sandbox::SandboxError> {
//! use flowc::sandbox::{Sandbox, SandboxConfig};
//! let sandbox = Sandbox::new(SandboxConfig::default())?;
//! let arguments = serde_json::json!({"numbers": [1, 2.5]});
//! let total = sandbox
//!     .call("def run(numbers):\n    return sum(numbers)\n", "run", arguments.as_object().unwrap().clone())
//!     .await?;
//! assert_eq!(total, serde_json::json!(3.5));
//! # Ok(()) }
//! ```
//!
//! What code can do: compute. It has no file, network, environment, clock or random
//! access (the interpreter has none, `load` is refused, and the globals are
//! starlark's standard ones plus [`prelude`]); it runs under a step limit, a
//! call-depth limit, a memory limit and a timeout ([`limits`]); every call starts from
//! a fresh module, so the same source and arguments give the same value every time,
//! in any worker. The language, as users see it, is described in `docs/code-nodes.md`.
//!
//! How: code runs in worker processes (the flowc binary itself, `flowc
//! __sandbox-worker`, see [`worker`]) under an OS memory limit, kept alive in a pool
//! ([`pool`]) so a call costs well under a millisecond of overhead. What no check
//! inside the interpreter can stop (one step that asks for 16 GB) kills the worker,
//! not flowc; the call fails with [`SandboxError::MemoryLimit`] and a new worker
//! takes its place.
//!
//! Files, one concept each: [`error`] (how a call fails), [`limits`] (what is
//! limited, and how each limit is enforced), [`values`] (JSON ↔ starlark values),
//! [`prelude`] (the globals), [`interpreter`] (one call, in process), `parsed_sources`
//! (each source parsed once, for [`interpreter::Interpreter::call`]), [`protocol`]
//! (the lines between flowc and a worker), `source_ids` (the id flowc gives each
//! source text, so it crosses to a worker once), [`worker`] (the worker process),
//! `worker_sources` (the sources a worker was given, by id, each parsed once),
//! [`worker_process`] (flowc's handle on one worker), [`pool`] (the workers).

pub mod error;
pub mod interpreter;
pub mod limits;
mod parsed_sources;
pub mod pool;
pub mod prelude;
pub mod protocol;
pub mod signature;
mod source_ids;
pub mod values;
pub mod worker;
pub mod worker_process;
mod worker_sources;

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value as JsonValue};
use tokio::sync::oneshot;

pub use error::SandboxError;
pub use limits::SandboxLimits;
pub use worker::worker_main;

use pool::{Job, WorkerPool, WorkerSettings};
use protocol::{CallRequest, ExactJson, WorkerRequest};
use source_ids::SourceIds;

/// The hidden subcommand that turns the flowc binary into a worker.
pub const WORKER_SUBCOMMAND: &str = "__sandbox-worker";

/// How to run workers, how many, and the limits of each call.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxConfig {
    /// The worker binary: flowc itself by default. Tests pass
    /// `env!("CARGO_BIN_EXE_flowc")`, because a test's own executable is not flowc.
    pub worker_program: PathBuf,
    /// Arguments that make `worker_program` a worker: `["__sandbox-worker"]`.
    pub worker_arguments: Vec<String>,
    /// Worker processes, hence calls that can run at the same time (at least 1).
    pub workers: usize,
    pub limits: SandboxLimits,
}

impl Default for SandboxConfig {
    /// The running executable as the worker (falling back to `flowc` on the `PATH`
    /// if the OS cannot say which executable is running), one worker per CPU up to 4,
    /// and the default limits.
    fn default() -> SandboxConfig {
        let worker_program = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("flowc"));
        let workers = std::thread::available_parallelism().map_or(1, |count| count.get().min(4));
        SandboxConfig::for_worker_program(worker_program).with_workers(workers)
    }
}

impl SandboxConfig {
    /// The default configuration with another flowc binary as the worker.
    pub fn for_worker_program(worker_program: impl Into<PathBuf>) -> SandboxConfig {
        SandboxConfig {
            worker_program: worker_program.into(),
            worker_arguments: vec![WORKER_SUBCOMMAND.to_owned()],
            workers: 1,
            limits: SandboxLimits::default(),
        }
    }

    pub fn with_workers(mut self, workers: usize) -> SandboxConfig {
        self.workers = workers;
        self
    }

    pub fn with_limits(mut self, limits: SandboxLimits) -> SandboxConfig {
        self.limits = limits;
        self
    }
}

/// A pool of sandbox workers. Cheap to clone (the clones share the workers);
/// the workers stop when the last clone is dropped.
#[derive(Clone)]
pub struct Sandbox {
    shared: Arc<SandboxShared>,
}

struct SandboxShared {
    pool: WorkerPool,
    limits: SandboxLimits,
    sources: SourceIds,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Sandbox")
            .field("limits", &self.shared.limits)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts the workers and waits until each is ready (a few milliseconds each, in
    /// parallel), so that a wrong worker program or an impossible limit is reported
    /// here rather than on the first call. Blocks the calling thread meanwhile.
    pub fn new(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        limits::validate(&config.limits).map_err(|message| SandboxError::Worker { message })?;
        if config.workers == 0 {
            return Err(SandboxError::Worker {
                message: "a sandbox needs at least one worker".into(),
            });
        }
        let settings = WorkerSettings {
            program: config.worker_program,
            arguments: config.worker_arguments,
            max_memory_bytes: config.limits.max_memory_bytes,
        };
        let pool = WorkerPool::start(settings, config.workers)?;
        Ok(Sandbox {
            shared: Arc::new(SandboxShared {
                pool,
                limits: config.limits,
                sources: SourceIds::default(),
            }),
        })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &SandboxLimits {
        &self.shared.limits
    }

    /// How many workers were started to replace one that died or was killed (a
    /// memory bomb, a timeout): a health figure for long-running servers.
    pub fn worker_restarts(&self) -> u64 {
        self.shared.pool.restarts()
    }

    /// Runs `source` (a fresh module each time), then calls its function `function`
    /// with `arguments` as keyword arguments, and returns the value it returns.
    ///
    /// Calls beyond the number of workers wait for a free one; the timeout counts
    /// from the moment a worker takes the call.
    pub async fn call(
        &self,
        source: &str,
        function: &str,
        arguments: Map<String, JsonValue>,
    ) -> Result<JsonValue, SandboxError> {
        let limits = &self.shared.limits;
        let source = self.shared.sources.identify(source);
        let request = WorkerRequest::Call(CallRequest {
            source_id: source.id,
            function: Cow::Borrowed(function),
            arguments: ExactJson::new(JsonValue::Object(arguments)),
            max_steps: limits.max_steps,
            timeout_ms: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX).max(1),
        });
        let mut request_line = serde_json::to_vec(&request).map_err(|error| SandboxError::UnsupportedValue {
            message: format!("the arguments cannot be sent: {error}"),
        })?;
        request_line.push(b'\n');
        let (reply, outcome) = oneshot::channel();
        self.shared.pool.submit(Job {
            source,
            request_line,
            timeout: limits.timeout,
            reply,
        })?;
        outcome.await.map_err(|_| SandboxError::Worker {
            message: "a sandbox thread stopped before answering".into(),
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sandbox_can_be_shared_across_tasks_and_threads() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        shareable::<Sandbox>();
    }

    #[test]
    fn the_default_worker_is_this_executable_as_a_worker() {
        let config = SandboxConfig::default();
        assert_eq!(config.worker_program, std::env::current_exe().unwrap());
        assert_eq!(config.worker_arguments, vec![WORKER_SUBCOMMAND.to_owned()]);
        assert!(config.workers >= 1);
        assert_eq!(config.limits, SandboxLimits::default());
    }

    #[test]
    fn impossible_configurations_are_refused_before_any_worker_starts() {
        let no_workers = SandboxConfig::for_worker_program("/nonexistent").with_workers(0);
        assert!(Sandbox::new(no_workers).unwrap_err().to_string().contains("at least one worker"));
        let no_steps = SandboxConfig::for_worker_program("/nonexistent")
            .with_limits(SandboxLimits { max_steps: 0, ..SandboxLimits::default() });
        assert!(Sandbox::new(no_steps).unwrap_err().to_string().contains("step limit"));
    }
}
