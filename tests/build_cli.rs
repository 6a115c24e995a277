//! `flowc build`, `flowc build --locked` and `flowc explain-plan` through the binary,
//! on a workflow whose plan already passes its training examples (so the build runs
//! the plan and scores it, and needs no teacher: the teacher's server does not
//! exist, which also proves it is never contacted).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FLOW: &str = r#"import "std/metrics" { numeric_match }

// Declared but never reachable: a plan that passes needs no teacher.
model teacher = openai("teacher") {
  base_url = "http://127.0.0.1:9/v1"
  temperature = 0
  seed = 0
}

dataset train = jsonl("train.jsonl") {
  x = .x
  y = .y
}

// Other field names than the training set's: read through its own map.
dataset heldout = jsonl("heldout.jsonl") {
  x = .question.x
  y = .answer
}

workflow double(x: number) -> (y: number) {
  node times_two = code {
    inputs {
      x = x
    }
    source = """
      def run(x):
          return x * 2
      """
    output = number
  }
  y = times_two
}

optimize double {
  teacher = teacher
  train = train
  validation = heldout
  metric = numeric_match
}
"#;

fn project(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("flowc-build-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(directory.join("double.flow"), FLOW).unwrap();
    std::fs::write(directory.join("train.jsonl"), "{\"x\": 1, \"y\": 2}\n{\"x\": 21, \"y\": 42}\n{\"x\": 2.5, \"y\": 5}\n").unwrap();
    // One of three is wrong on purpose: the validation figure is measured, not assumed.
    std::fs::write(directory.join("heldout.jsonl"), "{\"question\": {\"x\": 7}, \"answer\": 14}\n{\"question\": {\"x\": 0.5}, \"answer\": 1}\n{\"question\": {\"x\": 3}, \"answer\": 7}\n").unwrap();
    directory
}

fn flowc(directory: &Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(arguments)
        .current_dir(directory)
        .env("XDG_CACHE_HOME", directory.join("cache"))
        .env("NO_COLOR", "1")
        .output()
        .expect("flowc runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn build_writes_a_plan_that_locked_accepts_and_refuses_once_the_source_changes() {
    let directory = project("locked");
    let built = flowc(&directory, &["build", "double.flow"]);
    assert!(built.status.success(), "{}", text(&built));
    let lock = std::fs::read_to_string(directory.join("flow.lock")).unwrap();
    assert!(lock.contains("[workflows.build]"), "{lock}");
    assert!(lock.contains("train_passed_after = 3"), "{lock}");
    assert!(lock.contains("teacher_calls = 0"), "{lock}");
    assert!(lock.contains("validation_examples = 3"), "{lock}");
    assert!(lock.contains("validation_passed = 2"), "{lock}");
    assert!(text(&built).contains("3/3"), "{}", text(&built));

    let locked = flowc(&directory, &["build", "--locked", "double.flow"]);
    assert_eq!(locked.status.code(), Some(0), "{}", text(&locked));

    // Still correct, but different code: the lock would change.
    let edited = FLOW.replace("return x * 2", "return x + x");
    std::fs::write(directory.join("double.flow"), edited).unwrap();
    let locked = flowc(&directory, &["build", "--locked", "double.flow"]);
    assert_eq!(locked.status.code(), Some(1), "{}", text(&locked));
    assert!(text(&locked).contains("would change"), "{}", text(&locked));
    assert_eq!(std::fs::read_to_string(directory.join("flow.lock")).unwrap(), lock, "--locked writes nothing");

    // `flowc run` refuses the stale plan, and runs the rebuilt one.
    let stale = flowc(&directory, &["run", "flow.lock", "--input", "{\"x\": 4}"]);
    assert_eq!(stale.status.code(), Some(1), "{}", text(&stale));
    assert!(flowc(&directory, &["build", "double.flow"]).status.success());
    let ran = flowc(&directory, &["run", "flow.lock", "--input", "{\"x\": 4}"]);
    assert!(ran.status.success(), "{}", text(&ran));
    assert_eq!(String::from_utf8_lossy(&ran.stdout).trim(), "{\"y\":8}");
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn explain_plan_shows_provenance_training_figures_and_the_bound() {
    let directory = project("explain");
    assert!(flowc(&directory, &["build", "double.flow"]).status.success());
    let explained = flowc(&directory, &["explain-plan", "flow.lock"]);
    assert!(explained.status.success(), "{}", text(&explained));
    let output = text(&explained);
    assert!(output.contains("compiled by `flowc build`"), "{output}");
    assert!(output.contains("3/3 after"), "{output}");
    assert!(output.contains("validation set: 2/3 pass"), "{output}");
    assert!(output.contains("PAC (realisable)"), "{output}");
    // k = 1 hypothesis, m = 3, δ = 0.05: ε = ln(20)/3 = 0.9986, and ε ≤ 0.1 needs
    // ceil(ln(20)/0.1) = 30 examples.
    assert!(output.contains("true error ≤ 0.999 with 95% confidence (m = 3, k = 1)"), "{output}");
    assert!(output.contains("would need m ≥ 30"), "{output}");
    assert!(output.contains("node `times_two` (code)"), "{output}");
    assert!(output.contains("origin: as-written"), "{output}");

    let one = flowc(&directory, &["explain-plan", "flow.lock", "times_two"]);
    assert!(text(&one).contains("return x * 2"));
    let missing = flowc(&directory, &["explain-plan", "flow.lock", "nope"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("no node `nope`"));
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn json_events_are_one_object_per_line() {
    let directory = project("json");
    let built = flowc(&directory, &["build", "--message-format", "json", "double.flow"]);
    assert!(built.status.success(), "{}", text(&built));
    let stdout = String::from_utf8_lossy(&built.stdout);
    let events: Vec<serde_json::Value> = stdout.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}"))).collect();
    assert_eq!(events.first().unwrap()["event"], "workflow-started");
    assert!(events.iter().any(|event| event["event"] == "validated" && event["passed"] == 3));
    assert_eq!(events.last().unwrap()["event"], "workflow-built");
    assert_eq!(events.last().unwrap()["summary"]["train_passed_after"], 3);
    let _ = std::fs::remove_dir_all(&directory);
}
