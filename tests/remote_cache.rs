//! The shared cache (src/runtime/remote_cache.rs) against a real server: Debian's
//! nginx with WebDAV PUT on a loopback port (tests/support/nginx_cache.rs), the real
//! flowc binary, and an OpenAI-compatible server on loopback standing in for the
//! student and the teacher, which counts every model call.
//!
//! A second clone of a project (another folder, an empty local cache) pointed at the
//! shared cache builds the same plan with no model call; no entry, remote or local,
//! holds the API key; a cache server that is down or slow costs one warning.

#[path = "support/nginx_cache.rs"]
mod nginx_cache;
#[path = "support/pens_task.rs"]
mod pens_task;
#[path = "support/scripted_http_server.rs"]
mod scripted_http_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use nginx_cache::{files_under, NginxCache};
use pens_task::{sloppy_student_reply, teacher_reply, train_jsonl};
use scripted_http_server::{RecordedRequest, ScriptedHttpServer, ScriptedResponse};
use serde_json::{json, Value};

/// The API key the models are given: it must reach the model server and nothing else.
const SECRET: &str = "sk-flowc-test-remote-cache-3f9a1c";

const FLOW: &str = r#"import "std/metrics" { numeric_match }

model student = openai("student") {
  base_url = env("FLOWC_TEST_SERVER")
  api_key = env("FLOWC_TEST_API_KEY")
  temperature = 0
  seed = 0
  max_retries = 0
}
model teacher = openai("teacher") {
  base_url = env("FLOWC_TEST_SERVER")
  api_key = env("FLOWC_TEST_API_KEY")
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

async fn model_server() -> ScriptedHttpServer {
    ScriptedHttpServer::answering(1000, |request| {
        let text = answer(request);
        Some(ScriptedResponse::json(200, json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 50, "completion_tokens": 10}})))
    })
    .await
}

