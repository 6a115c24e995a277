//! Opening a plan for execution, shared by every front end that runs plans (`flowc
//! run`, `flowc eval`, `flowc serve`): reading the lock, refusing a stale one with
//! the one message every front end gives, choosing a workflow, and starting its
//! models and sandbox. Returns values; the front ends decide how to report them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::models::ModelBackend;
use crate::plan::from_source::PlanError;
use crate::plan::lock_file::{LockFile, LockedWorkflow};
use crate::plan::staleness::{check_staleness, Staleness};
use crate::runtime::backends::load_backends;
use crate::runtime::call_cache::CallCache;
use crate::runtime::remote_cache::RemoteCache;
use crate::runtime::executor::WorkflowExecutor;
use crate::sandbox::{Sandbox, SandboxConfig};

/// How a plan may be run: which workflow, how many nodes at once, with or without
/// the call cache, and the shared remote cache it reads through.
pub struct ExecutionOptions {
    pub workflow: Option<String>,
    pub jobs: usize,
    pub no_cache: bool,
    pub remote_cache: Option<String>,
}

/// The model-call cache a command uses: none with `--no-cache`, else the local one,
/// reading through the remote cache the flag or `$FLOWC_REMOTE_CACHE` names.
pub fn configured_call_cache(no_cache: bool, remote_flag: Option<&str>) -> Result<Option<CallCache>, String> {
    if no_cache {
        return Ok(None);
    }
    let remote = RemoteCache::configured(remote_flag)?;
    Ok(Some(CallCache::new(CallCache::default_directory()).with_remote(remote)))
}

/// A plan that may be run, and what the caller should tell people about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// The plan is the compilation of its source as it is now.
    Fresh,
    /// The source is not where the plan says; the plan is run as it is.
    SourceMissing(PathBuf),
}

impl Freshness {
    /// The warning a front end shows, if any.
    pub fn warning(&self) -> Option<String> {
        match self {
            Freshness::Fresh => None,
            Freshness::SourceMissing(source) => Some(format!("the plan's source {} is missing; running the plan as it is", source.display())),
        }
    }
}

pub fn read_plan(path: &Path) -> Result<LockFile, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("cannot read the plan {}: {error}", path.display()))?;
    LockFile::from_toml(&text).map_err(|error| format!("{} is not a flowc plan: {error}", path.display()))
}

/// Refuse a plan whose source or model files changed since it was written; the
/// error is the message `flowc run` prints after `error: `.
pub fn check_fresh(lock: &LockFile, path: &Path) -> Result<Freshness, String> {
    match check_staleness(lock, path) {
        Ok(Staleness::Fresh) => Ok(Freshness::Fresh),
        Ok(Staleness::SourceMissing(source)) => Ok(Freshness::SourceMissing(source)),
        Ok(Staleness::Stale(reasons)) => Err(format!(
            "the plan {} is stale:\n{}\nrun `flowc lock` (or `flowc build`) to compile it again",
            path.display(),
            reasons.iter().map(|reason| format!("  - {reason}")).collect::<Vec<_>>().join("\n")
        )),
        Err(PlanError::Environment(message)) => Err(message),
        Err(PlanError::Diagnostics(_)) => Err("the plan's source has errors; run `flowc check` on it".into()),
    }
}

pub use super::json_lines::{parse_json_object, read_json_lines, read_json_lines_through};

/// The directory the plan's source lives in: where relative model paths start.
pub fn source_dir(lock: &LockFile, path: &Path) -> PathBuf {
    let source = path.parent().unwrap_or(Path::new("")).join(&lock.source);
    source.parent().unwrap_or(Path::new("")).to_path_buf()
}

/// The workflow `name` asks for, or the plan's only one.
pub fn choose_workflow<'a>(lock: &'a LockFile, name: Option<&str>) -> Result<&'a LockedWorkflow, String> {
    let names = || lock.workflows.iter().map(|w| w.name.as_str()).collect::<Vec<_>>().join(", ");
    match (name, lock.workflows.as_slice()) {
        (Some(name), _) => lock.workflow(name).ok_or_else(|| format!("the plan has no workflow `{name}` (it has: {})", names())),
        (None, [only]) => Ok(only),
        (None, []) => Err("the plan has no workflow".into()),
        (None, _) => Err(format!("the plan has several workflows; choose one with --workflow ({})", names())),
    }
}

/// The executor of one workflow: its models loaded, a sandbox started.
pub async fn executor(lock: &LockFile, path: &Path, options: &ExecutionOptions) -> Result<Arc<WorkflowExecutor>, String> {
    let workflow = choose_workflow(lock, options.workflow.as_deref())?;
    let models = load_backends(lock, &[workflow], &source_dir(lock, path)).await?;
    let sandbox = Sandbox::new(SandboxConfig::default()).map_err(|error| format!("the code sandbox could not start: {error}"))?;
    Ok(Arc::new(WorkflowExecutor {
        workflow: workflow.clone(),
        models,
        sandbox,
        cache: configured_call_cache(options.no_cache, options.remote_cache.as_deref())?,
        permits: Arc::new(Semaphore::new(options.jobs.max(1))),
    }))
}

/// Executors for every workflow of a plan, sharing one set of models, one sandbox
/// and one bound on the nodes in flight (how `flowc serve` runs a whole plan).
pub async fn executors_for_every_workflow(
    lock: &LockFile,
    path: &Path,
    jobs: usize,
    no_cache: bool,
    sandbox: Sandbox,
) -> Result<(HashMap<String, Arc<dyn ModelBackend>>, Vec<Arc<WorkflowExecutor>>), String> {
    let workflows: Vec<&LockedWorkflow> = lock.workflows.iter().collect();
    let models = load_backends(lock, &workflows, &source_dir(lock, path)).await?;
    let permits = Arc::new(Semaphore::new(jobs.max(1)));
    let executors = workflows
        .into_iter()
        .map(|workflow| {
            Arc::new(WorkflowExecutor {
                workflow: workflow.clone(),
                models: models.clone(),
                sandbox: sandbox.clone(),
                cache: (!no_cache).then(|| CallCache::new(CallCache::default_directory())),
                permits: Arc::clone(&permits),
            })
        })
        .collect();
    Ok((models, executors))
}
