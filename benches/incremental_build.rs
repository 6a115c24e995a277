//! How incremental `flowc build` is, in wall time and model calls.
//!
//! Generates a 200-node workflow (a ladder of `llm(student)` nodes that repeat the
//! value they read and `code` nodes that pass it on, ending in a code node `result`
//! that, as written, returns its input where the training targets want `x + 1`),
//! writes it with a 3-example training set into a temporary folder, and builds it
//! three times through the library (`build_file`, as `flowc build` does, with the
//! lock and the call cache persisting between builds):
//!
//! 1. full: from nothing (no lock, empty call cache);
//! 2. no-op: the same file again;
//! 3. one edit: the prompt wording of one `llm` node in the middle changed.
//!
//! The models are rule-based test doubles (no network, no weights), so the times
//! are the optimiser's, the sandbox's and the cache's, not a model's. Model calls
//! are counted below the call cache (`CountingBackend`): a cache hit is not a call.
//! The student answers with the first number of its prompt (each llm node's prompt
//! names its step, so a full build asks the student once per node and example); the
//! teacher answers the gold-trace question with `{}` (only the output node has gold
//! values, the training targets) and the code-writing question with `return <arg> + 1`.
//!
//! Per build it counts the nodes reused from the lock (`NodeReused`) and the nodes
//! rebuilt (`NodeStarted`: their build key changed, so they were run and checked
//! against gold again; their model calls may still be call-cache hits).
//!
//! It prints one line per build, then, last:
//!
//! ```text
//! nodes=200 full_s=<..> full_calls=<..> noop_s=<..> noop_calls=<..> edit_s=<..> edit_calls=<..>
//! ```
//!
//! Run with `bench/incremental.sh`, or `cargo bench --bench incremental_build`. The
//! sandbox's worker binary is `FLOWC_SANDBOX_WORKER` when set, else the flowc that
//! cargo built for this benchmark (`CARGO_BIN_EXE_flowc`, the release profile), as
//! in `benches/code_node_latency.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use flowc::models::counting::CountingBackend;
use flowc::models::{ChatRequest, ChatResponse, ModelBackend, ModelError, ModelIdentity, Role};
use flowc::optimize::build_file::{build_file, BuildFileError, BuildFileOptions};
use flowc::optimize::descent::{BuildSummary, ModelProvider};
use flowc::optimize::events::{BuildEvent, EventSink};
use flowc::plan::from_source::PlanOptions;
use flowc::plan::lock_file::LockedModel;
use flowc::plan::LockFile;
use flowc::runtime::call_cache::CallCache;
use flowc::sandbox::{Sandbox, SandboxConfig};
use flowc::semantic::FlowDatabase;

/// Nodes of the generated workflow, `result` included.
const NODES: usize = 200;
/// The `llm` node whose prompt the one-node edit rewords (an even index: an llm node).
const EDITED: usize = 100;

/// A model that answers by a rule over the request.
struct RuleModel {
    name: &'static str,
    rule: fn(&ChatRequest) -> String,
}

#[async_trait]
impl ModelBackend for RuleModel {
    fn identity(&self) -> ModelIdentity {
        ModelIdentity { backend: "test".into(), model: self.name.into(), file_sha256: None, endpoint: None }
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let text = (self.rule)(request);
        Ok(ChatResponse { text, prompt_tokens: 100, completion_tokens: 20, prompt_seconds: None, generation_seconds: None })
    }
}

fn last_message(request: &ChatRequest) -> &str {
    request.messages.last().map(|message| message.content.as_str()).unwrap_or("")
}

fn first_user_message(request: &ChatRequest) -> &str {
    request.messages.iter().find(|message| message.role == Role::User).map(|message| message.content.as_str()).unwrap_or("")
}

/// The first number in `text` (an optional minus sign, digits, an optional fraction).
fn first_number(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let start = bytes.iter().position(u8::is_ascii_digit)?;
    let start = if start > 0 && bytes[start - 1] == b'-' { start - 1 } else { start };
    let mut end = start + 1;
    let mut seen_point = false;
    while end < bytes.len() {
        match bytes[end] {
            b'0'..=b'9' => end += 1,
            b'.' if !seen_point && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) => {
                seen_point = true;
                end += 1;
            }
            _ => break,
        }
    }
    Some(text[start..end].to_string())
}

/// The student: repeats the first number of its prompt.
fn student_rule(request: &ChatRequest) -> String {
    first_number(last_message(request)).unwrap_or_else(|| "0".into())
}

