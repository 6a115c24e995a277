//! `flowc serve` end to end on the committed code-only example plan: the real
//! binary on a loopback port, real HTTP. Same bytes as `flowc run`, the JSON errors
//! with their codes, the plan description, metrics, the bearer token, body logging,
//! a stale plan, and `flowc graph --format svg` drawing the page's picture.

#[path = "support/serve_process.rs"]
mod serve_process;

use std::time::Duration;

use serde_json::{json, Value};
use serve_process::{example_inputs, example_plan, flowc, lock_flow, scratch_folder, ServeProcess};

const READY_LIMIT: Duration = Duration::from_secs(60);

async fn post(client: &reqwest::Client, url: &str, body: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = client.post(url).header("content-type", "application/json").body(body.to_string()).send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("a body"))
}

fn error_of(body: &str) -> Value {
    let value: Value = serde_json::from_str(body).unwrap_or_else(|error| panic!("not JSON ({error}): {body}"));
    let error = value["error"].clone();
    assert!(error["code"].is_string() && error["message"].is_string() && error["help"].is_string(), "{body}");
    error
}

#[tokio::test]
async fn answers_are_the_bytes_flowc_run_writes() {
    let inputs_path = example_inputs();
    let (code, run_stdout, run_stderr) = flowc(&["run", example_plan().to_str().unwrap(), "--inputs", inputs_path.to_str().unwrap()]);
    assert_eq!(code, 0, "{run_stderr}");
    let run_lines: Vec<&str> = run_stdout.lines().collect();
    assert_eq!(run_lines.len(), 3);

    let server = ServeProcess::start(&example_plan(), &[], &[]);
    server.wait_ready(READY_LIMIT).await;
    let client = reqwest::Client::new();
    let inputs = std::fs::read_to_string(&inputs_path).unwrap();
    for (input, run_line) in inputs.lines().zip(&run_lines) {
        let (status, headers, body) = post(&client, &server.url("/v1/workflows/solve:run"), input).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["content-type"], "application/json");
        let expected_start = format!("{{\"outputs\":{run_line},\"plan_fingerprint\":\"");
        assert!(body.starts_with(&expected_start), "served {body}\nflowc run wrote {run_line}");
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["plan_fingerprint"].as_str().unwrap().len(), 64);
        assert!(value["took_ms"].as_f64().unwrap() >= 0.0);
    }
    // A batch is byte for byte the output file of `flowc run --inputs`.
    let (status, headers, body) = post(&client, &server.url("/v1/workflows/solve:batch"), &inputs).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "application/x-ndjson");
    assert_eq!(body, run_stdout);

    // ?trace=true adds the trace `flowc run --trace` writes.
    let first = inputs.lines().next().unwrap();
    let (status, _, body) = post(&client, &server.url("/v1/workflows/solve:run?trace=true"), first).await;
    assert_eq!(status, 200);
    let value: Value = serde_json::from_str(&body).unwrap();
    let nodes: Vec<&str> = value["trace"]["nodes"].as_array().unwrap().iter().map(|node| node["node"].as_str().unwrap()).collect();
    assert_eq!(nodes, ["extract", "compute"]);
    assert_eq!(value["trace"]["outputs"], value["outputs"]);
}

