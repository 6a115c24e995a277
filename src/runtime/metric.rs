//! Scoring an output with a plan's metric: `score(expected, actual, **arguments)`
//! run in the sandbox. `flowc eval` and `flowc build`'s validation share it, so the
//! optimiser is judged by exactly the rule the user reads in the eval table.

use serde_json::{Map, Value};

use crate::plan::lock_file::{LockedEvaluation, LockedWorkflow};
use crate::sandbox::Sandbox;
use crate::semantic::check_metric::score_parameters;

/// A score of at least this counts as a pass.
pub const PASSING_SCORE: f64 = 1.0 - 1e-9;

/// `True` is 1, `False` 0, a number is taken as it is.
pub async fn score(sandbox: &Sandbox, evaluation: &LockedEvaluation, expected: &Value, actual: &Value) -> Result<f64, String> {
    let mut arguments = Map::new();
    arguments.insert("expected".into(), expected.clone());
    arguments.insert("actual".into(), actual.clone());
    let parameters = score_parameters(&evaluation.metric_code).unwrap_or_default();
    for (name, value) in &evaluation.metric_arguments {
        if parameters.contains(name) {
            arguments.insert(name.clone(), value.to_json());
        }
    }
    match sandbox.call(&evaluation.metric_code, "score", arguments).await.map_err(|error| error.to_string())? {
        Value::Bool(passed) => Ok(if passed { 1.0 } else { 0.0 }),
        Value::Number(number) => number.as_f64().ok_or_else(|| "the metric returned a number out of range".into()),
        other => Err(format!("the metric returned {other}, not a bool or a number")),
    }
}

/// One dataset record split into the workflow's inputs and its expected outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    pub inputs: Map<String, Value>,
    pub expected: Map<String, Value>,
}

/// A record's value at a dotted path (`a.b`).
pub fn record_field(record: &Map<String, Value>, path: &str) -> Option<Value> {
    let mut segments = path.split('.');
    let mut value = record.get(segments.next()?)?;
    for segment in segments {
        value = value.get(segment)?;
    }
    Some(value.clone())
}

/// A record's workflow inputs and expected outputs, through the dataset's field map.
pub fn split_record(workflow: &LockedWorkflow, evaluation: &LockedEvaluation, record: &Map<String, Value>) -> Result<Example, String> {
    let mut inputs = Map::new();
    for port in &workflow.inputs {
        let path = evaluation.fields.get(&port.name).cloned().unwrap_or_else(|| port.name.clone());
        inputs.insert(port.name.clone(), record_field(record, &path).ok_or_else(|| format!("the record has no field `{path}` for the input `{}`", port.name))?);
    }
    let mut expected = Map::new();
    for output in &workflow.outputs {
        let path = evaluation.fields.get(&output.name).cloned().unwrap_or_else(|| output.name.clone());
        expected.insert(output.name.clone(), record_field(record, &path).ok_or_else(|| format!("the record has no field `{path}` for the output `{}`", output.name))?);
    }
    Ok(Example { inputs, expected })
}

/// Scores every expected output of one run; the run passes when all score fully.
pub async fn score_outputs(sandbox: &Sandbox, evaluation: &LockedEvaluation, expected: &Map<String, Value>, actual: Option<&Map<String, Value>>) -> (std::collections::BTreeMap<String, f64>, bool, Option<String>) {
    let mut scores = std::collections::BTreeMap::new();
    let mut error = None;
    let Some(actual) = actual else { return (scores, false, None) };
    for (name, expected_value) in expected {
        let actual_value = actual.get(name).cloned().unwrap_or(Value::Null);
        match score(sandbox, evaluation, expected_value, &actual_value).await {
            Ok(value) => {
                scores.insert(name.clone(), value);
            }
            Err(message) => {
                scores.insert(name.clone(), 0.0);
                error.get_or_insert(format!("scoring `{name}`: {message}"));
            }
        }
    }
    let passed = !scores.is_empty() && scores.values().all(|score| *score >= PASSING_SCORE);
    (scores, passed, error)
}
