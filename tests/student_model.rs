#![cfg(feature = "in-process-models")]
//! The real student model (SmolLM2-135M-Instruct, GGUF, in process through
//! mistralrs), end to end through `flowc lock` and `flowc run`:
//! - the same plan and inputs give byte-identical outputs, across processes;
//! - typed outputs always parse (constrained decoding), even from a 135M model;
//! - consensus samples are seeded: the same votes every time;
//! - loading and running need no network (run in a process with no network at all).
//!
//! Needs the model fetched by the README set-up (`scripts/setup.sh`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "support/student_gguf.rs"]
mod student_gguf;
use student_gguf::model_file;

fn flowc(arguments: &[&str], directory: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowc")).args(arguments).current_dir(directory).output().expect("flowc runs")
}

fn scratch(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("flowc-student-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

const WORKFLOW: &str = r#"model student = gguf("SmolLM2-135M-Instruct.Q4_1.gguf") {
  temperature = 0
  seed = 0
  max_tokens = 48
}

workflow extract(question: text) -> (numbers: json { quantities: [number] }, mood: enum("happy", "sad"), summary: text) {
  node numbers = llm(student) {
    system = "You copy the numbers of a text."
    prompt = "Text: {question}\nReply with JSON: {{\"quantities\": [...]}}"
    output = json { quantities: [number] }
  }
  node mood = consensus(student) {
    prompt = "Is this text happy or sad? {question}"
    output = enum("happy", "sad")
    samples = 3
    max_tokens = 8
  }
  node summary = llm(student) {
    prompt = "Summarise in five words: {question}"
    output = text
    max_tokens = 16
  }
  numbers = numbers
  mood = mood
  summary = summary
}
"#;

const INPUTS: &str = "{\"question\": \"Janet has 16 ducks and sells 3 eggs for $2 each.\"}\n{\"question\": \"A train travels 120 km in 2 hours, then 45 km more.\"}\n";

#[test]
fn the_student_runs_deterministically_with_typed_outputs_and_no_network() {
    let model = model_file();
    let directory = scratch("determinism");
    std::fs::write(directory.join("extract.flow"), WORKFLOW).unwrap();
    std::fs::write(directory.join("inputs.jsonl"), INPUTS).unwrap();
    let lock = flowc(&["lock", "extract.flow"], &directory);
    assert!(lock.status.success(), "{}", String::from_utf8_lossy(&lock.stderr));
    let lock_text = std::fs::read_to_string(directory.join("flow.lock")).unwrap();
    assert!(lock_text.contains("file_sha256 = \"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53\""), "{lock_text}");
    let _ = model;

    let run = |output: &str, trace: &str, isolated: bool| {
        let arguments = ["run", "flow.lock", "--inputs", "inputs.jsonl", "-o", output, "--trace", trace, "--no-cache"];
        let result = if isolated {
            // A process in a network namespace of its own, with no way out: any attempt
            // to reach a model hub fails instead of silently downloading.
            Command::new("unshare").arg("--net").arg(env!("CARGO_BIN_EXE_flowc")).args(arguments).current_dir(&directory).output().expect("unshare runs")
        } else {
            flowc(&arguments, &directory)
        };
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        std::fs::read_to_string(directory.join(output)).unwrap()
    };
    let first = run("first.jsonl", "first.trace.jsonl", false);
    let second = run("second.jsonl", "second.trace.jsonl", true);
    assert_eq!(first, second, "the same plan and inputs must give identical bytes");

    for line in first.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(value.get("error").is_none(), "a typed output failed to parse: {line}");
        let quantities = value["numbers"]["quantities"].as_array().expect("constrained decoding gives the declared JSON");
        assert!(quantities.iter().all(serde_json::Value::is_number), "{line}");
        assert!(["happy", "sad"].contains(&value["mood"].as_str().unwrap()), "{line}");
        assert!(value["summary"].is_string());
    }
    let trace: serde_json::Value = serde_json::from_str(std::fs::read_to_string(directory.join("first.trace.jsonl")).unwrap().lines().next().unwrap()).unwrap();
    let mood = trace["nodes"].as_array().unwrap().iter().find(|node| node["node"] == "mood").unwrap();
    let seeds: Vec<u64> = mood["calls"].as_array().unwrap().iter().map(|call| call["seed"].as_u64().unwrap()).collect();
    assert_eq!(seeds, vec![0, 1, 2], "consensus samples use distinct fixed seeds");
    assert_eq!(mood["votes"]["rule"], "majority");
    let second_trace: serde_json::Value = serde_json::from_str(std::fs::read_to_string(directory.join("second.trace.jsonl")).unwrap().lines().next().unwrap()).unwrap();
    let second_mood = second_trace["nodes"].as_array().unwrap().iter().find(|node| node["node"] == "mood").unwrap();
    assert_eq!(mood["votes"], second_mood["votes"], "the votes are the same in every run");
}

#[test]
fn the_call_cache_serves_a_repeated_run_without_model_calls() {
    model_file();
    let directory = scratch("cache");
    let cache = directory.join("cache-home");
    std::fs::write(directory.join("extract.flow"), WORKFLOW).unwrap();
    std::fs::write(directory.join("inputs.jsonl"), INPUTS.lines().next().unwrap()).unwrap();
    assert!(flowc(&["lock", "extract.flow"], &directory).status.success());
    let run = |trace: &str| {
        let result = Command::new(env!("CARGO_BIN_EXE_flowc"))
            .args(["run", "flow.lock", "--inputs", "inputs.jsonl", "--trace", trace])
            .env("XDG_CACHE_HOME", &cache)
            .env("FLOWC_MODEL_DIR", model_file().parent().unwrap())
            .current_dir(&directory)
            .output()
            .unwrap();
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        let trace: serde_json::Value = serde_json::from_str(std::fs::read_to_string(directory.join(trace)).unwrap().lines().next().unwrap()).unwrap();
        let calls: Vec<bool> = trace["nodes"].as_array().unwrap().iter().flat_map(|node| node["calls"].as_array().cloned().unwrap_or_default()).map(|call| call["cached"].as_bool().unwrap()).collect();
        (String::from_utf8(result.stdout).unwrap(), calls)
    };
    let (first_output, first_calls) = run("first.jsonl");
    let (second_output, second_calls) = run("second.jsonl");
    assert_eq!(first_output, second_output);
    assert_eq!(first_calls.len(), 5, "1 + 3 samples + 1 calls");
    assert!(first_calls.iter().all(|cached| !cached), "a fresh cache serves nothing");
    assert!(second_calls.iter().all(|cached| *cached), "the second run is served from the cache: {second_calls:?}");
    let cleaned = Command::new(env!("CARGO_BIN_EXE_flowc")).args(["cache", "clean"]).env("XDG_CACHE_HOME", &cache).output().unwrap();
    assert!(cleaned.status.success());
    assert!(String::from_utf8_lossy(&cleaned.stderr).contains("removed 5"), "{}", String::from_utf8_lossy(&cleaned.stderr));
}
