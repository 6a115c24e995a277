//! A whole editing session with the real `flowc lsp` binary over stdio: initialize,
//! open, an incremental edit that introduces an error and one that fixes it (with
//! their diagnostics), hover on a locked node (the lock written by `flowc lock`, then
//! made stale by an edit), definition (into `std/…` too), references, completion after
//! `{extract.`, formatting (compared with `flowc fmt`), rename (and a refused one),
//! semantic tokens (full and delta), code actions, code lens, a request cancelled by a
//! newer edit and one cancelled by `$/cancelRequest`, close, shutdown and exit.

#[path = "support/lsp_client.rs"]
mod lsp_client;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use lsp_client::{file_uri, position_of, LspClient};
use serde_json::{json, Value};

const FLOWC: &str = env!("CARGO_BIN_EXE_flowc");

const SOURCE: &str = r#"import "std/metrics" { numeric_match }

model student = gguf("student.gguf") {
  temperature = 0
  seed = 0
}

workflow solve(question: text) -> (answer: number, summary: text) {
  node extract = llm(student) {
    system = "You copy the numbers of a problem."
    prompt = "Problem: {question}"
    output = json { quantities: [number], unit: text }
  }

  node compute = code {
    inputs {
      numbers = extract.quantities
    }
    source = """
      def run(numbers):
          return sum(numbers)
      """
    output = number
  }

  node report = llm(student) {
    prompt = "Numbers {extract.quantities} in {extract.unit}, total {compute}"
    output = text
  }

  answer = compute
  summary = report
}
"#;

