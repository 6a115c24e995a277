//! What sandboxed code cannot do, checked through the real worker binary: no files,
//! network, environment, clock or randomness; no `load`; endless loops, deep
//! recursion and memory bombs end as errors of that one call, and the sandbox goes
//! on working afterwards.

use std::time::{Duration, Instant};

use flowc::sandbox::protocol::PROTOCOL_VERSION;
use flowc::sandbox::{Sandbox, SandboxConfig, SandboxError, SandboxLimits};
use serde_json::{json, Map, Value};

fn config() -> SandboxConfig {
    SandboxConfig::for_worker_program(env!("CARGO_BIN_EXE_flowc"))
}

fn sandbox() -> Sandbox {
    Sandbox::new(config()).expect("the sandbox starts")
}

fn no_arguments() -> Map<String, Value> {
    Map::new()
}

fn arguments(value: Value) -> Map<String, Value> {
    value.as_object().expect("an object").clone()
}

async fn run(sandbox: &Sandbox, source: &str) -> Result<Value, SandboxError> {
    sandbox.call(source, "run", no_arguments()).await
}

/// The sandbox still answers an ordinary call correctly.
async fn assert_still_works(sandbox: &Sandbox) {
    let value = sandbox
        .call("def run(x):\n    return x * 2\n", "run", arguments(json!({"x": 21})))
        .await;
    assert_eq!(value, Ok(json!(42)));
}

#[tokio::test]
async fn files_cannot_be_opened() {
    let sandbox = sandbox();
    for source in [
        "def run():\n    return open('/etc/passwd').read()\n",
        "def run():\n    return read_file('/etc/passwd')\n",
        "def run():\n    return __import__('os').listdir('/')\n",
    ] {
        let error = run(&sandbox, source).await.unwrap_err();
        assert!(matches!(error, SandboxError::Runtime { .. }), "{source}: {error:?}");
        assert!(error.to_string().contains("not found"), "{source}: {error}");
    }
}

#[tokio::test]
async fn there_is_no_network() {
    let sandbox = sandbox();
    for source in [
        "def run():\n    return socket.create_connection(('example.com', 80))\n",
        "def run():\n    return urlopen('http://example.com')\n",
        "def run():\n    return http.get('http://example.com')\n",
    ] {
        let error = run(&sandbox, source).await.unwrap_err();
        assert!(matches!(error, SandboxError::Runtime { .. }), "{source}: {error:?}");
    }
    let error = run(&sandbox, "import socket\ndef run():\n    return 1\n")
        .await
        .unwrap_err();
    assert!(matches!(error, SandboxError::Syntax { line: Some(1), .. }), "{error:?}");
    assert!(error.to_string().contains("imports are not supported"), "{error}");
}

#[tokio::test]
async fn the_environment_is_out_of_reach() {
    let sandbox = sandbox();
    for source in [
        "def run():\n    return os.environ['HOME']\n",
        "def run():\n    return getenv('HOME')\n",
        "def run():\n    return environ\n",
    ] {
        let error = run(&sandbox, source).await.unwrap_err();
        assert!(matches!(error, SandboxError::Runtime { .. }), "{source}: {error:?}");
    }
    let error = run(&sandbox, "from os import environ\ndef run():\n    return environ\n")
        .await
        .unwrap_err();
    assert!(matches!(error, SandboxError::Syntax { .. }), "{error:?}");
}

#[tokio::test]
async fn there_is_no_clock_and_no_randomness() {
    let sandbox = sandbox();
    for source in [
        "def run():\n    return time.time()\n",
        "def run():\n    return now()\n",
        "def run():\n    return random.random()\n",
        "def run():\n    return randint(1, 6)\n",
    ] {
        let error = run(&sandbox, source).await.unwrap_err();
        assert!(matches!(error, SandboxError::Runtime { .. }), "{source}: {error:?}");
    }
    for source in [
        "import time\ndef run():\n    return 1\n",
        "import random\ndef run():\n    return 1\n",
    ] {
        assert!(
            matches!(run(&sandbox, source).await, Err(SandboxError::Syntax { .. })),
            "{source}"
        );
    }
}

