//! `flowc build`'s optimiser with test doubles: a scripted teacher and student that
//! answer from rules, behind a counting wrapper. Covers every move, revert, budget
//! exhaustion, a bad teacher, and the incremental guarantees counted in model
//! calls. The real end-to-end build (real GGUF models) is `bench/task_families.sh`
//! and the README's figures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use flowc::models::counting::CountingBackend;
use flowc::models::{ChatRequest, ChatResponse, ModelBackend, ModelError, ModelIdentity, ScoreRequest, ScoreResponse};
use flowc::optimize::build_file::{build_file, BuildFileError, BuildFileOptions};
use flowc::optimize::descent::{BuildSummary, ModelProvider};
use flowc::optimize::events::{BuildEvent, EventSink};
use flowc::plan::from_source::PlanOptions;
use flowc::plan::lock_file::LockedModel;
use flowc::plan::LockFile;
use flowc::runtime::call_cache::CallCache;
use flowc::sandbox::{Sandbox, SandboxConfig};
use flowc::semantic::FlowDatabase;
use serde_json::{json, Value};

#[path = "support/pens_task.rs"]
mod pens_task;

use pens_task::{numbers_in, sloppy_student_reply, teacher_reply, RIGHT_FORMULA, TRAIN};

/// A model that answers by a rule over the request's last message.
struct RuleModel {
    name: String,
    rule: Box<dyn Fn(&ChatRequest) -> Result<String, ModelError> + Send + Sync>,
}

#[async_trait]
impl ModelBackend for RuleModel {
    fn identity(&self) -> ModelIdentity {
        ModelIdentity { backend: "test".into(), model: self.name.clone(), file_sha256: None, endpoint: None }
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let text = (self.rule)(request)?;
        Ok(ChatResponse { text, prompt_tokens: 100, completion_tokens: 20, prompt_seconds: None, generation_seconds: None })
    }
}

fn last_message(request: &ChatRequest) -> &str {
    request.messages.last().map(|message| message.content.as_str()).unwrap_or("")
}

fn first_message(request: &ChatRequest) -> &str {
    request.messages.iter().find(|message| message.role == flowc::models::Role::User).map(|message| message.content.as_str()).unwrap_or("")
}

/// What a keyword-classifier request asks words for (one class per request since
/// v20): the class's description in the node's prompt, or the class name where
/// the prompt gives none; none for any other request.
fn class_of_word_request(prompt: &str) -> Option<String> {
    let rest = prompt.split_once("Texts of one class are about: ")?.1;
    Some(rest.split_once(".\n")?.0.to_string())
}

struct Doubles {
    models: BTreeMap<String, Arc<dyn ModelBackend>>,
    teacher_calls: Arc<AtomicU64>,
    student_calls: Arc<AtomicU64>,
}

#[async_trait]
impl ModelProvider for Doubles {
    async fn load(&self, name: &str, _model: &LockedModel) -> Result<Arc<dyn ModelBackend>, String> {
        self.models.get(name).cloned().ok_or_else(|| format!("no double for `{name}`"))
    }
}

fn doubles(student: RuleModel, teacher: RuleModel) -> Arc<Doubles> {
    let teacher_calls = Arc::new(AtomicU64::new(0));
    let student_calls = Arc::new(AtomicU64::new(0));
    let mut models: BTreeMap<String, Arc<dyn ModelBackend>> = BTreeMap::new();
    models.insert("student".into(), Arc::new(CountingBackend::new(Arc::new(student), Arc::clone(&student_calls))));
    models.insert("teacher".into(), Arc::new(CountingBackend::new(Arc::new(teacher), Arc::clone(&teacher_calls))));
    Arc::new(Doubles { models, teacher_calls, student_calls })
}

/// A project folder: the .flow file, its training data, a call cache.
struct Project {
    directory: PathBuf,
}

impl Project {
    fn new(name: &str, flow: &str, train: &[Value]) -> Project {
        let directory = std::env::temp_dir().join(format!("flowc-optimize-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::write(directory.join("task.flow"), flow).unwrap();
        let lines: Vec<String> = train.iter().map(Value::to_string).collect();
        std::fs::write(directory.join("train.jsonl"), lines.join("\n") + "\n").unwrap();
        Project { directory }
    }

    fn flow_path(&self) -> PathBuf {
        self.directory.join("task.flow")
    }

    fn lock_path(&self) -> PathBuf {
        self.directory.join("flow.lock")
    }

    fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.flow_path()).unwrap();
        assert!(text.contains(from), "the edit's anchor `{from}` is not in the file");
        std::fs::write(self.flow_path(), text.replacen(from, to, 1)).unwrap();
    }

    /// One `flowc build`; the lock is written like the CLI writes it.
    async fn build(&self, provider: Arc<Doubles>) -> Result<(LockFile, Vec<BuildSummary>, Vec<BuildEvent>), String> {
        let events: Arc<Mutex<Vec<BuildEvent>>> = Arc::default();
        let sink_events = Arc::clone(&events);
        let sink: EventSink = Arc::new(move |event: &BuildEvent| sink_events.lock().unwrap().push(event.clone()));
        let options = BuildFileOptions {
            provider,
            sandbox: Sandbox::new(SandboxConfig::for_worker_program(env!("CARGO_BIN_EXE_flowc"))).unwrap(),
            cache: Some(CallCache::new(self.directory.join("cache"))),
            jobs: 4,
            events: sink,
            plan: PlanOptions { hash_model_files: false },
        };
        let mut database = FlowDatabase::default();
        let file = database.set_file_text(&self.flow_path(), std::fs::read_to_string(self.flow_path()).unwrap());
        let previous = std::fs::read_to_string(self.lock_path()).ok().map(|text| LockFile::from_toml(&text).unwrap());
        let (lock, summaries) = build_file(&database, file, &self.lock_path(), previous.as_ref(), &options).await.map_err(|error| match error {
            BuildFileError::Diagnostics(diagnostics) => format!("{} diagnostic(s)", diagnostics.len()),
            BuildFileError::Failed(message) => message,
        })?;
        std::fs::write(self.lock_path(), lock.to_toml()).unwrap();
        let events = events.lock().unwrap().clone();
        Ok((lock, summaries, events))
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

const MODELS: &str = r#"
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
"#;

/// The GSM-Hard shape: the student extracts numbers, code computes.
fn extraction_flow(budget: &str) -> String {
    format!(
        r#"import "std/metrics" {{ numeric_match }}
{MODELS}
dataset train = jsonl("train.jsonl") {{
  question = .input
  answer = .target
}}

workflow solve(question: text) -> (answer: number) {{
  node extract = llm(student) {{
    system = "Copy every number of the problem, in order."
    prompt = "Problem: {{question}}"
    output = json {{ quantities: [number] }}
  }}

  // a comment that edits must not count
  node compute = code {{
    inputs {{
      numbers: [number] = extract.quantities
    }}
    source = """
      def run(numbers):
          return sum(numbers)
      """
    output = number
  }}

  answer = compute
}}

{}"#,
        optimize_solve("prompt, offload, consensus, topology", budget)
    )
}

/// The optimize block of the flows here: `moves` and the `budget` lines.
fn optimize_solve(moves: &str, budget: &str) -> String {
    format!(
        r#"optimize solve {{
  teacher = teacher
  train = train
  metric = numeric_match(rel_tol = 1e-6)
  moves = [{moves}]
  budget {{
    {budget}
  }}
}}
"#
    )
}

fn train_examples() -> Vec<Value> {
    TRAIN.iter().map(|(input, target)| json!({"input": input, "target": target})).collect()
}

/// A student that drops the last number (the kind of mistake a 135M model makes).
fn sloppy_student() -> RuleModel {
    RuleModel { name: "student".into(), rule: Box::new(|request| Ok(sloppy_student_reply(last_message(request)))) }
}

/// A teacher that knows the task: gold traces, and the right code after one wrong
/// draft (to exercise execution feedback).
fn good_teacher() -> RuleModel {
    RuleModel { name: "teacher".into(), rule: Box::new(|request| Ok(teacher_reply(first_message(request), last_message(request)))) }
}

fn node<'a>(lock: &'a LockFile, name: &str) -> &'a flowc::plan::lock_file::LockedNode {
    lock.workflows[0].nodes.iter().find(|node| node.name == name).unwrap_or_else(|| panic!("no node `{name}`"))
}

