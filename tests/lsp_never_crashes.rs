//! The language server answers every request on every broken file: the corpus of
//! `tests/parser_never_panics.rs` (each example and standard module cut short and
//! mutated) is sent as edits of one open document, and after each edit every kind of
//! request is made at a few positions. Each must get a response that is not an
//! internal error (a handler that panicked), and the server must stay up.
//!
//! Runs the server in process over `lsp_server::Connection::memory()`. The inputs
//! are a deterministic sample of the corpus (`FLOWC_LSP_FUZZ_ALL=1` takes all of it).

#[path = "support/fuzz_corpus.rs"]
mod fuzz_corpus;

use std::path::Path;
use std::time::{Duration, Instant};

use fuzz_corpus::*;
use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{json, Value};

/// Inputs taken from the corpus by default (spread evenly over it).
const SAMPLED_INPUTS: usize = 400;
/// Mutations per seed file.
const MUTATIONS_PER_FILE: usize = 40;

struct InProcessClient {
    connection: Connection,
    next_id: i32,
}

impl InProcessClient {
    fn request(&mut self, method: &str, params: Value) -> lsp_server::Response {
        self.try_request(method, params).unwrap_or_else(|problem| panic!("{problem}"))
    }

    fn try_request(&mut self, method: &str, params: Value) -> Result<lsp_server::Response, String> {
        let id = self.next_id;
        self.next_id += 1;
        self.connection.sender.send(Message::Request(Request::new(RequestId::from(id), method.to_string(), params))).expect("server is up");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.connection.receiver.recv_timeout(left) {
                Ok(Message::Response(response)) if response.id == RequestId::from(id) => return Ok(response),
                Ok(_) => continue,
                Err(error) => return Err(format!("no answer to {method} within 30 s ({error}): the server hung or died")),
            }
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.connection.sender.send(Message::Notification(Notification::new(method.to_string(), params))).expect("server is up");
    }
}

fn requests_at(uri: &str, line: u32, character: u32) -> Vec<(&'static str, Value)> {
    let document = json!({"uri": uri});
    let position = json!({"line": line, "character": character});
    let at = json!({"textDocument": document, "position": position});
    let whole = json!({"start": {"line": 0, "character": 0}, "end": {"line": line + 40, "character": 0}});
    vec![
        ("textDocument/hover", at.clone()),
        ("textDocument/definition", at.clone()),
        ("textDocument/references", json!({"textDocument": document, "position": position, "context": {"includeDeclaration": true}})),
        ("textDocument/completion", at.clone()),
        ("textDocument/signatureHelp", at.clone()),
        ("textDocument/prepareRename", at.clone()),
        ("textDocument/rename", json!({"textDocument": document, "position": position, "newName": "renamed"})),
        ("textDocument/documentSymbol", json!({"textDocument": document})),
        ("textDocument/foldingRange", json!({"textDocument": document})),
        ("textDocument/semanticTokens/full", json!({"textDocument": document})),
        ("textDocument/formatting", json!({"textDocument": document, "options": {"tabSize": 2, "insertSpaces": true}})),
        ("textDocument/inlayHint", json!({"textDocument": document, "range": whole})),
        ("textDocument/codeAction", json!({"textDocument": document, "range": whole, "context": {"diagnostics": []}})),
        ("textDocument/codeLens", json!({"textDocument": document})),
        ("workspace/symbol", json!({"query": "e"})),
    ]
}

/// A few positions of a text: its middle, its end, and just after a `.` and a `{`.
fn positions(text: &str) -> Vec<(u32, u32)> {
    let mut offsets = vec![text.len() / 2, text.len()];
    offsets.extend(text.find('.').map(|i| i + 1));
    offsets.extend(text.rfind('{').map(|i| i + 1));
    offsets
        .into_iter()
        .map(|offset| {
            let mut offset = offset.min(text.len());
            while !text.is_char_boundary(offset) {
                offset -= 1;
            }
            let before = &text[..offset];
            let line = before.matches('\n').count() as u32;
            let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
            (line, before[line_start..].encode_utf16().count() as u32)
        })
        .collect()
}

#[test]
fn the_server_answers_every_request_on_every_broken_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = seed_files(root);
    assert!(!seeds.is_empty(), "no seed files under {SEED_FOLDERS:?}");
    let mut inputs: Vec<(String, String)> = edge_cases().into_iter().map(|(name, text)| (format!("edge case {name}"), text)).collect();
    let mut corpus = Vec::new();
    for (path, text) in &seeds {
        let name = path.strip_prefix(root).unwrap_or(path).display().to_string();
        for cut in cut_points(text, CUTS_FOR_LARGE_FILES) {
            corpus.push((format!("{name} cut at {cut}"), text[..cut].to_string()));
        }
        let mut rng = Rng::new(fnv1a(name.as_bytes()));
        for index in 0..MUTATIONS_PER_FILE {
            let mut mutated = text.clone();
            for _ in 0..1 + rng.below(3) {
                mutated = mutate(&mutated, &mut rng);
            }
            corpus.push((format!("{name} mutation #{index}"), mutated));
        }
    }
    let take_all = std::env::var_os("FLOWC_LSP_FUZZ_ALL").is_some();
    let stride = if take_all { 1 } else { (corpus.len() / SAMPLED_INPUTS).max(1) };
    inputs.extend(corpus.into_iter().step_by(stride));

    let (server_side, client_side) = Connection::memory();
    let server = std::thread::spawn(move || flowc::lsp::serve(server_side));
    let mut client = InProcessClient { connection: client_side, next_id: 1 };
    let initialize = client.request("initialize", json!({"processId": null, "rootUri": null, "capabilities": {}}));
    assert!(initialize.error.is_none(), "initialize failed: {:?}", initialize.error);
    client.notify("initialized", json!({}));

    // A folder of its own: the document sits beside the examples' data files by name
    // only, so dataset checks read nothing real.
    let folder = std::env::temp_dir().join(format!("flowc-lsp-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let uri = format!("file://{}/fuzz.flow", folder.display());
    client.notify("textDocument/didOpen", json!({"textDocument": {"uri": uri, "languageId": "flow", "version": 0, "text": ""}}));

    let started = Instant::now();
    let mut answered = 0usize;
    let mut failures = Vec::new();
    for (version, (name, text)) in inputs.iter().enumerate() {
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version as i32 + 1}, "contentChanges": [{"text": text}]}),
        );
        for (line, character) in positions(text) {
            for (method, params) in requests_at(&uri, line, character) {
                let response = client.try_request(method, params).unwrap_or_else(|problem| panic!("{problem}, at {line}:{character} on {name}:\n{text}"));
                answered += 1;
                if let Some(error) = &response.error {
                    // Refusals (a rename with nothing to rename) are answers; a panic is not.
                    if error.code == lsp_server::ErrorCode::InternalError as i32 {
                        failures.push(format!("{method} at {line}:{character} on {name}: {}\n--- input ---\n{text}\n---", error.message));
                    }
                }
            }
        }
        if failures.len() >= 5 {
            break;
        }
    }
    println!("{} inputs, {answered} requests answered in {:.1?}", inputs.len(), started.elapsed());
    let shutdown = client.request("shutdown", Value::Null);
    assert!(shutdown.error.is_none());
    client.notify("exit", Value::Null);
    server.join().expect("the server thread did not panic").expect("the server ended cleanly");
    let _ = std::fs::remove_dir_all(&folder);
    assert!(failures.is_empty(), "{} request(s) hit an internal error:\n{}", failures.len(), failures.join("\n"));
}