fn temporary_folder(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("flowc-lsp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

fn range_at(text: &str, needle: &str) -> Value {
    let start = position_of(text, needle, 0);
    let end = position_of(text, needle, needle.len());
    json!({"start": start, "end": end})
}

fn change(uri: &str, version: i64, range: Value, new_text: &str) -> Value {
    LspClient::notification_message(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": range, "text": new_text}]}),
    )
}

fn codes_of(diagnostics: &Value) -> Vec<String> {
    diagnostics["diagnostics"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap_or("").to_string()).collect()
}

/// A hover's markdown; asked again (a few times) while the server is still hashing
/// the model file in the background, which it says instead of waiting.
fn hover_text(client: &mut LspClient, uri: &str, position: Value) -> String {
    for _ in 0..100 {
        let result = client.result("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": position.clone()}));
        let text = result["contents"]["value"].as_str().unwrap_or_else(|| panic!("hover has no markdown: {result}")).to_string();
        if !text.contains("being hashed") && !text.contains("being computed") {
            return text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the model file was still being hashed after 10 s");
}

/// A big file of chained nodes: its first analysis takes long enough for an edit
/// sent right after a request to overtake it.
fn chained_workflow(nodes: usize) -> String {
    let mut text = String::from("model student = gguf(\"student.gguf\") {\n  temperature = 0\n}\n\nworkflow chain(question: text) -> (answer: text) {\n");
    for index in 0..nodes {
        let read = if index == 0 { "question".to_string() } else { format!("n{}", index - 1) };
        text.push_str(&format!("  node n{index} = llm(student) {{\n    prompt = \"Step {index}: {{{read}}}\"\n    output = text\n  }}\n"));
    }
    text.push_str(&format!("  answer = n{}\n}}\n", nodes - 1));
    text
}

#[test]
fn a_whole_session_over_stdio() {
    let folder = temporary_folder("session");
    let path = folder.join("solve.flow");
    std::fs::write(&path, SOURCE).unwrap();
    // `flowc lock` only hashes the model file: a few bytes stand in for the weights.
    std::fs::write(folder.join("student.gguf"), b"GGUF stand-in: hashed, never loaded").unwrap();
    let lock = Command::new(FLOWC).arg("lock").arg(&path).output().expect("run flowc lock");
    assert!(lock.status.success(), "flowc lock failed: {}", String::from_utf8_lossy(&lock.stderr));
    assert!(folder.join("flow.lock").is_file());

    let mut client = LspClient::start(Path::new(FLOWC));
    let initialized = client.initialize(&folder);
    let capabilities = &initialized["capabilities"];
    assert_eq!(capabilities["textDocumentSync"]["change"], 2, "incremental sync: {capabilities}");
    assert_eq!(capabilities["semanticTokensProvider"]["full"]["delta"], true);

    // ---------------------------------------------------------------- diagnostics
    let uri = client.open(&path, SOURCE);
    let opened = client.diagnostics(&uri, Some(1));
    assert_eq!(codes_of(&opened), Vec::<String>::new(), "a clean file: {opened}");

    // An incremental edit that misspells a field...
    client.send(&change(&uri, 2, range_at(SOURCE, "numbers = extract.quantities"), "numbers = extract.quantites"));
    let broken = client.diagnostics(&uri, Some(2));
    let codes = codes_of(&broken);
    assert_eq!(codes, vec!["flow::E0104".to_string()], "{broken}");
    let diagnostic = &broken["diagnostics"][0];
    assert!(diagnostic["message"].as_str().unwrap().contains("quantites"), "{diagnostic}");
    assert!(diagnostic["message"].as_str().unwrap().contains("help: "), "the help line ends the message: {diagnostic}");
    assert_eq!(diagnostic["source"], "flowc");
    assert_eq!(diagnostic["severity"], 1);
    assert_eq!(diagnostic["range"]["start"]["line"], position_of(SOURCE, "numbers = extract", 0)["line"]);
    let broken_text = SOURCE.replace("numbers = extract.quantities", "numbers = extract.quantites");
    // ...whose `flowc check` report is the same code and message.
    let check_path = folder.join("broken-copy.flow");
    std::fs::write(&check_path, &broken_text).unwrap();
    let check = Command::new(FLOWC).args(["check", "--message-format", "json"]).arg(&check_path).output().unwrap();
    let reported: Value = serde_json::from_slice(check.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    std::fs::remove_file(&check_path).unwrap();
    assert_eq!(reported["code"], "flow::E0104");
    assert!(diagnostic["message"].as_str().unwrap().starts_with(reported["message"].as_str().unwrap()));

    // The quick fix for it: "did you mean".
    let actions = client.result(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]}}),
    );
    let edit = &actions[0]["edit"]["changes"][&uri][0];
    assert_eq!(edit["newText"], "quantities", "{actions}");

    // ...and the edit that fixes it.
    client.send(&change(&uri, 3, range_at(&broken_text, "quantites"), "quantities"));
    let fixed = client.diagnostics(&uri, Some(3));
    assert_eq!(codes_of(&fixed), Vec::<String>::new(), "{fixed}");

    // ---------------------------------------------------------------- hover with a lock
    let hover = hover_text(&mut client, &uri, position_of(SOURCE, "extract = llm", 1));
    assert!(hover.contains("node extract = llm(student)"), "{hover}");
    assert!(hover.contains("json { quantities: [number], unit: text }"), "the output type: {hover}");
    assert!(hover.contains("`question`: `text` ← workflow input `question`"), "the inputs and their origin: {hover}");
    assert!(hover.contains("**compiled**"), "the lock's artefact: {hover}");
    assert!(hover.contains("You copy the numbers of a problem."), "the rendered system prompt: {hover}");
    assert!(hover.contains("produced by: `as-written`"), "the provenance: {hover}");
    assert!(hover.contains(": up to date"), "{hover}");
    let model_hover = hover_text(&mut client, &uri, position_of(SOURCE, "student = gguf", 1));
    assert!(model_hover.contains("backend: `gguf`") && model_hover.contains("sha256: `"), "{model_hover}");
    assert!(model_hover.contains("`temperature = 0.0`") || model_hover.contains("`temperature = 0`"), "decoding as values: {model_hover}");
    let code_hover = hover_text(&mut client, &uri, position_of(SOURCE, "compute = code", 1));
    assert!(code_hover.contains("def run(numbers)"), "a code node's locked code: {code_hover}");

    // ---------------------------------------------------------------- definition
    let definition = client.result("textDocument/definition", json!({"textDocument": {"uri": uri}, "position": position_of(SOURCE, "extract.quantities\n", 2)}));
    assert_eq!(definition["uri"], uri);
    assert_eq!(definition["range"], json!({"start": position_of(SOURCE, "extract = llm", 0), "end": position_of(SOURCE, "extract = llm", 7)}));
    let into_std = client.result("textDocument/definition", json!({"textDocument": {"uri": uri}, "position": position_of(SOURCE, "numeric_match", 3)}));
    let std_uri = into_std["uri"].as_str().unwrap();
    let std_path = std_uri.strip_prefix("file://").unwrap();
    let std_text = std::fs::read_to_string(std_path).expect("the standard module is served as a file");
    assert!(std_text.contains("metric numeric_match("), "{std_text}");
    assert!(std::fs::metadata(std_path).unwrap().permissions().readonly(), "std files are read-only");
    assert_eq!(into_std["range"]["start"], position_of(&std_text, "metric numeric_match(", 7));

    // ---------------------------------------------------------------- references
    let references = client.result(
        "textDocument/references",
        json!({"textDocument": {"uri": uri}, "position": position_of(SOURCE, "student = gguf", 0), "context": {"includeDeclaration": true}}),
    );
    assert_eq!(references.as_array().unwrap().len(), 3, "the declaration and two llm(student): {references}");
    let extract_uses = client.result(
        "textDocument/references",
        json!({"textDocument": {"uri": uri}, "position": position_of(SOURCE, "extract = llm", 0), "context": {"includeDeclaration": false}}),
    );
    assert_eq!(extract_uses.as_array().unwrap().len(), 3, "an input and two template references: {extract_uses}");

    // ---------------------------------------------------------------- completion
    let completion = client.result("textDocument/completion", json!({"textDocument": {"uri": uri}, "position": position_of(SOURCE, "{extract.quantities} in", 9)}));
    let mut labels: Vec<&str> = completion.as_array().unwrap().iter().map(|item| item["label"].as_str().unwrap()).collect();
    labels.sort();
    assert_eq!(labels, vec!["quantities", "unit"], "{completion}");
    let properties = client.result("textDocument/completion", json!({"textDocument": {"uri": uri}, "position": position_of(SOURCE, "    output = number", 4)}));
    let property_labels: Vec<&str> = properties.as_array().unwrap().iter().map(|item| item["label"].as_str().unwrap()).collect();
    assert!(property_labels.contains(&"source") && property_labels.contains(&"inputs") && !property_labels.contains(&"samples"), "{properties}");

    // ---------------------------------------------------------------- signature help
    let not_in_call = client.result("textDocument/signatureHelp", json!({"textDocument": {"uri": uri}, "position": position_of(SOURCE, "numeric_match", 13)}));
    assert!(not_in_call.is_null(), "{not_in_call}");
    let call_path = folder.join("call.flow");
    let call = "import \"std/metrics\" { numeric_match }\n\noptimize solve {\n  metric = numeric_match(rel_tol = 1e-6, abs_tol = 0)\n}\n";
    let call_uri = client.open(&call_path, call);
    let signature = client.result("textDocument/signatureHelp", json!({"textDocument": {"uri": call_uri}, "position": position_of(call, "abs_tol = 0", 10)}));
    assert_eq!(signature["signatures"][0]["label"], "numeric_match(rel_tol: number = 1e-9, abs_tol: number = 0)", "{signature}");
    assert_eq!(signature["activeParameter"], 1, "{signature}");
    client.notify("textDocument/didClose", json!({"textDocument": {"uri": call_uri}}));

    // ---------------------------------------------------------------- outline, folds, hints, symbols
    let outline = client.result("textDocument/documentSymbol", json!({"textDocument": {"uri": uri}}));
    let names: Vec<&str> = outline.as_array().unwrap().iter().map(|symbol| symbol["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["import \"std/metrics\"", "student", "solve"], "{outline}");
    let children: Vec<&str> = outline[2]["children"].as_array().unwrap().iter().map(|symbol| symbol["name"].as_str().unwrap()).collect();
    assert_eq!(children, vec!["question", "answer", "summary", "extract", "compute", "report"], "{outline}");
    let folds = client.result("textDocument/foldingRange", json!({"textDocument": {"uri": uri}}));
    let workflow_line = position_of(SOURCE, "workflow solve", 0)["line"].clone();
    assert!(folds.as_array().unwrap().iter().any(|fold| fold["startLine"] == workflow_line), "{folds}");
    let hints = client.result(
        "textDocument/inlayHint",
        json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 60, "character": 0}}}),
    );
    assert_eq!(hints.as_array().unwrap().len(), 1, "{hints}");
    assert_eq!(hints[0]["label"], ": [number]", "{hints}");
    assert_eq!(hints[0]["position"], position_of(SOURCE, "numbers = extract", 7));
    let symbols = client.result("workspace/symbol", json!({"query": "comp"}));
    assert!(symbols.as_array().unwrap().iter().any(|symbol| symbol["name"] == "compute" && symbol["containerName"] == "solve"), "{symbols}");

    // ---------------------------------------------------------------- semantic tokens
    let tokens = client.result("textDocument/semanticTokens/full", json!({"textDocument": {"uri": uri}}));
    let data = tokens["data"].as_array().unwrap();
    assert!(data.len() > 100 && data.len() % 5 == 0, "{tokens}");
    let legend: Vec<String> = capabilities["semanticTokensProvider"]["legend"]["tokenTypes"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
    assert_eq!(token_at(data, &legend, position_of(SOURCE, "node extract", 0)), Some(("keyword".into(), 4)));
    assert_eq!(token_at(data, &legend, position_of(SOURCE, "extract = llm", 0)), Some(("variable".into(), 7)));
    assert_eq!(token_at(data, &legend, position_of(SOURCE, "{question}", 1)), Some(("parameter".into(), 8)), "a template reference inside a string");
    // A delta against that result after an edit touches only what changed.
    client.send(&change(&uri, 4, range_at(SOURCE, "You copy the numbers of a problem."), "You copy every number of a problem."));
    let edited = SOURCE.replace("You copy the numbers of a problem.", "You copy every number of a problem.");
    let delta = client.result("textDocument/semanticTokens/full/delta", json!({"textDocument": {"uri": uri}, "previousResultId": tokens["resultId"]}));
    let edits = delta["edits"].as_array().unwrap_or_else(|| panic!("a delta: {delta}"));
    assert!(edits.len() <= 1 && edits.iter().all(|edit| edit["deleteCount"].as_u64().unwrap() < 20), "{delta}");

    // ---------------------------------------------------------------- the lock is stale now
    let stale = hover_text(&mut client, &uri, position_of(&edited, "extract = llm", 1));
    assert!(stale.contains("**stale**: this node changed"), "{stale}");
    let unchanged = hover_text(&mut client, &uri, position_of(&edited, "compute = code", 1));
    assert!(unchanged.contains("this node is unchanged") || unchanged.contains("**stale**"), "{unchanged}");
    let lenses = client.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}}));
    let title = lenses[0]["command"]["title"].as_str().unwrap();
    assert!(title.starts_with("plan: stale ("), "{lenses}");
    assert_eq!(lenses[0]["command"]["command"], "flowc.build");

    // ---------------------------------------------------------------- formatting
    let messy_path = folder.join("messy.flow");
    let messy = "model   student=gguf(\"student.gguf\"){temperature=0}\n\n\n\nworkflow w(q:text)->(a:text){\nnode n=llm(student){prompt=\"{q}\"\noutput=text}\na=n}\n";
    std::fs::write(&messy_path, messy).unwrap();
    let messy_uri = client.open(&messy_path, messy);
    let formatting = client.result("textDocument/formatting", json!({"textDocument": {"uri": messy_uri}, "options": {"tabSize": 2, "insertSpaces": true}}));
    let formatted = formatting[0]["newText"].as_str().unwrap().to_string();
    let fmt = Command::new(FLOWC).arg("fmt").arg(&messy_path).output().unwrap();
    assert!(fmt.status.success(), "{}", String::from_utf8_lossy(&fmt.stderr));
    assert_eq!(formatted, std::fs::read_to_string(&messy_path).unwrap(), "formatting is exactly `flowc fmt`");
    client.notify("textDocument/didClose", json!({"textDocument": {"uri": messy_uri}}));
    let closed = client.diagnostics(&messy_uri, None);
    assert_eq!(closed["diagnostics"], json!([]), "a closed file's diagnostics are cleared");

    // ---------------------------------------------------------------- rename
    let rename = client.result(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri}, "position": position_of(&edited, "extract = llm", 0), "newName": "pull"}),
    );
    let rename_edits = rename["changes"][&uri].as_array().unwrap();
    assert_eq!(rename_edits.len(), 4, "the declaration and its three uses: {rename}");
    assert!(rename_edits.iter().all(|edit| edit["newText"] == "pull"));
    let collision = client.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri}, "position": position_of(&edited, "extract = llm", 0), "newName": "compute"}),
    );
    let message = collision["error"]["message"].as_str().unwrap_or_else(|| panic!("a colliding rename is refused: {collision}"));
    assert!(message.contains("already has") && message.contains("compute"), "{message}");

    // ---------------------------------------------------------------- importers are re-checked
    let shared_path = folder.join("shared.flow");
    let shared = "model student = gguf(\"student.gguf\") {\n  temperature = 0\n}\n";
    std::fs::write(&shared_path, shared).unwrap();
    let importer_path = folder.join("importer.flow");
    let importer = "import \"./shared.flow\" { student }\n\nworkflow echo(text: text) -> (reply: text) {\n  node say = llm(student) {\n    prompt = \"{text}\"\n    output = text\n  }\n  reply = say\n}\n";
    let importer_uri = client.open(&importer_path, importer);
    assert_eq!(codes_of(&client.diagnostics(&importer_uri, Some(1))), Vec::<String>::new());
    let shared_uri = client.open(&shared_path, shared);
    client.diagnostics(&shared_uri, Some(1));
    client.send(&change(&shared_uri, 2, range_at(shared, "student"), "pupil"));
    client.diagnostics(&shared_uri, Some(2));
    let importer_now = client.diagnostics(&importer_uri, Some(1));
    assert_eq!(codes_of(&importer_now), vec!["flow::E0202".to_string()], "the importer sees the change of the file it imports: {importer_now}");
    // Closing the changed file puts the disk's text back: the importer is clean again.
    client.notify("textDocument/didClose", json!({"textDocument": {"uri": shared_uri}}));
    let importer_again = client.diagnostics(&importer_uri, Some(1));
    assert_eq!(codes_of(&importer_again), Vec::<String>::new(), "{importer_again}");

    // ---------------------------------------------------------------- cancellation
    let big_path = folder.join("big.flow");
    let big = chained_workflow(4000);
    std::fs::write(&big_path, &big).unwrap();
    let big_uri = client.open(&big_path, &big);
    let (hover_id, hover_request) = client.request_message(
        "textDocument/hover",
        json!({"textDocument": {"uri": big_uri}, "position": position_of(&big, "n3999 = llm", 1)}),
    );
    let insert = json!({"start": position_of(&big, "Step 0", 0), "end": position_of(&big, "Step 0", 0)});
    client.send_together(&[hover_request, change(&big_uri, 2, insert, "x")]);
    let cancelled = client.response(hover_id, Duration::from_secs(60));
    assert_eq!(cancelled["error"]["code"], -32801, "a newer edit makes the request ContentModified: {cancelled}");
    client.diagnostics(&big_uri, Some(2));
    // `$/cancelRequest` for a request in flight.
    let (tokens_id, tokens_request) = client.request_message("textDocument/semanticTokens/full", json!({"textDocument": {"uri": big_uri}}));
    let cancel = LspClient::notification_message("$/cancelRequest", json!({"id": tokens_id}));
    client.send_together(&[tokens_request, cancel]);
    let answered = client.response(tokens_id, Duration::from_secs(60));
    assert_eq!(answered["error"]["code"], -32800, "{answered}");

    // ---------------------------------------------------------------- close, shutdown, exit
    client.notify("textDocument/didClose", json!({"textDocument": {"uri": uri}}));
    let cleared = client.diagnostics(&uri, None);
    assert_eq!(cleared["diagnostics"], json!([]));
    let status = client.shut_down();
    assert!(status.success(), "flowc lsp exited with {status}");
    let _ = std::fs::remove_dir_all(&folder);
    let _ = file_uri;
}

