//! SmolLM2-135M throughput in process (mistralrs), for `bench/student_throughput.sh`,
//! which puts llama.cpp's server's figures beside these on the same GGUF, thread count
//! and prompts.
//!
//! - Prompt and generation tokens/s of one request at a time. Each run's prompt starts
//!   with its own system line, so no run is served from the prefix cache of the one
//!   before.
//! - A plan's usual shape: one long system prompt shared by every input, which the
//!   prefix cache serves after the first input (checked to give the same text as a
//!   cold start).
//! - Batch scaling: the requests of `FLOWC_BENCH_REQUESTS` (JSON lines of `system`,
//!   `user`, `max_tokens`; written by the script, read by both sides) with 1, 2, 4 and
//!   8 in flight at once; calls/s at each.
//!
//! Prints `mistralrs_prompt_tok_s=<..> mistralrs_generation_tok_s=<..>
//! mistralrs_shared_prefix_prompt_tok_s=<..> mistralrs_calls_per_s_1=<..> ..._8=<..>`
//! last.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;

use flowc::models::mistralrs_backend::MistralRsBackend;
use flowc::models::model_files::model_cache_dir;
use flowc::models::{ChatMessage, ChatRequest, DecodingParameters, ModelBackend, OutputConstraint, Role};
use flowc::plan::fingerprint::file_sha256;

const LONG_PROMPT_REPEATS: usize = 12;
const CONCURRENCY: [usize; 4] = [1, 2, 4, 8];

fn long_prompt() -> String {
    let problem = "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with 4933828. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. ";
    format!("{}How much does she make?", problem.repeat(LONG_PROMPT_REPEATS))
}

/// A run's own system line comes first (the chat template would otherwise put the
/// same default system prompt before every run), so no run reuses the one before.
fn tagged(tag: &str, prompt: &str, max_tokens: u32) -> ChatRequest {
    with_system(Some(tag), prompt, max_tokens)
}

fn with_system(system: Option<&str>, prompt: &str, max_tokens: u32) -> ChatRequest {
    let system = system.map(|content| ChatMessage { role: Role::System, content: content.to_string() });
    ChatRequest {
        messages: system.into_iter().chain([ChatMessage { role: Role::User, content: prompt.to_string() }]).collect(),
        decoding: DecodingParameters { temperature: Some(0.0), seed: Some(0), max_tokens: Some(max_tokens), ..Default::default() },
        constraint: OutputConstraint::None,
    }
}

/// The batch-scaling requests, one list per concurrency (the script tags each list's
/// system prompt with its concurrency, so every list starts with a cold cache).
fn batch_requests() -> Vec<(usize, Vec<ChatRequest>)> {
    let Some(path) = std::env::var_os("FLOWC_BENCH_REQUESTS") else { return Vec::new() };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.to_string_lossy()));
    let mut lists: Vec<(usize, Vec<ChatRequest>)> = CONCURRENCY.iter().map(|concurrency| (*concurrency, Vec::new())).collect();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let concurrency = value["concurrency"].as_u64().expect("concurrency") as usize;
        let request = with_system(value["system"].as_str(), value["user"].as_str().expect("user"), value["max_tokens"].as_u64().expect("max_tokens") as u32);
        lists.iter_mut().find(|(level, _)| *level == concurrency).expect("a known concurrency").1.push(request);
    }
    lists
}