#[tokio::test]
async fn load_is_refused_before_anything_runs() {
    let sandbox = sandbox();
    let error = run(
        &sandbox,
        "load('other.star', 'helper')\ndef run():\n    return helper()\n",
    )
    .await
    .unwrap_err();
    let SandboxError::Syntax { line, message } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*line, Some(1));
    assert!(message.contains("`load` is not supported"), "{message}");
}

#[tokio::test]
async fn the_globals_are_the_documented_ones() {
    // Only pure functions: nothing that names a file, a process, the time or a seed.
    let sandbox = sandbox();
    let value = run(
        &sandbox,
        "def run():\n    return [type(sum), type(round), type(map), type(filter), type(print)]\n",
    )
    .await
    .unwrap();
    assert_eq!(
        value,
        json!(["function", "function", "function", "function", "function"])
    );
    for name in [
        "open",
        "exec",
        "eval",
        "compile",
        "input",
        "globals",
        "breakpoint",
        "json",
        "struct",
        "debug",
    ] {
        let source = format!("def run():\n    return {name}\n");
        let error = run(&sandbox, &source).await.unwrap_err();
        assert!(error.to_string().contains("not found"), "{name}: {error}");
    }
}

const ENDLESS_LOOP: &str = "def run():\n    n = 0\n    for i in range(1000000000):\n        for j in range(1000000000):\n            n += 1\n    return n\n";

#[tokio::test]
async fn an_endless_loop_stops_at_the_step_limit() {
    let sandbox = Sandbox::new(config().with_limits(SandboxLimits {
        max_steps: 200_000,
        ..SandboxLimits::default()
    }))
    .unwrap();
    assert_eq!(
        run(&sandbox, ENDLESS_LOOP).await,
        Err(SandboxError::StepLimit { steps: 200_000 })
    );
    assert_still_works(&sandbox).await;
}