#[tokio::test]
async fn bad_input_and_unknown_routes_get_json_errors_with_stable_codes() {
    let server = ServeProcess::start(&example_plan(), &["--body-limit", "2000"], &[]);
    server.wait_ready(READY_LIMIT).await;
    let client = reqwest::Client::new();
    let run = server.url("/v1/workflows/solve:run");

    let (status, _, body) = post(&client, &run, r#"{"question": 42}"#).await;
    assert_eq!(status, 400);
    let error = error_of(&body);
    assert_eq!(error["code"], "invalid_input");
    assert_eq!(error["field"], "question");
    assert!(error["message"].as_str().unwrap().contains("must be text, found an integer (42)"), "{body}");

    let (status, _, body) = post(&client, &run, "{}").await;
    assert_eq!((status, error_of(&body)["code"].clone()), (400, json!("invalid_input")));
    assert!(error_of(&body)["message"].as_str().unwrap().contains("`question` is missing"), "{body}");

    let (status, _, body) = post(&client, &run, r#"{"question": "q", "questoin": "q"}"#).await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&body)["code"], "unknown_input");
    assert!(error_of(&body)["message"].as_str().unwrap().contains("did you mean `question`"), "{body}");

    let (status, _, body) = post(&client, &run, "{not json").await;
    assert_eq!((status, error_of(&body)["code"].clone()), (400, json!("invalid_json")));

    let (status, _, body) = post(&client, &server.url("/v1/workflows/solve:batch"), "{\"question\": \"a\"}\n\n{\"question\": 1}\n").await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&body)["field"], "line 3: question", "{body}");

    let (status, _, body) = post(&client, &server.url("/v1/workflows/nope:run"), r#"{"question": "q"}"#).await;
    assert_eq!(status, 404);
    assert_eq!(error_of(&body)["code"], "unknown_workflow");
    assert!(error_of(&body)["message"].as_str().unwrap().contains("it has: solve"), "{body}");

    let (status, _, body) = post(&client, &server.url("/v1/workflows/solve:walk"), "{}").await;
    assert_eq!((status, error_of(&body)["code"].clone()), (404, json!("unknown_action")));

    let response = client.get(server.url("/nowhere")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(error_of(&response.text().await.unwrap())["code"], "not_found");

    let response = client.get(run.clone()).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(error_of(&response.text().await.unwrap())["code"], "method_not_allowed");

    let large = format!("{{\"question\": \"{}\"}}", "x".repeat(5000));
    let (status, _, body) = post(&client, &run, &large).await;
    assert_eq!(status, 413);
    assert_eq!(error_of(&body)["code"], "body_too_large");

    // The server lives on and still answers correctly.
    let (status, _, body) = post(&client, &run, &std::fs::read_to_string(example_inputs()).unwrap().lines().next().unwrap().to_string()).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_plan_probes_and_metrics_describe_the_server() {
    let server = ServeProcess::start(&example_plan(), &[], &[]);
    server.wait_ready(READY_LIMIT).await;
    let client = reqwest::Client::new();
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let plan: Value = client.get(server.url("/v1/plan")).send().await.unwrap().json().await.unwrap();
    let workflow = &plan["workflows"][0];
    assert_eq!(workflow["name"], "solve");
    assert_eq!(workflow["input_schema"]["properties"]["question"]["type"], "string");
    assert_eq!(workflow["input_schema"]["required"], json!(["question"]));
    assert_eq!(workflow["output_schema"]["properties"]["answer"]["type"], "number");
    assert_eq!(workflow["build"]["train_passed_after"], 3);
    assert!(plan["models"]["student"]["file_sha256"].is_string());

    let first = std::fs::read_to_string(example_inputs()).unwrap().lines().next().unwrap().to_string();
    for _ in 0..3 {
        assert_eq!(post(&client, &server.url("/v1/workflows/solve:run"), &first).await.0, 200);
    }
    assert_eq!(post(&client, &server.url("/v1/workflows/solve:run"), "{}").await.0, 400);
    let metrics = client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("flowc_http_requests_total{route=\"run\",status=\"200\"} 3"), "{metrics}");
    assert!(metrics.contains("flowc_http_requests_total{route=\"run\",status=\"400\"} 1"), "{metrics}");
    assert!(metrics.contains("flowc_workflow_run_seconds_count{workflow=\"solve\"} 3"), "{metrics}");
    assert!(metrics.contains("flowc_node_seconds_count{workflow=\"solve\",node=\"compute\"} 3"), "{metrics}");
    for family in ["flowc_queue_depth", "flowc_in_flight_requests", "flowc_sandbox_worker_restarts_total"] {
        assert!(metrics.contains(family), "{family} missing from\n{metrics}");
    }
}

#[tokio::test]
async fn a_bearer_token_is_required_compared_and_never_shown() {
    let token = "serve-test-token-7f3a9c";
    let server = ServeProcess::start(&example_plan(), &["--token-env", "FLOWC_SERVE_TEST_TOKEN"], &[("FLOWC_SERVE_TEST_TOKEN", token)]);
    server.wait_ready(READY_LIMIT).await;
    let client = reqwest::Client::new();
    let first = std::fs::read_to_string(example_inputs()).unwrap().lines().next().unwrap().to_string();
    let run = server.url("/v1/workflows/solve:run");
    let (status, headers, body) = post(&client, &run, &first).await;
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], "Bearer");
    assert_eq!(error_of(&body)["code"], "unauthorized");
    let wrong = client.post(&run).bearer_auth("serve-test-token-7f3a9d").body(first.clone()).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = client.post(&run).bearer_auth(token).body(first.clone()).send().await.unwrap();
    assert_eq!(right.status(), 200);
    let right_body = right.text().await.unwrap();
    // Probes stay open for the load balancer.
    assert_eq!(client.get(server.url("/readyz")).send().await.unwrap().status(), 200);
    assert_eq!(client.get(server.url("/metrics")).send().await.unwrap().status(), 401);
    let metrics = client.get(server.url("/metrics")).bearer_auth(token).send().await.unwrap().text().await.unwrap();
    let plan = client.get(server.url("/v1/plan")).bearer_auth(token).send().await.unwrap().text().await.unwrap();
    let page = client.get(server.url("/")).bearer_auth(token).send().await.unwrap().text().await.unwrap();
    for (what, text) in [("a response", right_body.as_str()), ("/metrics", &metrics), ("/v1/plan", &plan), ("the page", &page), ("the log", &server.stderr())] {
        assert!(!text.contains(token), "the token appears in {what}");
    }
    // Bodies are not logged by default.
    assert!(!server.stderr().contains("cocoa"), "{}", server.stderr());
}

