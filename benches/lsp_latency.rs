//! Prints `flowc lsp` latencies (run by bench/lsp_latency.sh, not a timed test).
//!
//! Usage: lsp_latency FLOWC FILE_1K FILE_10K
//!
//! For each file: start the real server, open the file, wait for its first
//! diagnostics; then 50 one-character edits (typing into, then deleting from, the
//! prompt of the middle node) each timed from sending the `didChange` to receiving
//! the `publishDiagnostics` of that version; then 50 hovers on a node reference and
//! 50 completions after `{node.`. Prints median and p95 of each, the server's peak
//! RSS (VmHWM), and last the summary line.

#[path = "../tests/support/lsp_client.rs"]
mod lsp_client;

use std::path::Path;
use std::time::{Duration, Instant};

use lsp_client::{position_of, LspClient};
use serde_json::json;

const EDITS: usize = 50;
const QUERIES: usize = 50;

struct Figures {
    edit_median: f64,
    edit_p95: f64,
    hover_median: f64,
    hover_p95: f64,
    completion_median: f64,
    completion_p95: f64,
    first_diagnostics_ms: f64,
    peak_rss_mb: f64,
}

fn percentile(samples: &mut [f64], fraction: f64) -> f64 {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let index = ((samples.len() as f64 - 1.0) * fraction).round() as usize;
    samples[index]
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

fn measure(flowc: &Path, file: &Path) -> Figures {
    let text = std::fs::read_to_string(file).expect("read the generated file");
    let mut client = LspClient::start(flowc);
    client.initialize(file.parent().unwrap());
    let opened = Instant::now();
    let uri = client.open(file, &text);
    client.diagnostics(&uri, Some(1));
    let first_diagnostics_ms = opened.elapsed().as_secs_f64() * 1000.0;

    // The middle llm node's prompt: where the edits type, and what is hovered.
    let node_count = text.matches("\n  node ").count();
    let middle = (node_count / 2..node_count).find(|index| text.contains(&format!("node n{index} = llm("))).expect("an llm node in the second half");
    let prompt_marker = format!("node n{middle} = llm(");
    let prompt_at = text.find(&prompt_marker).unwrap();
    let prompt_text_at = prompt_at + text[prompt_at..].find("prompt = \"").unwrap() + "prompt = \"".len();
    let edit_position = position_of(&text, &text[prompt_text_at..prompt_text_at + 12], 0);
    // A reference to an earlier node inside that prompt: `{nK.field}`.
    let reference_at = prompt_text_at + text[prompt_text_at..].find("{n").unwrap();
    let reference = &text[reference_at..reference_at + text[reference_at..].find('}').unwrap()];
    let dot = reference.find('.').unwrap_or(reference.len());

    let mut edits = Vec::new();
    for index in 0..EDITS {
        let version = index as i64 + 2;
        let (range, new_text) = if index % 2 == 0 {
            (json!({"start": edit_position, "end": edit_position}), "x")
        } else {
            let end = json!({"line": edit_position["line"], "character": edit_position["character"].as_u64().unwrap() + 1});
            (json!({"start": edit_position, "end": end}), "")
        };
        let started = Instant::now();
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": range, "text": new_text}]}),
        );
        client.diagnostics(&uri, Some(version));
        edits.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // After an even number of edits the text is the original again.
    assert_eq!(EDITS % 2, 0);
    let hover_position = position_of(&text, reference, 2);
    let completion_position = position_of(&text, reference, dot + 1);
    let mut hovers = Vec::new();
    let mut completions = Vec::new();
    for _ in 0..QUERIES {
        let started = Instant::now();
        let hover = client.result("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": hover_position}));
        hovers.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(hover["contents"]["value"].as_str().is_some_and(|value| value.contains("node n")), "hover: {hover}");
        let started = Instant::now();
        let completion = client.result("textDocument/completion", json!({"textDocument": {"uri": uri}, "position": completion_position}));
        completions.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(completion.as_array().is_some_and(|items| !items.is_empty()), "completion: {completion}");
    }
    let peak_rss_mb = peak_rss_mb(client.process_id());
    let status = client.shut_down();
    assert!(status.success());
    Figures {
        edit_median: percentile(&mut edits, 0.5),
        edit_p95: percentile(&mut edits, 0.95),
        hover_median: percentile(&mut hovers, 0.5),
        hover_p95: percentile(&mut hovers, 0.95),
        completion_median: percentile(&mut completions, 0.5),
        completion_p95: percentile(&mut completions, 0.95),
        first_diagnostics_ms,
        peak_rss_mb,
    }
}

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).filter(|argument| argument != "--bench").collect();
    let [flowc, small, large] = arguments.as_slice() else {
        eprintln!("usage: lsp_latency FLOWC FILE_1K FILE_10K");
        std::process::exit(2);
    };
    let _ = Duration::from_secs(0);
    let mut results = Vec::new();
    for (label, file) in [("1k", small), ("10k", large)] {
        let figures = measure(Path::new(flowc), Path::new(file));
        println!(
            "{label}: open→diagnostics {:.1} ms; edit→diagnostics median {:.1} ms p95 {:.1} ms; hover median {:.2} ms p95 {:.2} ms; completion median {:.2} ms p95 {:.2} ms; peak RSS {:.0} MB",
            figures.first_diagnostics_ms,
            figures.edit_median,
            figures.edit_p95,
            figures.hover_median,
            figures.hover_p95,
            figures.completion_median,
            figures.completion_p95,
            figures.peak_rss_mb
        );
        results.push(figures);
    }
    let (small, large) = (&results[0], &results[1]);
    // Hover and completion: the worse of the two files; RSS: the 10k file's.
    println!(
        "lsp_edit_1k_ms={:.1} lsp_edit_10k_ms={:.1} hover_ms={:.2} completion_ms={:.2} rss_mb={:.0}",
        small.edit_median,
        large.edit_median,
        small.hover_median.max(large.hover_median),
        small.completion_median.max(large.completion_median),
        large.peak_rss_mb
    );
}
