//! A small JSON-RPC client for `flowc lsp` over stdio, for tests and the latency
//! benchmark: frames messages with Content-Length, reads the server's messages on a
//! thread, and waits (bounded) for responses and notifications.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub struct LspClient {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: Receiver<Value>,
    /// Messages read while waiting for something else.
    backlog: VecDeque<Value>,
    next_id: i64,
}

pub fn file_uri(path: &Path) -> String {
    let mut encoded = String::from("file://");
    for byte in path.to_str().expect("utf-8 path").bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => encoded.push(byte as char),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

impl LspClient {
    pub fn start(executable: &Path) -> LspClient {
        let mut child = Command::new(executable)
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start flowc lsp");
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take();
        let (sender, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(value) = line.strip_prefix("Content-Length: ") {
                        length = value.parse::<usize>().ok();
                    }
                }
                let Some(length) = length else { return };
                let mut body = vec![0u8; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let Ok(message) = serde_json::from_slice::<Value>(&body) else { return };
                if sender.send(message).is_err() {
                    return;
                }
            }
        });
        LspClient { child, stdin, incoming, backlog: VecDeque::new(), next_id: 1 }
    }

    pub fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).expect("serialise");
        let stdin = self.stdin.as_mut().expect("stdin open");
        write!(stdin, "Content-Length: {}\r\n\r\n", body.len()).expect("write header");
        stdin.write_all(&body).expect("write body");
        stdin.flush().expect("flush");
    }

    /// Several messages in one write, so the server reads them back to back.
    pub fn send_together(&mut self, messages: &[Value]) {
        let mut bytes = Vec::new();
        for message in messages {
            let body = serde_json::to_vec(message).expect("serialise");
            bytes.extend(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            bytes.extend(body);
        }
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(&bytes).expect("write");
        stdin.flush().expect("flush");
    }

    pub fn request_message(&mut self, method: &str, params: Value) -> (i64, Value) {
        let id = self.next_id;
        self.next_id += 1;
        (id, json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
    }

    pub fn request_async(&mut self, method: &str, params: Value) -> i64 {
        let (id, message) = self.request_message(method, params);
        self.send(&message);
        id
    }

    /// A request and its whole response (`result` or `error`).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.request_async(method, params);
        self.response(id, Duration::from_secs(30))
    }

    /// The result of a request; panics on an error response.
    pub fn result(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params);
        assert!(response.get("error").is_none(), "{method} failed: {response}");
        response["result"].clone()
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    pub fn notification_message(method: &str, params: Value) -> Value {
        json!({"jsonrpc": "2.0", "method": method, "params": params})
    }

    /// The next message matching `wanted`, within `timeout` (others are kept).
    pub fn wait_for(&mut self, timeout: Duration, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(position) = self.backlog.iter().position(&wanted) {
            return self.backlog.remove(position).expect("present");
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(message) if wanted(&message) => return message,
                Ok(message) => {
                    // Requests from the server (e.g. workspace/configuration) get an empty answer.
                    if message.get("method").is_some() && message.get("id").is_some() {
                        let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": null});
                        self.send(&reply);
                    } else {
                        self.backlog.push_back(message);
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("no {what} within {timeout:?}; received meanwhile: {:?}", self.backlog),
                Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output while waiting for {what}; received: {:?}", self.backlog),
            }
        }
    }

    pub fn response(&mut self, id: i64, timeout: Duration) -> Value {
        self.wait_for(timeout, &format!("response to request {id}"), |message| message.get("id") == Some(&json!(id)) && message.get("method").is_none())
    }

    /// The next publishDiagnostics for `uri` of `version`; `None`: one without a
    /// version (what the server sends when it clears a closed file's).
    pub fn diagnostics(&mut self, uri: &str, version: Option<i64>) -> Value {
        self.wait_for(Duration::from_secs(60), &format!("diagnostics of {uri} (version {version:?})"), |message| {
            message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri
                && match version {
                    Some(version) => message["params"]["version"] == json!(version),
                    None => message["params"]["version"].is_null(),
                }
        })["params"]
            .clone()
    }

    pub fn initialize(&mut self, root: &Path) -> Value {
        let capabilities = json!({
            "textDocument": {
                "hover": {"contentFormat": ["markdown", "plaintext"]},
                "semanticTokens": {"requests": {"full": {"delta": true}}, "tokenTypes": [], "tokenModifiers": [], "formats": ["relative"]},
                "publishDiagnostics": {"relatedInformation": true}
            },
            "workspace": {"codeLens": {"refreshSupport": true}}
        });
        let result = self.result("initialize", json!({"processId": null, "rootUri": file_uri(root), "capabilities": capabilities}));
        self.notify("initialized", json!({}));
        result
    }

    pub fn open(&mut self, path: &Path, text: &str) -> String {
        let uri = file_uri(path);
        self.notify("textDocument/didOpen", json!({"textDocument": {"uri": uri, "languageId": "flow", "version": 1, "text": text}}));
        uri
    }

    /// shutdown, exit, and the process's exit status within a few seconds.
    pub fn shut_down(mut self) -> std::process::ExitStatus {
        let response = self.request("shutdown", Value::Null);
        assert!(response.get("error").is_none(), "shutdown failed: {response}");
        self.notify("exit", Value::Null);
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("flowc lsp did not exit within 10 s of `exit`");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn process_id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for LspClient {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// UTF-16 position (line, character) of the first occurrence of `needle` in `text`,
/// plus `shift` characters (ASCII texts in the tests).
pub fn position_of(text: &str, needle: &str, shift: usize) -> Value {
    let offset = text.find(needle).unwrap_or_else(|| panic!("`{needle}` is not in the text")) + shift;
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    json!({"line": line, "character": column})
}
