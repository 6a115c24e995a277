//! The GGUF readers on the real model files the set-up fetches (README): metadata
//! (architecture, end-of-text tokens) and the Q4_1 → Q8_0 re-quantisation done at
//! load. Without the files these tests fail and say what to run.

use std::path::PathBuf;

use flowc::models::gguf_metadata::read_gguf_metadata;
use flowc::models::gguf_requantize::q4_1_to_q8_0;
use flowc::models::model_files::model_cache_dir;

fn model(file: &str) -> PathBuf {
    let path = model_cache_dir().join(file);
    assert!(path.is_file(), "{} is missing: run ./scripts/setup.sh", path.display());
    path
}

#[test]
fn metadata_of_the_real_models() {
    let student = read_gguf_metadata(&model("SmolLM2-135M-Instruct.Q4_1.gguf")).unwrap();
    assert_eq!(student.architecture.as_deref(), Some("llama"));
    assert!(!student.end_token_ids.is_empty(), "the end tokens stop constrained output");
    let teacher = read_gguf_metadata(&model("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")).unwrap();
    assert_eq!(teacher.architecture.as_deref(), Some("qwen2"));
    assert!(teacher.end_token_ids.len() >= 2, "{:?}", teacher.end_token_ids);
}

#[test]
fn the_student_is_requantised_to_a_loadable_q8_0_file() {
    let target = std::env::temp_dir().join(format!("flowc-requantised-{}.gguf", std::process::id()));
    let converted = q4_1_to_q8_0(&model("SmolLM2-135M-Instruct.Q4_1.gguf"), &target).unwrap();
    assert!(converted > 50, "SmolLM2's Q4_1 tensors: {converted}");
    // The copy keeps the metadata readable (same vocabulary and end tokens).
    let original = read_gguf_metadata(&model("SmolLM2-135M-Instruct.Q4_1.gguf")).unwrap();
    assert_eq!(read_gguf_metadata(&target).unwrap(), original);
    let _ = std::fs::remove_file(&target);
    // A file without Q4_1 tensors is left alone: nothing written.
    let untouched = std::env::temp_dir().join(format!("flowc-not-written-{}.gguf", std::process::id()));
    assert_eq!(q4_1_to_q8_0(&model("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"), &untouched).unwrap(), 0);
    assert!(!untouched.exists());
}
