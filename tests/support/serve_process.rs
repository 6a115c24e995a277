//! A `flowc serve` process for tests: started on a free loopback port (`--addr
//! 127.0.0.1:0`; the port is read from its "listening on" line), its standard error
//! collected, stopped by signal, and killed when dropped, so no test leaves a
//! server behind.

#![allow(dead_code)] // Each test binary uses a different part of it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const FLOWC: &str = env!("CARGO_BIN_EXE_flowc");

pub struct ServeProcess {
    child: Child,
    pub base_url: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl ServeProcess {
    /// Starts `flowc serve PLAN ARGS...` with `environment` added, and waits (up to
    /// 60 s) until it listens. Panics with its standard error if it exits first.
    pub fn start(plan: &Path, arguments: &[&str], environment: &[(&str, &str)]) -> ServeProcess {
        let mut command = Command::new(FLOWC);
        command.arg("serve").arg(plan).args(["--addr", "127.0.0.1:0"]).args(arguments);
        for (name, value) in environment {
            command.env(name, value);
        }
        let mut child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("flowc starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                collected.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let address = lines.lock().unwrap().iter().find_map(|line| line.split("listening on http://").nth(1).map(|rest| rest.split(' ').next().unwrap_or_default().to_string()));
            if let Some(address) = address {
                return ServeProcess { child, base_url: format!("http://{address}"), lines };
            }
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!("flowc serve exited with {status} before listening:\n{}", lines.lock().unwrap().join("\n"));
            }
            assert!(Instant::now() < deadline, "flowc serve did not listen within 60 s:\n{}", lines.lock().unwrap().join("\n"));
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("a pid fits")
    }

    /// Waits until `/readyz` answers 200 (up to `limit`).
    pub async fn wait_ready(&self, limit: Duration) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(response) = client.get(self.url("/readyz")).send().await {
                if response.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "flowc serve was not ready within {limit:?}:\n{}", self.stderr());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill only sends a signal to the child we started.
        unsafe {
            libc::kill(self.pid(), signal);
        }
    }

    /// Waits for the process to end (up to `limit`), killing it past that.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("the child can be waited for") {
                // Let the reader thread drain the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("flowc serve did not exit within {limit:?}:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stderr(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `flowc ARGS...` run to completion: (exit code, stdout, stderr).
pub fn flowc(arguments: &[&str]) -> (i32, String, String) {
    let output = Command::new(FLOWC).args(arguments).output().expect("flowc runs");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// The committed code-only example plan (it calls no model at run time).
pub fn example_plan() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/templated_shopping_change/flow.lock")
}

pub fn example_inputs() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/templated_shopping_change/data/sample_questions.jsonl")
}

/// A fresh folder under the test's target temporary directory.
pub fn scratch_folder(name: &str) -> std::path::PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("a scratch folder");
    folder
}

/// Writes `source` as `NAME.flow` in `folder` and locks it; returns the plan's path.
pub fn lock_flow(folder: &Path, name: &str, source: &str) -> std::path::PathBuf {
    let flow = folder.join(format!("{name}.flow"));
    std::fs::write(&flow, source).expect("write the flow");
    let plan = folder.join(format!("{name}.lock"));
    let (code, stdout, stderr) = flowc(&["lock", flow.to_str().unwrap(), "-o", plan.to_str().unwrap()]);
    assert_eq!(code, 0, "flowc lock failed:\n{stdout}\n{stderr}");
    plan
}