#[tokio::test]
async fn an_endless_loop_stops_at_the_timeout_when_steps_allow_it() {
    let limits = SandboxLimits {
        max_steps: u64::MAX / 2,
        timeout: Duration::from_millis(300),
        ..SandboxLimits::default()
    };
    let sandbox = Sandbox::new(config().with_limits(limits)).unwrap();
    let started = Instant::now();
    assert_eq!(
        run(&sandbox, ENDLESS_LOOP).await,
        Err(SandboxError::Timeout { seconds: 0.3 })
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_still_works(&sandbox).await;
}

/// A stand-in worker, as a shell script: it completes the handshake like a real one,
/// then does `after_request` with the first request. It shows what flowc does with a
/// worker that misbehaves in ways real code can only cause by chance and timing (one
/// native step that runs for seconds, a sudden death).
fn scripted_worker(after_request: &str, timeout: Duration) -> SandboxConfig {
    let mut config = SandboxConfig::for_worker_program("/bin/sh");
    config.worker_arguments = vec![
        "-c".into(),
        format!("read setup; echo '{{\"protocol\":{PROTOCOL_VERSION}}}'; read request; {after_request}"),
    ];
    config.limits.timeout = timeout;
    config
}

#[tokio::test]
async fn a_worker_that_does_not_answer_is_killed_at_the_timeout() {
    // `exec` so that the process flowc kills is the one that hangs.
    let sandbox = Sandbox::new(scripted_worker("exec /bin/sleep 60", Duration::from_millis(200))).unwrap();
    for _ in 0..2 {
        let started = Instant::now();
        assert_eq!(
            run(&sandbox, "def run():\n    return 1\n").await,
            Err(SandboxError::Timeout { seconds: 0.2 })
        );
        // The timeout plus the kill grace (250 ms), not the 60 s the worker would take.
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_worker_that_dies_mid_call_is_reported_and_replaced() {
    let sandbox = Sandbox::new(scripted_worker(
        "echo 'something broke' >&2; exit 3",
        Duration::from_secs(10),
    ))
    .unwrap();
    for _ in 0..2 {
        let error = run(&sandbox, "def run():\n    return 1\n").await.unwrap_err();
        let SandboxError::Worker { message } = &error else {
            panic!("{error:?}")
        };
        assert!(
            message.contains("exit status 3") && message.contains("something broke"),
            "{message}"
        );
    }
    // Rust's words when an allocation fails are read as the memory limit.
    let sandbox = Sandbox::new(scripted_worker(
        "echo 'memory allocation of 99999999999 bytes failed' >&2; kill -ABRT $$",
        Duration::from_secs(10),
    ))
    .unwrap();
    assert_eq!(
        run(&sandbox, "def run():\n    return 1\n").await,
        Err(SandboxError::MemoryLimit {
            bytes: SandboxLimits::default().max_memory_bytes
        })
    );
}

#[tokio::test]
async fn deep_recursion_is_an_error() {
    let sandbox = sandbox();
    let source = "def down(n):\n    return down(n + 1) + 1\n\ndef run():\n    return down(0)\n";
    let error = run(&sandbox, source).await.unwrap_err();
    assert!(matches!(error, SandboxError::Runtime { .. }), "{error:?}");
    assert!(error.to_string().contains("nested more than"), "{error}");
    // Recursion within the limit works.
    let source = "def depth(n):\n    if n == 0:\n        return 0\n    return 1 + depth(n - 1)\n\ndef run():\n    return depth(400)\n";
    assert_eq!(run(&sandbox, source).await, Ok(json!(400)));
}

#[tokio::test]
async fn a_string_doubling_bomb_hits_the_memory_limit_and_the_sandbox_survives() {
    let sandbox = sandbox();
    let source = "def run():\n    s = 'x'\n    for i in range(40):\n        s = s + s\n    return len(s)\n";
    let error = run(&sandbox, source).await.unwrap_err();
    assert_eq!(
        error,
        SandboxError::MemoryLimit {
            bytes: SandboxLimits::default().max_memory_bytes
        }
    );
    assert!(error.to_string().contains("512 MiB"), "{error}");
    assert_still_works(&sandbox).await;
}

#[tokio::test]
async fn a_huge_list_hits_the_memory_limit_and_the_sandbox_survives() {
    let sandbox = sandbox();
    let error = run(&sandbox, "def run():\n    return len([0] * 2000000000)\n")
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SandboxError::MemoryLimit {
            bytes: SandboxLimits::default().max_memory_bytes
        }
    );
    assert_still_works(&sandbox).await;
    // And again: the replacement worker is as good as the first.
    let error = run(&sandbox, "def run():\n    return len([0] * 2000000000)\n")
        .await
        .unwrap_err();
    assert!(matches!(error, SandboxError::MemoryLimit { .. }), "{error:?}");
    assert_still_works(&sandbox).await;
}

#[tokio::test]
async fn gradual_growth_stops_cleanly_at_the_heap_check() {
    let sandbox = sandbox();
    let source = "def run():\n    keep = []\n    for i in range(100000000):\n        keep.append('abcdefgh' * 100 + str(i))\n    return len(keep)\n";
    let error = run(&sandbox, source).await.unwrap_err();
    assert!(matches!(error, SandboxError::MemoryLimit { .. }), "{error:?}");
    assert_still_works(&sandbox).await;
}

#[tokio::test]
async fn a_smaller_memory_limit_is_enforced() {
    let limits = SandboxLimits {
        max_memory_bytes: 256 * 1024 * 1024,
        ..SandboxLimits::default()
    };
    let sandbox = Sandbox::new(config().with_limits(limits)).unwrap();
    let error = run(&sandbox, "def run():\n    return len('x' * 400000000)\n")
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SandboxError::MemoryLimit {
            bytes: 256 * 1024 * 1024
        }
    );
    assert_eq!(
        run(&sandbox, "def run():\n    return len('x' * 1000000)\n").await,
        Ok(json!(1000000))
    );
}

#[tokio::test]
async fn the_same_call_gives_the_same_value_in_every_worker() {
    let sandbox = Sandbox::new(config().with_workers(3)).unwrap();
    let source = "def run(xs):\n    d = {}\n    for i, x in enumerate(xs):\n        d[str(x)] = x / 7 + i\n    return [d, sorted(xs), sum(xs) / 3, round(sum(xs) / 7, 3)]\n";
    let input = arguments(json!({"xs": [3, 1.5, 2e7, -4, 1234567.891]}));
    let calls = (0..30).map(|_| {
        let (sandbox, input) = (sandbox.clone(), input.clone());
        async move { sandbox.call(source, "run", input).await }
    });
    let values = futures_join_all(calls).await;
    let first = values[0].clone().unwrap();
    for value in &values {
        assert_eq!(value.as_ref().unwrap(), &first);
    }
}

/// Awaits every future, concurrently, keeping their order (no extra dependency for
/// `futures::join_all`).
async fn futures_join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.expect("the task completes"));
    }
    outputs
}

