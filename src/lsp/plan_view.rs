//! The lock file beside a source, as the editor sees it: what the compiler made of
//! each node, and whether the lock is still the compilation of the buffer.
//!
//! The current plan is built from the snapshot (the buffer, not the disk) with
//! `plan::from_source`, and compared as `plan::staleness` compares. Model files are
//! hashed once per (path, size, mtime) (`plan::fingerprint::file_sha256`), warmed in
//! the background when a file with a lock opens.

use std::path::{Path, PathBuf};

use crate::models::model_files::resolve_model_file;
use crate::plan::fingerprint::{cached_file_sha256, file_sha256};
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

/// Hash the model files a lock beside `source` names, in the background, when the
/// file opens: by the first hover their digests are known.
pub fn warm_model_digests(source: &Path) {
    let Some((_, lock)) = lock_beside(source) else { return };
    let folder = source.parent().unwrap_or(Path::new("")).to_path_buf();
    let paths = lock.models.values().filter(|model| model.backend == "gguf").filter_map(|model| resolve_model_file(&model.model, &folder).ok()).collect();
    hash_in_background(paths);
}

type DigestListener = Box<dyn Fn() + Send>;

fn digest_listener() -> &'static std::sync::Mutex<Option<DigestListener>> {
    static LISTENER: std::sync::OnceLock<std::sync::Mutex<Option<DigestListener>>> = std::sync::OnceLock::new();
    LISTENER.get_or_init(Default::default)
}

/// `listener` is called each time background hashing has finished a batch: what
/// said "being hashed" (the code lens, a hover) can be asked again. The server sets it.
pub fn when_digests_known(listener: impl Fn() + Send + 'static) {
    *digest_listener().lock().expect("digest listener") = Some(Box::new(listener));
}

/// Hash model files in the background (no snapshot held, so no edit waits); a
/// file already being hashed is not hashed twice at once.
pub fn hash_in_background(paths: Vec<PathBuf>) {
    static HASHING: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<PathBuf>>> = std::sync::OnceLock::new();
    let hashing = HASHING.get_or_init(Default::default);
    let paths: Vec<PathBuf> = {
        let mut in_progress = hashing.lock().expect("hashing set");
        paths.into_iter().filter(|path| in_progress.insert(path.clone())).collect()
    };
    if paths.is_empty() {
        return;
    }
    let _ = std::thread::Builder::new().name("flowc-lsp model digests".into()).spawn(move || {
        for path in paths {
            let _ = file_sha256(&path);
            hashing.lock().expect("hashing set").remove(&path);
        }
        if let Some(listener) = &*digest_listener().lock().expect("digest listener") {
            listener();
        }
    });
}

/// The model files a plan of `file` hashes whose digests are not known yet.
fn unhashed_model_files(db: &dyn Db, file: SourceFile, plan: &LockFile) -> Vec<PathBuf> {
    let folder = file.path(db).parent().unwrap_or(Path::new("")).to_path_buf();
    plan.models
        .values()
        .filter(|model| model.backend == "gguf")
        .filter_map(|model| resolve_model_file(&model.model, &folder).ok())
        .filter(|path| cached_file_sha256(path).is_none())
        .collect()
}

/// The plan the buffer compiles to now. A request never waits for a model file to
/// be hashed (seconds for a large one, while edits would wait for the request): when
/// a digest is not known yet, hashing starts in the background and the answer says so.
pub fn current_plan(db: &dyn Db, file: SourceFile, lock_path: &Path) -> Result<LockFile, PlanError> {
    let unhashed_plan = build_lock(db, file, lock_path, &PlanOptions { hash_model_files: false })?;
    let unhashed = unhashed_model_files(db, file, &unhashed_plan);
    if !unhashed.is_empty() {
        hash_in_background(unhashed);
        return Err(PlanError::Environment("the model files are being hashed; hover again in a moment".into()));
    }
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
