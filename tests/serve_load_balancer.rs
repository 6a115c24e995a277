//! Replicas behind a real load balancer: two `flowc serve` processes and Debian's
//! haproxy on loopback ports. Requests go through haproxy; one replica is killed
//! (SIGKILL) mid-way. Every request must get an answer (served, retried by the
//! balancer, or a 5xx — none lost without a response), and every answer must be
//! the bytes `flowc run` gives for that input.

#[path = "support/serve_process.rs"]
mod serve_process;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use serve_process::{example_plan, flowc, scratch_folder, ServeProcess};

const HAPROXY: &str = "/usr/sbin/haproxy";
const REQUESTS: usize = 240;
const CONCURRENCY: usize = 8;
const KILL_AFTER: usize = 80;

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn haproxy_over_two_replicas_loses_nothing_when_one_is_killed() {
    assert!(std::path::Path::new(HAPROXY).exists(), "{HAPROXY} is missing: run ./scripts/setup.sh (it installs Debian's haproxy)");
    let folder = scratch_folder("serve-haproxy");
    // Fifty held-out questions, each answered by `flowc run` first.
    let heldout = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/templated_shopping_change/data/heldout.jsonl")).unwrap();
    let inputs: Vec<String> = heldout
        .lines()
        .map(|line| json!({ "question": serde_json::from_str::<Value>(line).unwrap()["input"] }).to_string())
        .collect();
    let inputs_path = folder.join("inputs.jsonl");
    std::fs::write(&inputs_path, inputs.join("\n") + "\n").unwrap();
    let (code, run_stdout, run_stderr) = flowc(&["run", example_plan().to_str().unwrap(), "--inputs", inputs_path.to_str().unwrap()]);
    assert_eq!(code, 0, "{run_stderr}");
    let expected: Vec<String> = run_stdout.lines().map(str::to_string).collect();
    assert_eq!(expected.len(), inputs.len());

    let replica_a = ServeProcess::start(&example_plan(), &["--quiet"], &[]);
    let replica_b = ServeProcess::start(&example_plan(), &["--quiet"], &[]);
    replica_a.wait_ready(Duration::from_secs(60)).await;
    replica_b.wait_ready(Duration::from_secs(60)).await;
    let front_port = free_port();
    let config = format!(
        "global\n  maxconn 512\n\
         defaults\n  mode http\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n  retries 3\n  option redispatch 1\n  retry-on conn-failure empty-response response-timeout 503\n\
         frontend front\n  bind 127.0.0.1:{front_port}\n  default_backend replicas\n\
         backend replicas\n  balance roundrobin\n  option httpchk GET /readyz\n  http-check expect status 200\n  default-server inter 200ms fall 1 rise 2\n  server a {} check\n  server b {} check\n",
        replica_a.base_url.trim_start_matches("http://"),
        replica_b.base_url.trim_start_matches("http://"),
    );
    let config_path = folder.join("haproxy.cfg");
    std::fs::write(&config_path, config).unwrap();
    let check = Command::new(HAPROXY).args(["-c", "-f"]).arg(&config_path).output().expect("haproxy runs");
    assert!(check.status.success(), "haproxy refuses the configuration: {}", String::from_utf8_lossy(&check.stderr));
    let _balancer = KillOnDrop(Command::new(HAPROXY).arg("-db").arg("-f").arg(&config_path).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("haproxy starts"));
    let front = format!("http://127.0.0.1:{front_port}");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{front}/readyz")).send().await.map(|response| response.status() != 200).unwrap_or(true) {
        assert!(Instant::now() < deadline, "haproxy did not come up on {front}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let inputs = Arc::new(inputs);
    let completed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut tasks = Vec::new();
    let mut replica_a = Some(replica_a);
    for index in 0..REQUESTS {
        if index == KILL_AFTER {
            while completed.load(std::sync::atomic::Ordering::SeqCst) < KILL_AFTER - CONCURRENCY {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let replica = replica_a.take().unwrap();
            replica.signal(libc::SIGKILL);
            drop(replica);
        }
        let permit = Arc::clone(&semaphore).acquire_owned().await.unwrap();
        let client = client.clone();
        let url = format!("{front}/v1/workflows/solve:run");
        let inputs = Arc::clone(&inputs);
        let completed = Arc::clone(&completed);
        tasks.push(tokio::spawn(async move {
            let input = &inputs[index % inputs.len()];
            let outcome = match client.post(&url).body(input.clone()).send().await {
                Ok(response) => Ok((response.status().as_u16(), response.text().await.unwrap_or_default())),
                Err(error) => Err(error.to_string()),
            };
            completed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(permit);
            (index, outcome)
        }));
    }
    let (mut served, mut server_errors, mut lost) = (0, 0, Vec::new());
    for task in tasks {
        let (index, outcome) = task.await.unwrap();
        match outcome {
            Ok((200, body)) => {
                let expected_start = format!("{{\"outputs\":{},", expected[index % expected.len()]);
                assert!(body.starts_with(&expected_start), "request {index}: served {body}, flowc run wrote {}", expected[index % expected.len()]);
                served += 1;
            }
            Ok((status, body)) if status >= 500 => {
                server_errors += 1;
                eprintln!("request {index}: {status} {body}");
            }
            Ok((status, body)) => panic!("request {index}: unexpected {status} {body}"),
            Err(error) => lost.push(format!("request {index}: no answer: {error}")),
        }
    }
    eprintln!("{REQUESTS} requests through haproxy, replica a killed after {KILL_AFTER}: {served} served, {server_errors} answered 5xx, {} without an answer", lost.len());
    assert!(lost.is_empty(), "requests without an answer:\n{}", lost.join("\n"));
    assert_eq!(served + server_errors, REQUESTS);
    assert!(served >= REQUESTS - CONCURRENCY, "only {served} of {REQUESTS} served: the balancer did not route around the dead replica");
    // The survivor answered the rest.
    let metrics = client.get(replica_b.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let on_b: f64 = metrics.lines().find_map(|line| line.strip_prefix("flowc_http_requests_total{route=\"run\",status=\"200\"}").map(|value| value.trim().parse().unwrap())).unwrap();
    assert!(on_b >= (REQUESTS - KILL_AFTER) as f64, "replica b served only {on_b}");
}
