//! Latency of one code-node call through the sandbox: what a workflow pays per `code`
//! node on top of the code's own work.
//!
//! Starts a one-worker [`Sandbox`] on the release flowc binary, warms it up, then times
//! 1,000 sequential calls of a small `run(numbers)` and prints p50/p95/p99 in
//! microseconds. For comparison it also times the same call in process (parse,
//! evaluate, convert, no worker), which is the floor the pool's overhead sits on.
//! The last line is machine-readable:
//!
//! ```text
//! code_node_p50_us=<..> code_node_p95_us=<..>
//! ```
//!
//! Run with `bench/code_node_latency.sh`, or `cargo bench --bench code_node_latency`.
//! The worker binary is `FLOWC_SANDBOX_WORKER` when set, else the flowc that cargo
//! built for this benchmark (`CARGO_BIN_EXE_flowc`, the release profile).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use flowc::sandbox::interpreter::{CallBudget, Interpreter};
use flowc::sandbox::{Sandbox, SandboxConfig, SandboxLimits};
use serde_json::{json, Map, Value};

const CALLS: usize = 1_000;
const WARM_UP_CALLS: usize = 100;

const SOURCE: &str = "\
def run(numbers):
    total = 0
    for n in numbers:
        total += n
    return round(total / len(numbers), 4)
";

fn arguments() -> Map<String, Value> {
    let numbers: Vec<f64> = (1..=10).map(|index| index as f64 * 1.25).collect();
    json!({ "numbers": numbers }).as_object().cloned().unwrap_or_default()
}

/// The `fraction` quantile of sorted samples, in microseconds.
fn quantile_us(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1e6
}

fn summarize(label: &str, mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let mean = samples.iter().sum::<Duration>().as_secs_f64() * 1e6 / samples.len() as f64;
    let (p50, p95, p99) = (
        quantile_us(&samples, 0.50),
        quantile_us(&samples, 0.95),
        quantile_us(&samples, 0.99),
    );
    println!(
        "{label}: {} calls, p50 {p50:.1} us, p95 {p95:.1} us, p99 {p99:.1} us, mean {mean:.1} us",
        samples.len()
    );
    (p50, p95)
}

fn main() {
    let worker_program = std::env::var_os("FLOWC_SANDBOX_WORKER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_flowc")));
    println!("worker: {}", worker_program.display());

    // In process: the interpreter's own cost for this call.
    let interpreter = Interpreter::new();
    let budget = {
        let limits = SandboxLimits::default();
        CallBudget {
            max_steps: limits.max_steps,
            max_memory_bytes: limits.max_memory_bytes,
            timeout: limits.timeout,
        }
    };
    let input = arguments();
    let expected = interpreter
        .call(SOURCE, "run", &input, budget)
        .expect("the benchmark code runs");
    let mut in_process = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        let value = interpreter.call(SOURCE, "run", &input, budget);
        in_process.push(started.elapsed());
        assert_eq!(value.as_ref(), Ok(&expected));
    }
    summarize("in-process interpreter (no worker)", in_process);

    // Through the sandbox: request to a pooled worker process and back.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let config = SandboxConfig::for_worker_program(worker_program).with_workers(1);
    let started = Instant::now();
    let sandbox = Sandbox::new(config).expect("the sandbox starts");
    println!(
        "sandbox start (1 worker, ready): {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let samples = runtime.block_on(async {
        for _ in 0..WARM_UP_CALLS {
            sandbox
                .call(SOURCE, "run", input.clone())
                .await
                .expect("the benchmark code runs");
        }
        let mut samples = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let arguments = input.clone();
            let started = Instant::now();
            let value = sandbox.call(SOURCE, "run", arguments).await;
            samples.push(started.elapsed());
            assert_eq!(value.as_ref(), Ok(&expected));
        }
        samples
    });
    let (p50, p95) = summarize("sandbox call (pooled worker)", samples);
    println!("code_node_p50_us={p50:.1} code_node_p95_us={p95:.1}");
}