#[tokio::test]
async fn a_rebuild_that_finds_less_than_the_lock_keeps_the_previous_plan() {
    let project = Project::new("previous-plan", &extraction_flow("iterations = 3\n    teacher_calls = 40"), &train_examples());
    let (first, _, _) = project.build(doubles(sloppy_student(), good_teacher())).await.unwrap();
    assert_eq!(first.workflows[0].build.as_ref().unwrap().train_passed_after, 3);
    let code_before = node(&first, "compute").code.clone();
    assert!(code_before.as_deref().unwrap().contains(RIGHT_FORMULA));
    // Another budget changes every key, as a new optimiser version does; the call
    // cache is gone (a new machine); and the teacher, asked again, never writes
    // code that passes.
    project.edit("teacher_calls = 40", "teacher_calls = 30");
    std::fs::remove_dir_all(project.directory.join("cache")).unwrap();
    let worse = RuleModel {
        name: "teacher".into(),
        rule: Box::new(|request| {
            let (first, last) = (first_message(request), last_message(request));
            Ok(if last.contains("I ran your function") { "```python\ndef run(numbers):\n    return numbers[0] * numbers[1]\n```".to_string() } else { teacher_reply(first, last) })
        }),
    };
    let (second, summaries, events) = project.build(doubles(sloppy_student(), worse)).await.unwrap();
    let build = second.workflows[0].build.as_ref().unwrap();
    assert_eq!(build.train_passed_after, 3, "{:#?}", summaries[0].nodes);
    assert_eq!(node(&second, "compute").code, code_before);
    assert!(summaries[0].nodes.iter().all(|outcome| outcome.outcome.starts_with("kept from the previous lock")), "{:#?}", summaries[0].nodes);
    assert!(events.iter().any(|event| matches!(event, BuildEvent::Validated { note, passed: 3, .. } if note.contains("previous lock"))));
    // Kept under this build's keys: the next build reuses every node.
    let (_, summaries, _) = project.build(doubles(sloppy_student(), good_teacher())).await.unwrap();
    assert!(summaries[0].reused_all, "{:#?}", summaries[0].nodes);
}

#[tokio::test]
async fn offload_moves_fix_extraction_and_computation_and_the_bound_is_recorded() {
    let project = Project::new("offload", &extraction_flow("iterations = 3\n    teacher_calls = 40"), &train_examples());
    let provider = doubles(sloppy_student(), good_teacher());
    let (lock, summaries, events) = project.build(Arc::clone(&provider)).await.unwrap();
    let extract = node(&lock, "extract");
    assert_eq!(extract.kind, "code", "extraction offloaded to the numbers_in capability");
    assert_eq!(extract.provenance.origin, "offload");
    assert!(extract.code.as_deref().unwrap().contains("def numbers_in"));
    let compute = node(&lock, "compute");
    assert_eq!(compute.provenance.origin, "offload", "{:#?}\n{events:#?}", summaries[0].nodes);
    assert!(compute.code.as_deref().unwrap().contains(RIGHT_FORMULA), "{:?}", compute.code);
    assert!(compute.provenance.critique.as_deref().unwrap().contains("feedback round 1"), "the second draft, after feedback: {:?}", compute.provenance.critique);
    let build = lock.workflows[0].build.as_ref().unwrap();
    assert_eq!((build.train_passed_before, build.train_passed_after), (0, 3));
    assert_eq!(build.stopped, "all-passed");
    assert_eq!(build.pac.kind, "realisable");
    let expected_epsilon = ((build.hypotheses_tried as f64).ln() + (20f64).ln()) / 3.0;
    assert!((build.pac.epsilon - expected_epsilon).abs() < 1e-5);
    assert!(events.iter().any(|event| matches!(event, BuildEvent::ChangeKept { node, .. } if node == "compute")));
    assert_eq!(summaries[0].train_passed_after, 3);
    // The lock reads back and is what was written.
    let reread = LockFile::from_toml(&std::fs::read_to_string(project.lock_path()).unwrap()).unwrap();
    assert_eq!(reread, lock);
    assert!(provider.teacher_calls.load(Ordering::SeqCst) >= 5, "gold traces and code drafts");
}

#[tokio::test]
async fn a_change_that_lowers_the_training_metric_is_reverted() {
    // The teacher's gold trace is wrong about `compute` for the intermediate
    // node... here, about the extraction: it claims the numbers are doubled. The
    // student extracts correctly, so matching the teacher would break the answer.
    let examples = vec![
        json!({"input": "Ann has 12 boxes of 40 pens and gives away 7 pens.", "target": 473}),
        json!({"input": "Bo has 3 boxes of 1500 pens and gives away 20 pens.", "target": 4480}),
        json!({"input": "Cy has 9 boxes of 25 pens and gives away 5 pens.", "target": 999999}),
    ];
    let project = Project::new("revert", &extraction_flow("iterations = 1\n    teacher_calls = 30").replace("return sum(numbers)", "return numbers[0] * numbers[1] - numbers[2]"), &examples);
    let exact_student = RuleModel {
        name: "student".into(),
        rule: Box::new(|request| {
            let numbers: Vec<f64> = numbers_in(last_message(request));
            Ok(json!({"quantities": numbers}).to_string())
        }),
    };
    let misleading_teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(|request| {
            let first = first_message(request);
            if first.contains("For ONE example") {
                let inputs_line = first.split("Example inputs:").nth(1).unwrap_or("");
                let numbers: Vec<f64> = numbers_in(inputs_line.split("Expected final output").next().unwrap_or("")).iter().map(|number| number * 2.0).collect();
                return Ok(json!({"extract": {"quantities": numbers}}).to_string());
            }
            if first.contains("Write a deterministic Python function") {
                return Ok("```python\ndef run(question):\n    found = []\n    for word in question.replace('.', ' ').split(' '):\n        if word.isdigit():\n            found.append(int(word) * 2)\n    return {\"quantities\": found}\n```".into());
            }
            Ok("no".into())
        }),
    };
    let provider = doubles(exact_student, misleading_teacher);
    let (lock, _, events) = project.build(provider).await.unwrap();
    assert!(
        events.iter().any(|event| matches!(event, BuildEvent::ChangeReverted { node, train_passed, previously_passed, .. } if node == "extract" && train_passed < previously_passed)),
        "the doubling extraction matches the teacher's gold but breaks two answers: {events:#?}"
    );
    assert_eq!(node(&lock, "extract").kind, "llm", "reverted: the student's node stays");
    assert_eq!(lock.workflows[0].build.as_ref().unwrap().train_passed_after, 2);
}

#[tokio::test]
async fn an_exhausted_budget_stops_the_build_with_a_valid_lock() {
    let project = Project::new("budget", &extraction_flow("iterations = 3\n    teacher_calls = 2"), &train_examples());
    let provider = doubles(sloppy_student(), good_teacher());
    let (lock, _, _) = project.build(Arc::clone(&provider)).await.unwrap();
    let build = lock.workflows[0].build.as_ref().unwrap();
    assert_eq!(build.stopped, "budget:teacher_calls");
    assert!(build.teacher_calls <= 2);
    assert_eq!(provider.teacher_calls.load(Ordering::SeqCst), 2);
    // The capability needs no teacher; with no gold trace nothing could be tried.
    assert_eq!(build.pac.kind, "agnostic");
    LockFile::from_toml(&lock.to_toml()).unwrap();
}

