//! What `run` and `eval` share: reading a plan, refusing a stale one, choosing the
//! workflow, and starting its models and sandbox. The logic lives in
//! `runtime::plan_loading` (`flowc serve` uses it too); this file reports.

use std::path::Path;

use crate::plan::lock_file::LockFile;

pub use crate::runtime::plan_loading::{configured_call_cache, executor, parse_json_object, read_json_lines, read_json_lines_through, read_plan, source_dir, ExecutionOptions};

/// Read a plan and refuse it when stale, reporting why; the error is the command's
/// outcome (2 for a file that is not a plan, 1 for a stale plan).
pub fn open_fresh_plan(path: &Path) -> Result<LockFile, super::Outcome> {
    let lock = read_plan(path).map_err(|message| {
        eprintln!("error: {message}");
        super::Outcome::UsageError
    })?;
    ensure_fresh(&lock, path).map_err(|message| {
        eprintln!("error: {message}");
        super::Outcome::Failure
    })?;
    Ok(lock)
}

/// Refuse a plan whose source or model files changed since it was written.
pub fn ensure_fresh(lock: &LockFile, path: &Path) -> Result<(), String> {
    let freshness = crate::runtime::plan_loading::check_fresh(lock, path)?;
    if let Some(warning) = freshness.warning() {
        eprintln!("warning: {warning}");
    }
    Ok(())
}

pub fn build_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime starts")
}
