//! An interrupted `flowc build` resumes without repeating the model calls that
//! finished: the real binary, real HTTP on loopback (an OpenAI-compatible server
//! that answers by rule, standing in for the student and the teacher), a real
//! SIGKILL in the middle of the build.

#[path = "support/pens_task.rs"]
mod pens_task;
#[path = "support/scripted_http_server.rs"]
mod scripted_http_server;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pens_task::{sloppy_student_reply, teacher_reply, train_jsonl};
use scripted_http_server::{RecordedRequest, ScriptedHttpServer, ScriptedResponse};
use serde_json::{json, Value};

const FLOW: &str = r#"import "std/metrics" { numeric_match }

model student = openai("student") {
  base_url = env("FLOWC_TEST_SERVER")
  temperature = 0
  seed = 0
  max_retries = 0
}
model teacher = openai("teacher") {
  base_url = env("FLOWC_TEST_SERVER")
  temperature = 0
  seed = 0
  max_retries = 0
}
dataset train = jsonl("train.jsonl") {
  question = .input
  answer = .target
}
workflow solve(question: text) -> (answer: number) {
  node extract = llm(student) {
    prompt = "Problem: {question}"
    output = json { quantities: [number] }
  }
  node compute = code {
    inputs {
      numbers: [number] = extract.quantities
    }
    source = """
      def run(numbers):
          return sum(numbers)
      """
    output = number
  }
  answer = compute
}
optimize solve {
  teacher = teacher
  train = train
  metric = numeric_match
  moves = [prompt, offload]
  budget {
    teacher_calls = 40
  }
}
"#;

/// The reply of the student or the teacher to one chat-completions request.
fn answer(request: &RecordedRequest) -> String {
    let body = request.json();
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let content = |message: &Value| message["content"].as_str().unwrap_or("").to_string();
    let first = messages.iter().find(|message| message["role"] == "user").map(content).unwrap_or_default();
    let last = messages.last().map(content).unwrap_or_default();
    if body["model"] == "student" {
        return sloppy_student_reply(&last);
    }
    teacher_reply(&first, &last)
}

fn completion(text: String) -> ScriptedResponse {
    ScriptedResponse::json(200, json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 50, "completion_tokens": 10}}))
}

fn is_teacher(request: &RecordedRequest) -> bool {
    serde_json::from_slice::<Value>(&request.body).is_ok_and(|body| body["model"] == "teacher")
}

/// A server that answers every request, except that it stops answering the
/// teacher once it has answered `limit` of its requests (the test then kills
/// flowc). The same server serves the rerun, with the limit lifted: the base URL is
/// part of a model's identity, so the call cache would not match another port.
async fn server(limit: Arc<AtomicUsize>) -> ScriptedHttpServer {
    let answered = Arc::new(AtomicUsize::new(0));
    ScriptedHttpServer::answering(1000, move |request| {
        if is_teacher(request) && answered.fetch_add(1, Ordering::SeqCst) >= limit.load(Ordering::SeqCst) {
            return None;
        }
        Some(completion(answer(request)))
    })
    .await
}

fn project(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("flowc-resume-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(directory.join("task.flow"), FLOW).unwrap();
    std::fs::write(directory.join("train.jsonl"), train_jsonl()).unwrap();
    directory
}

fn build(directory: &Path, server: &ScriptedHttpServer) -> Child {
    Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["build", "task.flow"])
        .current_dir(directory)
        .env("XDG_CACHE_HOME", directory.join("cache"))
        .env("FLOWC_TEST_SERVER", format!("{}/v1", server.base_url()))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowc starts")
}

fn teacher_requests(server: &ScriptedHttpServer) -> usize {
    server.requests().iter().filter(|request| is_teacher(request)).count()
}

// Several threads: the test blocks one waiting for flowc while the server answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_build_resumes_without_repeating_the_calls_that_finished() {
    // The whole build, uninterrupted, on a fresh cache: how many teacher calls.
    let reference = project("reference");
    let reference_server = server(Arc::new(AtomicUsize::new(usize::MAX))).await;
    let output = build(&reference, &reference_server).wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let total = teacher_requests(&reference_server);
    assert!(total >= 5, "gold traces and two code drafts: {total}");
    let reference_lock = std::fs::read_to_string(reference.join("flow.lock")).unwrap();

    // The same build, killed while it waits for its fourth teacher answer.
    let directory = project("interrupted");
    let limit = Arc::new(AtomicUsize::new(3));
    let hanging = server(Arc::clone(&limit)).await;
    let mut child = build(&directory, &hanging);
    let deadline = Instant::now() + Duration::from_secs(120);
    while teacher_requests(&hanging) < 4 {
        assert!(Instant::now() < deadline, "the build never reached its fourth teacher call");
        assert!(child.try_wait().unwrap().is_none(), "the build ended before it was killed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!directory.join("flow.lock").exists(), "a killed build leaves no lock");

    // The rerun asks only what was not answered before the kill.
    limit.store(usize::MAX, Ordering::SeqCst);
    let before_rerun = teacher_requests(&hanging);
    let output = build(&directory, &hanging).wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(teacher_requests(&hanging) - before_rerun, total - 3);
    // And it compiles the same plan, byte for byte (sources are at the same place
    // relative to each lock).
    assert_eq!(std::fs::read_to_string(directory.join("flow.lock")).unwrap(), reference_lock);

    let _ = std::fs::remove_dir_all(&reference);
    let _ = std::fs::remove_dir_all(&directory);
}