#[tokio::test]
async fn a_bad_teacher_changes_nothing_it_cannot_prove_and_never_breaks_the_lock() {
    let project = Project::new("bad-teacher", &extraction_flow("iterations = 2\n    teacher_calls = 40").replace("moves = [prompt, offload, consensus, topology]", "moves = [prompt, offload]"), &train_examples());
    let exact_student = RuleModel {
        name: "student".into(),
        rule: Box::new(|request| {
            let numbers: Vec<f64> = numbers_in(last_message(request));
            Ok(json!({"quantities": numbers}).to_string())
        }),
    };
    let drafts = Arc::new(AtomicU64::new(0));
    let bad_teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(move |request| {
            let first = first_message(request);
            if first.contains("For ONE example") {
                return Ok("{ this is not json".into());
            }
            // Code that does not parse, code that loops, code that fails, prose.
            Ok(match drafts.fetch_add(1, Ordering::SeqCst) % 4 {
                0 => "```python\ndef run(numbers) return\n```".into(),
                1 => "```python\ndef run(numbers):\n    total = 0\n    for i in range(1000000000):\n        total += i\n    return total\n```".into(),
                2 => "```python\ndef run(numbers):\n    return numbers[10]\n```".into(),
                _ => "I would rather not.".into(),
            })
        }),
    };
    let provider = doubles(exact_student, bad_teacher);
    let (lock, summaries, _) = project.build(provider).await.unwrap();
    assert_eq!(node(&lock, "compute").provenance.origin, "as-written", "no teacher draft passed: {:?}", summaries[0].nodes);
    assert_eq!(node(&lock, "compute").code.as_deref().unwrap().trim(), "def run(numbers):\n    return sum(numbers)");
    let build = lock.workflows[0].build.as_ref().unwrap();
    assert_eq!(build.train_passed_after, 0);
    assert_ne!(build.stopped, "all-passed");
}

#[tokio::test]
async fn builds_are_incremental_counted_in_model_calls() {
    let project = Project::new("incremental", &extraction_flow("iterations = 3\n    teacher_calls = 40"), &train_examples());
    // Each build gets fresh counters; the call cache and the lock persist.
    let (first, _, _) = project.build(doubles(sloppy_student(), good_teacher())).await.unwrap();
    assert_eq!(first.workflows[0].build.as_ref().unwrap().train_passed_after, 3);

    // A no-op rebuild: no model call at all, and the same bytes.
    let provider = doubles(sloppy_student(), good_teacher());
    let (second, summaries, _) = project.build(Arc::clone(&provider)).await.unwrap();
    assert_eq!(provider.teacher_calls.load(Ordering::SeqCst) + provider.student_calls.load(Ordering::SeqCst), 0);
    assert!(summaries[0].reused_all);
    assert_eq!(second.to_toml(), first.to_toml());

    // A comment edit: still nothing.
    project.edit("// a comment that edits must not count", "// an edited comment, moved\n  // over two lines");
    let provider = doubles(sloppy_student(), good_teacher());
    let (third, _, _) = project.build(Arc::clone(&provider)).await.unwrap();
    assert_eq!(provider.teacher_calls.load(Ordering::SeqCst) + provider.student_calls.load(Ordering::SeqCst), 0);
    assert_eq!(third.workflows[0].nodes, first.workflows[0].nodes);

    // Editing the extraction prompt re-descends `extract`, which re-converges to
    // the same capability code: `compute`'s inputs did not change, so it is reused
    // (early cut-off).
    project.edit("Copy every number of the problem, in order.", "List the numbers of the problem in the order they appear.");
    let provider = doubles(sloppy_student(), good_teacher());
    let (fourth, _, events) = project.build(Arc::clone(&provider)).await.unwrap();
    assert!(provider.student_calls.load(Ordering::SeqCst) + provider.teacher_calls.load(Ordering::SeqCst) > 0, "the edited node is descended again");
    assert!(events.iter().any(|event| matches!(event, BuildEvent::NodeStarted { node, .. } if node == "extract")), "{events:#?}");
    assert!(events.iter().any(|event| matches!(event, BuildEvent::NodeReused { node, .. } if node == "compute")), "{events:#?}");
    assert!(!events.iter().any(|event| matches!(event, BuildEvent::NodeStarted { node, .. } if node == "compute")));
    assert_eq!(node(&fourth, "extract").code, node(&first, "extract").code);
    assert_eq!(node(&fourth, "compute"), node(&first, "compute"));

    // Editing the downstream node re-descends it and reuses the upstream one.
    project.edit("return sum(numbers)", "return max(numbers)");
    let provider = doubles(sloppy_student(), good_teacher());
    let (_, _, events) = project.build(Arc::clone(&provider)).await.unwrap();
    assert!(events.iter().any(|event| matches!(event, BuildEvent::NodeReused { node, .. } if node == "extract")), "{events:#?}");
    assert!(events.iter().any(|event| matches!(event, BuildEvent::NodeStarted { node, .. } if node == "compute")), "{events:#?}");
}

#[tokio::test]
async fn an_interrupted_build_resumes_without_repeating_finished_calls() {
    let flow = extraction_flow("iterations = 3\n    teacher_calls = 40");
    // The whole build's model calls, measured on a fresh project.
    let reference = Project::new("resume-reference", &flow, &train_examples());
    let provider = doubles(sloppy_student(), good_teacher());
    reference.build(Arc::clone(&provider)).await.unwrap();
    let total = provider.teacher_calls.load(Ordering::SeqCst);
    assert!(total >= 4);

    // The same build, killed after 3 teacher calls (the teacher's connection dies).
    let project = Project::new("resume", &flow, &train_examples());
    let answered = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&answered);
    let good = good_teacher();
    let dying_teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(move |request| {
            if counter.fetch_add(1, Ordering::SeqCst) >= 3 {
                return Err(ModelError::Transport("connection reset (the build was interrupted)".into()));
            }
            (good.rule)(request)
        }),
    };
    let error = project.build(doubles(sloppy_student(), dying_teacher)).await.err().expect("the interrupted build fails");
    assert!(error.contains("interrupted"), "{error}");
    assert!(!project.lock_path().exists(), "a failed build writes no lock");

    // The rerun asks the teacher only what the first run did not get answered.
    let provider = doubles(sloppy_student(), good_teacher());
    let (lock, _, _) = project.build(Arc::clone(&provider)).await.unwrap();
    assert_eq!(provider.teacher_calls.load(Ordering::SeqCst), total - 3);
    assert_eq!(lock.workflows[0].build.as_ref().unwrap().train_passed_after, 3);
}

#[tokio::test]
async fn consensus_is_chosen_when_samples_vote_better_than_greedy() {
    // A student that is right when sampled with seeds 1..=5 mostly, wrong greedily.
    let flow = format!(
        r#"import "std/metrics" {{ exact_match }}
{MODELS}
dataset train = jsonl("train.jsonl") {{
  ticket = .input
  label = .target
}}
workflow triage(ticket: text) -> (label: text) {{
  node classify = llm(student) {{
    prompt = "Label the ticket: {{ticket}}"
    output = text
  }}
  label = classify
}}
optimize triage {{
  teacher = teacher
  train = train
  metric = exact_match
  moves = [consensus]
}}
"#
    );
    let examples = vec![json!({"input": "refund please", "target": "billing"}), json!({"input": "app crashes", "target": "bug"}), json!({"input": "card declined", "target": "billing"})];
    let project = Project::new("consensus", &flow, &examples);
    let student = RuleModel {
        name: "student".into(),
        rule: Box::new(|request| {
            let prompt = last_message(request);
            let right = if prompt.contains("crash") { "bug" } else { "billing" };
            // Greedy (temperature 0) is wrong; seeds 1, 2 and 4 are right.
            let seed = request.decoding.seed.unwrap_or(0);
            let sampled = request.decoding.temperature.unwrap_or(0.0) > 0.0;
            Ok(if sampled && seed != 3 && seed != 5 { right.to_string() } else { "other".to_string() })
        }),
    };
    let teacher = RuleModel { name: "teacher".into(), rule: Box::new(|_| Ok("{}".into())) };
    let (lock, _, _) = project.build(doubles(student, teacher)).await.unwrap();
    let classify = node(&lock, "classify");
    assert_eq!(classify.kind, "consensus");
    let consensus = classify.consensus.as_ref().unwrap();
    assert_eq!((consensus.samples, consensus.vote.as_str(), consensus.first_seed), (3, "majority", 1));
    assert_eq!(lock.workflows[0].build.as_ref().unwrap().train_passed_after, 3);
}

