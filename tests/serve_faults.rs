//! `flowc serve` under faults, each with real parts: a code node that exhausts its
//! memory limit, an OpenAI-compatible student on loopback that fails and recovers,
//! one that hangs, a full queue, a server still loading, and SIGTERM with requests
//! in flight.

#[path = "support/scripted_http_server.rs"]
mod scripted_http_server;
#[path = "support/serve_process.rs"]
mod serve_process;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scripted_http_server::{RecordedRequest, ScriptedHttpServer, ScriptedResponse};
use serde_json::{json, Value};
use serve_process::{lock_flow, scratch_folder, ServeProcess};

const READY_LIMIT: Duration = Duration::from_secs(60);

const STUDENT_FLOW: &str = r#"model student = openai("smollm2-test") {
  base_url = env("FLOWC_SERVE_TEST_STUDENT_URL")
  temperature = 0
  seed = 0
  max_retries = 3
}

workflow echo(question: text) -> (answer: text) {
  node reply = llm(student) {
    prompt = "Question: {question}"
    output = text
  }
  answer = reply
}
"#;

fn openai_answer(text: &str) -> ScriptedResponse {
    ScriptedResponse::json(200, json!({
        "choices": [{ "message": { "role": "assistant", "content": text } }],
        "usage": { "prompt_tokens": 5, "completion_tokens": 2 },
    }))
}

fn is_warm_up(request: &RecordedRequest) -> bool {
    String::from_utf8_lossy(&request.body).contains("flowc serve warm-up")
}

fn student_plan(name: &str) -> std::path::PathBuf {
    lock_flow(&scratch_folder(name), "echo", STUDENT_FLOW)
}

