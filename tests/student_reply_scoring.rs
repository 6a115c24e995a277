#![cfg(feature = "in-process-models")]
//! The real student (SmolLM2-135M-Instruct, GGUF, in process) scoring replies, the
//! model call behind `likelihood_choice` nodes:
//! - a score reads the reply: after a question, its answer is far more likely than
//!   an unrelated word, and a customer's message is more likely under the prompt of
//!   its own class than under another's;
//! - a score does not depend on its batch: alone, among 8 copies of itself, and
//!   among 7 different scores and a generation running at the same time;
//! - an empty reply scores 0 without a model step; a chat request after scores is
//!   unchanged (the forced tokens leave nothing behind).
//!
//! Needs the model fetched by the README set-up (`scripts/setup.sh`).

use flowc::models::{ChatMessage, ChatRequest, DecodingParameters, ModelBackend, OutputConstraint, Role, ScoreRequest};

#[path = "support/student_gguf.rs"]
mod student_gguf;
#[path = "support/student_in_process.rs"]
mod student_in_process;
use student_in_process::load;

fn score_request(system: &str, prompt: &str, reply: &str) -> ScoreRequest {
    ScoreRequest {
        messages: vec![ChatMessage { role: Role::System, content: system.to_string() }, ChatMessage { role: Role::User, content: prompt.to_string() }],
        reply: reply.to_string(),
    }
}

fn class_request(class: &str, covers: &str, message: &str) -> ScoreRequest {
    score_request(
        &format!("You sort the messages of a web shop's customers for its support teams.\nTexts of the class \"{class}\" are about: {covers}."),
        &format!("Write a text of the class \"{class}\"."),
        message,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_score_reads_the_reply() {
    let backend = load().await;
    let question = |reply: &str| score_request("You answer in one word.", "What is the capital of France?", reply);
    let right = backend.score(&question("Paris")).await.expect("a score").log_probability;
    let wrong = backend.score(&question("Bicycle")).await.expect("a score").log_probability;
    assert!(right < 0.0 && wrong < 0.0, "log-probabilities are negative: {right} {wrong}");
    assert!(right > wrong + 3.0, "the answer should be far more likely than an unrelated word: {right} vs {wrong}");

    let message = "I was charged twice for my order, please refund one of the payments.";
    let billing = backend.score(&class_request("billing", "payments, charges, refunds, invoices", message)).await.expect("a score");
    let shipping = backend.score(&class_request("shipping", "parcels, delivery, addresses", message)).await.expect("a score");
    assert_eq!(billing.reply_tokens, shipping.reply_tokens, "the same reply has the same tokens");
    assert!(billing.reply_tokens > 5, "{billing:?}");
    assert!(billing.log_probability > shipping.log_probability, "a billing message should be likelier under billing's prompt: {billing:?} vs {shipping:?}");

    let empty = backend.score(&question("")).await.expect("an empty reply scores");
    assert_eq!((empty.log_probability, empty.reply_tokens), (0.0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_score_does_not_depend_on_what_else_is_in_its_batch() {
    let backend = load().await;
    let subject = class_request("account", "signing in, passwords, profile, personal data", "I can't log in since I changed my password yesterday.");
    let greedy = ChatRequest {
        messages: vec![ChatMessage { role: Role::User, content: "Write a short story about a fox.".to_string() }],
        decoding: DecodingParameters { temperature: Some(0.0), seed: Some(0), max_tokens: Some(24), ..Default::default() },
        constraint: OutputConstraint::None,
    };
    let story_before = backend.chat(&greedy).await.expect("a story").text;
    let reference = backend.score(&subject).await.expect("the score alone");

    let copies = futures::future::join_all((0..8).map(|_| backend.score(&subject))).await;
    for (index, copy) in copies.into_iter().enumerate() {
        assert_eq!(copy.expect("a copy"), reference, "copy {index} of 8 identical scores differs from the score alone");
    }

    let others: Vec<ScoreRequest> = [
        ("billing", "payments, charges, refunds, invoices", "Where is my invoice for March?"),
        ("shipping", "parcels, delivery, addresses", "The parcel went to my old address."),
        ("technical", "the app or website not working", "The app crashes when I open the basket."),
        ("account", "signing in, passwords, profile, personal data", "Please delete my account."),
        ("billing", "payments, charges, refunds, invoices", "I can't log in since I changed my password yesterday."),
        ("technical", "the app or website not working", "Checkout shows a blank page and nothing happens when I press pay, twice now."),
        ("shipping", "parcels, delivery, addresses", "ok"),
    ]
    .iter()
    .map(|(class, covers, message)| class_request(class, covers, message))
    .collect();
    let others_without_it: Vec<_> = futures::future::join_all(others.iter().map(|other| backend.score(other))).await.into_iter().map(|score| score.expect("a score")).collect();
    let mut mixed = others.clone();
    mixed.insert(2, subject.clone());
    let (scores, story) = tokio::join!(futures::future::join_all(mixed.iter().map(|request| backend.score(request))), backend.chat(&greedy));
    let mut scores: Vec<_> = scores.into_iter().map(|score| score.expect("a score in the mix")).collect();
    assert_eq!(scores.remove(2), reference, "the score among 7 others and a generation differs from the score alone");
    assert_eq!(scores, others_without_it, "the other scores of the mix differ from their scores together without it");
    assert_eq!(story.expect("the story in the mix").text, story_before, "a generation beside scores differs from the same generation alone");
}