#[tokio::test]
async fn the_prompt_move_keeps_a_rewrite_that_the_student_follows() {
    let project = Project::new("prompt", &extraction_flow("iterations = 2\n    teacher_calls = 40").replace("moves = [prompt, offload, consensus, topology]", "moves = [prompt]").replace("return sum(numbers)", &format!("return {RIGHT_FORMULA}")), &train_examples());
    // The student follows instructions: told to keep the last number, it does.
    let student = RuleModel {
        name: "student".into(),
        rule: Box::new(|request| {
            let system = request.messages.first().map(|message| message.content.clone()).unwrap_or_default();
            let numbers: Vec<f64> = numbers_in(last_message(request));
            let kept = if system.contains("including the last one") { &numbers[..] } else { &numbers[..numbers.len() - 1] };
            Ok(json!({"quantities": kept}).to_string())
        }),
    };
    let (lock, _, _) = project.build(doubles(student, good_teacher())).await.unwrap();
    let extract = node(&lock, "extract");
    assert_eq!(extract.kind, "llm");
    assert_eq!(extract.provenance.origin, "prompt");
    assert_eq!(extract.system.as_deref(), Some("Copy all numbers, including the last one."));
    assert_eq!(extract.provenance.critique.as_deref(), Some("It drops the last number."));
    assert_eq!(lock.workflows[0].build.as_ref().unwrap().train_passed_after, 3);
}

#[tokio::test]
async fn the_topology_move_inserts_an_extraction_node_before_code_that_reads_text() {
    let flow = format!(
        r#"import "std/metrics" {{ numeric_match }}
{MODELS}
dataset train = jsonl("train.jsonl") {{
  question = .input
  answer = .target
}}
workflow solve(question: text) -> (answer: number) {{
  node compute = code {{
    inputs {{
      question = question
    }}
    source = """
      def run(question):
          return 0
      """
    output = number
  }}
  answer = compute
}}
optimize solve {{
  teacher = teacher
  train = train
  metric = numeric_match
  moves = [offload, topology]
  budget {{
    teacher_calls = 40
  }}
}}
"#
    );
    let project = Project::new("topology", &flow, &train_examples());
    // The teacher cannot parse text, but computes fine from a numbers list.
    let teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(|request| {
            let first = first_message(request);
            if first.contains("For ONE example") {
                return Ok("{}".into());
            }
            if first.contains("def run(numbers)") || first.contains("def run(question, numbers)") {
                return Ok(format!("```python\ndef run(question, numbers):\n    return {RIGHT_FORMULA}\n```"));
            }
            Ok("```python\ndef run(question):\n    return len(question)\n```".into())
        }),
    };
    let (lock, _, _) = project.build(doubles(sloppy_student(), teacher)).await.unwrap();
    let workflow = &lock.workflows[0];
    assert_eq!(workflow.order, vec!["compute_numbers".to_string(), "compute".to_string()]);
    let inserted = node(&lock, "compute_numbers");
    assert_eq!(inserted.provenance.origin, "topology");
    assert_eq!(inserted.provenance.inserted_for.as_deref(), Some("compute"));
    let compute = node(&lock, "compute");
    assert_eq!(compute.code_inputs.get("numbers").map(String::as_str), Some("compute_numbers"));
    assert!(compute.reads.contains(&"compute_numbers".to_string()));
    assert_eq!(workflow.build.as_ref().unwrap().train_passed_after, 3);
}

#[test]
fn the_numbers_capability_reads_digits_separators_decimals_and_words() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = Sandbox::new(SandboxConfig::for_worker_program(env!("CARGO_BIN_EXE_flowc"))).unwrap();
    let source = flowc::optimize::capabilities::numbers_in_node_source("question", Some(&json!({"type": "array", "items": {"type": "number"}}))).unwrap();
    let mut arguments = serde_json::Map::new();
    arguments.insert("question".into(), json!("Janet’s ducks lay 16 eggs. She eats three, bakes with 4,933,828. She sells at $2.50 each. Done."));
    let value = runtime.block_on(sandbox.call(&source, "run", arguments)).unwrap();
    assert_eq!(value, json!([16, 3, 4933828, 2.5]));
}

#[allow(dead_code)]
fn unused(_: &Path) {}

#[tokio::test]
async fn formula_search_offloads_a_small_formula_without_asking_the_teacher_for_code() {
    // answer = a * b - c: within the search's four leaves.
    let examples = vec![
        json!({"input": "Ann has 12 boxes of 40 pens and gives away 7 pens.", "target": 473}),
        json!({"input": "Bo has 3 boxes of 1500 pens and gives away 20 pens.", "target": 4480}),
        json!({"input": "Cy has 9 boxes of 25 pens and gives away 5 pens.", "target": 220}),
    ];
    let project = Project::new("formula", &extraction_flow("iterations = 3\n    teacher_calls = 40"), &examples);
    let (lock, _, events) = project.build(doubles(sloppy_student(), good_teacher())).await.unwrap();
    let compute = node(&lock, "compute");
    assert_eq!(compute.provenance.origin, "offload");
    assert_eq!(compute.code.as_deref(), Some("def run(numbers):\n    return numbers[0] * numbers[1] - numbers[2]\n"));
    assert!(compute.provenance.critique.as_deref().unwrap().contains("found by search"));
    let code_requests = events.iter().filter(|event| matches!(event, BuildEvent::TeacherCall { purpose, .. } if purpose.starts_with("offload"))).count();
    assert_eq!(code_requests, 0, "the teacher wrote no code");
    // The expressions searched are hypotheses too.
    assert!(lock.workflows[0].build.as_ref().unwrap().hypotheses_tried > 100);
}

#[tokio::test]
async fn independent_nodes_are_descended_together_then_validated_in_turn() {
    // Two extraction nodes that do not read each other: one wave.
    let flow = extraction_flow("iterations = 2\n    teacher_calls = 40")
        .replace(
            "  // a comment that edits must not count",
            "  node extract_again = llm(student) {\n    system = \"Copy every number of the problem, in order.\"\n    prompt = \"Again: {question}\"\n    output = json { quantities: [number] }\n  }\n\n  // a comment that edits must not count",
        )
        .replace("      numbers: [number] = extract.quantities\n", "      numbers: [number] = extract.quantities\n      again: [number] = extract_again.quantities\n")
        .replace("def run(numbers):", "def run(numbers, again):");
    let project = Project::new("waves", &flow, &train_examples());
    let teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(|request| {
            let first = first_message(request);
            if first.contains("For ONE example") {
                let inputs_line = first.split("Example inputs:").nth(1).unwrap_or("");
                let numbers: Vec<f64> = numbers_in(inputs_line.split("Expected final output").next().unwrap_or(""));
                return Ok(json!({"extract": {"quantities": numbers}, "extract_again": {"quantities": numbers}}).to_string());
            }
            Ok(format!("```python\ndef run(numbers, again):\n    return {RIGHT_FORMULA}\n```"))
        }),
    };
    let (lock, _, events) = project.build(doubles(sloppy_student(), teacher)).await.unwrap();
    let started: Vec<usize> = events.iter().enumerate().filter(|(_, event)| matches!(event, BuildEvent::NodeStarted { node, .. } if node.starts_with("extract"))).map(|(index, _)| index).collect();
    let first_kept = events.iter().position(|event| matches!(event, BuildEvent::ChangeKept { .. })).expect("a change is kept");
    assert_eq!(started.len(), 2, "{events:#?}");
    assert!(started.iter().all(|index| *index < first_kept), "both searches ran before either change was validated: {events:#?}");
    assert_eq!(node(&lock, "extract").kind, "code");
    assert_eq!(node(&lock, "extract_again").kind, "code");
    assert_eq!(lock.workflows[0].build.as_ref().unwrap().train_passed_after, 3);
}

/// A triage task whose student is always wrong: only the optimiser's moves can fix it.
fn triage_flow(moves: &str) -> String {
    format!(
        r#"import "std/metrics" {{ exact_match }}
{MODELS}
dataset train = jsonl("train.jsonl") {{
  message = .input
  team = .target
}}
workflow triage(message: text) -> (team: text) {{
  node classify = llm(student) {{
    system = "Sort the message for a support team."
    prompt = "Message: {{message}}"
    output = enum("billing", "shipping", "technical")
  }}
  team = classify
}}
optimize triage {{
  teacher = teacher
  train = train
  metric = exact_match
  moves = {moves}
  budget {{
    iterations = 3
    teacher_calls = 20
  }}
}}
"#
    )
}

fn triage_examples() -> Vec<Value> {
    vec![
        json!({"input": "I was charged twice for my order", "target": "billing"}),
        json!({"input": "my parcel never arrived", "target": "shipping"}),
        json!({"input": "the app crashes when I log in", "target": "technical"}),
    ]
}

