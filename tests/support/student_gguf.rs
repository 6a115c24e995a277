//! Where the README set-up (`scripts/setup.sh`) puts the student's GGUF, for the
//! tests that load the real model: `$FLOWC_MODEL_DIR`, else the flowc model cache.

use std::path::PathBuf;

pub fn model_file() -> PathBuf {
    let directory = match std::env::var_os("FLOWC_MODEL_DIR") {
        Some(directory) => PathBuf::from(directory),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache"))
            .join("flowc/models"),
    };
    let file = directory.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(file.is_file(), "{} is missing: run the README set-up (./scripts/setup.sh) to fetch the models", file.display());
    file
}
