//! What `run` and `eval` share: reading a plan, refusing a stale one, choosing the
//! workflow, and starting its models and sandbox.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::plan::from_source::PlanError;
use crate::plan::lock_file::LockFile;
use crate::plan::staleness::{check_staleness, Staleness};
use crate::runtime::backends::load_backends;
use crate::runtime::call_cache::CallCache;
use crate::runtime::executor::WorkflowExecutor;
use crate::sandbox::{Sandbox, SandboxConfig};

pub struct ExecutionOptions {
    pub workflow: Option<String>,
    pub jobs: usize,
    pub no_cache: bool,
}

pub fn read_plan(path: &Path) -> Result<LockFile, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("cannot read the plan {}: {error}", path.display()))?;
    LockFile::from_toml(&text).map_err(|error| format!("{} is not a flowc plan: {error}", path.display()))
}

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


// The JSON-lines reader lives below the CLI: the optimiser reads training sets with it.
pub use crate::runtime::json_lines::{parse_json_object, read_json_lines};

/// Refuse a plan whose source or model files changed since it was written.
pub fn ensure_fresh(lock: &LockFile, path: &Path) -> Result<(), String> {
    match check_staleness(lock, path) {
        Ok(Staleness::Fresh) => Ok(()),
        Ok(Staleness::SourceMissing(source)) => {
            eprintln!("warning: the plan's source {} is missing; running the plan as it is", source.display());
            Ok(())
        }
        Ok(Staleness::Stale(reasons)) => Err(format!(
            "the plan {} is stale:\n{}\nrun `flowc lock` (or `flowc build`) to compile it again",
            path.display(),
            reasons.iter().map(|reason| format!("  - {reason}")).collect::<Vec<_>>().join("\n")
        )),
        Err(PlanError::Environment(message)) => Err(message),
        Err(PlanError::Diagnostics(_)) => Err("the plan's source has errors; run `flowc check` on it".into()),
    }
}

/// The directory the plan's source lives in: where relative model paths start.
pub fn source_dir(lock: &LockFile, path: &Path) -> PathBuf {
    let source = path.parent().unwrap_or(Path::new("")).join(&lock.source);
    source.parent().unwrap_or(Path::new("")).to_path_buf()
}

pub fn build_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime starts")
}

pub async fn executor(lock: &LockFile, path: &Path, options: &ExecutionOptions) -> Result<Arc<WorkflowExecutor>, String> {
    let workflow = match (&options.workflow, lock.workflows.as_slice()) {
        (Some(name), _) => lock.workflow(name).ok_or_else(|| {
            format!("the plan has no workflow `{name}` (it has: {})", lock.workflows.iter().map(|w| w.name.as_str()).collect::<Vec<_>>().join(", "))
        })?,
        (None, [only]) => only,
        (None, []) => return Err("the plan has no workflow".into()),
        (None, _) => {
            return Err(format!(
                "the plan has several workflows; choose one with --workflow ({})",
                lock.workflows.iter().map(|w| w.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
        }
    };
    let models = load_backends(lock, &[workflow], &source_dir(lock, path)).await?;
    let sandbox = Sandbox::new(SandboxConfig::default()).map_err(|error| format!("the code sandbox could not start: {error}"))?;
    Ok(Arc::new(WorkflowExecutor {
        workflow: workflow.clone(),
        models,
        sandbox,
        cache: (!options.no_cache).then(|| CallCache::new(CallCache::default_directory())),
        permits: Arc::new(Semaphore::new(options.jobs.max(1))),
    }))
}