/// The teacher: no intermediate gold values; `return <arg> + 1` when asked for code.
fn teacher_rule(request: &ChatRequest) -> String {
    let first = first_user_message(request);
    if first.contains("For ONE example") {
        return "{}".into();
    }
    if first.contains("Write a deterministic Python function") {
        // `Signature: def run(v):` names the argument the plan wires.
        let argument = first
            .lines()
            .find_map(|line| line.trim().strip_prefix("Signature:"))
            .and_then(|signature| signature.split_once('(').map(|(_, rest)| rest))
            .and_then(|rest| rest.split([',', ')']).next())
            .map(|argument| argument.split(':').next().unwrap_or("").trim().to_string())
            .filter(|argument| !argument.is_empty())
            .unwrap_or_else(|| "v".into());
        return format!("```python\ndef run({argument}):\n    return {argument} + 1\n```");
    }
    "{}".into()
}

#[derive(Default)]
struct Counters {
    student: Arc<AtomicU64>,
    teacher: Arc<AtomicU64>,
}

impl Counters {
    fn student(&self) -> u64 {
        self.student.load(Ordering::SeqCst)
    }

    fn teacher(&self) -> u64 {
        self.teacher.load(Ordering::SeqCst)
    }
}

/// Returns the doubles by name, each behind a counter.
struct Doubles {
    models: BTreeMap<String, Arc<dyn ModelBackend>>,
}

#[async_trait]
impl ModelProvider for Doubles {
    async fn load(&self, name: &str, _model: &LockedModel) -> Result<Arc<dyn ModelBackend>, String> {
        self.models.get(name).cloned().ok_or_else(|| format!("no double for `{name}`"))
    }
}

fn doubles(counters: &Counters) -> Arc<Doubles> {
    let mut models: BTreeMap<String, Arc<dyn ModelBackend>> = BTreeMap::new();
    let student = RuleModel { name: "student", rule: student_rule };
    let teacher = RuleModel { name: "teacher", rule: teacher_rule };
    models.insert("student".into(), Arc::new(CountingBackend::new(Arc::new(student), Arc::clone(&counters.student))));
    models.insert("teacher".into(), Arc::new(CountingBackend::new(Arc::new(teacher), Arc::clone(&counters.teacher))));
    Arc::new(Doubles { models })
}

fn node_name(index: usize) -> String {
    if index + 1 == NODES {
        "result".into()
    } else {
        format!("n_{index}")
    }
}

/// Each llm node's prompt names its step, so that no two nodes send the student the
/// same request (the call cache would answer all but the first).
fn llm_prompt(read: &str, step: usize) -> String {
    format!("Value: {{{read}}}. Repeat the value (step {step}).")
}

fn edited_prompt(read: &str, step: usize) -> String {
    format!("Here is a value: {{{read}}}. Say it back, unchanged (step {step}).")
}

/// The generated `.flow` text: a ladder of `NODES` nodes from `x` to `answer`.
fn generated_flow() -> String {
    let mut text = String::from(
        r#"import "std/metrics" { numeric_match }

model student = openai("student") {
  base_url = "http://127.0.0.1:9/v1"
  temperature = 0
  seed = 0
}
model teacher = openai("teacher") {
  base_url = "http://127.0.0.1:9/v1"
  temperature = 0
  seed = 0
}

dataset train = jsonl("train.jsonl") {
  x = .input
  answer = .target
}

workflow ladder(x: number) -> (answer: number) {
"#,
    );
    for index in 0..NODES {
        let name = node_name(index);
        let read = if index == 0 { "x".to_string() } else { node_name(index - 1) };
        if index % 2 == 0 && index + 1 != NODES {
            text.push_str(&format!("  node {name} = llm(student) {{\n    prompt = \"{}\"\n    output = number\n  }}\n\n", llm_prompt(&read, index)));
        } else {
            text.push_str(&format!(
                "  node {name} = code {{\n    inputs {{\n      v: number = {read}\n    }}\n    source = \"\"\"\n      def run(v):\n          return v\n      \"\"\"\n    output = number\n  }}\n\n"
            ));
        }
    }
    text.push_str(
        r#"  answer = result
}

optimize ladder {
  teacher = teacher
  train = train
  metric = numeric_match
  moves = [prompt, offload]
  budget {
    teacher_calls = 50
  }
}
"#,
    );
    text
}

/// The project folder: the .flow file, its training data, the lock, the call cache.
struct Project {
    directory: PathBuf,
}

