//! A tiny HTTP/1.1 server for tests of the HTTP model backends: it answers each
//! request with the next response of a script, records what it received, and
//! closes the connection after every answer (so every retry is a fresh request).
//!
//! Bounded by design: it listens on 127.0.0.1 only (port 0: the system picks a free
//! one), accepts at most [`MAX_CONNECTIONS`] connections, reads at most
//! [`MAX_REQUEST_BYTES`] per request within [`READ_DEADLINE`], and everything it runs
//! stops when the server is dropped.

#![allow(dead_code)] // Each test binary uses a different part of it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

pub const MAX_CONNECTIONS: usize = 64;
pub const MAX_REQUEST_BYTES: usize = 1 << 20;
pub const READ_DEADLINE: Duration = Duration::from_secs(10);

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct ScriptedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// How long to wait before answering (to test timeouts).
    pub delay: Duration,
}

impl ScriptedResponse {
    pub fn json(status: u16, body: serde_json::Value) -> ScriptedResponse {
        ScriptedResponse { status, headers: Vec::new(), body: body.to_string(), delay: Duration::ZERO }
    }

    /// A body sent verbatim (for malformed JSON).
    pub fn raw(status: u16, body: &str) -> ScriptedResponse {
        ScriptedResponse { status, headers: Vec::new(), body: body.to_string(), delay: Duration::ZERO }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> ScriptedResponse {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn after(mut self, delay: Duration) -> ScriptedResponse {
        self.delay = delay;
        self
    }
}

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

/// How the server picks its answer: the next of a script, or a rule over the
/// request (`None`: never answer, as a server that hangs).
#[derive(Clone)]
enum Answers {
    Script(Arc<Vec<ScriptedResponse>>),
    Rule(Arc<dyn Fn(&RecordedRequest) -> Option<ScriptedResponse> + Send + Sync>),
}

pub struct ScriptedHttpServer {
    address: SocketAddr,
    recorded: Arc<Mutex<Vec<RecordedRequest>>>,
    accept_task: JoinHandle<()>,
}

impl ScriptedHttpServer {
    /// Starts serving `script`, one response per request in order. Requests beyond
    /// the script get HTTP 599, which no backend treats as success.
    pub async fn start(script: Vec<ScriptedResponse>) -> ScriptedHttpServer {
        ScriptedHttpServer::serve(Answers::Script(Arc::new(script)), MAX_CONNECTIONS).await
    }

    /// Answers every request by `rule` (a request it answers `None` to hangs until
    /// the client gives up), for up to `connections` connections.
    pub async fn answering(connections: usize, rule: impl Fn(&RecordedRequest) -> Option<ScriptedResponse> + Send + Sync + 'static) -> ScriptedHttpServer {
        ScriptedHttpServer::serve(Answers::Rule(Arc::new(rule)), connections).await
    }

    async fn serve(answers: Answers, max_connections: usize) -> ScriptedHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let address = listener.local_addr().expect("the bound address");
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let script = answers;
        let recorded_by_connections = Arc::clone(&recorded);
        let accept_task = tokio::spawn(async move {
            // Owned by this task: dropping the task (when the server is dropped)
            // aborts every connection still being served.
            let mut connections = JoinSet::new();
            for _ in 0..max_connections {
                let Ok((stream, _)) = listener.accept().await else { break };
                connections.spawn(serve_connection(stream, script.clone(), Arc::clone(&recorded_by_connections)));
            }
            while connections.join_next().await.is_some() {}
        });
        ScriptedHttpServer { address, recorded, accept_task }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.recorded.lock().unwrap().clone()
    }
}

impl Drop for ScriptedHttpServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn serve_connection(mut stream: TcpStream, answers: Answers, recorded: Arc<Mutex<Vec<RecordedRequest>>>) {
    let Ok(Some(request)) = tokio::time::timeout(READ_DEADLINE, read_request(&mut stream)).await else { return };
    let response = {
        let mut recorded = recorded.lock().unwrap();
        let index = recorded.len();
        recorded.push(request.clone());
        match &answers {
            Answers::Script(script) => Some(script.get(index).cloned().unwrap_or_else(|| ScriptedResponse::raw(599, r#"{"error":{"message":"the test script has no more responses"}}"#))),
            Answers::Rule(rule) => rule(&request),
        }
    };
    let Some(response) = response else {
        // Hang: hold the connection open until the client (or the test) ends.
        std::future::pending::<()>().await;
        return;
    };
    tokio::time::sleep(response.delay).await;
    let mut head = format!(
        "HTTP/1.1 {} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        response.body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    // The client may have given up already (timeout tests): write errors are fine.
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(response.body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Reads one request with a `Content-Length` body; `None` for anything malformed or
/// too large.
async fn read_request(stream: &mut TcpStream) -> Option<RecordedRequest> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position;
        }
        if buffer.len() > MAX_REQUEST_BYTES {
            return None;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let content_length: usize = headers.iter().find(|(name, _)| name == "content-length").and_then(|(_, value)| value.parse().ok()).unwrap_or(0);
    if content_length > MAX_REQUEST_BYTES {
        return None;
    }
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < content_length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    body.truncate(content_length);
    Some(RecordedRequest { method, path, headers, body })
}
