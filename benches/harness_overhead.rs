//! The cost of flowc's harness around model calls: a plan run (template rendering,
//! scheduling, output parsing, tracing) against the bare backend calls it makes, with
//! the same prompts, on the real SmolLM2 model, caches off.
//!
//! Prints `harness_overhead_percent=<..>` last (target: ≤ 2).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use flowc::models::mistralrs_backend::MistralRsBackend;
use flowc::models::model_files::model_cache_dir;
use flowc::models::{ChatMessage, ChatRequest, ModelBackend, OutputConstraint, Role};
use flowc::plan::fingerprint::file_sha256;
use flowc::plan::from_source::{build_lock, PlanOptions};
use flowc::runtime::executor::{decoding_parameters, WorkflowExecutor};
use flowc::runtime::values::{render_template, Environment};
use flowc::sandbox::{Sandbox, SandboxConfig};
use flowc::semantic::FlowDatabase;

const WORKFLOW: &str = r#"model student = gguf("SmolLM2-135M-Instruct.Q4_1.gguf") {
  temperature = 0
  seed = 0
  max_tokens = 24
}

workflow answer(question: text) -> (reply: text) {
  node reply = llm(student) {
    system = "You answer in one short sentence."
    prompt = "Question: {question}"
    output = text
  }
  reply = reply
}
"#;

const QUESTIONS: [&str; 6] = [
    "What colour is the sky?",
    "How many legs does a spider have?",
    "What is the capital of France?",
    "Why do ducks float?",
    "What is 12 times 3?",
    "Name a fruit that is yellow.",
];

#[tokio::main]
async fn main() {
    let directory = std::env::temp_dir().join(format!("flowc-overhead-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let source = directory.join("answer.flow");
    std::fs::write(&source, WORKFLOW).unwrap();
    let mut database = FlowDatabase::default();
    let file = database.set_file_text(&source, WORKFLOW.to_string());
    let lock = build_lock(&database, file, &directory.join("flow.lock"), &PlanOptions { hash_model_files: true }).unwrap_or_else(|_| panic!("the plan builds; is the model fetched?"));
    let workflow = lock.workflows[0].clone();
    let node = workflow.nodes[0].clone();

    let path = model_cache_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let backend: Arc<dyn ModelBackend> = Arc::new(MistralRsBackend::load(&path, file_sha256(&path).unwrap()).await.expect("the model loads"));
    let worker = std::env::var_os("FLOWC_BINARY").map(std::path::PathBuf::from).unwrap_or_else(|| std::path::PathBuf::from("target/release/flowc"));
    let executor = Arc::new(WorkflowExecutor {
        workflow,
        models: HashMap::from([("student".to_string(), backend.clone())]),
        sandbox: Sandbox::new(SandboxConfig::for_worker_program(worker)).expect("the sandbox starts"),
        cache: None,
        permits: Arc::new(tokio::sync::Semaphore::new(1)),
    });
    let bare_requests: Vec<ChatRequest> = QUESTIONS
        .iter()
        .map(|question| {
            let mut environment = Environment::new();
            environment.insert("question".into(), serde_json::Value::String(question.to_string()));
            ChatRequest {
                messages: vec![
                    ChatMessage { role: Role::System, content: render_template(node.system.as_deref().unwrap(), &environment).unwrap() },
                    ChatMessage { role: Role::User, content: render_template(node.prompt.as_deref().unwrap(), &environment).unwrap() },
                ],
                decoding: decoding_parameters(node.decoding.as_ref()),
                constraint: OutputConstraint::None,
            }
        })
        .collect();
    backend.chat(&bare_requests[0]).await.expect("warm-up");

    let (mut plan_seconds, mut bare_seconds) = (0.0, 0.0);
    // Inside each plan run, the time not spent in backend calls is the harness's own:
    // a figure free of the model's run-to-run variance.
    let (mut run_milliseconds, mut call_milliseconds) = (0.0, 0.0);
    for round in 0..3 {
        // Alternate the order so that drift (thermal, caches) hits both sides alike.
        for side in if round % 2 == 0 { ["plan", "bare"] } else { ["bare", "plan"] } {
            let started = Instant::now();
            if side == "plan" {
                for question in QUESTIONS {
                    let mut inputs = serde_json::Map::new();
                    inputs.insert("question".into(), serde_json::Value::String(question.to_string()));
                    let trace = executor.run(inputs).await;
                    assert!(trace.error.is_none(), "{:?}", trace.error);
                    run_milliseconds += trace.milliseconds;
                    call_milliseconds += trace.nodes.iter().flat_map(|node| &node.calls).map(|call| call.milliseconds).sum::<f64>();
                }
                plan_seconds += started.elapsed().as_secs_f64();
            } else {
                for request in &bare_requests {
                    backend.chat(request).await.expect("bare call");
                }
                bare_seconds += started.elapsed().as_secs_f64();
            }
        }
    }
    let end_to_end = 100.0 * (plan_seconds - bare_seconds) / bare_seconds;
    let in_trace = 100.0 * (run_milliseconds - call_milliseconds) / call_milliseconds;
    println!("plan runs: {plan_seconds:.3} s, bare backend calls: {bare_seconds:.3} s ({} calls each side)", 3 * QUESTIONS.len());
    println!("end-to-end difference: {end_to_end:.2}% (includes the model's own run-to-run variance)");
    println!("harness time outside model calls: {:.1} ms of {:.1} ms", run_milliseconds - call_milliseconds, run_milliseconds);
    println!("harness_overhead_percent={in_trace:.3} end_to_end_difference_percent={end_to_end:.2}");
    let _ = std::fs::remove_dir_all(&directory);
}
