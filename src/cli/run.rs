//! `flowc run`: execute a plan on one input or a file of inputs; JSON lines out, in
//! input order, byte-identical for the same plan and inputs.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use tokio::task::JoinSet;

use super::plan_loading::{build_runtime, executor, open_fresh_plan, parse_json_object, read_json_lines, ExecutionOptions};
use super::Outcome;
use crate::runtime::trace::RunTrace;

pub struct RunArguments {
    pub plan: PathBuf,
    pub input: Option<String>,
    pub inputs: Option<PathBuf>,
    pub output: Option<PathBuf>,
    pub trace: Option<PathBuf>,
    pub execution: ExecutionOptions,
}

pub fn run(arguments: RunArguments) -> Outcome {
    let inputs = match read_inputs(arguments.input.as_deref(), arguments.inputs.as_deref()) {
        Ok(inputs) => inputs,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::UsageError;
        }
    };
    let lock = match open_fresh_plan(&arguments.plan) {
        Ok(lock) => lock,
        Err(outcome) => return outcome,
    };
    let runtime = build_runtime();
    let traces = runtime.block_on(async {
        let executor = executor(&lock, &arguments.plan, &arguments.execution).await?;
        Ok::<_, String>(run_all(&executor, inputs).await)
    });
    let traces = match traces {
        Ok(traces) => traces,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::Failure;
        }
    };
    let mut lines = String::new();
    let mut failures = 0;
    for trace in &traces {
        let line = match (&trace.outputs, &trace.error) {
            (Some(outputs), _) => Value::Object(outputs.clone()),
            (None, error) => {
                failures += 1;
                serde_json::json!({ "error": error.clone().unwrap_or_default() })
            }
        };
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    let written = match &arguments.output {
        Some(path) => std::fs::write(path, &lines),
        None => std::io::stdout().lock().write_all(lines.as_bytes()),
    };
    if let Err(error) = written {
        eprintln!("error: cannot write the outputs: {error}");
        return Outcome::Failure;
    }
    if let Some(path) = &arguments.trace {
        if let Err(error) = write_traces(path, &traces) {
            eprintln!("error: cannot write the trace {}: {error}", path.display());
            return Outcome::Failure;
        }
    }
    if failures > 0 {
        eprintln!("{failures} of {} input(s) failed; see the `error` lines", traces.len());
        Outcome::InputsFailed
    } else {
        Outcome::Success
    }
}

/// Run every input concurrently (nodes bounded by the executor's permits); traces
/// come back in input order.
pub async fn run_all(executor: &std::sync::Arc<crate::runtime::executor::WorkflowExecutor>, inputs: Vec<Map<String, Value>>) -> Vec<RunTrace> {
    let mut tasks = JoinSet::new();
    for (index, input) in inputs.into_iter().enumerate() {
        let executor = executor.clone();
        tasks.spawn(async move { (index, executor.run(input).await) });
    }
    let mut traces: Vec<Option<RunTrace>> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (index, trace) = joined.expect("input tasks do not panic");
        if traces.len() <= index {
            traces.resize(index + 1, None);
        }
        traces[index] = Some(trace);
    }
    traces.into_iter().map(|trace| trace.expect("every input ran")).collect()
}

pub fn write_traces(path: &Path, traces: &[RunTrace]) -> std::io::Result<()> {
    let mut text = String::new();
    for trace in traces {
        text.push_str(&serde_json::to_string(trace).expect("traces serialise"));
        text.push('\n');
    }
    std::fs::write(path, text)
}

fn read_inputs(input: Option<&str>, inputs: Option<&Path>) -> Result<Vec<Map<String, Value>>, String> {
    match (input, inputs) {
        (Some(json), None) => Ok(vec![parse_json_object(json, "--input")?]),
        (None, Some(path)) => read_json_lines(path),
        _ => Err("give one of --input JSON or --inputs FILE.jsonl".into()),
    }
}
