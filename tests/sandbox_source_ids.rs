//! A source crosses the pipe to a worker once, then calls name it by id (see
//! `src/sandbox/protocol.rs`): checked with a stand-in worker that writes down what
//! it is sent, and with the real worker across a restart and past the number of
//! sources a worker keeps.

use std::path::{Path, PathBuf};
use std::time::Duration;

use flowc::sandbox::protocol::{PROTOCOL_VERSION, WORKER_SOURCE_CAPACITY};
use flowc::sandbox::{Sandbox, SandboxConfig, SandboxError, SandboxLimits};
use serde_json::{json, Map, Value};

fn no_arguments() -> Map<String, Value> {
    Map::new()
}

/// A log file of this test's own, removed first.
fn log_path(test: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("flowc-sandbox-source-ids-{}-{test}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn logged(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
}

/// A stand-in worker, as a shell script: it completes the handshake, writes `start`
/// to the log, then for every line it reads writes `define` or `call`; it answers
/// each call with the value 1, except the `die_at`-th call of its life, where it
/// exits instead, and calls listed in `unknown_at`, which it answers with
/// `unknown_source` as a worker that lost its sources would.
fn recording_worker(log: &Path, die_at: u32, unknown_at: &[u32]) -> SandboxConfig {
    let unknown_cases: String = unknown_at.iter().map(|call| format!(" {call}")).collect();
    let script = format!(
        r#"read setup; echo '{{"protocol":{PROTOCOL_VERSION}}}'; echo start >> '{log}'; calls=0
while IFS= read -r line; do
  case "$line" in
    '{{"define_source"'*) echo define >> '{log}' ;;
    '{{"call"'*)
      echo call >> '{log}'; calls=$((calls + 1))
      [ "$calls" -eq {die_at} ] && exit 3
      case " {unknown_cases} " in *" $calls "*) echo '{{"unknown_source":0}}'; continue ;; esac
      echo '{{"value":{{"json":1,"float_bits":[]}}}}' ;;
    *) echo other >> '{log}' ;;
  esac
done"#,
        log = log.display()
    );
    let mut config = SandboxConfig::for_worker_program("/bin/sh").with_workers(1);
    config.worker_arguments = vec!["-c".into(), script];
    config.limits.timeout = Duration::from_secs(10);
    config
}

#[tokio::test]
async fn each_source_is_sent_to_a_worker_once_then_named_by_id() {
    let log = log_path("once");
    let sandbox = Sandbox::new(recording_worker(&log, 0, &[])).unwrap();
    for source in ["def run():\n    return 'a'\n", "def run():\n    return 'a'\n", "def run():\n    return 'b'\n", "def run():\n    return 'a'\n", "def run():\n    return 'b'\n"] {
        assert_eq!(sandbox.call(source, "run", no_arguments()).await, Ok(json!(1)));
    }
    assert_eq!(logged(&log), ["start", "define", "call", "call", "define", "call", "call", "call"]);
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn a_replacement_worker_is_sent_the_source_again() {
    let log = log_path("restart");
    // The worker dies at its second call; its replacement must be given the source
    // before it is asked to run it.
    let sandbox = Sandbox::new(recording_worker(&log, 2, &[])).unwrap();
    let source = "def run():\n    return 1\n";
    assert_eq!(sandbox.call(source, "run", no_arguments()).await, Ok(json!(1)));
    let error = sandbox.call(source, "run", no_arguments()).await.unwrap_err();
    assert!(matches!(error, SandboxError::Worker { ref message } if message.contains("exit status 3")), "{error:?}");
    assert_eq!(sandbox.call(source, "run", no_arguments()).await, Ok(json!(1)));
    assert_eq!(logged(&log), ["start", "define", "call", "call", "start", "define", "call"]);
    assert_eq!(sandbox.worker_restarts(), 1);
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn a_worker_that_forgot_a_source_is_sent_it_again_and_the_call_runs_once() {
    let log = log_path("forgot");
    let sandbox = Sandbox::new(recording_worker(&log, 0, &[2])).unwrap();
    let source = "def run():\n    return 1\n";
    assert_eq!(sandbox.call(source, "run", no_arguments()).await, Ok(json!(1)));
    // The second call is answered `unknown_source`: flowc sends the definition and
    // the call again, and the caller sees only the value.
    assert_eq!(sandbox.call(source, "run", no_arguments()).await, Ok(json!(1)));
    assert_eq!(sandbox.call(source, "run", no_arguments()).await, Ok(json!(1)));
    assert_eq!(logged(&log), ["start", "define", "call", "call", "define", "call", "call"]);
    assert_eq!(sandbox.worker_restarts(), 0);
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn a_worker_that_loses_a_source_it_was_just_given_is_replaced() {
    let log = log_path("lost");
    let sandbox = Sandbox::new(recording_worker(&log, 0, &[1, 2])).unwrap();
    let error = sandbox.call("def run():\n    return 1\n", "run", no_arguments()).await.unwrap_err();
    assert!(matches!(error, SandboxError::Worker { ref message } if message.contains("had just been given")), "{error:?}");
    assert_eq!(sandbox.worker_restarts(), 1);
    let _ = std::fs::remove_file(&log);
}

fn real_sandbox() -> Sandbox {
    Sandbox::new(SandboxConfig::for_worker_program(env!("CARGO_BIN_EXE_flowc")).with_workers(1)).expect("the sandbox starts")
}

#[tokio::test]
async fn the_real_worker_runs_a_source_again_after_a_memory_bomb_replaced_it() {
    let sandbox = real_sandbox();
    let doubling = "def run(x):\n    return x * 2\n";
    let arguments = |x: i64| json!({ "x": x }).as_object().unwrap().clone();
    assert_eq!(sandbox.call(doubling, "run", arguments(2)).await, Ok(json!(4)));
    let bomb = sandbox.call("def run():\n    return len([0] * 2000000000)\n", "run", no_arguments()).await;
    assert_eq!(bomb, Err(SandboxError::MemoryLimit { bytes: SandboxLimits::default().max_memory_bytes }));
    assert!(sandbox.worker_restarts() >= 1);
    assert_eq!(sandbox.call(doubling, "run", arguments(21)).await, Ok(json!(42)));
}

#[tokio::test]
async fn the_real_worker_keeps_answering_past_the_sources_it_keeps() {
    let sandbox = real_sandbox();
    let first = "def run():\n    return 'first'\n";
    assert_eq!(sandbox.call(first, "run", no_arguments()).await, Ok(json!("first")));
    // More distinct sources than a worker keeps: it forgets them all on the way, and
    // every call still runs the code it names, the first source included.
    for n in 0..(WORKER_SOURCE_CAPACITY + 3) {
        let source = format!("def run():\n    return {n}\n");
        assert_eq!(sandbox.call(&source, "run", no_arguments()).await, Ok(json!(n)));
    }
    assert_eq!(sandbox.call(first, "run", no_arguments()).await, Ok(json!("first")));
    // A syntax error is still the code's own error, each time.
    for _ in 0..2 {
        let error = sandbox.call("def run(:\n", "run", no_arguments()).await.unwrap_err();
        assert!(matches!(error, SandboxError::Syntax { line: Some(1), .. }), "{error:?}");
    }
    assert_eq!(sandbox.worker_restarts(), 0);
}
