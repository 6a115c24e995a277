//! SmolLM2-135M throughput in process (mistralrs), for `bench/student_throughput.sh`,
//! which puts llama.cpp's figures beside these on the same GGUF and thread count.
//!
//! Prints `mistralrs_prompt_tok_s=<..> mistralrs_generation_tok_s=<..>` last.

use std::time::Instant;

use flowc::models::mistralrs_backend::MistralRsBackend;
use flowc::models::model_files::model_cache_dir;
use flowc::models::{ChatMessage, ChatRequest, DecodingParameters, ModelBackend, OutputConstraint, Role};
use flowc::plan::fingerprint::file_sha256;

const LONG_PROMPT_REPEATS: usize = 12;

fn long_prompt() -> String {
    let problem = "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with 4933828. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. ";
    format!("{}How much does she make?", problem.repeat(LONG_PROMPT_REPEATS))
}

fn request(prompt: &str, max_tokens: u32) -> ChatRequest {
    ChatRequest {
        messages: vec![ChatMessage { role: Role::User, content: prompt.to_string() }],
        decoding: DecodingParameters { temperature: Some(0.0), seed: Some(0), max_tokens: Some(max_tokens), ..Default::default() },
        constraint: OutputConstraint::None,
    }
}

#[tokio::main]
async fn main() {
    let path = std::env::var_os("FLOWC_BENCH_MODEL").map(std::path::PathBuf::from).unwrap_or_else(|| model_cache_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf"));
    let digest = file_sha256(&path).unwrap_or_else(|error| panic!("{}: {error}; run ./scripts/setup.sh", path.display()));
    let backend = MistralRsBackend::load(&path, digest).await.expect("the model loads");
    // Warm up once (allocations, caches), then measure.
    backend.chat(&request("Hello", 4)).await.expect("warm-up");

    let prompt = long_prompt();
    let mut prompt_rates = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let response = backend.chat(&request(&prompt, 1)).await.expect("prompt run");
        let seconds = response.prompt_seconds.filter(|seconds| *seconds > 0.0).unwrap_or_else(|| started.elapsed().as_secs_f64());
        prompt_rates.push(f64::from(response.prompt_tokens) / seconds);
        println!("prompt: {} tokens in {:.3} s", response.prompt_tokens, seconds);
    }
    let mut generation_rates = Vec::new();
    for _ in 0..3 {
        let response = backend.chat(&request("Write a long story about a duck farm.", 128)).await.expect("generation run");
        let seconds = response.generation_seconds.unwrap_or(0.0).max(1e-9);
        generation_rates.push(f64::from(response.completion_tokens) / seconds);
        println!("generation: {} tokens in {:.3} s", response.completion_tokens, seconds);
    }
    let median = |mut rates: Vec<f64>| {
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    };
    println!("mistralrs_prompt_tok_s={:.1} mistralrs_generation_tok_s={:.1}", median(prompt_rates), median(generation_rates));
}
