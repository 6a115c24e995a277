//! The task the optimiser's tests share, and how its test-double models answer.
//!
//! Three word problems ("Ann has 12 boxes of 40 pens and gives away 7 pens.") whose
//! answer is `2 * max - min` of their numbers: not arithmetic on positions, so
//! beyond formula search, and the teacher has to write it. The student drops the
//! last number (the kind of mistake a 135M model makes); the teacher answers every
//! prompt of `src/optimize/prompts/` correctly, writing one wrong draft first so
//! that execution feedback is exercised.

#![allow(dead_code)] // Each test binary uses a different part of it.

use serde_json::json;

/// `(input, target)` of the three training examples.
pub const TRAIN: [(&str, f64); 3] = [
    ("Ann has 12 boxes of 40 pens and gives away 7 pens.", 73.0),
    ("Bo has 3 boxes of 1500 pens and gives away 20 pens.", 2997.0),
    ("Cy has 9 boxes of 25 pens and gives away 5 pens.", 45.0),
];

/// The code that solves the task, as the teacher writes it after feedback.
pub const RIGHT_FORMULA: &str = "2 * max(numbers) - min(numbers)";

/// The training set as JSON lines.
pub fn train_jsonl() -> String {
    TRAIN.iter().map(|(input, target)| format!("{}\n", json!({"input": input, "target": target}))).collect()
}

/// The whole numbers written in `text`, in order.
pub fn numbers_in(text: &str) -> Vec<f64> {
    text.split(|c: char| !c.is_ascii_digit()).filter(|part| !part.is_empty()).map(|part| part.parse().unwrap()).collect()
}

pub fn answer_of(numbers: &[f64]) -> f64 {
    2.0 * numbers.iter().cloned().fold(f64::MIN, f64::max) - numbers.iter().cloned().fold(f64::MAX, f64::min)
}

/// The student's reply to its extraction prompt: every number but the last.
pub fn sloppy_student_reply(prompt: &str) -> String {
    let numbers = numbers_in(prompt);
    json!({"quantities": numbers[..numbers.len().saturating_sub(1)]}).to_string()
}

/// The teacher's reply, from the first user message of the conversation and the
/// last message.
pub fn teacher_reply(first: &str, last: &str) -> String {
    if first.contains("For ONE example") {
        let inputs = first.split("Example inputs:").nth(1).unwrap_or("").split("Expected final output").next().unwrap_or("");
        let numbers = numbers_in(inputs);
        return json!({"extract": {"quantities": numbers}, "compute": answer_of(&numbers)}).to_string();
    }
    if last.contains("I ran your function") {
        return format!("```python\ndef run(numbers):\n    return {RIGHT_FORMULA}\n```");
    }
    if first.contains("Write a deterministic Python function") {
        return "```python\ndef run(numbers):\n    return numbers[0] * numbers[1]\n```".into();
    }
    if first.contains("write a new SYSTEM PROMPT") {
        return json!({"critique": "It drops the last number.", "system": "Copy all numbers, including the last one."}).to_string();
    }
    "I do not know.".into()
}