#[tokio::test]
async fn the_second_prompt_proposal_reads_the_first_critique_and_the_failed_candidate() {
    let project = Project::new("critique-history", &triage_flow("[prompt]"), &triage_examples());
    // The student ignores every prompt: no rewrite can help, so the descent asks again.
    let student = RuleModel { name: "student".into(), rule: Box::new(|_| Ok("\"technical\"".into())) };
    let prompts: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&prompts);
    let teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(move |request| {
            let first = first_message(request).to_string();
            if first.contains("write a new SYSTEM PROMPT") {
                let mut seen = seen.lock().unwrap();
                seen.push(first);
                let round = seen.len();
                return Ok(json!({"critique": format!("CRITIQUE-{round}: it always answers technical."), "system": format!("SYSTEM-{round}: answer billing for money, shipping for parcels.")}).to_string());
            }
            if first.contains("For ONE example") {
                return Ok("{}".into());
            }
            Ok(json!({"node": "classify", "critique": "LOCALISED: it ignores the words of the message."}).to_string())
        }),
    };
    let (lock, _, _) = project.build(doubles(student, teacher)).await.unwrap();
    let prompts = prompts.lock().unwrap().clone();
    assert!(prompts.len() >= 2, "the descent asked for {} rewrite(s)", prompts.len());
    assert!(!prompts[0].contains("Earlier attempts"), "the first proposal has no history:\n{}", prompts[0]);
    let second = &prompts[1];
    assert!(second.contains("CRITIQUE-1: it always answers technical."), "the second proposal must read the first critique:\n{second}");
    assert!(second.contains("SYSTEM-1: answer billing for money"), "the second proposal must read the failed candidate:\n{second}");
    assert!(second.contains("right on 1 of 3"), "and how it scored:\n{second}");
    // The gold trace decides which node failed; its diagnosis goes to the move.
    assert!(second.contains("on training example 1 it produced \"technical\" where \"billing\" was expected"), "the localisation's diagnosis:\n{second}");
    // Nothing helped: the plan is kept as written.
    assert_eq!(node(&lock, "classify").provenance.origin, "as-written");
}

#[tokio::test]
async fn a_closed_choice_the_student_gets_wrong_becomes_a_classifier_over_the_teachers_vocabulary() {
    let project = Project::new("keyword-classifier", &triage_flow("[offload]"), &triage_examples());
    let student = RuleModel { name: "student".into(), rule: Box::new(|_| Ok("\"technical\"".into())) };
    let teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(|request| {
            // Words beyond the training wording ("invoice", "courier", "error").
            match class_of_word_request(first_message(request)).as_deref() {
                Some("billing") => Ok(json!(["charged", "refund", "invoice"]).to_string()),
                Some("shipping") => Ok(json!(["parcel", "courier", "delivery"]).to_string()),
                Some("technical") => Ok(json!(["crash", "error", "log in"]).to_string()),
                _ => Ok("{}".into()),
            }
        }),
    };
    let provider = doubles(student, teacher);
    let (lock, _, _) = project.build(Arc::clone(&provider)).await.unwrap();
    let classify = node(&lock, "classify");
    assert_eq!(classify.kind, "code", "{classify:?}");
    assert_eq!(classify.provenance.origin, "offload");
    assert!(classify.code.as_deref().unwrap().contains("\"courier\""));
    assert_eq!(lock.workflows[0].build.as_ref().unwrap().train_passed_after, 3);
    // The compiled plan runs without the student, on wording training never showed.
    let sandbox = Sandbox::new(SandboxConfig::for_worker_program(env!("CARGO_BIN_EXE_flowc"))).unwrap();
    let mut arguments = serde_json::Map::new();
    arguments.insert("message".into(), json!("The courier left no delivery note"));
    let team = sandbox.call(classify.code.as_deref().unwrap(), "run", arguments).await.unwrap();
    assert_eq!(team, json!("shipping"));
}

#[tokio::test]
async fn the_words_the_prompt_gives_each_class_lead_the_classifier() {
    // The user's prompt says what each team means; the teacher lists words that
    // are no help. The classifier must still hold, from the prompt's own words.
    let flow = triage_flow("[offload]").replace(
        r#"prompt = "Message: {message}""#,
        r#"prompt = "Message: {message}. Teams: billing (charges, refunds), shipping (parcels, deliveries), technical (crashes, errors).""#,
    );
    let project = Project::new("keyword-classifier-described", &flow, &triage_examples());
    let student = RuleModel { name: "student".into(), rule: Box::new(|_| Ok("\"technical\"".into())) };
    let vocabulary_prompts = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&vocabulary_prompts);
    let teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(move |request| {
            let first = first_message(request);
            let reply = match class_of_word_request(first).as_deref() {
                Some("charges, refunds") => json!(["zzz"]),
                Some("parcels, deliveries") => json!(["qqq"]),
                Some("crashes, errors") => json!(["xxx"]),
                _ => return Ok("{}".into()),
            };
            seen.lock().unwrap().push(first.to_string());
            Ok(reply.to_string())
        }),
    };
    let provider = doubles(student, teacher);
    let (lock, _, _) = project.build(Arc::clone(&provider)).await.unwrap();
    let prompts = vocabulary_prompts.lock().unwrap().clone();
    // v20: one request per class, each with the system line and what the prompt
    // says that class covers, and nothing of the other classes or the training
    // texts (asked for all classes at once, the real 1.5B teacher looped; shown
    // the training texts, it copied their words).
    assert_eq!(prompts.len(), 3, "{prompts:?}");
    assert!(prompts.iter().all(|prompt| prompt.contains("Sort the message for a support team.")), "{prompts:?}");
    assert!(prompts[0].contains("Texts of one class are about: charges, refunds.\n"), "{}", prompts[0]);
    assert!(prompts[1].contains("Texts of one class are about: parcels, deliveries.\n"), "{}", prompts[1]);
    assert!(prompts.iter().all(|prompt| !prompt.contains("parcel never arrived") && !prompt.contains("shipping")), "{prompts:?}");
    let classify = node(&lock, "classify");
    assert_eq!(classify.kind, "code", "{classify:?}");
    let code = classify.code.as_deref().unwrap();
    assert!(code.contains(r#""billing": ["charge","refund","zzz"]"#), "the prompt's words first, singular:\n{code}");
    assert_eq!(lock.workflows[0].build.as_ref().unwrap().train_passed_after, 3);
    let sandbox = Sandbox::new(SandboxConfig::for_worker_program(env!("CARGO_BIN_EXE_flowc"))).unwrap();
    for (message, team) in [("Where are my deliveries?", "shipping"), ("I got refunded the wrong sum", "billing"), ("Errors everywhere on the page", "technical")] {
        let mut arguments = serde_json::Map::new();
        arguments.insert("message".into(), json!(message));
        assert_eq!(sandbox.call(code, "run", arguments).await.unwrap(), json!(team), "{message}");
    }
}

#[tokio::test]
async fn a_teacher_that_lists_no_readable_words_still_leaves_the_classifier_the_prompt_describes() {
    // Every word-list reply is prose, not JSON. Before v20 the move gave up; the
    // words the user's prompt gives each class are a classifier on their own.
    let flow = triage_flow("[offload]").replace(
        r#"prompt = "Message: {message}""#,
        r#"prompt = "Message: {message}. Teams: billing (charges, refunds), shipping (parcels, deliveries), technical (crashes, errors).""#,
    );
    let project = Project::new("keyword-classifier-unreadable", &flow, &triage_examples());
    let student = RuleModel { name: "student".into(), rule: Box::new(|_| Ok("\"technical\"".into())) };
    let word_requests = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&word_requests);
    let teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(move |request| {
            if class_of_word_request(first_message(request)).is_some() {
                counted.fetch_add(1, Ordering::Relaxed);
                return Ok("Sure! Here are some words: refund, parcel, crash".into());
            }
            Ok("{}".into())
        }),
    };
    let provider = doubles(student, teacher);
    let (lock, _, events) = project.build(Arc::clone(&provider)).await.unwrap();
    assert!(word_requests.load(Ordering::Relaxed) >= 3, "one request per class");
    assert!(events.iter().any(|event| matches!(event, BuildEvent::MoveTried { detail, .. } if detail.contains("was not JSON"))), "{events:#?}");
    let classify = node(&lock, "classify");
    assert_eq!(classify.kind, "code", "{classify:?}");
    let code = classify.code.as_deref().unwrap();
    assert!(code.contains(r#""billing": ["charge","refund"]"#) && code.contains(r#""technical": ["crash","error"]"#), "{code}");
}

/// Which class a word-frequency request asks example texts for (v22), or none.
fn class_of_examples_request(prompt: &str) -> Option<String> {
    let rest = prompt.split_once("Write 12 different messages of the class \"")?.1;
    Some(rest.split_once('"')?.0.to_string())
}

#[tokio::test]
async fn a_closed_choice_becomes_a_word_table_fitted_on_texts_the_teacher_writes_per_class() {
    let project = Project::new("word-frequency-classifier", &triage_flow("[offload]"), &triage_examples());
    let student = RuleModel { name: "student".into(), rule: Box::new(|_| Ok("\"technical\"".into())) };
    let asked = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&asked);
    let teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(move |request| {
            let first = first_message(request);
            let Some(class) = class_of_examples_request(first) else { return Ok("{}".into()) };
            seen.lock().unwrap().push(first.to_string());
            // Texts worded otherwise than the three training messages.
            Ok(match class.as_str() {
                "billing" => json!(["The invoice shows a wrong amount", "You took money from my card again", "I want my money back for the return"]),
                "shipping" => json!(["The courier left it at the wrong door", "Tracking has not moved for a week", "Can the package go to my office instead"]),
                "technical" => json!(["The page shows an error when I pay", "The screen goes blank after the update", "Buttons do nothing in the browser"]),
                _ => json!([]),
            }
            .to_string())
        }),
    };
    let provider = doubles(student, teacher);
    let (lock, _, _) = project.build(Arc::clone(&provider)).await.unwrap();
    // One request per class, each naming its class and the node's task, and
    // showing neither the training texts nor the other classes.
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert!(asked.iter().all(|prompt| prompt.contains("Sort the message for a support team.") && !prompt.contains("parcel never arrived")), "{asked:?}");
    let classify = node(&lock, "classify");
    assert_eq!(classify.kind, "code", "{classify:?}");
    assert_eq!(classify.provenance.origin, "offload");
    let code = classify.code.as_deref().unwrap();
    // Words are kept to their first six letters: "courier" is "courie".
    assert!(code.contains("WEIGHTS = {") && code.contains("\"courie\""), "{code}");
    // The evidence it was not fitted to is in the lock.
    let leave_one_out = classify.provenance.leave_one_out.as_deref().unwrap_or_default();
    assert!(leave_one_out.contains("left-out training texts right") && leave_one_out.contains("fitted without any of them"), "{leave_one_out}");
    assert_eq!(lock.workflows[0].build.as_ref().unwrap().train_passed_after, 3);
    // The compiled plan runs without the student, on wording training never showed.
    let sandbox = Sandbox::new(SandboxConfig::for_worker_program(env!("CARGO_BIN_EXE_flowc"))).unwrap();
    for (message, team) in [("the courier never came with my package", "shipping"), ("money taken twice from my card", "billing"), ("an error on the page after the update", "technical")] {
        let mut arguments = serde_json::Map::new();
        arguments.insert("message".into(), json!(message));
        assert_eq!(sandbox.call(code, "run", arguments).await.unwrap(), json!(team), "{message}");
    }
    // The starlark reads words as the table was fitted (`text_words`).
    for text in ["Hi, I was charged TWICE for order 12345 — refunds please!", "Café crème: l'adresse est fausse, des colis perdus", "Address: 10 Glass St", "Überweisung für Bestellungen"] {
        let mut arguments = serde_json::Map::new();
        arguments.insert("text".into(), json!(text));
        let read = sandbox.call(code, "words_of", arguments).await.unwrap();
        assert_eq!(read, json!(flowc::optimize::moves::word_frequency_classifier::text_words(text)), "{text}");
    }
}

