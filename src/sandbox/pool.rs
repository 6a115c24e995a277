//! The pool of worker processes behind a [`Sandbox`](super::Sandbox).
//!
//! Each worker process is owned by one pool thread (a "slot"). Calls go into one
//! queue; whichever slot is free takes the next call, writes it to its worker, waits
//! for the answer (or the deadline) and sends the outcome back through a oneshot
//! channel that the async `call` awaits. So:
//!
//! - workers stay alive between calls: a call costs two pipe writes and two reads, not
//!   a process start (the latency target is a median under 1 ms), and a source is
//!   sent to a worker once, then named by its id (see [`super::protocol`]);
//! - a slot whose worker died or was killed starts a fresh one right away, before it
//!   takes the next call, so the next call does not pay for the start;
//! - the async runtime never blocks: blocking I/O happens on the slot threads, and
//!   the pool does not depend on which runtime (if any) awaits the result;
//! - a caller that stops waiting (its future dropped) does not disturb the worker:
//!   the slot finishes the call and drops the answer.
//!
//! When the last [`Sandbox`](super::Sandbox) handle is dropped, the queue closes, the
//! slots finish the call they hold, and their workers are killed.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as JsonValue;
use tokio::sync::oneshot;

use super::limits::KILL_GRACE;
use super::protocol::{CallResponse, SourceDefinition, WorkerRequest};
use super::source_ids::IdentifiedSource;
use super::worker_process::{death_as_error, ExchangeFailure, WorkerProcess};
use super::SandboxError;

/// How to start a worker; shared by every slot.
pub struct WorkerSettings {
    pub program: PathBuf,
    pub arguments: Vec<String>,
    pub max_memory_bytes: u64,
}

/// One call, waiting for a slot.
pub struct Job {
    /// The source the call runs: its id is in the request, its text goes to a
    /// worker that does not keep it yet.
    pub source: IdentifiedSource,
    /// The serialized call (naming the source by id), ending in `\n`.
    pub request_line: Vec<u8>,
    pub timeout: Duration,
    pub reply: oneshot::Sender<Result<JsonValue, SandboxError>>,
}

pub struct WorkerPool {
    jobs: mpsc::Sender<Job>,
    /// Workers discarded (dead, or killed after a limit) and so replaced: what
    /// `flowc serve`'s `/metrics` reports as worker restarts.
    restarts: Arc<AtomicU64>,
}

impl WorkerPool {
    /// Starts `slots` threads, each with its worker process, and waits until every
    /// worker is ready, so that a wrong program or limit fails here, once, clearly.
    pub fn start(settings: WorkerSettings, slots: usize) -> Result<WorkerPool, SandboxError> {
        let settings = Arc::new(settings);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let (started, startups) = mpsc::channel::<Result<(), String>>();
        let restarts = Arc::new(AtomicU64::new(0));
        for index in 0..slots {
            let settings = Arc::clone(&settings);
            let queue = Arc::clone(&queue);
            let started = started.clone();
            let restarts = Arc::clone(&restarts);
            std::thread::Builder::new()
                .name(format!("sandbox-slot-{index}"))
                .spawn(move || run_slot(&settings, &queue, started, &restarts))
                .map_err(|error| SandboxError::Worker {
                    message: format!("could not start a sandbox thread: {error}"),
                })?;
        }
        drop(started);
        // Every slot reports exactly once; on an error the pool is dropped on return,
        // which closes the queue and stops the slots that did start.
        for startup in startups.iter().take(slots) {
            startup.map_err(|message| SandboxError::Worker { message })?;
        }
        Ok(WorkerPool { jobs, restarts })
    }

    /// How many workers were discarded (died, or killed after a limit) and replaced.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Queues a job; the outcome arrives on the job's reply channel.
    pub fn submit(&self, job: Job) -> Result<(), SandboxError> {
        self.jobs.send(job).map_err(|_| SandboxError::Worker {
            message: "the sandbox's worker threads have stopped".into(),
        })
    }
}

fn run_slot(settings: &WorkerSettings, queue: &Mutex<mpsc::Receiver<Job>>, started: mpsc::Sender<Result<(), String>>, restarts: &AtomicU64) {
    let mut worker = match start_worker(settings) {
        Ok(worker) => {
            let _ = started.send(Ok(()));
            Some(worker)
        }
        Err(message) => {
            let _ = started.send(Err(message));
            return;
        }
    };
    drop(started);
    loop {
        // The lock is held only while waiting for the next job; the guard is a
        // temporary, dropped at the end of this statement.
        let next = queue.lock().map(|receiver| receiver.recv());
        let Ok(Ok(job)) = next else {
            return; // the queue closed: the sandbox was dropped
        };
        if job.reply.is_closed() {
            continue; // the caller stopped waiting before the call started
        }
        let outcome = run_job(&mut worker, settings, &job, restarts);
        if worker.is_none() {
            // Counted before the caller hears of the failure, so a caller that
            // then reads the count sees it.
            restarts.fetch_add(1, Ordering::Relaxed);
        }
        let _ = job.reply.send(outcome);
        if worker.is_none() {
            // Replace a dead or killed worker now, while no call waits for it. A
            // failure here is retried (and reported) when the next call arrives.
            worker = start_worker(settings).ok();
        }
    }
}

