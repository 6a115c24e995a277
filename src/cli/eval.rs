//! `flowc eval`: run a plan over a dataset, score it with a metric, print an
//! accuracy table and the failing examples, and write a JSON report.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::task::JoinSet;

use super::plan_loading::{build_runtime, executor, open_fresh_plan, read_json_lines, ExecutionOptions};
use super::run::write_traces;
use super::Outcome;
use crate::plan::lock_file::{LockedEvaluation, LockedWorkflow};
use crate::runtime::executor::WorkflowExecutor;
use crate::runtime::trace::RunTrace;
use crate::runtime::metric::{score_outputs, split_record, PASSING_SCORE};
use crate::stdlib::STANDARD_MODULES;

pub struct EvalArguments {
    pub plan: PathBuf,
    pub data: PathBuf,
    pub metric: Option<String>,
    pub report: PathBuf,
    pub trace: Option<PathBuf>,
    pub show_failures: usize,
    pub execution: ExecutionOptions,
}

#[derive(Serialize)]
struct ExampleReport {
    index: usize,
    inputs: Map<String, Value>,
    expected: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actual: Option<Map<String, Value>>,
    scores: BTreeMap<String, f64>,
    passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct EvalReport {
    plan: String,
    data: String,
    workflow: String,
    metric: String,
    metric_arguments: BTreeMap<String, Value>,
    examples: usize,
    passed: usize,
    accuracy: f64,
    failed_runs: usize,
    mean_scores: BTreeMap<String, f64>,
    seconds: f64,
    results: Vec<ExampleReport>,
}

pub fn run(arguments: EvalArguments) -> Outcome {
    let lock = match open_fresh_plan(&arguments.plan) {
        Ok(lock) => lock,
        Err(outcome) => return outcome,
    };
    let runtime = build_runtime();
    let result = runtime.block_on(async {
        let executor = executor(&lock, &arguments.plan, &arguments.execution).await?;
        let evaluation = evaluation_for(&executor.workflow, arguments.metric.as_deref())?;
        let records = read_json_lines(&arguments.data)?;
        let examples = records
            .iter()
            .enumerate()
            .map(|(index, record)| {
                split_record(&executor.workflow, &evaluation, record)
                    .map(|example| (example.inputs, example.expected))
                    .map_err(|message| format!("{}:{}: {message}", arguments.data.display(), index + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok::<_, String>(evaluate(&executor, &evaluation, examples).await)
    });
    let (evaluation, mut results, traces, seconds) = match result {
        Ok(result) => result,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::Failure;
        }
    };
    results.sort_by_key(|result| result.index);
    let passed = results.iter().filter(|result| result.passed).count();
    let failed_runs = results.iter().filter(|result| result.error.is_some()).count();
    let mut mean_scores = BTreeMap::new();
    for output in lock_outputs(&lock, &arguments) {
        let total: f64 = results.iter().map(|result| result.scores.get(&output).copied().unwrap_or(0.0)).sum();
        mean_scores.insert(output, if results.is_empty() { 0.0 } else { total / results.len() as f64 });
    }
    let report = EvalReport {
        plan: arguments.plan.display().to_string(),
        data: arguments.data.display().to_string(),
        workflow: traces.first().map(|trace| trace.workflow.clone()).unwrap_or_default(),
        metric: evaluation.metric.clone(),
        metric_arguments: evaluation.metric_arguments.iter().map(|(name, value)| (name.clone(), value.to_json())).collect(),
        examples: results.len(),
        passed,
        accuracy: if results.is_empty() { 0.0 } else { passed as f64 / results.len() as f64 },
        failed_runs,
        mean_scores,
        seconds,
        results,
    };
    print_summary(&report, arguments.show_failures);
    if let Err(error) = std::fs::write(&arguments.report, serde_json::to_string_pretty(&report).expect("reports serialise")) {
        eprintln!("error: cannot write the report {}: {error}", arguments.report.display());
        return Outcome::Failure;
    }
    println!("report written to {}", arguments.report.display());
    if let Some(path) = &arguments.trace {
        if let Err(error) = write_traces(path, &traces) {
            eprintln!("error: cannot write the trace {}: {error}", path.display());
            return Outcome::Failure;
        }
    }
    Outcome::Success
}

fn lock_outputs(lock: &crate::plan::LockFile, arguments: &EvalArguments) -> Vec<String> {
    let workflow = match &arguments.execution.workflow {
        Some(name) => lock.workflow(name),
        None => lock.workflows.first(),
    };
    workflow.map(|workflow| workflow.outputs.iter().map(|output| output.name.clone()).collect()).unwrap_or_default()
}

/// The metric and field mapping: the plan's (from the optimize block), or a metric
/// named on the command line from the standard library.
fn evaluation_for(workflow: &LockedWorkflow, metric: Option<&str>) -> Result<LockedEvaluation, String> {
    let locked = workflow.evaluation.clone();
    let Some(name) = metric else {
        return locked.ok_or_else(|| format!("the workflow `{}` has no optimize block naming a metric; pass --metric (e.g. --metric exact_match)", workflow.name));
    };
    if let Some(locked) = locked.as_ref().filter(|locked| locked.metric == name) {
        return Ok(locked.clone());
    }
    let (code, arguments) = standard_metric(name).ok_or_else(|| format!("no metric `{name}` in the plan or in std/metrics"))?;
    let fields = locked.map(|locked| locked.fields).unwrap_or_else(|| {
        workflow.inputs.iter().map(|port| port.name.clone()).chain(workflow.outputs.iter().map(|output| output.name.clone())).map(|name| (name.clone(), name)).collect()
    });
    Ok(LockedEvaluation { metric: name.to_string(), metric_arguments: arguments, metric_code: code, fields })
}

/// A metric of `std/metrics` with its default arguments.
fn standard_metric(name: &str) -> Option<(String, BTreeMap<String, crate::plan::lock_file::LiteralValue>)> {
    use crate::semantic::hir::{ItemHir, ValueKindHir};
    for (_, text) in STANDARD_MODULES {
        let parsed = crate::syntax::parse_source(text);
        let lowered = crate::semantic::lower::lower_items(&parsed.items);
        for item in &lowered.items {
            let ItemHir::Metric(metric) = &*item.hir else { continue };
            if metric.name.text != name {
                continue;
            }
            let code = match metric.properties.get("source")?.value.as_value().map(|value| &value.kind) {
                Some(ValueKindHir::String(source)) => source.value.clone(),
                _ => return None,
            };
            let arguments = metric
                .params
                .iter()
                .filter_map(|param| Some((param.name.text.clone(), crate::plan::from_source::literal_value(param.default.as_ref()?)?)))
                .collect();
            return Some((code, arguments));
        }
    }
    None
}

async fn evaluate(
    executor: &std::sync::Arc<WorkflowExecutor>,
    evaluation: &LockedEvaluation,
    examples: Vec<(Map<String, Value>, Map<String, Value>)>,
) -> (LockedEvaluation, Vec<ExampleReport>, Vec<RunTrace>, f64) {
    let started = std::time::Instant::now();
    let progress = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(examples.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} examples [{elapsed_precise} < {eta}] {per_sec} {msg}")
                .expect("a valid progress template"),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut tasks = JoinSet::new();
    for (index, (inputs, expected)) in examples.into_iter().enumerate() {
        let executor = executor.clone();
        let evaluation = evaluation.clone();
        tasks.spawn(async move {
            let trace = executor.run(inputs.clone()).await;
            let (scores, scored, scoring_error) = score_outputs(&executor.sandbox, &evaluation, &expected, trace.outputs.as_ref()).await;
            let error = trace.error.clone().or(scoring_error);
            let passed = trace.outputs.is_some() && scored;
            let report = ExampleReport { index, inputs, expected, actual: trace.outputs.clone(), scores, passed, error };
            (report, trace)
        });
    }
    let mut reports = Vec::new();
    let mut traces: Vec<(usize, RunTrace)> = Vec::new();
    let mut passed = 0usize;
    while let Some(joined) = tasks.join_next().await {
        let (report, trace) = joined.expect("evaluation tasks do not panic");
        passed += usize::from(report.passed);
        progress.inc(1);
        progress.set_message(format!("{passed} passed"));
        traces.push((report.index, trace));
        reports.push(report);
    }
    progress.finish_and_clear();
    traces.sort_by_key(|(index, _)| *index);
    (evaluation.clone(), reports, traces.into_iter().map(|(_, trace)| trace).collect(), started.elapsed().as_secs_f64())
}

fn print_summary(report: &EvalReport, show_failures: usize) {
    let arguments: Vec<String> = report.metric_arguments.iter().map(|(name, value)| format!("{name} = {value}")).collect();
    println!(
        "workflow `{}` on {} example(s), metric {}({}), {:.1} s",
        report.workflow,
        report.examples,
        report.metric,
        arguments.join(", "),
        report.seconds
    );
    println!("{:<16} {:>10} {:>10}", "output", "mean score", "accuracy");
    for (output, mean) in &report.mean_scores {
        let passed = report.results.iter().filter(|result| result.scores.get(output).is_some_and(|score| *score >= PASSING_SCORE)).count();
        println!("{:<16} {:>10.3} {:>9.1}%", output, mean, percent(passed, report.examples));
    }
    println!("{:<16} {:>10} {:>9.1}%  ({}/{} passed, {} run(s) failed)", "all outputs", "", percent(report.passed, report.examples), report.passed, report.examples, report.failed_runs);
    let failing: Vec<&ExampleReport> = report.results.iter().filter(|result| !result.passed).collect();
    if !failing.is_empty() && show_failures > 0 {
        println!("\nfailing examples ({} of {}; --show-failures N for more):", failing.len().min(show_failures), failing.len());
        for result in failing.iter().take(show_failures) {
            let inputs = Value::Object(result.inputs.clone()).to_string();
            let inputs = if inputs.chars().count() > 100 { format!("{}…", inputs.chars().take(100).collect::<String>()) } else { inputs };
            let actual = result.actual.as_ref().map(|actual| Value::Object(actual.clone()).to_string()).unwrap_or_else(|| "—".into());
            println!("  #{:<4} expected {} got {}", result.index + 1, Value::Object(result.expected.clone()), actual);
            println!("        inputs {inputs}");
            if let Some(error) = &result.error {
                println!("        error {error}");
            }
        }
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}