#[tokio::test]
async fn a_build_that_cannot_succeed_stops_early_and_says_why() {
    // Targets no formula, role or program of these numbers gives.
    let examples = vec![
        json!({"input": "Ann has 12 boxes of 40 pens and gives away 7 pens.", "target": 1234567.0}),
        json!({"input": "Bo has 3 boxes of 1500 pens and gives away 20 pens.", "target": 42.0}),
        json!({"input": "Cy has 9 boxes of 25 pens and gives away 5 pens.", "target": 999.0}),
    ];
    let project = Project::new("fail-fast", &extraction_flow("iterations = 5\n    teacher_calls = 60"), &examples);
    let provider = doubles(sloppy_student(), good_teacher());
    let (lock, summaries, _) = project.build(Arc::clone(&provider)).await.unwrap();
    let build = lock.workflows[0].build.as_ref().unwrap();
    assert_eq!(build.stopped, "nothing-left-to-try");
    // The gold trace (3 calls) and two chains of teacher code abandoned after a
    // feedback round that did not help (2 each); the texts are one template, so
    // the labelled-programs move asks nothing: before fail-fast, the same build
    // asked 21 times.
    assert_eq!(provider.teacher_calls.load(Ordering::Relaxed), 7);
    insta::assert_snapshot!(summaries[0].diagnosis.as_deref().unwrap());
}

#[tokio::test]
async fn a_teacher_reply_that_is_rejected_counts_as_a_round_of_its_chain() {
    // The same task that cannot succeed, with a teacher whose code replies are never
    // usable (no code block): each rejected reply is a round that scored nothing,
    // so each chain stops after its first feedback round, as it would after a
    // wrong program. Before rejected replies counted, each chain ran all three
    // rounds: 3 + 2 × 3 = 9 teacher calls, as the real gsm_hard build measured (v7,
    // before the role moves asked the teacher anything).
    let examples = vec![
        json!({"input": "Ann has 12 boxes of 40 pens and gives away 7 pens.", "target": 1234567.0}),
        json!({"input": "Bo has 3 boxes of 1500 pens and gives away 20 pens.", "target": 42.0}),
        json!({"input": "Cy has 9 boxes of 25 pens and gives away 5 pens.", "target": 999.0}),
    ];
    let project = Project::new("rejected-replies", &extraction_flow("iterations = 5\n    teacher_calls = 60"), &examples);
    let good = good_teacher();
    let prose_teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(move |request| {
            if first_message(request).contains("Write a deterministic Python function") {
                return Ok("The function should add the numbers and adjust for what is given away.".into());
            }
            (good.rule)(request)
        }),
    };
    let provider = doubles(sloppy_student(), prose_teacher);
    let (lock, _, events) = project.build(Arc::clone(&provider)).await.unwrap();
    assert_eq!(lock.workflows[0].build.as_ref().unwrap().stopped, "nothing-left-to-try");
    let rejected = events.iter().filter(|event| matches!(event, BuildEvent::MoveTried { detail, .. } if detail.contains("no code in the reply"))).count();
    assert_eq!(rejected, 4, "two rejected replies per chain, two chains: {events:#?}");
    // The gold trace (3 calls) and two chains of two calls each (the texts are one
    // template: no named-quantities question).
    assert_eq!(provider.teacher_calls.load(Ordering::Relaxed), 7);
}

#[tokio::test]
async fn teacher_code_is_not_asked_again_after_every_reply_of_a_step_was_rejected() {
    // The vocabulary gets 2 of 3 right, so the node is descended again; every code
    // reply writes the answer literally. Step 1 asks two chains (two rejected
    // replies each); later steps must not ask for code again (v17: the real
    // support-triage build spent its time budget asking).
    let project = Project::new("rejected-everywhere", &triage_flow("[offload]"), &triage_examples());
    let student = RuleModel { name: "student".into(), rule: Box::new(|_| Ok("\"technical\"".into())) };
    let code_requests = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&code_requests);
    let teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(move |request| {
            let first = first_message(request);
            match class_of_word_request(first).as_deref() {
                Some("billing") => return Ok(json!(["charged"]).to_string()),
                Some("shipping") => return Ok(json!(["parcel"]).to_string()),
                Some("technical") => return Ok(json!(["zzz"]).to_string()),
                _ => {}
            }
            if first.contains("Write a deterministic Python function") {
                counted.fetch_add(1, Ordering::Relaxed);
                return Ok("```python\ndef run(message):\n    return \"billing\"\n```".into());
            }
            Ok("{}".into())
        }),
    };
    let provider = doubles(student, teacher);
    let (lock, _, events) = project.build(Arc::clone(&provider)).await.unwrap();
    assert_eq!(lock.workflows[0].build.as_ref().unwrap().train_passed_after, 2);
    let rejected: Vec<u32> = events.iter().filter_map(|event| match event { BuildEvent::MoveTried { detail, step, .. } if detail.contains("hard-codes the answer") => Some(*step), _ => None }).collect();
    assert_eq!(rejected, vec![1, 1, 1, 1], "{events:#?}");
    assert_eq!(code_requests.load(Ordering::Relaxed), 4);
    let steps = events.iter().filter(|event| matches!(event, BuildEvent::NodeStarted { .. })).count();
    assert!(steps >= 2, "the node must have been descended again for the test to mean anything: {events:#?}");
}

