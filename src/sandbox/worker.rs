//! The worker process: `flowc __sandbox-worker`, started by flowc, never by people.
//!
//! It reads the setup line, puts the OS limits on itself, then keeps the sources it
//! is given and answers call requests on stdin with responses on stdout until stdin
//! closes (see [`super::protocol`]).
//! Code runs here rather than in flowc so that what no interpreter check can stop (an
//! allocation of 16 GB in one step, a native stack overflow) ends this process, not
//! flowc; flowc then reports the call's error and starts another worker.
//!
//! This is the one place outside the CLI that speaks on stdout: the pipe to flowc is
//! the worker's whole interface. Nothing else may write there, which is why `print`
//! is discarded and panics are caught and answered as errors instead of printed.

use std::io::{self, BufRead, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::Value as JsonValue;

use super::interpreter::{CallBudget, Interpreter};
use super::limits::{apply_to_this_worker_process, INTERPRETER_STACK_BYTES};
use super::protocol::{CallRequest, CallResponse, ExactJson, WorkerReady, WorkerRequest, WorkerSetup, PROTOCOL_VERSION};
use super::worker_sources::{GivenSource, WorkerSources};
use super::SandboxError;

/// The entry point of `flowc __sandbox-worker`. Failures before the first request
/// go to stderr, which flowc reads when a worker does not become ready.
pub fn worker_main() -> ExitCode {
    match run_worker() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("flowc sandbox worker: {message}");
            ExitCode::from(70) // EX_SOFTWARE
        }
    }
}

fn run_worker() -> Result<(), String> {
    let setup = read_setup()?;
    apply_to_this_worker_process(setup.max_memory_bytes)?;
    // Panics inside the interpreter are caught and sent back as errors; the default
    // hook would also print them to stderr, which nobody reads while the worker lives.
    std::panic::set_hook(Box::new(|_| {}));
    let max_memory_bytes = setup.max_memory_bytes;
    // Evaluation recurses on the native stack, so it runs on a thread with a large
    // one (the main thread's size is fixed by whoever started the process).
    let interpreter_thread = std::thread::Builder::new()
        .name("sandbox-interpreter".into())
        .stack_size(INTERPRETER_STACK_BYTES)
        .spawn(move || serve_requests(max_memory_bytes))
        .map_err(|error| format!("could not start the interpreter thread: {error}"))?;
    interpreter_thread
        .join()
        .map_err(|_| "the interpreter thread panicked".to_owned())?
}

fn read_setup() -> Result<WorkerSetup, String> {
    let mut line = String::new();
    io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|error| format!("could not read the setup line: {error}"))?;
    let setup: WorkerSetup = serde_json::from_str(&line).map_err(|error| {
        format!("the first line was not a sandbox setup message ({error}); this command is for flowc's own use")
    })?;
    if setup.protocol != PROTOCOL_VERSION {
        return Err(format!(
            "flowc speaks sandbox protocol {}, this worker speaks {PROTOCOL_VERSION}: the worker program is from another flowc build",
            setup.protocol
        ));
    }
    Ok(setup)
}

fn serve_requests(max_memory_bytes: u64) -> Result<(), String> {
    let interpreter = Interpreter::new();
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let stdout = io::stdout();
    let mut output = stdout.lock();
    send(
        &mut output,
        &WorkerReady {
            protocol: PROTOCOL_VERSION,
        },
    )?;
    let mut sources = WorkerSources::default();
    let mut line = String::new();
    loop {
        line.clear();
        let read = input
            .read_line(&mut line)
            .map_err(|error| format!("could not read a request: {error}"))?;
        if read == 0 {
            return Ok(()); // flowc closed the pipe: the sandbox is being shut down.
        }
        let response = match serde_json::from_str::<WorkerRequest>(&line) {
            Ok(WorkerRequest::DefineSource(definition)) => {
                sources.define(definition.id, definition.text.into_owned());
                continue; // not answered: its call follows
            }
            Ok(WorkerRequest::Call(request)) => answer(&interpreter, &mut sources, request, max_memory_bytes),
            Err(error) => CallResponse::Error(SandboxError::Worker {
                message: format!("the worker received a malformed request: {error}"),
            }),
        };
        send(&mut output, &response)?;
    }
}

fn answer(
    interpreter: &Interpreter,
    sources: &mut WorkerSources,
    request: CallRequest,
    max_memory_bytes: u64,
) -> CallResponse {
    // The time limit counts from here, before a first call's parse, as it did when
    // every call carried (and parsed) its source.
    let started = Instant::now();
    let Some(source) = sources.get_mut(request.source_id) else {
        return CallResponse::UnknownSource(request.source_id);
    };
    match run_call(interpreter, source, started, request, max_memory_bytes) {
        Ok(value) => CallResponse::Value(ExactJson::new(value)),
        Err(error) => CallResponse::Error(error),
    }
}

fn run_call(
    interpreter: &Interpreter,
    source: &mut GivenSource,
    started: Instant,
    request: CallRequest,
    max_memory_bytes: u64,
) -> Result<JsonValue, SandboxError> {
    let arguments = match request.arguments.into_json() {
        Ok(JsonValue::Object(arguments)) => arguments,
        Ok(_) => {
            return Err(SandboxError::Worker {
                message: "the arguments of a request were not an object".into(),
            })
        }
        Err(message) => return Err(SandboxError::Worker { message }),
    };
    let budget = CallBudget {
        max_steps: request.max_steps,
        max_memory_bytes,
        timeout: Duration::from_millis(request.timeout_ms),
    };
    catch_unwind(AssertUnwindSafe(|| {
        let ast = match &source.parsed {
            Some(ast) => ast.clone(),
            None => {
                let ast = interpreter.parse(&source.text)?;
                source.parsed = Some(ast.clone());
                ast
            }
        };
        interpreter.call_parsed(ast, started, &request.function, &arguments, budget)
    }))
    .unwrap_or_else(|panic| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        // Starlark's own allocator panics (rather than aborting) when the
        // memory limit refuses it more room.
        if detail.contains("out of memory")
            || detail.contains("memory allocation")
            || detail.contains("capacity overflow")
        {
            return Err(SandboxError::MemoryLimit {
                bytes: max_memory_bytes,
            });
        }
        Err(SandboxError::Worker {
            message: format!("the interpreter failed on this code (internal error: {detail})"),
        })
    })
}

fn send(output: &mut impl Write, message: &impl serde::Serialize) -> Result<(), String> {
    serde_json::to_writer(&mut *output, message).map_err(|error| format!("could not write a response: {error}"))?;
    output
        .write_all(b"\n")
        .and_then(|()| output.flush())
        .map_err(|error| format!("could not write a response: {error}"))
}
