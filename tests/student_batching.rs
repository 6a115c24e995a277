#![cfg(feature = "in-process-models")]
//! The real student (SmolLM2-135M-Instruct, GGUF, in process) under concurrent
//! requests, which mistralrs's scheduler runs as batches:
//! - each of several concurrent requests gets, byte for byte, the answer it gets when
//!   run alone (before the fix in `patches/mistralrs-core`, the decode attention of a
//!   batch gave every sequence the attention of the batch's last one, and concurrent
//!   answers came back mixed);
//! - a request's bytes do not depend on its batch: alone, among 8 copies of itself,
//!   and among 7 different requests, for a greedy, a seeded-sampling and a
//!   JSON-constrained request; the copies also check that a prefix-cache hit (the same
//!   prompt again) gives the bytes of a cold start.
//!
//! Needs the model fetched by the README set-up (`scripts/setup.sh`).

use flowc::models::mistralrs_backend::MistralRsBackend;
use flowc::models::{ChatMessage, ChatRequest, DecodingParameters, ModelBackend, OutputConstraint, Role};

#[path = "support/student_gguf.rs"]
mod student_gguf;
#[path = "support/student_in_process.rs"]
mod student_in_process;
use student_in_process::load;

fn request(system: Option<&str>, prompt: &str, decoding: DecodingParameters, constraint: OutputConstraint) -> ChatRequest {
    let system = system.map(|content| ChatMessage { role: Role::System, content: content.to_string() });
    ChatRequest { messages: system.into_iter().chain([ChatMessage { role: Role::User, content: prompt.to_string() }]).collect(), decoding, constraint }
}

fn greedy(max_tokens: u32) -> DecodingParameters {
    DecodingParameters { temperature: Some(0.0), seed: Some(0), max_tokens: Some(max_tokens), ..Default::default() }
}

fn sampled(seed: u64, max_tokens: u32) -> DecodingParameters {
    DecodingParameters { temperature: Some(0.7), seed: Some(seed), max_tokens: Some(max_tokens), ..Default::default() }
}

/// Eight prompts of the same shape: most have the same number of tokens, so the
/// scheduler puts them in one batch from their first step.
fn stories() -> Vec<ChatRequest> {
    ["cat", "dog", "fox", "cow", "owl", "pig", "bee", "ant"]
        .iter()
        .map(|animal| request(None, &format!("Write a short story about a {animal}."), greedy(24), OutputConstraint::None))
        .collect()
}

async fn alone(backend: &MistralRsBackend, requests: &[ChatRequest]) -> Vec<String> {
    let mut answers = Vec::new();
    for request in requests {
        answers.push(backend.chat(request).await.expect("a request alone").text);
    }
    answers
}

async fn together(backend: &MistralRsBackend, requests: &[ChatRequest]) -> Vec<String> {
    futures::future::join_all(requests.iter().map(|request| backend.chat(request)))
        .await
        .into_iter()
        .map(|response| response.expect("a concurrent request").text)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_get_the_answer_they_get_alone() {
    let backend = load().await;
    let requests = stories();
    let one_at_a_time = alone(&backend, &requests).await;
    let distinct: std::collections::BTreeSet<&String> = one_at_a_time.iter().collect();
    assert!(distinct.len() >= 6, "the prompts should give different stories: {one_at_a_time:#?}");
    let concurrent = together(&backend, &requests).await;
    for (index, (expected, got)) in one_at_a_time.iter().zip(&concurrent).enumerate() {
        assert_eq!(got, expected, "request {index} ({:?}) answered differently when sent with the others", requests[index].messages[0].content);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requests_bytes_do_not_depend_on_what_else_is_in_its_batch() {
    let backend = load().await;
    let schema = serde_json::json!({
        "type": "object",
        "properties": { "order_id": { "type": "string" }, "urgent": { "type": "boolean" } },
        "required": ["order_id", "urgent"],
        "additionalProperties": false
    });
    let system = "You copy facts out of customer messages. You never guess.";
    let message = "Message: My order B-2291 still hasn't shipped and I need it today.\n\nReply with JSON: order_id and urgent.";
    let subjects = [
        ("greedy", request(Some(system), message, greedy(24), OutputConstraint::None)),
        ("sampled", request(None, "Is this text happy or sad? I lost my keys again.", sampled(3, 16), OutputConstraint::None)),
        ("constrained", request(Some(system), message, greedy(32), OutputConstraint::JsonSchema { schema: schema.clone() })),
    ];
    // Different requests to share the batch with: some of the subject's length (one
    // batch from the first step), some shorter and longer (batched once they line up).
    let mut others = stories();
    others.truncate(4);
    others.push(request(Some(system), "Message: Where is my parcel D-1200?\n\nReply with JSON: order_id and urgent.", greedy(24), OutputConstraint::None));
    others.push(request(None, "Is this text happy or sad? I won a prize today.", sampled(4, 16), OutputConstraint::None));
    others.push(request(Some(system), "Message: The app crashes.\n\nReply with JSON: order_id and urgent.", greedy(32), OutputConstraint::JsonSchema { schema }));
    let others_alone = alone(&backend, &others).await;
    for (kind, subject) in subjects {
        // First: a cold start (this prompt has not been seen by this model).
        let reference = backend.chat(&subject).await.expect("the request alone").text;
        assert!(!reference.is_empty(), "{kind}: an empty answer");
        // Eight copies of itself (the prompt is now in the prefix cache).
        let copies = together(&backend, &vec![subject.clone(); 8]).await;
        for (index, copy) in copies.iter().enumerate() {
            assert_eq!(copy, &reference, "{kind}: copy {index} of 8 identical requests differs from the request alone");
        }
        // Among seven different requests, sent after it so it is not always first.
        let mut mixed = others.clone();
        mixed.insert(3, subject.clone());
        let answers = together(&backend, &mixed).await;
        assert_eq!(answers[3], reference, "{kind}: the request among 7 different ones differs from the request alone");
        // The others too must be what they are alone.
        let mut others_together = answers.clone();
        others_together.remove(3);
        assert_eq!(others_together, others_alone, "{kind}: the other requests of the mixed batch differ from their answers alone");
    }
}