/// Three phrasings of one problem, the numbers in a different order in each:
/// (rolls baked − rolls given to the shelter) × price.
const BAKERY: [(&str, f64); 3] = [
    ("A bakery baked 120 rolls. It gave 15 rolls to the shelter and sold the rest for $2 each. How much did it make?", 210.0),
    ("Selling at $3 each, a bakery sold every roll it baked except the 40 it gave to the shelter. It baked 100 rolls. How much did it make?", 180.0),
    ("The shelter got 8 rolls from a bakery. The bakery baked 58 rolls and sold the others for $5 each. How much did it make?", 250.0),
];

#[tokio::test]
async fn roles_and_formula_are_searched_together_and_the_plan_reads_a_phrasing_training_never_showed() {
    let examples: Vec<Value> = BAKERY.iter().map(|(input, target)| json!({"input": input, "target": target})).collect();
    let project = Project::new("roles-by-search", &extraction_flow("iterations = 3\n    teacher_calls = 40"), &examples);
    let program_questions = Arc::new(AtomicU64::new(0));
    let asked = Arc::clone(&program_questions);
    let good = good_teacher();
    let teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(move |request| {
            let first = first_message(request);
            if first.contains("Solve this word problem with a short Python program") || first.contains("The next problem is the same kind of problem") {
                asked.fetch_add(1, Ordering::SeqCst);
            }
            (good.rule)(request)
        }),
    };
    let provider = doubles(sloppy_student(), teacher);
    let (lock, summaries, events) = project.build(Arc::clone(&provider)).await.unwrap();
    let compute = node(&lock, "compute");
    let code = compute.code.as_deref().unwrap();
    assert!(code.contains("_ROLE_TABLE = "), "{code}\n{:#?}\n{events:#?}", summaries[0].nodes);
    let critique = compute.provenance.critique.as_deref().unwrap();
    assert!(critique.contains("no teacher call") && critique.contains("reads every role of 3 of the 3 training texts back"), "{critique}");
    assert_eq!(program_questions.load(Ordering::SeqCst), 0, "the roles need no program from the teacher");
    assert!(compute.provenance.leave_one_out.as_deref().unwrap().contains("left-out examples right"));
    assert_eq!(lock.workflows[0].build.as_ref().unwrap().train_passed_after, 3);
    // The compiled node reads a phrasing with yet another order, without the student.
    let sandbox = Sandbox::new(SandboxConfig::for_worker_program(env!("CARGO_BIN_EXE_flowc"))).unwrap();
    let mut arguments = serde_json::Map::new();
    arguments.insert("question".into(), json!("At $4 each, the bakery sold its rolls, all but the 25 given to the shelter. It had baked 75 rolls. How much did it make?"));
    assert_eq!(sandbox.call(code, "run", arguments).await.unwrap().as_f64(), Some(200.0));
}

/// later20's ice_cream_party, its first three training texts: (tubs × scoops per
/// tub − scoops the adults ate) // children, the quantities in a different order in
/// each. A formula over positions also gives all three answers, by coincidence.
const ICE_CREAM: [(&str, f64); 3] = [
    ("The adults at Ingrid's party ate 9 scoops of ice cream. Ingrid had opened six tubs, and a tub gives 18 scoops. If the remaining ice cream is shared equally among the eleven children in whole scoops, with any extra put back in the freezer, how many scoops does each child receive?", 9.0),
    ("There are 6 children at Mateo's party, and they must all get the same number of scoops of ice cream. Mateo has 5 tubs with 22 scoops in each, but the adults have already eaten 10 scoops. Any scoops left over go back in the freezer. How many scoops does each child get?", 16.0),
    ("Each of the 5 ice cream tubs Declan brought to the party holds 32 scoops. The grown-ups ate 10 scoops, and what is left is divided equally among the 11 kids, whole scoops only, with any left over saved for later. How many scoops does each kid get?", 13.0),
];

/// A flow whose compute node gets the text and its numbers (as the deterministic
/// reader `numbers_in` reads them, number words included) as inputs, so that a
/// formula over positions and roles by search are both open to it.
fn numbers_and_text_flow() -> String {
    format!(
        r#"import "std/metrics" {{ numeric_match }}
{MODELS}
dataset train = jsonl("train.jsonl") {{
  question = .input
  numbers = .numbers
  answer = .target
}}

workflow solve(question: text, numbers: [number]) -> (answer: number) {{
  node compute = code {{
    inputs {{
      numbers: [number] = numbers
      question = question
    }}
    source = """
      def run(numbers, question):
          return sum(numbers)
      """
    output = number
  }}

  answer = compute
}}

{}"#,
        optimize_solve("offload", "iterations = 2\n    teacher_calls = 10")
    )
}

#[tokio::test]
async fn where_the_texts_order_their_quantities_differently_roles_by_search_win_over_a_formula_over_positions() {
    // The numbers as `numbers_in` reads them; over these positions,
    // `numbers[2] - numbers[0] // (numbers[1] // (numbers[3] - numbers[1]))` gives
    // 9, 16 and 13, which v32 kept (0.00 held-out).
    let numbers = [[9.0, 6.0, 18.0, 11.0], [6.0, 5.0, 22.0, 10.0], [5.0, 32.0, 10.0, 11.0]];
    let examples: Vec<Value> = ICE_CREAM.iter().zip(numbers).map(|((input, target), numbers)| json!({"input": input, "numbers": numbers, "target": target})).collect();
    let project = Project::new("positions-or-roles", &numbers_and_text_flow(), &examples);
    let provider = doubles(sloppy_student(), good_teacher());
    let (lock, summaries, events) = project.build(Arc::clone(&provider)).await.unwrap();
    let compute = node(&lock, "compute");
    let code = compute.code.as_deref().unwrap();
    assert!(code.contains("_ROLE_TABLE = "), "{code}\n{:#?}\n{events:#?}", summaries[0].nodes);
    assert_eq!(lock.workflows[0].build.as_ref().unwrap().train_passed_after, 3);
    // A phrasing training never showed: 7 tubs of 20 scoops, 12 eaten, 16 children.
    let sandbox = Sandbox::new(SandboxConfig::for_worker_program(env!("CARGO_BIN_EXE_flowc"))).unwrap();
    let mut arguments = serde_json::Map::new();
    arguments.insert("question".into(), json!("Sixteen children share what is left of the ice cream equally, in whole scoops. The party had 7 tubs of 20 scoops each, and the grown-ups ate 12 scoops first. How many scoops does each child get?"));
    assert_eq!(sandbox.call(code, "run", arguments).await.unwrap().as_f64(), Some(8.0));
}

/// The same problem with four more quantities, beyond what roles by search reach
/// (seven leaves; six since v37): (rolls baked − given to the shelter − eaten by
/// the staff) × price + delivery fee + tip − paper bags, with the program that
/// solves each.
const BAKERY_DELIVERED: [(&str, f64, (u32, u32, u32, u32, u32, u32, u32)); 3] = [
    ("A bakery baked 1204577 rolls. It gave 15 rolls to the shelter, the staff ate 5 rolls, and it sold the rest for $2 each, plus a delivery fee of $7 and a tip of $3, and paid $11 for paper bags. How much did it make?", 2409113.0, (1204577, 15, 5, 2, 7, 3, 11)),
    ("Selling at $3 each, with a delivery fee of $9 and a tip of $4, a bakery sold every roll it baked except the 40 it gave to the shelter and the 10 rolls the staff ate. It baked 100 rolls and paid $6 for paper bags. How much did it make?", 157.0, (100, 40, 10, 3, 9, 4, 6)),
    ("The shelter got 8 rolls from a bakery and the staff ate 2 rolls. The bakery baked 5813 rolls and sold the others for $5 each, plus a delivery fee of $4 and a tip of $6; paper bags cost it $12. How much did it make?", 29013.0, (5813, 8, 2, 5, 4, 6, 12)),
];

