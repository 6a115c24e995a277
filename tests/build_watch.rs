//! `flowc build --watch` through the real binary and real file events: an edited
//! import, a deleted one and its return, and a missing import that appears are each
//! seen (the lock follows), and nothing rebuilds while nothing changes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const MAIN: &str = r#"import "./models.flow" { student }
import "./later.flow" { helper }

workflow answer(question: text) -> (answer: text) {
  node reply = llm(student) {
    prompt = "{question}"
    output = text
  }
  answer = reply
}

workflow help(question: text) -> (answer: text) {
  node reply = llm(helper) {
    prompt = "Help: {question}"
    output = text
  }
  answer = reply
}
"#;

fn models(temperature: &str) -> String {
    format!("model student = openai(\"student\") {{\n  base_url = \"http://127.0.0.1:9/v1\"\n  temperature = {temperature}\n}}\n")
}

const LATER: &str = "model helper = openai(\"helper\") {\n  base_url = \"http://127.0.0.1:9/v1\"\n  seed = 7\n}\n";

struct Watching {
    child: Child,
    lines: Receiver<String>,
    directory: PathBuf,
}

impl Watching {
    fn start(directory: &Path) -> Watching {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flowc"))
            .args(["build", "--watch", "main.flow"])
            .current_dir(directory)
            .env("XDG_CACHE_HOME", directory.join("cache"))
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flowc starts");
        let (sender, lines) = channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Watching { child, lines, directory: directory.to_path_buf() }
    }

    /// The lines up to and including the first that contains `wanted` (bounded).
    fn until(&self, wanted: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = line.contains(wanted);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!("no line with {wanted:?} within 30 s; saw {seen:#?}"),
            }
        }
    }

    fn lock(&self) -> String {
        std::fs::read_to_string(self.directory.join("flow.lock")).unwrap_or_default()
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn watch_sees_edited_deleted_and_appearing_imports() {
    let directory = std::env::temp_dir().join(format!("flowc-build-watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(directory.join("main.flow"), MAIN).unwrap();
    std::fs::write(directory.join("models.flow"), models("0")).unwrap();

    // later.flow is missing: the first build fails and says so, and watch goes on.
    let watching = Watching::start(&directory);
    let first = watching.until("watching");
    assert!(first.iter().any(|line| line.contains("has errors")), "{first:#?}");

    // The missing import appears.
    std::fs::write(directory.join("later.flow"), LATER).unwrap();
    let seen = watching.until("wrote");
    assert!(seen.iter().any(|line| line.contains("changed:") && line.contains("later.flow")), "{seen:#?}");
    assert!(watching.lock().contains("seed = 7"), "{}", watching.lock());

    // An edit of an imported file: the lock follows.
    std::fs::write(directory.join("models.flow"), models("0.5")).unwrap();
    let seen = watching.until("wrote");
    assert!(seen.iter().any(|line| line.contains("changed:") && line.contains("models.flow")), "{seen:#?}");
    assert!(watching.lock().contains("temperature = 0.5"), "{}", watching.lock());

    // Deleted, then back, written elsewhere and renamed into place as editors save.
    std::fs::remove_file(directory.join("models.flow")).unwrap();
    watching.until("has errors");
    std::fs::write(directory.join(".models.flow.tmp"), models("0.25")).unwrap();
    std::fs::rename(directory.join(".models.flow.tmp"), directory.join("models.flow")).unwrap();
    watching.until("wrote");
    assert!(watching.lock().contains("temperature = 0.25"), "{}", watching.lock());

    // Our own lock write does not trigger another build, nor does a touch.
    std::fs::write(directory.join("later.flow"), LATER).unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let extra: Vec<String> = watching.lines.try_iter().collect();
    assert!(extra.iter().all(|line| !line.contains("changed:")), "rebuilt with nothing changed: {extra:#?}");

    drop(watching);
    let _ = std::fs::remove_dir_all(&directory);
}