#[tokio::main]
async fn main() {
    let path = std::env::var_os("FLOWC_BENCH_MODEL").map(std::path::PathBuf::from).unwrap_or_else(|| model_cache_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf"));
    let digest = file_sha256(&path).unwrap_or_else(|error| panic!("{}: {error}; run ./scripts/setup.sh", path.display()));
    let started = Instant::now();
    let backend = Arc::new(MistralRsBackend::load(&path, digest).await.expect("the model loads"));
    println!("load (re-quantisation included): {:.3} s", started.elapsed().as_secs_f64());
    // Warm up once (allocations, caches), then measure.
    backend.chat(&tagged("Warm-up.", "Hello", 4)).await.expect("warm-up");

    let mut prompt_rates = Vec::new();
    for run in 0..3 {
        let started = Instant::now();
        let response = backend.chat(&tagged(&format!("Run {run}."), &long_prompt(), 1)).await.expect("prompt run");
        let seconds = response.prompt_seconds.filter(|seconds| *seconds > 0.0).unwrap_or_else(|| started.elapsed().as_secs_f64());
        prompt_rates.push(f64::from(response.prompt_tokens) / seconds);
        println!("prompt: {} tokens in {:.3} s", response.prompt_tokens, seconds);
    }
    let mut generation_rates = Vec::new();
    for run in 0..3 {
        let response = backend.chat(&tagged(&format!("Story {run}."), "Write a long story about a duck farm.", 128)).await.expect("generation run");
        let seconds = response.generation_seconds.unwrap_or(0.0).max(1e-9);
        generation_rates.push(f64::from(response.completion_tokens) / seconds);
        println!("generation: {} tokens in {:.3} s", response.completion_tokens, seconds);
    }
    // The same long system prompt before different questions: the rate counts every
    // prompt token, read or served from the prefix cache.
    let system = long_prompt();
    let questions = ["How many eggs are left each day?", "How much does she earn per week?", "How many muffins does she bake?", "How many eggs does she eat?"];
    let mut shared_rates = Vec::new();
    let mut warm_answers = Vec::new();
    for (index, question) in questions.iter().enumerate() {
        let started = Instant::now();
        let response = backend.chat(&with_system(Some(&system), question, 16)).await.expect("shared-prefix run");
        let seconds = response.prompt_seconds.filter(|seconds| *seconds > 0.0).unwrap_or_else(|| started.elapsed().as_secs_f64());
        println!("shared-prefix prompt: {} tokens in {:.3} s ({:.3} s in all)", response.prompt_tokens, seconds, started.elapsed().as_secs_f64());
        if index > 0 {
            shared_rates.push(f64::from(response.prompt_tokens) / seconds);
        }
        warm_answers.push(response.text);
    }

    // Batch scaling: the same work at 1, 2, 4 and 8 requests in flight.
    let mut calls_per_second = Vec::new();
    for (concurrency, requests) in batch_requests() {
        let started = Instant::now();
        let backend = Arc::clone(&backend);
        let mut answers: Vec<(usize, String)> = futures::stream::iter(requests.iter().cloned().enumerate())
            .map(|(index, request)| {
                let backend = Arc::clone(&backend);
                async move { (index, backend.chat(&request).await.expect("batch request").text) }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let seconds = started.elapsed().as_secs_f64();
        answers.sort_by_key(|(index, _)| *index);
        let answers: Vec<String> = answers.into_iter().map(|(_, text)| text).collect();
        let rate = requests.len() as f64 / seconds;
        println!("batch: {} calls, {concurrency} in flight: {seconds:.3} s, {rate:.2} calls/s", requests.len());
        // Each concurrency's prompts carry their own tag (a cold cache for each), so the
        // answers are not compared across concurrencies here: tests/student_batching.rs
        // checks that batching never changes a request's bytes.
        println!("batch: {concurrency} in flight: {} answers", answers.len());
        calls_per_second.push((concurrency, rate));
    }

    // A prefix-cache hit must not change the text: the last question again, as the
    // first request of a freshly loaded model.
    drop(backend);
    let fresh = MistralRsBackend::load(&path, file_sha256(&path).unwrap()).await.expect("the model loads again");
    let cold = fresh.chat(&with_system(Some(&system), questions[questions.len() - 1], 16)).await.expect("cold run");
    assert_eq!(&cold.text, warm_answers.last().unwrap(), "a prefix-cache hit changed the text");
    println!("shared-prefix: the cold and the cached answer are the same ({:?})", cold.text);
    let median = |mut rates: Vec<f64>| {
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    };
    let batch: String = calls_per_second.iter().map(|(concurrency, rate)| format!(" mistralrs_calls_per_s_{concurrency}={rate:.3}")).collect();
    println!(
        "mistralrs_prompt_tok_s={:.1} mistralrs_generation_tok_s={:.1} mistralrs_shared_prefix_prompt_tok_s={:.1}{batch}",
        median(prompt_rates),
        median(generation_rates),
        median(shared_rates)
    );
}