fn start_worker(settings: &WorkerSettings) -> Result<WorkerProcess, String> {
    WorkerProcess::start(&settings.program, &settings.arguments, settings.max_memory_bytes)
}

fn run_job(
    worker: &mut Option<WorkerProcess>,
    settings: &WorkerSettings,
    job: &Job,
    restarts: &AtomicU64,
) -> Result<JsonValue, SandboxError> {
    // A worker that died while idle is replaced before it gets work, so that its
    // death is not blamed on this call.
    if worker.as_mut().is_some_and(|process| !process.is_running()) {
        *worker = None;
        restarts.fetch_add(1, Ordering::Relaxed);
    }
    if worker.is_none() {
        *worker = Some(start_worker(settings).map_err(|message| SandboxError::Worker { message })?);
    }
    let Some(process) = worker.as_mut() else {
        unreachable!("a worker was just started");
    };
    let max_response_bytes = usize::try_from(settings.max_memory_bytes).unwrap_or(usize::MAX);
    let read_response = |line: Vec<u8>| serde_json::from_slice::<CallResponse>(&line);
    let mut outcome = exchange_call(process, job, max_response_bytes).map(read_response);
    if let Ok(Ok(CallResponse::UnknownSource(id))) = outcome {
        // flowc's account of the worker's sources was wrong: nothing ran, so the call
        // is sent again with its source, once.
        process.forget_source(id);
        outcome = exchange_call(process, job, max_response_bytes).map(read_response);
    }
    match outcome {
        Ok(response) => match response {
            Ok(CallResponse::Value(value)) => value.into_json().map_err(|message| SandboxError::Worker { message }),
            Ok(CallResponse::UnknownSource(id)) => {
                // Unknown just after it was given: this worker does not follow the
                // protocol, and is not trusted with another call.
                process.kill();
                *worker = None;
                Err(SandboxError::Worker {
                    message: format!("the worker lost source {id} that it had just been given"),
                })
            }
            Ok(CallResponse::Error(error)) => {
                // After a memory limit or an internal failure, the worker's heap may be
                // fragmented or its state doubtful: it is replaced (a few
                // milliseconds, while no call waits) rather than trusted again.
                if matches!(error, SandboxError::MemoryLimit { .. } | SandboxError::Worker { .. }) {
                    process.kill();
                    *worker = None;
                }
                Err(error)
            }
            Err(error) => {
                // A worker that answers nonsense is not trusted with another call.
                process.kill();
                *worker = None;
                Err(SandboxError::Worker {
                    message: format!("the worker sent an unreadable response: {error}"),
                })
            }
        },
        Err(ExchangeFailure::TimedOut) => {
            process.kill();
            *worker = None;
            Err(SandboxError::Timeout {
                seconds: job.timeout.as_secs_f64(),
            })
        }
        Err(ExchangeFailure::TooLong) => {
            process.kill();
            *worker = None;
            Err(SandboxError::UnsupportedValue {
                message: format!(
                    "the result is larger than {} MiB, the sandbox's memory limit",
                    settings.max_memory_bytes / (1024 * 1024)
                ),
            })
        }
        Err(ExchangeFailure::Closed) => {
            let ending = process.stop();
            *worker = None;
            Err(death_as_error(&ending, settings.max_memory_bytes))
        }
    }
}

/// Sends the call, preceded by its source's definition when the worker does not keep
/// the source, and reads the answer.
fn exchange_call(process: &mut WorkerProcess, job: &Job, max_response_bytes: usize) -> Result<Vec<u8>, ExchangeFailure> {
    // The worker stops itself at the timeout; the grace covers a step that runs long
    // (one huge sort) before the worker's next check of its deadline.
    let deadline = Instant::now() + job.timeout + KILL_GRACE;
    if process.knows_source(job.source.id) {
        return process.exchange(&job.request_line, deadline, max_response_bytes);
    }
    let definition = WorkerRequest::DefineSource(SourceDefinition {
        id: job.source.id,
        text: Cow::Borrowed(&job.source.text),
    });
    let mut lines = Vec::with_capacity(job.source.text.len() + job.request_line.len() + 64);
    serde_json::to_writer(&mut lines, &definition).expect("a number and a string serialise");
    lines.push(b'\n');
    lines.extend_from_slice(&job.request_line);
    process.record_source_sent(job.source.id);
    process.exchange(&lines, deadline, max_response_bytes)
}
