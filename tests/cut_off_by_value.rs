//! Cut-off by value and per-node gold, counted in model calls (issue 12, point 3).
//!
//! A generated 200-node workflow: two chains of nodes from the input `x` (each
//! chain alternates `llm(student)` nodes that repeat the value they read and `code`
//! nodes that pass it on), joined by a code node `result` that, as written, adds
//! the two values where the training targets want `2x + 1`. The models are
//! rule-based test doubles behind the counting wrapper (`CountingBackend`, below
//! the call cache: a cache hit is not a call). The student answers with the sum of
//! the numbers of its prompt (so it repeats the one value a prompt shows); the teacher writes no intermediate gold (`{}`) and, asked
//! for code, the sum of the arguments plus one.
//!
//! Then one prompt in the middle of the first chain is edited twice: reworded so
//! that the node's outputs do not change (only that node's student calls, no
//! teacher call, nothing downstream rebuilt), then so that they do (exactly the
//! nodes that depend on it are rebuilt, and the teacher is asked only for the
//! edited node's gold).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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

/// Nodes of the first chain, of the second, and `result`: 200 in all.
const FIRST_CHAIN: usize = 100;
const SECOND_CHAIN: usize = 99;
/// The llm node of the first chain whose prompt is edited (an even index).
const EDITED: usize = 50;
const EXAMPLES: u64 = 3;

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
        Ok(ChatResponse { text: (self.rule)(request), prompt_tokens: 100, completion_tokens: 20, prompt_seconds: None, generation_seconds: None })
    }
}

fn last_message(request: &ChatRequest) -> &str {
    request.messages.last().map(|message| message.content.as_str()).unwrap_or("")
}

fn first_user_message(request: &ChatRequest) -> &str {
    request.messages.iter().find(|message| message.role == Role::User).map(|message| message.content.as_str()).unwrap_or("")
}

/// The student adds up the whole numbers of its prompt before `(node …)`: it
/// repeats a prompt's one value, and a prompt that adds 1000 gets 1000 more.
fn student_rule(request: &ChatRequest) -> String {
    let text = last_message(request);
    let text = text.split("(node").next().unwrap_or(text);
    let sum: u64 = text.split(|c: char| !c.is_ascii_digit()).filter_map(|digits| digits.parse::<u64>().ok()).sum();
    sum.to_string()
}

/// No intermediate gold; asked for code, `return <every argument summed> + 1`.
fn teacher_rule(request: &ChatRequest) -> String {
    let first = first_user_message(request);
    if first.contains("Write a deterministic Python function") {
        let arguments: Vec<String> = first
            .lines()
            .find_map(|line| line.trim().strip_prefix("Signature:"))
            .and_then(|signature| signature.split_once('(').map(|(_, rest)| rest.split(')').next().unwrap_or("").to_string()))
            .map(|list| list.split(',').map(|argument| argument.trim().to_string()).filter(|argument| !argument.is_empty()).collect())
            .unwrap_or_default();
        return format!("```python\ndef run({}):\n    return {} + 1\n```", arguments.join(", "), arguments.join(" + "));
    }
    "{}".into()
}

#[derive(Default)]
struct Counters {
    student: Arc<AtomicU64>,
    teacher: Arc<AtomicU64>,
}

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
    models.insert("student".into(), Arc::new(CountingBackend::new(Arc::new(RuleModel { name: "student", rule: student_rule }), Arc::clone(&counters.student))));
    models.insert("teacher".into(), Arc::new(CountingBackend::new(Arc::new(RuleModel { name: "teacher", rule: teacher_rule }), Arc::clone(&counters.teacher))));
    Arc::new(Doubles { models })
}

fn first_chain_node(index: usize) -> String {
    format!("a_{index}")
}

fn second_chain_node(index: usize) -> String {
    format!("b_{index}")
}

/// Each llm node's prompt names its chain and step, so no two nodes send the
/// student the same request (the call cache would answer all but the first).
fn prompt(read: &str, node: &str) -> String {
    format!("Value: {{{read}}}. Repeat the value (node {node}).")
}