/// A clone of the project: its own folder and its own (empty) local cache.
fn clone(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("flowc-remote-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(directory.join("task.flow"), FLOW).unwrap();
    std::fs::write(directory.join("train.jsonl"), train_jsonl()).unwrap();
    directory
}

fn build(directory: &Path, server: &ScriptedHttpServer, remote: &str, timeout_ms: u64) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["build", "task.flow", "--remote-cache", remote])
        .current_dir(directory)
        .env("XDG_CACHE_HOME", directory.join("cache"))
        .env("FLOWC_TEST_SERVER", format!("{}/v1", server.base_url()))
        .env("FLOWC_TEST_API_KEY", SECRET)
        .env("FLOWC_REMOTE_CACHE_TIMEOUT_MS", timeout_ms.to_string())
        .env_remove("FLOWC_REMOTE_CACHE")
        .env("NO_COLOR", "1")
        .output()
        .expect("flowc runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn holds_secret(files: &[PathBuf]) -> Vec<PathBuf> {
    files.iter().filter(|file| std::fs::read(file).is_ok_and(|bytes| bytes.windows(SECRET.len()).any(|window| window == SECRET.as_bytes()))).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_clone_builds_from_the_shared_cache_with_no_model_call() {
    let nginx = NginxCache::start("clones");
    let server = model_server().await;

    let first = clone("first");
    let output = build(&first, &server, &nginx.url(), 2000);
    assert!(output.status.success(), "{}", text(&output));
    let first_calls = server.requests().len();
    assert!(first_calls > 3, "the first clone asks the student and the teacher: {first_calls}");
    assert!(
        server.requests().iter().any(|request| request.header("authorization").is_some_and(|value| value.contains(SECRET))),
        "the key is in use (so its absence below means something)"
    );
    assert!(!text(&output).contains("warning: the remote cache"), "{}", text(&output));
    let stored = nginx.stored_files();
    assert!(stored.iter().any(|file| file.to_string_lossy().contains("/ac/")), "{stored:?}");
    assert!(stored.iter().any(|file| file.to_string_lossy().contains("/cas/")), "{stored:?}");

    let second = clone("second");
    let output = build(&second, &server, &nginx.url(), 2000);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(server.requests().len(), first_calls, "the second clone made no model call: {}", text(&output));
    assert!(text(&output).contains("0 student call(s) reached the model"), "{}", text(&output));
    assert_eq!(
        std::fs::read_to_string(second.join("flow.lock")).unwrap(),
        std::fs::read_to_string(first.join("flow.lock")).unwrap(),
        "the same plan, byte for byte"
    );
    // The shared build result was the previous lock: every node reused, no search.
    assert!(text(&output).contains("every node reused from the lock; no model call"), "{}", text(&output));

    let mut everything = nginx.stored_files();
    everything.extend(files_under(&first.join("cache")));
    everything.extend(files_under(&second.join("cache")));
    everything.push(first.join("flow.lock"));
    assert!(holds_secret(&everything).is_empty(), "the API key reached {:?}", holds_secret(&everything));

    let _ = std::fs::remove_dir_all(&first);
    let _ = std::fs::remove_dir_all(&second);
}

#[test]
fn the_call_cache_reads_through_the_shared_cache_and_refuses_a_tampered_blob() {
    use flowc::models::{ChatMessage, ChatRequest, ChatResponse, DecodingParameters, ModelIdentity, OutputConstraint, Role};
    use flowc::runtime::call_cache::CallCache;
    use flowc::runtime::remote_cache::RemoteCache;

    let nginx = NginxCache::start("read-through");
    let local = std::env::temp_dir().join(format!("flowc-remote-read-through-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&local);
    let remote = || Some(RemoteCache::new(&nginx.url(), Duration::from_secs(2)).unwrap());
    let writer = CallCache::new(local.join("writer")).with_remote(remote());
    let reader = CallCache::new(local.join("reader")).with_remote(remote());
    let identity = ModelIdentity { backend: "openai".into(), model: "student".into(), file_sha256: None, endpoint: Some("http://127.0.0.1:9/v1".into()) };
    let request = ChatRequest {
        messages: vec![ChatMessage { role: Role::User, content: "2 + 2?".into() }],
        decoding: DecodingParameters { temperature: Some(0.0), seed: Some(0), ..Default::default() },
        constraint: OutputConstraint::None,
    };
    let key = CallCache::key(&identity, &request);
    let response = ChatResponse { text: "4".into(), prompt_tokens: 5, completion_tokens: 1, ..Default::default() };
    assert!(reader.get(&key).is_none());
    writer.put(&key, &response).unwrap();

    // The same key, the same bytes: the entry the writer keeps locally is the blob.
    let local_entry = files_under(&local.join("writer"));
    assert_eq!(local_entry.len(), 1);
    let blob = std::fs::read(&local_entry[0]).unwrap();
    let blob_path = nginx.directory.join("store").join(nginx_cache::PREFIX).join("cas").join(sha256_hex(&blob));
    assert_eq!(std::fs::read(&blob_path).unwrap(), blob);
    assert!(nginx.directory.join("store").join(nginx_cache::PREFIX).join("ac").join(&key).is_file());

    assert_eq!(reader.get(&key), Some(response.clone()), "a local miss reads through");
    assert_eq!(files_under(&local.join("reader")).len(), 1, "and keeps the entry locally");

    // A blob that does not match its digest is a miss, not an answer.
    let third = CallCache::new(local.join("third")).with_remote(remote());
    std::fs::write(&blob_path, String::from_utf8(blob).unwrap().replace("\"4\"", "\"5\"")).unwrap();
    assert!(third.get(&key).is_none());
    assert!(!third.remote().unwrap().is_switched_off(), "a bad blob is a miss, not a failing server");
    let _ = std::fs::remove_dir_all(&local);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cache_server_that_is_down_or_slow_costs_one_warning() {
    let server = model_server().await;

    // Down: nothing listens on the port.
    let down_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = clone("down");
    let output = build(&down, &server, &format!("http://127.0.0.1:{down_port}/cache"), 2000);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(text(&output).matches("warning: the remote cache").count(), 1, "{}", text(&output));
    let calls = server.requests().len();
    assert!(calls > 3, "the build ran on the local cache: {calls}");
    // The local cache was still written: a rebuild elsewhere in the project is free.
    assert!(!files_under(&down.join("cache").join("flowc").join("calls")).is_empty());

    // Slow: a server that accepts and never answers, against a 300 ms timeout.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let slow_port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until && held.len() < 64 {
            match listener.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        held.len()
    });
    let slow = clone("slow");
    let started = Instant::now();
    let output = build(&slow, &server, &format!("http://127.0.0.1:{slow_port}/cache"), 300);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(text(&output).matches("warning: the remote cache").count(), 1, "{}", text(&output));
    assert!(started.elapsed() < Duration::from_secs(45), "the build waited on the slow server: {:?}", started.elapsed());
    assert!(text(&output).contains("timed out") || text(&output).contains("took too long") || text(&output).contains("Resource temporarily unavailable"), "{}", text(&output));
    drop(holder);

    let _ = std::fs::remove_dir_all(&down);
    let _ = std::fs::remove_dir_all(&slow);
}
