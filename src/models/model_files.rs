//! Where GGUF files are found: next to the `.flow` file that names them, else in the
//! model cache that the set-up fills (`$FLOWC_MODEL_DIR`, else
//! `$XDG_CACHE_HOME/flowc/models`, else `~/.cache/flowc/models`).

use std::path::{Path, PathBuf};

pub fn model_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FLOWC_MODEL_DIR").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir);
    }
    cache_home().join("flowc").join("models")
}

/// `$XDG_CACHE_HOME`, else `~/.cache`.
pub fn cache_home() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir);
    }
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".")).join(".cache")
}

/// The file a `gguf("...")` declaration means, if it exists. Every place looked at is
/// returned in the error, for a message that says where to put the file.
pub fn resolve_model_file(written: &str, flow_dir: &Path) -> Result<PathBuf, Vec<PathBuf>> {
    let written_path = Path::new(written);
    let candidates: Vec<PathBuf> = if written_path.is_absolute() {
        vec![written_path.to_path_buf()]
    } else {
        vec![flow_dir.join(written_path), model_cache_dir().join(written_path)]
    };
    candidates.iter().find(|candidate| candidate.is_file()).cloned().ok_or(candidates)
}
