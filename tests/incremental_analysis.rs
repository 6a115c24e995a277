//! Incrementality of the salsa database, proved by counting query executions:
//! edits that do not change what a declaration means re-run nothing downstream of
//! the span-free HIR; editing one workflow re-analyses that workflow alone.

use std::path::Path;
use std::sync::{Arc, Mutex};

use flowc::semantic::{file_diagnostics, FlowDatabase};

#[derive(Clone, Default)]
struct ExecutionLog(Arc<Mutex<Vec<String>>>);

impl ExecutionLog {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    fn count(executions: &[String], query: &str) -> usize {
        executions.iter().filter(|execution| execution.starts_with(&format!("{query}("))).count()
    }
}

fn database() -> (FlowDatabase, ExecutionLog) {
    let log = ExecutionLog::default();
    let sink = log.clone();
    let database = FlowDatabase::with_execution_observer(Arc::new(move |query: &str| sink.0.lock().unwrap().push(query.to_string())));
    (database, log)
}

const TWO_WORKFLOWS: &str = r#"// Two independent workflows in one file.
model student = gguf("student.gguf") {
  temperature = 0
}

workflow first(question: text) -> (answer: text) {
  node reply = llm(student) {
    prompt = "Answer: {question}"
    output = text
  }
  answer = reply
}

workflow second(question: text) -> (answer: text) {
  node reply = llm(student) {
    prompt = "Answer briefly: {question}"
    output = text
  }
  answer = reply
}
"#;

fn codes(database: &FlowDatabase, file: flowc::semantic::SourceFile) -> Vec<String> {
    file_diagnostics(database, file).iter().map(|diagnostic| diagnostic.code.id.to_string()).collect()
}

#[test]
fn first_check_analyses_every_item_once() {
    let (mut database, log) = database();
    let file = database.set_file_text(Path::new("memory/two.flow"), TWO_WORKFLOWS.to_string());
    assert!(codes(&database, file).is_empty());
    let executions = log.take();
    assert_eq!(ExecutionLog::count(&executions, "analyze_item"), 3, "{executions:#?}");
    assert_eq!(ExecutionLog::count(&executions, "file_chunks"), 1);
    // The leading comment, the model and each workflow: each chunk parsed once.
    let chunks = flowc::syntax::chunk_split::split_into_chunks(TWO_WORKFLOWS).len();
    assert!(chunks >= 4, "{chunks}");
    assert_eq!(ExecutionLog::count(&executions, "parse_chunk"), chunks, "{executions:#?}");
}

#[test]
fn editing_a_comment_or_whitespace_reanalyses_nothing() {
    let (mut database, log) = database();
    let file = database.set_file_text(Path::new("memory/two.flow"), TWO_WORKFLOWS.to_string());
    codes(&database, file);
    log.take();

    let edited = TWO_WORKFLOWS.replace("// Two independent workflows in one file.", "// A longer comment\n// over two lines, which moves every span.");
    database.set_file_text(Path::new("memory/two.flow"), edited.clone());
    assert!(codes(&database, file).is_empty());
    let executions = log.take();
    assert_eq!(ExecutionLog::count(&executions, "file_chunks"), 1, "the text changed, so it is cut again");
    assert_eq!(ExecutionLog::count(&executions, "parse_chunk"), 1, "only the comment's chunk is parsed again: {executions:#?}");
    assert_eq!(ExecutionLog::count(&executions, "analyze_item"), 0, "{executions:#?}");
    assert_eq!(ExecutionLog::count(&executions, "file_scope"), 0, "{executions:#?}");

    let reindented = edited.replace("  node reply", "      node reply").replace("answer = reply", "answer   =   reply");
    database.set_file_text(Path::new("memory/two.flow"), reindented);
    assert!(codes(&database, file).is_empty());
    let executions = log.take();
    assert_eq!(ExecutionLog::count(&executions, "analyze_item"), 0, "{executions:#?}");
}

#[test]
fn editing_one_workflow_reanalyses_only_that_workflow() {
    let (mut database, log) = database();
    let file = database.set_file_text(Path::new("memory/two.flow"), TWO_WORKFLOWS.to_string());
    codes(&database, file);
    log.take();

    // A new, unused node in `second`: a warning only `second`'s analysis can produce.
    let edited = TWO_WORKFLOWS.replace(
        "    prompt = \"Answer briefly: {question}\"",
        "    prompt = \"Answer very briefly: {question}\"",
    );
    database.set_file_text(Path::new("memory/two.flow"), edited.clone());
    assert!(codes(&database, file).is_empty());
    let executions = log.take();
    assert_eq!(ExecutionLog::count(&executions, "analyze_item"), 1, "only `second` is re-analysed: {executions:#?}");

    let with_unused = edited.replace(
        "  answer = reply\n}\n\nworkflow second",
        "  node spare = llm(student) {\n    prompt = \"{question}\"\n    output = text\n  }\n  answer = reply\n}\n\nworkflow second",
    );
    database.set_file_text(Path::new("memory/two.flow"), with_unused);
    assert_eq!(codes(&database, file), vec!["W0301"]);
    let executions = log.take();
    assert_eq!(ExecutionLog::count(&executions, "analyze_item"), 1, "only `first` is re-analysed: {executions:#?}");
}