#[tokio::test]
async fn bodies_are_logged_only_with_log_bodies() {
    let server = ServeProcess::start(&example_plan(), &["--log-bodies"], &[]);
    server.wait_ready(READY_LIMIT).await;
    let client = reqwest::Client::new();
    let first = std::fs::read_to_string(example_inputs()).unwrap().lines().next().unwrap().to_string();
    assert_eq!(post(&client, &server.url("/v1/workflows/solve:run"), &first).await.0, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(server.stderr().contains("POST /v1/workflows/solve:run 200"), "{}", server.stderr());
    assert!(server.stderr().contains("cocoa"), "{}", server.stderr());
}

#[test]
fn a_stale_plan_is_refused_with_the_message_flowc_run_gives() {
    let folder = scratch_folder("serve-stale");
    let source = r#"workflow add(a: number, b: number) -> (sum: number) {
  node total = code {
    inputs {
      a: number = a
      b: number = b
    }
    source = """
      def run(a, b):
          return a + b
      """
    output = number
  }
  sum = total
}
"#;
    let plan = lock_flow(&folder, "add", source);
    std::fs::write(folder.join("add.flow"), source.replace("return a + b", "return a - b")).unwrap();
    let (run_code, _, run_stderr) = flowc(&["run", plan.to_str().unwrap(), "--input", r#"{"a": 1, "b": 2}"#]);
    let (serve_code, _, serve_stderr) = flowc(&["serve", plan.to_str().unwrap(), "--addr", "127.0.0.1:0"]);
    assert_eq!(run_code, 1, "{run_stderr}");
    assert_eq!(serve_code, 1, "{serve_stderr}");
    assert!(run_stderr.contains("is stale"), "{run_stderr}");
    assert_eq!(serve_stderr, run_stderr);
}

#[tokio::test]
async fn flowc_graph_svg_draws_the_picture_of_the_plan_page() {
    let folder = scratch_folder("serve-graph");
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/templated_shopping_change/shopping_change.flow")).unwrap();
    // The same workflow without its optimize block and datasets: a plan as written.
    let workflow_only = source[source.find("model student").unwrap()..source.find("optimize solve").unwrap()]
        .replace(&source[source.find("model teacher").unwrap()..source.find("workflow solve").unwrap()], "");
    let flow = folder.join("shopping.flow");
    std::fs::write(&flow, &workflow_only).unwrap();
    let (code, svg, stderr) = flowc(&["graph", flow.to_str().unwrap(), "--format", "svg"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(svg.starts_with("<?xml") && svg.contains("<svg") && svg.contains("extract") && svg.contains("question: text"), "{svg}");
    let plan = folder.join("shopping.lock");
    let (code, _, stderr) = flowc(&["lock", flow.to_str().unwrap(), "-o", plan.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let server = ServeProcess::start(&plan, &[], &[]);
    let page = reqwest::get(server.url("/")).await.unwrap().text().await.unwrap();
    let inline = &svg[svg.find("<svg").unwrap()..];
    assert!(page.contains(inline), "the page does not embed the picture `flowc graph --format svg` writes");
}