#[tokio::test]
async fn concurrent_calls_share_the_workers() {
    let sandbox = Sandbox::new(config().with_workers(2)).unwrap();
    let calls = (0..40).map(|index| {
        let sandbox = sandbox.clone();
        async move {
            sandbox
                .call("def run(i):\n    return i * i\n", "run", arguments(json!({"i": index})))
                .await
        }
    });
    let values = futures_join_all(calls).await;
    for (index, value) in values.into_iter().enumerate() {
        assert_eq!(value, Ok(json!(index * index)));
    }
}

#[tokio::test]
async fn values_cross_the_process_boundary_exactly() {
    let sandbox = sandbox();
    let source = "def run(x, items, nothing):\n    return {'x': x, 'third': x / 3, 'items': items, 'nothing': nothing, 'pair': (1, 2.0), 'big': 1234567.125 * 1000}\n";
    let value = sandbox
        .call(
            source,
            "run",
            arguments(json!({"x": 3431580.0, "items": [1, [2, {"a": null}]], "nothing": null})),
        )
        .await
        .unwrap();
    assert_eq!(
        value,
        json!({"x": 3431580.0, "third": 3431580.0 / 3.0, "items": [1, [2, {"a": null}]], "nothing": null, "pair": [1, 2.0], "big": 1234567125.0})
    );
    assert_eq!(
        value["third"].as_f64().unwrap().to_bits(),
        (3431580.0f64 / 3.0).to_bits()
    );
    // Ints beyond 64 bits are refused, with their digits.
    let error = run(
        &sandbox,
        "def run():\n    n = 1\n    for i in range(70):\n        n = n * 2\n    return n\n",
    )
    .await
    .unwrap_err();
    assert!(matches!(error, SandboxError::UnsupportedValue { .. }), "{error:?}");
    assert!(error.to_string().contains("1180591620717411303424"), "{error}");
}

#[tokio::test]
async fn errors_of_the_code_are_reported_and_the_worker_goes_on() {
    let sandbox = sandbox();
    assert_eq!(
        sandbox
            .call("def score(expected, actual):\n    return 1.0\n", "run", no_arguments())
            .await,
        Err(SandboxError::MissingFunction { name: "run".into() })
    );
    let error = run(&sandbox, "def run():\n    return 1 // 0\n").await.unwrap_err();
    assert!(matches!(error, SandboxError::Runtime { .. }), "{error:?}");
    let error = run(&sandbox, "def run(:\n").await.unwrap_err();
    assert!(matches!(error, SandboxError::Syntax { line: Some(1), .. }), "{error:?}");
    let error = sandbox
        .call("def run(a):\n    return a\n", "run", arguments(json!({"b": 1})))
        .await
        .unwrap_err();
    assert!(matches!(error, SandboxError::Runtime { .. }), "{error:?}");
    assert_still_works(&sandbox).await;
}

#[tokio::test]
async fn a_wrong_worker_program_fails_at_start_with_a_clear_error() {
    let error = Sandbox::new(SandboxConfig::for_worker_program("/nonexistent/flowc")).unwrap_err();
    let SandboxError::Worker { message } = &error else {
        panic!("{error:?}")
    };
    assert!(message.contains("/nonexistent/flowc"), "{message}");
    // A program that is not a flowc worker.
    let mut config = SandboxConfig::for_worker_program("/bin/echo");
    config.worker_arguments = vec!["hello".into()];
    let error = Sandbox::new(config).unwrap_err();
    assert!(error.to_string().contains("did not start"), "{error}");
}

#[test]
fn the_worker_subcommand_is_hidden_and_refuses_people() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_flowc"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("sandbox-worker"));
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_flowc"))
        .arg("__sandbox-worker")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    worker.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let output = worker.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("for flowc's own use"));
}