#[test]
fn editing_an_imported_file_without_changing_its_meaning_reanalyses_nothing_in_the_importer() {
    let (mut database, log) = database();
    let shared = "// Models shared by the project.\nmodel student = gguf(\"student.gguf\") {\n  temperature = 0\n}\n";
    let main = "import \"./shared.flow\" { student }\n\nworkflow solve(question: text) -> (answer: text) {\n  node reply = llm(student) {\n    prompt = \"{question}\"\n    output = text\n  }\n  answer = reply\n}\n";
    let shared_file = database.set_file_text(Path::new("memory/project/shared.flow"), shared.to_string());
    let main_file = database.set_file_text(Path::new("memory/project/main.flow"), main.to_string());
    assert!(codes(&database, main_file).is_empty());
    assert!(codes(&database, shared_file).is_empty());
    log.take();

    database.set_file_text(Path::new("memory/project/shared.flow"), format!("// One more comment.\n{shared}"));
    assert!(codes(&database, main_file).is_empty());
    let executions = log.take();
    assert_eq!(ExecutionLog::count(&executions, "analyze_item"), 0, "{executions:#?}");
    assert_eq!(ExecutionLog::count(&executions, "file_scope"), 0, "{executions:#?}");

    // Renaming the model is a real change: the importer now reports the broken import.
    database.set_file_text(Path::new("memory/project/shared.flow"), shared.replace("model student", "model pupil"));
    let main_codes = codes(&database, main_file);
    assert!(main_codes.contains(&"E0202".to_string()), "{main_codes:?}");
}

/// A workflow of `count` nodes, every one upstream of the output: `n0` reads the
/// question, each llm node reads the one before (`{nK.value}`), every fifth node is
/// a code node that reads its predecessor's value.
fn many_node_workflow(count: usize) -> String {
    let mut text = String::from("model student = gguf(\"student.gguf\") {\n  temperature = 0\n}\n\nworkflow big(question: text) -> (answer: number) {\n");
    for index in 0..count {
        if index == 0 {
            text.push_str("  node n0 = llm(student) {\n    prompt = \"Read: {question}\"\n    output = json { value: number, summary: text }\n  }\n");
        } else if index % 5 == 0 {
            text.push_str(&format!(
                "  node n{index} = code {{\n    inputs {{ previous: number = n{}.value }}\n    source = \"\"\"\ndef run(previous):\n    return {{\"value\": previous + {index}, \"summary\": \"step\"}}\n\"\"\"\n    output = json {{ value: number, summary: text }}\n  }}\n",
                index - 1
            ));
        } else {
            text.push_str(&format!(
                "  node n{index} = llm(student) {{\n    prompt = \"Step {index} after {{n{}.value}}\"\n    output = json {{ value: number, summary: text }}\n  }}\n",
                index - 1
            ));
        }
    }
    text.push_str(&format!("  answer = n{}.value\n}}\n", count - 1));
    text
}

#[test]
fn a_one_node_edit_in_a_many_node_workflow_rechecks_that_node_alone() {
    const NODES: usize = 200;
    let (mut database, log) = database();
    let original = many_node_workflow(NODES);
    let path = Path::new("memory/many.flow");
    let file = database.set_file_text(path, original.clone());
    assert!(codes(&database, file).is_empty(), "{:?}", codes(&database, file));
    let executions = log.take();
    assert_eq!(ExecutionLog::count(&executions, "analyze_node"), NODES, "the first check checks every node once");
    assert_eq!(ExecutionLog::count(&executions, "code_run_signature"), NODES / 5 - 1, "each code node's `run` is read once");

    // Type one character into the prompt of a node in the middle.
    let typed = original.replace("prompt = \"Step 101 after", "prompt = \"Step 101x after");
    assert_ne!(typed, original);
    database.set_file_text(path, typed);
    assert!(codes(&database, file).is_empty());
    let executions = log.take();
    assert_eq!(ExecutionLog::count(&executions, "file_chunks"), 1);
    assert_eq!(ExecutionLog::count(&executions, "parse_chunk"), 1, "only the edited node's chunk is parsed again: {executions:#?}");
    assert_eq!(ExecutionLog::count(&executions, "lower_chunk"), 1, "and lowered again: {executions:#?}");
    assert_eq!(ExecutionLog::count(&executions, "parse_file"), 0, "no whole tree is put together to check a file");
    assert_eq!(ExecutionLog::count(&executions, "analyze_item"), 1, "the workflow collects its nodes again");
    assert_eq!(ExecutionLog::count(&executions, "workflow_context"), 1, "re-run, and found equal");
    assert_eq!(ExecutionLog::count(&executions, "analyze_node"), 1, "only the edited node is re-checked: {:#?}", executions.iter().filter(|e| e.starts_with("analyze_node(")).collect::<Vec<_>>());
    assert_eq!(ExecutionLog::count(&executions, "code_run_signature"), 0, "no code is parsed again");

    // A mistake inside one node is found by re-checking that node alone, and so is its fix.
    let broken = original.replace("prompt = \"Step 101 after {n100.value}\"", "prompt = \"Step 101 after {n100.valeu}\"");
    assert_ne!(broken, original);
    database.set_file_text(path, broken);
    assert_eq!(codes(&database, file), vec!["E0104".to_string()]);
    let executions = log.take();
    assert_eq!(ExecutionLog::count(&executions, "analyze_node"), 1, "{executions:#?}");
    database.set_file_text(path, original.clone());
    assert!(codes(&database, file).is_empty());
    assert_eq!(ExecutionLog::count(&log.take(), "analyze_node"), 1);

    // Editing a code node's source re-reads that code alone.
    let recoded = original.replace("return {\"value\": previous + 100,", "return {\"value\": previous - 100,");
    assert_ne!(recoded, original);
    database.set_file_text(path, recoded);
    assert!(codes(&database, file).is_empty());
    let executions = log.take();
    assert_eq!(ExecutionLog::count(&executions, "analyze_node"), 1, "{executions:#?}");
    assert_eq!(ExecutionLog::count(&executions, "code_run_signature"), 1);
}