fn delivered_program((baked, given, eaten, price, fee, tip, bags): (u32, u32, u32, u32, u32, u32, u32)) -> String {
    format!("```python\nrolls_baked = {baked}\ngiven_to_shelter = {given}\neaten_by_staff = {eaten}\nprice_each = {price}\ndelivery_fee = {fee}\ntip = {tip}\npaper_bags = {bags}\nanswer = (rolls_baked - given_to_shelter - eaten_by_staff) * price_each + delivery_fee + tip - paper_bags\n```")
}

#[tokio::test]
async fn the_teachers_program_labels_the_roles_and_code_fills_it_for_the_other_texts() {
    let examples: Vec<Value> = BAKERY_DELIVERED.iter().map(|(input, target, _)| json!({"input": input, "target": target})).collect();
    let project = Project::new("labelled-programs", &extraction_flow("iterations = 3\n    teacher_calls = 40"), &examples);
    let fill_questions = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&fill_questions);
    let teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(move |request| {
            let first = first_message(request);
            let program_for = |text: &str| BAKERY_DELIVERED.iter().find(|(input, _, _)| text.contains(input)).map(|(_, _, numbers)| delivered_program(*numbers));
            if first.contains("The next problem is the same kind of problem") {
                seen.lock().unwrap().push(first.to_string());
                let asked = first.rsplit("Problem: ").next().unwrap_or("");
                return Ok(program_for(asked).unwrap_or_default());
            }
            if first.contains("Solve this word problem with a short Python program") {
                return Ok(program_for(first).unwrap_or_default());
            }
            Ok(teacher_reply(first, last_message(request)))
        }),
    };
    let provider = doubles(sloppy_student(), teacher);
    let (lock, summaries, events) = project.build(Arc::clone(&provider)).await.unwrap();
    let compute = node(&lock, "compute");
    let code = compute.code.as_deref().unwrap();
    assert!(code.contains("_ROLE_TABLE = ") && code.contains("answer = (rolls_baked - given_to_shelter - eaten_by_staff) * price_each + delivery_fee + tip - paper_bags"), "{code}\n{:#?}\n{events:#?}", summaries[0].nodes);
    let critique = compute.provenance.critique.as_deref().unwrap();
    assert!(critique.contains("filled the same program for 2 of the other 2 texts"), "{critique}");
    // Code filled the program for both other texts (each text's numbers assigned
    // to the roles so the computation gives its answer): no fill question.
    assert!(fill_questions.lock().unwrap().is_empty(), "{:?}", fill_questions.lock().unwrap());
    assert_eq!(lock.workflows[0].build.as_ref().unwrap().train_passed_after, 3);
    // The compiled node reads a phrasing with yet another order, without the student.
    let sandbox = Sandbox::new(SandboxConfig::for_worker_program(env!("CARGO_BIN_EXE_flowc"))).unwrap();
    let mut arguments = serde_json::Map::new();
    arguments.insert("question".into(), json!("At $4 each, plus a delivery fee of $6 and a tip of $1, the bakery sold its rolls, all but the 25 given to the shelter and the 3 rolls the staff ate. It had baked 75 rolls and paid $2 for paper bags. How much did it make?"));
    assert_eq!(sandbox.call(code, "run", arguments).await.unwrap().as_f64(), Some(193.0));
}

/// A student that answers every question wrong but reads: a reply's score is minus
/// the number of its words its prompt (system and user turn) does not contain.
struct ReadingStudent {
    scored: Arc<Mutex<Vec<ScoreRequest>>>,
}

#[async_trait]
impl ModelBackend for ReadingStudent {
    fn identity(&self) -> ModelIdentity {
        ModelIdentity { backend: "test".into(), model: "student".into(), file_sha256: None, endpoint: None }
    }

    async fn chat(&self, _request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        Ok(ChatResponse { text: "\"technical\"".into(), prompt_tokens: 100, completion_tokens: 2, prompt_seconds: None, generation_seconds: None })
    }

    async fn score(&self, request: &ScoreRequest) -> Result<ScoreResponse, ModelError> {
        self.scored.lock().unwrap().push(request.clone());
        let prompt: String = request.messages.iter().map(|message| message.content.to_lowercase()).collect::<Vec<_>>().join(" ");
        let known: std::collections::BTreeSet<&str> = prompt.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).collect();
        let unknown = request.reply.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty() && !known.contains(word)).count();
        Ok(ScoreResponse { log_probability: -(unknown as f64), prompt_tokens: 50, reply_tokens: request.reply.split_whitespace().count() as u32 })
    }
}

#[tokio::test]
async fn a_closed_choice_the_student_cannot_answer_becomes_a_likelihood_choice_over_the_teachers_texts() {
    // Only prompt moves: the student stays in the plan. It answers "technical"
    // whatever it is asked, but reads: the teacher's example texts of each class,
    // shown in that class's prompt, make the training texts likeliest under their
    // own class.
    let project = Project::new("likelihood-choice", &triage_flow("[prompt]"), &triage_examples());
    let scored: Arc<Mutex<Vec<ScoreRequest>>> = Arc::default();
    let student = ReadingStudent { scored: Arc::clone(&scored) };
    let class_requests = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&class_requests);
    let teacher = RuleModel {
        name: "teacher".into(),
        rule: Box::new(move |request| {
            let first = first_message(request);
            if let Some(rest) = first.split_once("Messages of the class \"") {
                counted.fetch_add(1, Ordering::Relaxed);
                let texts = match rest.1.split('"').next() {
                    Some("billing") => json!(["I was charged twice, refund me", "my order cost too much"]),
                    Some("shipping") => json!(["the courier lost my parcel", "my parcel never came"]),
                    Some("technical") => json!(["the app crashes at log in", "when I log in it freezes"]),
                    _ => json!([]),
                };
                return Ok(texts.to_string());
            }
            Ok("{}".into())
        }),
    };
    let mut models: BTreeMap<String, Arc<dyn ModelBackend>> = BTreeMap::new();
    models.insert("student".into(), Arc::new(student));
    models.insert("teacher".into(), Arc::new(teacher));
    let provider = Arc::new(Doubles { models, teacher_calls: Arc::new(AtomicU64::new(0)), student_calls: Arc::new(AtomicU64::new(0)) });
    let (lock, _, _) = project.build(provider).await.unwrap();
    assert_eq!(class_requests.load(Ordering::Relaxed), 3, "one request of example texts per class");
    let classify = node(&lock, "classify");
    assert_eq!(classify.kind, "likelihood_choice", "{classify:?}");
    assert_eq!(classify.provenance.origin, "prompt");
    assert_eq!(classify.model.as_deref(), Some("student"), "the student stays in the plan");
    let likelihood = classify.likelihood.as_ref().expect("the class prompts are in the plan");
    assert_eq!(likelihood.reply, "{message}");
    let classes: Vec<&str> = likelihood.classes.iter().map(|class| class.class.as_str()).collect();
    assert_eq!(classes, ["billing", "shipping", "technical"]);
    // A teacher-written artefact kept in a student node: its texts are the
    // demonstrations of each class's prompt.
    assert!(likelihood.classes[1].system.contains("- the courier lost my parcel\n"), "{}", likelihood.classes[1].system);
    assert!(!likelihood.classes[1].system.contains("refund me"), "a class's prompt shows only its own texts");
    assert!(classify.provenance.leave_one_out.as_deref().unwrap_or("").contains("3/3"), "{:?}", classify.provenance);
    assert!(classify.system.is_none() && classify.prompt.is_none());
    assert_eq!(lock.workflows[0].build.as_ref().unwrap().train_passed_after, 3);
    // Leave-one-out: when a training text is scored with the training texts as
    // demonstrations, it is never among them.
    let scored = scored.lock().unwrap().clone();
    assert!(scored.iter().any(|request| request.messages[0].content.contains("- my parcel never arrived\n")), "the training texts were tried as demonstrations");
    for request in &scored {
        assert!(!request.messages[0].content.contains(&format!("- {}\n", request.reply)), "a text scored among its own demonstrations: {request:?}");
    }
}