impl Project {
    fn new() -> Project {
        let directory = std::env::temp_dir().join(format!("flowc-bench-incremental-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).expect("a temporary folder");
        std::fs::write(directory.join("ladder.flow"), generated_flow()).expect("the .flow file");
        // answer = x + 1; the inputs avoid digits the code could hard-code.
        let train = "{\"input\": 7, \"target\": 8}\n{\"input\": 12, \"target\": 13}\n{\"input\": 30, \"target\": 31}\n";
        std::fs::write(directory.join("train.jsonl"), train).expect("the training set");
        Project { directory }
    }

    fn flow_path(&self) -> PathBuf {
        self.directory.join("ladder.flow")
    }

    fn lock_path(&self) -> PathBuf {
        self.directory.join("flow.lock")
    }

    fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.flow_path()).expect("the .flow file");
        assert!(text.contains(from), "the edit's anchor `{from}` is not in the file");
        std::fs::write(self.flow_path(), text.replacen(from, to, 1)).expect("the edited .flow file");
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

struct Measured {
    seconds: f64,
    student_calls: u64,
    teacher_calls: u64,
    reused: usize,
    started: usize,
    kept: usize,
    summary: BuildSummary,
}

impl Measured {
    fn calls(&self) -> u64 {
        self.student_calls + self.teacher_calls
    }
}

/// One `flowc build`: a fresh database and sandbox, the previous lock passed back
/// in, the lock written as the CLI writes it. Timed from reading the file to the
/// written lock.
fn build(runtime: &tokio::runtime::Runtime, project: &Project, worker: &Path) -> Measured {
    let counters = Counters::default();
    let events: Arc<Mutex<Vec<BuildEvent>>> = Arc::default();
    let sink_events = Arc::clone(&events);
    let sink: EventSink = Arc::new(move |event: &BuildEvent| sink_events.lock().expect("events").push(event.clone()));
    let started = Instant::now();
    let options = BuildFileOptions {
        provider: doubles(&counters),
        sandbox: Sandbox::new(SandboxConfig::for_worker_program(worker)).expect("the sandbox starts"),
        cache: Some(CallCache::new(project.directory.join("cache"))),
        jobs: 4,
        events: sink,
        plan: PlanOptions { hash_model_files: false },
    };
    let mut database = FlowDatabase::default();
    let file = database.set_file_text(&project.flow_path(), std::fs::read_to_string(project.flow_path()).expect("the .flow file"));
    let previous = std::fs::read_to_string(project.lock_path()).ok().map(|text| LockFile::from_toml(&text).expect("the lock reads back"));
    let result = runtime.block_on(build_file(&database, file, &project.lock_path(), previous.as_ref(), &options));
    let (lock, mut summaries) = match result {
        Ok(built) => built,
        Err(BuildFileError::Diagnostics(diagnostics)) => {
            panic!("the generated workflow has {} diagnostic(s): {:#?}", diagnostics.len(), diagnostics.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>())
        }
        Err(BuildFileError::Failed(message)) => panic!("the build failed: {message}"),
    };
    std::fs::write(project.lock_path(), lock.to_toml()).expect("the lock is written");
    let seconds = started.elapsed().as_secs_f64();
    let events = events.lock().expect("events");
    let count = |wanted: fn(&BuildEvent) -> bool| events.iter().filter(|event| wanted(event)).count();
    Measured {
        seconds,
        student_calls: counters.student(),
        teacher_calls: counters.teacher(),
        reused: count(|event| matches!(event, BuildEvent::NodeReused { .. })),
        started: count(|event| matches!(event, BuildEvent::NodeStarted { .. })),
        kept: count(|event| matches!(event, BuildEvent::ChangeKept { .. })),
        summary: summaries.pop().expect("the workflow is optimised"),
    }
}

fn report(label: &str, measured: &Measured) {
    let summary = &measured.summary;
    println!(
        "{label:<8} {:>8.3} s  model calls {:>4} (student {}, teacher {})  nodes reused {}, rebuilt {}, changes kept {}  training {}/{} passed, stopped: {}",
        measured.seconds,
        measured.calls(),
        measured.student_calls,
        measured.teacher_calls,
        measured.reused,
        measured.started,
        measured.kept,
        summary.train_passed_after,
        summary.train_examples,
        summary.stopped,
    );
}

fn main() {
    let worker = std::env::var_os("FLOWC_SANDBOX_WORKER").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_flowc")));
    println!("worker: {}", worker.display());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let project = Project::new();
    println!("workflow: {NODES} nodes ({} llm, {} code), 3 training examples, in {}", NODES / 2, NODES - NODES / 2, project.directory.display());

    let full = build(&runtime, &project, &worker);
    report("full", &full);
    let result = full.summary.nodes.iter().find(|node| node.node == "result").map(|node| node.outcome.as_str()).unwrap_or("?");
    println!("         result: {result}");

    let noop = build(&runtime, &project, &worker);
    report("no-op", &noop);
    println!("         reused_all: {}", noop.summary.reused_all);

    let read = node_name(EDITED - 1);
    project.edit(&llm_prompt(&read, EDITED), &edited_prompt(&read, EDITED));
    let edit = build(&runtime, &project, &worker);
    report("one-edit", &edit);
    println!("         edited: {} (prompt reworded)", node_name(EDITED));

    println!(
        "nodes={NODES} full_s={:.3} full_calls={} noop_s={:.3} noop_calls={} edit_s={:.3} edit_calls={}",
        full.seconds,
        full.calls(),
        noop.seconds,
        noop.calls(),
        edit.seconds,
        edit.calls(),
    );
}