fn chain(text: &mut String, length: usize, name: fn(usize) -> String) {
    for index in 0..length {
        let node = name(index);
        let read = if index == 0 { "x".to_string() } else { name(index - 1) };
        if index % 2 == 0 {
            text.push_str(&format!("  node {node} = llm(student) {{\n    prompt = \"{}\"\n    output = number\n  }}\n\n", prompt(&read, &node)));
        } else {
            text.push_str(&format!("  node {node} = code {{\n    inputs {{\n      v: number = {read}\n    }}\n    source = \"\"\"\n      def run(v):\n          return v\n      \"\"\"\n    output = number\n  }}\n\n"));
        }
    }
}

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

workflow two_chains(x: number) -> (answer: number) {
"#,
    );
    chain(&mut text, FIRST_CHAIN, first_chain_node);
    chain(&mut text, SECOND_CHAIN, second_chain_node);
    text.push_str(&format!(
        r#"  node result = code {{
    inputs {{
      a: number = {}
      b: number = {}
    }}
    source = """
      def run(a, b):
          return a + b
      """
    output = number
  }}

  answer = result
}}

optimize two_chains {{
  teacher = teacher
  train = train
  metric = numeric_match
  moves = [prompt, offload]
  budget {{
    teacher_calls = 50
  }}
}}
"#,
        first_chain_node(FIRST_CHAIN - 1),
        second_chain_node(SECOND_CHAIN - 1)
    ));
    text
}

struct Project {
    directory: PathBuf,
}

struct Built {
    lock: LockFile,
    summary: BuildSummary,
    events: Vec<BuildEvent>,
    student_calls: u64,
    teacher_calls: u64,
}

impl Built {
    fn nodes_where(&self, wanted: fn(&BuildEvent) -> Option<&str>) -> BTreeSet<String> {
        self.events.iter().filter_map(wanted).map(str::to_string).collect()
    }

    fn started(&self) -> BTreeSet<String> {
        self.nodes_where(|event| match event {
            BuildEvent::NodeStarted { node, .. } => Some(node),
            _ => None,
        })
    }

    fn reused(&self) -> BTreeSet<String> {
        self.nodes_where(|event| match event {
            BuildEvent::NodeReused { node, .. } => Some(node),
            _ => None,
        })
    }

    fn unchanged_by_value(&self) -> BTreeSet<String> {
        self.nodes_where(|event| match event {
            BuildEvent::NodeUnchangedByValue { node, .. } => Some(node),
            _ => None,
        })
    }

    fn teacher_purposes(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|event| match event {
                BuildEvent::TeacherCall { purpose, .. } => Some(purpose.clone()),
                _ => None,
            })
            .collect()
    }
}

impl Project {
    fn new(name: &str) -> Project {
        let directory = std::env::temp_dir().join(format!("flowc-cut-off-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::write(directory.join("two_chains.flow"), generated_flow()).unwrap();
        // answer = 2x + 1; inputs whose digits the code could not hard-code.
        std::fs::write(directory.join("train.jsonl"), "{\"input\": 7, \"target\": 15}\n{\"input\": 12, \"target\": 25}\n{\"input\": 30, \"target\": 61}\n").unwrap();
        Project { directory }
    }

    fn flow_path(&self) -> PathBuf {
        self.directory.join("two_chains.flow")
    }

    fn lock_path(&self) -> PathBuf {
        self.directory.join("flow.lock")
    }

    fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.flow_path()).unwrap();
        assert!(text.contains(from), "the edit's anchor `{from}` is not in the file");
        std::fs::write(self.flow_path(), text.replacen(from, to, 1)).unwrap();
    }

    /// One `flowc build` with fresh counters; the lock and the call cache persist.
    async fn build(&self) -> Built {
        let counters = Counters::default();
        self.build_with(doubles(&counters), &counters).await
    }

