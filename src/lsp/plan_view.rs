//! The lock file beside a source, as the editor sees it: what the compiler made of
//! each node, and whether the lock is still the compilation of the buffer.
//!
//! The current plan is built from the snapshot (the buffer, not the disk) with
//! `plan::from_source`, and compared as `plan::staleness` compares. Model files are
//! hashed once per (path, size, mtime) (`plan::fingerprint::file_sha256`), warmed in
//! the background when a file with a lock opens.

use std::path::{Path, PathBuf};

use crate::models::model_files::resolve_model_file;
use crate::plan::fingerprint::file_sha256;
use crate::plan::from_source::{build_lock, PlanError, PlanOptions};
use crate::plan::lock_file::LockFile;
use crate::plan::staleness::{node_changes, NodeChanges};
use crate::semantic::database::{normalize_path, Db, SourceFile};

pub const LOCK_FILE_NAME: &str = "flow.lock";

/// The lock beside `source`, if there is one and it is the plan of that file.
pub fn lock_beside(source: &Path) -> Option<(PathBuf, LockFile)> {
    let folder = source.parent()?;
    let lock_path = folder.join(LOCK_FILE_NAME);
    let text = std::fs::read_to_string(&lock_path).ok()?;
    let lock = LockFile::from_toml(&text).ok()?;
    let locked_source = normalize_path(&folder.join(&lock.source));
    (locked_source == normalize_path(source)).then_some((lock_path, lock))
}

/// Hash the model files a lock beside `source` names, in the background (no
/// snapshot is held, so edits never wait for it); `file_sha256` remembers them.
pub fn warm_model_digests(source: &Path) {
    let Some((_, lock)) = lock_beside(source) else { return };
    let folder = source.parent().unwrap_or(Path::new("")).to_path_buf();
    let _ = std::thread::Builder::new().name("flowc-lsp model digests".into()).spawn(move || {
        for model in lock.models.values().filter(|model| model.backend == "gguf") {
            if let Ok(path) = resolve_model_file(&model.model, &folder) {
                let _ = file_sha256(&path);
            }
        }
    });
}

/// The plan the buffer compiles to now.
pub fn current_plan(db: &dyn Db, file: SourceFile, lock_path: &Path) -> Result<LockFile, PlanError> {
    build_lock(db, file, lock_path, &PlanOptions { hash_model_files: true })
}

/// Is a workflow's locked plan the compilation of the buffer?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkflowPlanStatus {
    UpToDate,
    Stale { changed: Vec<String>, removed: Vec<String> },
    NotLocked,
    /// The buffer does not compile (errors, a missing model file): the reason.
    CannotTell(String),
}

pub fn workflow_status(lock: &LockFile, current: &Result<LockFile, PlanError>, workflow: &str) -> WorkflowPlanStatus {
    let Some(locked) = lock.workflow(workflow) else { return WorkflowPlanStatus::NotLocked };
    let current = match current {
        Ok(current) => current,
        Err(PlanError::Diagnostics(diagnostics)) => {
            let errors = diagnostics.iter().filter(|d| d.severity() == crate::diagnostics::Severity::Error).count();
            return WorkflowPlanStatus::CannotTell(format!("the file has {errors} error(s)"));
        }
        Err(PlanError::Environment(reason)) => return WorkflowPlanStatus::CannotTell(reason.clone()),
    };
    let Some(now) = current.workflow(workflow) else { return WorkflowPlanStatus::NotLocked };
    // As `plan::staleness` decides: the workflow's fingerprint covers its
    // declaration and everything it uses (a built plan's optimised nodes differ from
    // the source's as-written ones by design, so nodes are compared only when it moved).
    if now.fingerprint == locked.fingerprint {
        return WorkflowPlanStatus::UpToDate;
    }
    let NodeChanges { changed, removed } = node_changes(locked, now);
    WorkflowPlanStatus::Stale { changed, removed }
}
