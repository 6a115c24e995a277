//! The acceptance bar of the code runtime: the 1,319 GSM-Hard PAL programs
//! (tests/data/gsm-hard/gsmhardv2.jsonl), run through the real sandbox (the flowc
//! binary as worker), must give CPython's value (tests/data/gsm-hard/
//! cpython_values.jsonl, written by scripts/gsm_hard_cpython_values.py).
//!
//! A program agrees when both give an int and the ints are equal, both give a float
//! and the floats are within 1e-6 relative, or both give the same other value. At
//! least 1,312 must agree, and every program that does not must fail loudly (an
//! error), never return a different number: a wrong number would flow silently into
//! a workflow's answer.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use flowc::sandbox::{Sandbox, SandboxConfig, SandboxError};
use serde_json::{Map, Value};

const REQUIRED_AGREEMENT: usize = 1_312;

fn read_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{}: {error}: {line}", path.display())))
        .collect()
}

/// What CPython made of one program.
#[derive(Debug)]
enum Reference {
    Value(Value),
    /// An int beyond 64 bits, as digits; the sandbox refuses those as results.
    BigInt(#[allow(dead_code)] String),
    /// CPython raised, or returned something JSON cannot hold.
    NoValue(#[allow(dead_code)] String),
}

fn reference(record: &Value) -> Reference {
    if let Some(value) = record.get("value") {
        Reference::Value(value.clone())
    } else if let Some(digits) = record.get("big_int").and_then(Value::as_str) {
        Reference::BigInt(digits.to_owned())
    } else {
        Reference::NoValue(record.to_string())
    }
}

fn is_int(value: &Value) -> bool {
    value.is_i64() || value.is_u64()
}

fn agrees(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(_), Value::Number(_)) if is_int(expected) && is_int(actual) => {
            expected.as_i64() == actual.as_i64() && expected.as_u64() == actual.as_u64()
        }
        (Value::Number(_), Value::Number(_)) if expected.is_f64() && actual.is_f64() => {
            let (expected, actual) = (expected.as_f64().unwrap(), actual.as_f64().unwrap());
            expected == actual || (expected - actual).abs() <= 1e-6 * expected.abs().max(actual.abs())
        }
        (Value::Array(expected), Value::Array(actual)) => {
            expected.len() == actual.len()
                && expected
                    .iter()
                    .zip(actual)
                    .all(|(expected, actual)| agrees(expected, actual))
        }
        (Value::Object(expected), Value::Object(actual)) => {
            expected.len() == actual.len()
                && expected
                    .iter()
                    .all(|(key, expected)| actual.get(key).is_some_and(|actual| agrees(expected, actual)))
        }
        // An int where CPython has a float, or the other way round, disagrees:
        // types are part of the value.
        (Value::Number(_), Value::Number(_)) => false,
        _ => expected == actual,
    }
}

fn error_kind(error: &SandboxError) -> &'static str {
    match error {
        SandboxError::Syntax { .. } => "syntax",
        SandboxError::Runtime { .. } => "runtime",
        SandboxError::StepLimit { .. } => "step limit",
        SandboxError::MemoryLimit { .. } => "memory limit",
        SandboxError::Timeout { .. } => "timeout",
        SandboxError::MissingFunction { .. } => "missing function",
        SandboxError::UnsupportedValue { .. } => "unsupported value",
        SandboxError::Worker { .. } => "worker",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gsm_hard_programs_give_cpythons_values() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gsm-hard");
    let programs = read_lines(&data.join("gsmhardv2.jsonl"));
    let references = read_lines(&data.join("cpython_values.jsonl"));
    assert_eq!(programs.len(), 1_319, "gsmhardv2.jsonl has 1,319 programs");
    assert_eq!(references.len(), programs.len(), "one CPython value per program");

    let workers = std::thread::available_parallelism().map_or(2, |count| count.get().clamp(2, 8));
    // The default limits: program 1038 counts to 1.4 million in a loop, 0.1 s
    // optimised (Cargo.toml optimises the interpreter's crates in debug builds too;
    // unoptimised, it took 32 s).
    let config = SandboxConfig::for_worker_program(env!("CARGO_BIN_EXE_flowc")).with_workers(workers);
    let sandbox = Sandbox::new(config).expect("the sandbox starts");
    let started = Instant::now();
    let calls: Vec<_> = programs
        .iter()
        .map(|program| {
            let sandbox = sandbox.clone();
            let code = program["code"].as_str().expect("every program has code").to_owned();
            tokio::spawn(async move { sandbox.call(&code, "solution", Map::new()).await })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(calls.len());
    for call in calls {
        outcomes.push(call.await.expect("the call task completes"));
    }
    let elapsed = started.elapsed();

    let mut agree = 0;
    let mut errors_by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut error_lines = Vec::new();
    let mut wrong_values = Vec::new();
    for (index, (record, outcome)) in references.iter().zip(&outcomes).enumerate() {
        assert_eq!(
            record["index"].as_u64(),
            Some(index as u64),
            "cpython_values.jsonl is in program order"
        );
        match (reference(record), outcome) {
            (Reference::Value(expected), Ok(actual)) if agrees(&expected, actual) => agree += 1,
            (expected, Ok(actual)) => {
                wrong_values.push(format!("program {index}: CPython {expected:?}, sandbox {actual}"))
            }
            (_, Err(error)) => {
                *errors_by_kind.entry(error_kind(error)).or_default() += 1;
                error_lines.push(format!("  program {index}: {error}"));
            }
        }
    }
    let failed: usize = errors_by_kind.values().sum();
    println!(
        "GSM-Hard conformance: {agree} of {} agree with CPython, {failed} fail with an error, {} give a different value ({} workers, {:.2} s)",
        programs.len(),
        wrong_values.len(),
        workers,
        elapsed.as_secs_f64()
    );
    println!("errors by kind: {errors_by_kind:?}");
    for line in &error_lines {
        println!("{line}");
    }
    assert!(
        wrong_values.is_empty(),
        "the sandbox returned a different value, silently:\n{}",
        wrong_values.join("\n")
    );
    assert!(
        agree >= REQUIRED_AGREEMENT,
        "only {agree} programs agree with CPython; at least {REQUIRED_AGREEMENT} must"
    );
}

#[test]
fn agreement_is_by_value_and_type() {
    use serde_json::json;
    assert!(agrees(&json!(18), &json!(18)));
    assert!(!agrees(&json!(18), &json!(18.0)), "an int is not a float");
    assert!(agrees(&json!(1234567.0), &json!(1234567.0000001)));
    assert!(agrees(&json!(1234567.0), &json!(1234568.0)), "8.1e-7 relative");
    assert!(!agrees(&json!(1234567.0), &json!(1234569.0)), "1.6e-6 relative");
    assert!(agrees(&json!(-0.5), &json!(-0.5000000001)));
    assert!(agrees(&json!([1, 2.5]), &json!([1, 2.5])));
    assert!(!agrees(&json!("1"), &json!(1)));
}