async fn post(client: &reqwest::Client, url: &str, body: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = client.post(url).body(body.to_string()).send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (status, headers, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")))
}

async fn metric(client: &reqwest::Client, server: &ServeProcess, name: &str) -> f64 {
    let text = client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|line| line.strip_prefix(name).and_then(|rest| rest.trim().parse().ok())).unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[tokio::test]
async fn a_code_node_that_exhausts_its_memory_gets_500_and_the_server_lives_on() {
    let plan = lock_flow(
        &scratch_folder("serve-memory"),
        "bomb",
        r#"workflow bomb(size: int) -> (length: int) {
  node allocate = code {
    inputs {
      size: int = size
    }
    source = """
      def run(size):
          return len([0] * size)
      """
    output = int
  }
  length = allocate
}
"#,
    );
    let server = ServeProcess::start(&plan, &["--no-cache"], &[]);
    server.wait_ready(READY_LIMIT).await;
    let client = reqwest::Client::new();
    let run = server.url("/v1/workflows/bomb:run");
    assert_eq!(post(&client, &run, r#"{"size": 10}"#).await.2["outputs"], json!({"length": 10}));
    assert_eq!(metric(&client, &server, "flowc_sandbox_worker_restarts_total").await, 0.0);
    // Mid-load: good and bad requests at the same time.
    let mut tasks = Vec::new();
    for index in 0..12 {
        let client = client.clone();
        let run = run.clone();
        let body = if index % 4 == 1 { r#"{"size": 2000000000}"#.to_string() } else { format!(r#"{{"size": {index}}}"#) };
        tasks.push(tokio::spawn(async move { (index, post(&client, &run, &body).await) }));
    }
    for task in tasks {
        let (index, (status, _, body)) = task.await.unwrap();
        if index % 4 == 1 {
            assert_eq!(status, 500, "{body}");
            assert_eq!(body["error"]["code"], "run_failed");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains("node `allocate`") && message.contains("the code was stopped because it needed more than 512 MiB of memory"), "{message}");
        } else {
            assert_eq!((status, body["outputs"].clone()), (200, json!({ "length": index })), "{body}");
        }
    }
    assert_eq!(client.get(server.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(post(&client, &run, r#"{"size": 7}"#).await.2["outputs"], json!({"length": 7}));
    let restarts = metric(&client, &server, "flowc_sandbox_worker_restarts_total").await;
    assert!(restarts >= 3.0, "three memory bombs, {restarts} worker restarts");
    assert_eq!(metric(&client, &server, "flowc_http_requests_total{route=\"run\",status=\"500\"}").await, 3.0);
}

#[tokio::test]
async fn a_student_that_answers_500_then_429_is_retried_with_backoff_then_served() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let student = ScriptedHttpServer::answering(16, move |request| {
        if is_warm_up(request) {
            return Some(openai_answer("OK"));
        }
        Some(match counted.fetch_add(1, Ordering::SeqCst) {
            0 => ScriptedResponse::json(500, json!({"error": {"message": "engine restarting"}})),
            1 => ScriptedResponse::json(429, json!({"error": {"message": "slow down"}})).with_header("Retry-After", "1"),
            _ => openai_answer("forty-two"),
        })
    })
    .await;
    let url = format!("{}/v1", student.base_url());
    let server = ServeProcess::start(&student_plan("serve-retry"), &["--no-cache"], &[("FLOWC_SERVE_TEST_STUDENT_URL", &url)]);
    server.wait_ready(READY_LIMIT).await;
    let client = reqwest::Client::new();
    let started = Instant::now();
    let (status, _, body) = post(&client, &server.url("/v1/workflows/echo:run"), r#"{"question": "What is six times seven?"}"#).await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outputs"], json!({"answer": "forty-two"}));
    assert_eq!(calls.load(Ordering::SeqCst), 3, "one failure, one refusal, one answer");
    // 0.5 s after the 500, then the 1 s the 429 asked for.
    assert!(took >= Duration::from_millis(1400), "retried without backing off: {took:?}");
    let run_requests: Vec<RecordedRequest> = student.requests().into_iter().filter(|request| !is_warm_up(request)).collect();
    assert!(run_requests.iter().all(|request| request.json()["messages"][0]["content"] == "Question: What is six times seven?"));
    assert_eq!(metric(&client, &server, "flowc_model_calls_total{workflow=\"echo\",node=\"reply\"}").await, 1.0);
}

#[tokio::test]
async fn a_student_that_hangs_gives_504_within_the_timeout_and_healthz_stays_responsive() {
    let student = ScriptedHttpServer::answering(16, |request| if is_warm_up(request) { Some(openai_answer("OK")) } else { None }).await;
    let url = format!("{}/v1", student.base_url());
    let server = ServeProcess::start(&student_plan("serve-hang"), &["--no-cache", "--timeout", "2"], &[("FLOWC_SERVE_TEST_STUDENT_URL", &url)]);
    server.wait_ready(READY_LIMIT).await;
    let client = reqwest::Client::new();
    let run_client = client.clone();
    let run = server.url("/v1/workflows/echo:run");
    let started = Instant::now();
    let hanging = tokio::spawn(async move { post(&run_client, &run, r#"{"question": "anyone there?"}"#).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..5 {
        let probe = Instant::now();
        let health = client.get(server.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        assert!(probe.elapsed() < Duration::from_secs(1), "/healthz took {:?} while a run hangs", probe.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _, body) = hanging.await.unwrap();
    let took = started.elapsed();
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "timeout");
    assert!(took >= Duration::from_millis(1900) && took < Duration::from_secs(5), "504 after {took:?} with --timeout 2");
}

#[tokio::test]
async fn a_student_that_hangs_at_warm_up_fails_the_load_within_the_timeout_with_a_message() {
    let student = ScriptedHttpServer::answering(4, |_| None).await;
    let url = format!("{}/v1", student.base_url());
    let server = ServeProcess::start(&student_plan("serve-hang-warm-up"), &["--no-cache", "--timeout", "2"], &[("FLOWC_SERVE_TEST_STUDENT_URL", &url)]);
    let client = reqwest::Client::new();
    let started = Instant::now();
    let body = loop {
        let (status, _, body) = post(&client, &server.url("/v1/workflows/echo:run"), r#"{"question": "hello"}"#).await;
        assert_eq!(status, 503, "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default().to_string();
        if message.contains("could not load") {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still loading after {:?}: {body}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("warm-up call to model `student` did not answer within --timeout (2 s)"), "{message}");
    assert_eq!(client.get(server.url("/readyz")).send().await.unwrap().status(), 503);
    assert_eq!(client.get(server.url("/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_full_queue_answers_429_with_retry_after_and_loading_answers_503() {
    // The warm-up takes 1.5 s: long enough to see 503s while loading.
    let student = ScriptedHttpServer::answering(32, |request| {
        if is_warm_up(request) {
            Some(openai_answer("OK").after(Duration::from_millis(1500)))
        } else {
            Some(openai_answer("slow answer").after(Duration::from_millis(1500)))
        }
    })
    .await;
    let url = format!("{}/v1", student.base_url());
    let server = ServeProcess::start(&student_plan("serve-queue"), &["--no-cache", "--jobs", "1", "--queue", "1"], &[("FLOWC_SERVE_TEST_STUDENT_URL", &url)]);
    let client = reqwest::Client::new();
    let run = server.url("/v1/workflows/echo:run");
    let (status, headers, body) = post(&client, &run, r#"{"question": "early"}"#).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "not_ready");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(client.get(server.url("/readyz")).send().await.unwrap().status(), 503);
    assert_eq!(client.get(server.url("/healthz")).send().await.unwrap().status(), 200);
    server.wait_ready(READY_LIMIT).await;

    let mut tasks = Vec::new();
    for index in 0..2 {
        let client = client.clone();
        let run = run.clone();
        tasks.push(tokio::spawn(async move { post(&client, &run, &format!(r#"{{"question": "q{index}"}}"#)).await }));
        // The first takes the slot, the second the queue's one place.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, headers, body) = post(&client, &run, r#"{"question": "one too many"}"#).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "queue_full");
    assert_eq!(headers["retry-after"], "1");
    for task in tasks {
        let (status, _, body) = task.await.unwrap();
        assert_eq!((status, body["outputs"].clone()), (200, json!({"answer": "slow answer"})), "{body}");
    }
}

#[tokio::test]
async fn sigterm_finishes_accepted_requests_then_exits_0() {
    let student = ScriptedHttpServer::answering(32, |request| {
        if is_warm_up(request) {
            Some(openai_answer("OK"))
        } else {
            Some(openai_answer("finished").after(Duration::from_millis(1500)))
        }
    })
    .await;
    let url = format!("{}/v1", student.base_url());
    let mut server = ServeProcess::start(&student_plan("serve-sigterm"), &["--no-cache"], &[("FLOWC_SERVE_TEST_STUDENT_URL", &url)]);
    server.wait_ready(READY_LIMIT).await;
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for index in 0..3 {
        let client = client.clone();
        let run = server.url("/v1/workflows/echo:run");
        tasks.push(tokio::spawn(async move { post(&client, &run, &format!(r#"{{"question": "q{index}"}}"#)).await }));
    }
    // Every request has reached the student: they are accepted and in flight.
    let deadline = Instant::now() + Duration::from_secs(10);
    while student.requests().iter().filter(|request| !is_warm_up(request)).count() < 3 {
        assert!(Instant::now() < deadline, "the runs did not reach the student");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.signal(libc::SIGTERM);
    for task in tasks {
        let (status, _, body) = task.await.unwrap();
        assert_eq!((status, body["outputs"].clone()), (200, json!({"answer": "finished"})), "{body}");
    }
    let status = server.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    assert!(server.stderr().contains("SIGTERM received"), "{}", server.stderr());
    assert!(client.get(server.url("/healthz")).send().await.is_err(), "still accepting after SIGTERM");
}

#[tokio::test]
async fn sigint_stops_an_idle_server_with_exit_0() {
    let plan = serve_process::example_plan();
    let mut server = ServeProcess::start(&plan, &[], &[]);
    server.wait_ready(READY_LIMIT).await;
    server.signal(libc::SIGINT);
    let status = server.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    assert!(server.stderr().contains("SIGINT received") && server.stderr().contains("stopped"), "{}", server.stderr());
}