    async fn build_with(&self, provider: Arc<Doubles>, counters: &Counters) -> Built {
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
        let (lock, mut summaries) = match build_file(&database, file, &self.lock_path(), previous.as_ref(), &options).await {
            Ok(built) => built,
            Err(BuildFileError::Diagnostics(diagnostics)) => panic!("{} diagnostic(s) in the generated workflow", diagnostics.len()),
            Err(BuildFileError::Failed(message)) => panic!("the build failed: {message}"),
        };
        std::fs::write(self.lock_path(), lock.to_toml()).unwrap();
        let events = events.lock().unwrap().clone();
        Built { lock, summary: summaries.pop().unwrap(), events, student_calls: counters.student.load(Ordering::SeqCst), teacher_calls: counters.teacher.load(Ordering::SeqCst) }
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

fn all_nodes() -> BTreeSet<String> {
    let mut nodes: BTreeSet<String> = (0..FIRST_CHAIN).map(first_chain_node).chain((0..SECOND_CHAIN).map(second_chain_node)).collect();
    nodes.insert("result".into());
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_edit_that_leaves_outputs_unchanged_costs_only_that_nodes_student_calls() {
    let project = Project::new("unchanged");
    let full = project.build().await;
    assert_eq!(full.lock.workflows[0].nodes.len(), 200);
    assert_eq!(full.summary.train_passed_after, 3, "the full build fixes `result`: {:?}", full.summary.nodes.iter().find(|node| node.node == "result"));
    assert!(full.teacher_calls > 0 && full.student_calls > 0);

    // A true no-op: no model call, the same bytes.
    let noop = project.build().await;
    assert_eq!(noop.student_calls + noop.teacher_calls, 0);
    assert!(noop.summary.reused_all);
    assert_eq!(noop.lock.to_toml(), full.lock.to_toml());

    // Reworded: the student still repeats the value, so the node's outputs on every
    // training example are what the lock recorded.
    let edited = first_chain_node(EDITED);
    let read = first_chain_node(EDITED - 1);
    project.edit(&prompt(&read, &edited), &format!("Here is a value: {{{read}}}. Say it back, unchanged (node {edited})."));
    let reworded = project.build().await;
    assert_eq!(reworded.student_calls, EXAMPLES, "only the edited node's student calls, one per training example");
    assert_eq!(reworded.teacher_calls, 0, "no teacher call: {:?}", reworded.teacher_purposes());
    assert_eq!(reworded.unchanged_by_value(), BTreeSet::from([edited.clone()]));
    assert!(reworded.started().is_empty(), "nothing is descended: {:?}", reworded.started());
    let mut others = all_nodes();
    others.remove(&edited);
    assert_eq!(reworded.reused(), others, "every other node is reused from the lock");
    assert_eq!(reworded.summary.train_passed_after, 3);
    // The lock has the edit, and is the lock a build of it from the same history
    // gives every time: a no-op after it changes nothing.
    let locked = reworded.lock.workflows[0].nodes.iter().find(|node| node.name == edited).unwrap();
    assert!(locked.prompt.as_deref().unwrap().starts_with("Here is a value"), "{locked:?}");
    let again = project.build().await;
    assert_eq!(again.student_calls + again.teacher_calls, 0);
    assert_eq!(again.lock.to_toml(), reworded.lock.to_toml());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_that_changes_a_nodes_outputs_rebuilds_exactly_its_dependents_and_asks_only_its_gold() {
    let project = Project::new("changed");
    let full = project.build().await;
    assert_eq!(full.summary.train_passed_after, 3);

    // Now the edited node adds 1000: its outputs change on every example.
    let edited = first_chain_node(EDITED);
    let read = first_chain_node(EDITED - 1);
    project.edit(&prompt(&read, &edited), &format!("Add 1000 to the value {{{read}}} (node {edited})."));
    let changed = project.build().await;
    let dependents: BTreeSet<String> = (EDITED..FIRST_CHAIN).map(first_chain_node).chain(["result".to_string()]).collect();
    assert_eq!(changed.started(), dependents, "exactly the edited node and what depends on it are rebuilt");
    let independent: BTreeSet<String> = all_nodes().difference(&dependents).cloned().collect();
    assert_eq!(changed.reused(), independent, "everything else is reused");
    assert!(changed.unchanged_by_value().is_empty());
    // The gold of every other node is the lock's: the teacher is asked the edited
    // node's gold (one question per training example) and nothing about the others.
    let gold_questions: Vec<String> = changed.teacher_purposes().into_iter().filter(|purpose| purpose.contains("gold")).collect();
    assert_eq!(gold_questions, vec![format!("gold of `{edited}`"); EXAMPLES as usize]);
    // The student runs the rebuilt llm nodes only: the edited one and those after it
    // in its chain, one call per example each (what their descents try on top is
    // deterministic code: no call).
    let rebuilt_llm_nodes = (EDITED..FIRST_CHAIN).filter(|index| index % 2 == 0).count() as u64;
    assert_eq!(changed.student_calls, rebuilt_llm_nodes * EXAMPLES);
    let locked = changed.lock.workflows[0].nodes.iter().find(|node| node.name == edited).unwrap();
    assert!(locked.provenance.gold_key.is_some() && locked.provenance.gold.is_some(), "the lock records the node's gold for the next build: {locked:?}");

    // Determinism: a no-op after it makes no call and changes no byte.
    let again = project.build().await;
    assert_eq!(again.student_calls + again.teacher_calls, 0);
    assert_eq!(again.lock.to_toml(), changed.lock.to_toml());
}

/// A teacher whose gold says every node carries `x` (plus 2000 once the question
/// shows a prompt that adds 2000), and that writes `v + 1` when asked for code.
fn gold_teacher_rule(request: &ChatRequest) -> String {
    let first = first_user_message(request);
    if first.contains("Write a deterministic Python function") {
        return "```python\ndef run(v):\n    return v + 1\n```".into();
    }
    let x: u64 = first.split("\"x\":").nth(1).map(|rest| rest.trim_start().chars().take_while(char::is_ascii_digit).collect::<String>()).and_then(|digits| digits.parse().ok()).unwrap_or(0);
    let value = if first.contains("Add 2000") { x + 2000 } else { x };
    format!("{{\"first\": {value}, \"second\": {value}}}")
}

fn three_nodes_flow() -> String {
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

workflow three(x: number) -> (answer: number) {
  node first = llm(student) {
    prompt = "Repeat {x} (node first)."
    output = number
  }

  node second = llm(student) {
    prompt = "Repeat {first} (node second)."
    output = number
  }

  node result = code {
    inputs {
      v: number = second
    }
    source = """
      def run(v):
          return v
      """
    output = number
  }

  answer = result
}

optimize three {
  teacher = teacher
  train = train
  metric = numeric_match
  moves = [prompt, offload]
  budget {
    teacher_calls = 50
  }
}
"#
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gold_is_kept_per_node_and_an_edit_re_asks_only_what_depends_on_it() {
    let project = Project::new("gold");
    std::fs::write(project.flow_path(), three_nodes_flow()).unwrap();
    std::fs::write(project.directory.join("train.jsonl"), "{\"input\": 7, \"target\": 8}\n{\"input\": 12, \"target\": 13}\n{\"input\": 30, \"target\": 31}\n").unwrap();
    let build = |teacher: fn(&ChatRequest) -> String| {
        let project = &project;
        async move {
            let counters = Counters::default();
            let mut models: BTreeMap<String, Arc<dyn ModelBackend>> = BTreeMap::new();
            models.insert("student".into(), Arc::new(CountingBackend::new(Arc::new(RuleModel { name: "student", rule: student_rule }), Arc::clone(&counters.student))));
            models.insert("teacher".into(), Arc::new(CountingBackend::new(Arc::new(RuleModel { name: "teacher", rule: teacher }), Arc::clone(&counters.teacher))));
            project.build_with(Arc::new(Doubles { models }), &counters).await
        }
    };
    let full = build(gold_teacher_rule).await;
    assert_eq!(full.summary.train_passed_after, 3);
    assert_eq!(full.teacher_purposes().iter().filter(|purpose| purpose.contains("gold")).collect::<Vec<_>>(), vec!["gold trace"; 3], "a first build asks the whole trace");
    let gold_of = |built: &Built, name: &str| built.lock.workflows[0].nodes.iter().find(|node| node.name == name).and_then(|node| node.provenance.gold.clone());
    assert_eq!(gold_of(&full, "second").as_deref(), Some("[7,12,30]"));
    assert_eq!(gold_of(&full, "result"), None, "an output node's gold is its target");

    // `first` now adds 1000 (its outputs change, the plan fails, it is descended);
    // the teacher's gold for it is the same, so `second`'s gold key holds.
    project.edit("Repeat {x} (node first).", "Add 1000 to {x} (node first).");
    let edited = build(gold_teacher_rule).await;
    let gold_questions: Vec<String> = edited.teacher_purposes().into_iter().filter(|purpose| purpose.contains("gold")).collect();
    assert_eq!(gold_questions, vec!["gold of `first`"; 3], "only the edited node's gold is asked again");
    assert_eq!(gold_of(&edited, "second"), gold_of(&full, "second"));

    // Now the teacher's gold for `first` changes too: `second`'s gold depends on it,
    // a second node to re-ask, so the whole trace is asked (once per example).
    project.edit("Add 1000 to {x} (node first).", "Add 2000 to {x} (node first).");
    let cascaded = build(gold_teacher_rule).await;
    let gold_questions: Vec<String> = cascaded.teacher_purposes().into_iter().filter(|purpose| purpose.contains("gold")).collect();
    assert_eq!(gold_questions, [vec!["gold of `first`".to_string(); 3], vec!["gold trace".to_string(); 3]].concat());
    assert_eq!(gold_of(&cascaded, "second").as_deref(), Some("[2007,2012,2030]"));
}

/// As `student_rule`, but a prompt that asks to round down to tens does.
fn rounding_student_rule(request: &ChatRequest) -> String {
    let sum: u64 = student_rule(request).parse().unwrap_or(0);
    if last_message(request).contains("round down to tens") {
        (sum - sum % 10).to_string()
    } else {
        sum.to_string()
    }
}

/// The three-node workflow on multiples of ten, optionally with a validation set
/// whose input (7) is not one; `first`'s prompt is then edited to round down to
/// tens, which changes nothing on the training examples.
async fn round_down_edit(with_validation: bool) -> Built {
    let project = Project::new(if with_validation { "validation-widens" } else { "training-only" });
    let mut flow = three_nodes_flow();
    if with_validation {
        flow = flow.replace("workflow three", "dataset heldout = jsonl(\"validation.jsonl\") {\n  x = .input\n  answer = .target\n}\n\nworkflow three").replace("  train = train\n", "  train = train\n  validation = heldout\n");
        std::fs::write(project.directory.join("validation.jsonl"), "{\"input\": 7, \"target\": 8}\n").unwrap();
    }
    std::fs::write(project.flow_path(), flow).unwrap();
    std::fs::write(project.directory.join("train.jsonl"), "{\"input\": 10, \"target\": 11}\n{\"input\": 20, \"target\": 21}\n{\"input\": 30, \"target\": 31}\n").unwrap();
    let build = || async {
        let counters = Counters::default();
        let mut models: BTreeMap<String, Arc<dyn ModelBackend>> = BTreeMap::new();
        models.insert("student".into(), Arc::new(CountingBackend::new(Arc::new(RuleModel { name: "student", rule: rounding_student_rule }), Arc::clone(&counters.student))));
        models.insert("teacher".into(), Arc::new(CountingBackend::new(Arc::new(RuleModel { name: "teacher", rule: gold_teacher_rule }), Arc::clone(&counters.teacher))));
        project.build_with(Arc::new(Doubles { models }), &counters).await
    };
    let full = build().await;
    assert_eq!(full.summary.train_passed_after, 3);
    project.edit("Repeat {x} (node first).", "Repeat {x}, round down to tens (node first).");
    build().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_are_compared_on_the_validation_examples_too() {
    // Unchanged on every training example: settles, nothing else is rebuilt.
    let training_only = round_down_edit(false).await;
    assert_eq!(training_only.unchanged_by_value(), BTreeSet::from(["first".to_string()]));
    assert!(training_only.started().is_empty(), "{:?}", training_only.started());
    assert_eq!(training_only.reused(), BTreeSet::from(["second".to_string(), "result".to_string()]));
    // With a validation example it changes (7 becomes 0): not settled, and the
    // nodes that read it are rebuilt.
    let with_validation = round_down_edit(true).await;
    assert!(with_validation.unchanged_by_value().is_empty(), "the validation example's output changed");
    assert_eq!(with_validation.reused(), BTreeSet::new(), "what reads it is rebuilt: {:?}", with_validation.summary.nodes);
}