/// The (type, length) of the semantic token starting at `position`.
fn token_at(data: &[Value], legend: &[String], position: Value) -> Option<(String, u64)> {
    let (want_line, want_character) = (position["line"].as_u64()?, position["character"].as_u64()?);
    let (mut line, mut character) = (0u64, 0u64);
    for token in data.chunks(5) {
        let delta_line = token[0].as_u64()?;
        let delta_start = token[1].as_u64()?;
        if delta_line > 0 {
            line += delta_line;
            character = delta_start;
        } else {
            character += delta_start;
        }
        if (line, character) == (want_line, want_character) {
            return Some((legend[token[3].as_u64()? as usize].clone(), token[2].as_u64()?));
        }
    }
    None
}

/// The code lens's title for the first workflow, asked until it is not "being hashed"
/// (the digest of the model file is computed in the background when the file opens).
fn settled_lens_title(client: &mut LspClient, uri: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let lenses = client.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}}));
        let title = lenses[0]["command"]["title"].as_str().unwrap_or_else(|| panic!("a code lens: {lenses}")).to_string();
        if !title.contains("being hashed") || std::time::Instant::now() > deadline {
            return title;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_for_lens_refresh(client: &mut LspClient, what: &str) {
    let request = client.wait_for(Duration::from_secs(20), what, |message| message["method"] == "workspace/codeLens/refresh");
    assert!(request.get("id").is_some(), "a request the client answers: {request}");
    client.send(&json!({"jsonrpc": "2.0", "id": request["id"], "result": null}));
}

#[test]
fn the_code_lens_is_refreshed_when_the_lock_is_rewritten() {
    let folder = temporary_folder("lens-refresh");
    let path = folder.join("solve.flow");
    std::fs::write(&path, SOURCE).unwrap();
    std::fs::write(folder.join("student.gguf"), b"GGUF stand-in: hashed, never loaded").unwrap();
    let lock = |folder: &Path| {
        let output = Command::new(FLOWC).arg("lock").arg(folder.join("solve.flow")).output().expect("run flowc lock");
        assert!(output.status.success(), "flowc lock failed: {}", String::from_utf8_lossy(&output.stderr));
    };
    lock(&folder);

    let mut client = LspClient::start(Path::new(FLOWC));
    client.initialize(&folder);
    let uri = client.open(&path, SOURCE);
    client.diagnostics(&uri, Some(1));
    assert_eq!(settled_lens_title(&mut client, &uri), "plan: up to date");
    // A refresh sent for the digests of the opening (if any) is answered and dropped
    // by the next request: the one waited for below is the lock's.
    std::thread::sleep(Duration::from_millis(300));
    settled_lens_title(&mut client, &uri);

    // Someone edits the file elsewhere and locks that version: the buffer (unchanged)
    // is now one node away from the lock, and the server says so unasked.
    let elsewhere = SOURCE.replace("You copy the numbers of a problem.", "You copy every number of a problem.");
    assert_ne!(elsewhere, SOURCE);
    std::fs::write(&path, &elsewhere).unwrap();
    lock(&folder);
    wait_for_lens_refresh(&mut client, "a code lens refresh after the lock was rewritten");
    let stale = settled_lens_title(&mut client, &uri);
    // The edited node and the two that read it (their inputs' fingerprints moved).
    assert!(stale.starts_with("plan: stale (3 nodes changed)"), "{stale}");

    // Locked again from the buffer's text: up to date again.
    std::fs::write(&path, SOURCE).unwrap();
    lock(&folder);
    wait_for_lens_refresh(&mut client, "a code lens refresh after the lock was rewritten again");
    assert_eq!(settled_lens_title(&mut client, &uri), "plan: up to date");
    assert!(client.shut_down().success());
}
