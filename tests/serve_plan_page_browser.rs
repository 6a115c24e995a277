//! The plan page in a real browser: Debian's headless Chromium, driven through
//! chromium-driver (WebDriver) by fantoccini, loads `GET /` from a running `flowc
//! serve`, runs one input through the form, and the result must be what `flowc run`
//! gives. A screenshot is saved under the test's output folder (its path is
//! printed).

#[path = "support/serve_process.rs"]
mod serve_process;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use serde_json::{json, Value};
use serve_process::{example_inputs, example_plan, flowc, scratch_folder, ServeProcess};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";

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
async fn the_plan_page_runs_one_input_in_headless_chromium() {
    assert!(std::path::Path::new(CHROMIUM).exists(), "{CHROMIUM} is missing: run ./scripts/setup.sh (it installs Debian's chromium and chromium-driver)");
    let port = free_port();
    let driver = Command::new(CHROMEDRIVER).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
    let driver = KillOnDrop(driver.unwrap_or_else(|error| panic!("{CHROMEDRIVER} cannot start ({error}): run ./scripts/setup.sh (it installs chromium-driver)")));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }

    let inputs = std::fs::read_to_string(example_inputs()).unwrap();
    let first_input: Value = serde_json::from_str(inputs.lines().next().unwrap()).unwrap();
    let question = first_input["question"].as_str().unwrap();
    let (code, run_stdout, run_stderr) = flowc(&["run", example_plan().to_str().unwrap(), "--input", inputs.lines().next().unwrap()]);
    assert_eq!(code, 0, "{run_stderr}");
    let expected: Value = serde_json::from_str(run_stdout.trim()).unwrap();

    let server = ServeProcess::start(&example_plan(), &[], &[]);
    server.wait_ready(Duration::from_secs(60)).await;

    let profile = scratch_folder("serve-chromium-profile");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,2200",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    // Plain HTTP to chromedriver on loopback: no TLS stack needed.
    let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
    let browser = builder.capabilities(capabilities).connect(&format!("http://127.0.0.1:{port}")).await.expect("chromium starts under chromedriver");
    let outcome = async {
        browser.goto(&server.url("/")).await?;
        let title = browser.find(Locator::Css("h1")).await?.text().await?;
        assert_eq!(title, "shopping_change.flow");
        // The server-drawn picture is on the page.
        browser.find(Locator::Css("#graph-solve svg")).await?;
        browser.find(Locator::Css("#input-solve-question")).await?.send_keys(question).await?;
        browser.find(Locator::Css("#run-solve")).await?.click().await?;
        let outputs = browser.wait().at_most(Duration::from_secs(30)).for_element(Locator::Css("#outputs-solve")).await?;
        let shown: Value = serde_json::from_str(&outputs.text().await?).expect("the page shows the outputs as JSON");
        let trace_row = browser.find(Locator::Css("#trace-solve-compute")).await?.text().await?;
        let screenshot = browser.screenshot().await?;
        Ok::<_, fantoccini::error::CmdError>((shown, trace_row, screenshot))
    }
    .await;
    let _ = browser.close().await;
    drop(driver);
    let (shown, trace_row, screenshot) = outcome.expect("the page works in Chromium");
    assert_eq!(shown["answer"].as_f64(), expected["answer"].as_f64(), "the page shows {shown}, flowc run gives {expected}");
    assert!(trace_row.contains("compute") && trace_row.contains("code"), "{trace_row}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve_plan_page.png");
    std::fs::write(&path, &screenshot).unwrap();
    assert!(screenshot.starts_with(b"\x89PNG"), "the screenshot is a PNG");
    println!("screenshot of the plan page: {}", path.display());
}
