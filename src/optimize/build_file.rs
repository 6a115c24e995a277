//! Building a whole `.flow` file: the workflows with an `optimize` block are
//! compiled by SGDe, the others locked as written; the existing lock is the cache.
//! `flowc build` is this plus printing; tests call it with test-double models.

use std::path::Path;
use std::sync::Arc;

use super::build_key::settings_fingerprint;
use super::descent::{build_workflow, BuildRequest, BuildServices, BuildSummary, ModelProvider};
use super::events::EventSink;
use super::settings::optimize_settings;
use crate::diagnostics::Diagnostic;
use crate::plan::from_source::{build_lock, PlanError, PlanOptions};
use crate::plan::lock_file::LockedEvaluation;
use crate::plan::LockFile;
use crate::runtime::call_cache::CallCache;
use crate::runtime::metric::split_record;
use crate::runtime::remote_build_results::RemoteBuildResults;
use crate::sandbox::Sandbox;
use crate::semantic::database::{Db, SourceFile};
use crate::syntax::span::Span;

pub enum BuildFileError {
    /// The source has errors (rendered by the caller).
    Diagnostics(Vec<Diagnostic<Span>>),
    /// Anything else: a missing file, a model that did not load, a teacher error.
    Failed(String),
}

pub struct BuildFileOptions {
    pub provider: Arc<dyn ModelProvider>,
    pub sandbox: Sandbox,
    pub cache: Option<CallCache>,
    pub jobs: usize,
    pub events: EventSink,
    pub plan: PlanOptions,
}

pub async fn build_file(db: &dyn Db, file: SourceFile, lock_path: &Path, previous: Option<&LockFile>, options: &BuildFileOptions) -> Result<(LockFile, Vec<BuildSummary>), BuildFileError> {
    let as_written = build_lock(db, file, lock_path, &options.plan).map_err(|error| match error {
        PlanError::Diagnostics(diagnostics) => BuildFileError::Diagnostics(diagnostics),
        PlanError::Environment(message) => BuildFileError::Failed(message),
    })?;
    let mut lock = as_written.clone();
    let mut summaries = Vec::new();
    for workflow in &mut lock.workflows {
        let settings = match optimize_settings(db, file, &workflow.name, &options.plan) {
            Ok(Some(settings)) => settings,
            Ok(None) => continue,
            Err(PlanError::Environment(message)) => return Err(BuildFileError::Failed(message)),
            Err(PlanError::Diagnostics(diagnostics)) => return Err(BuildFileError::Diagnostics(diagnostics)),
        };
        let Some(evaluation) = workflow.evaluation.clone() else { continue };
        let records = crate::runtime::json_lines::read_json_lines_through(db, &settings.train_path).map_err(|message| BuildFileError::Failed(format!("the training set: {message}")))?;
        let examples = records
            .iter()
            .enumerate()
            .map(|(index, record)| split_record(workflow, &evaluation, record).map_err(|message| format!("{}:{}: {message}", settings.train_path.display(), index + 1)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(BuildFileError::Failed)?;
        let validation_examples = match &settings.validation_path {
            None => Vec::new(),
            Some(path) => crate::runtime::json_lines::read_json_lines_through(db, path)
                .map_err(|message| BuildFileError::Failed(format!("the validation set: {message}")))?
                .iter()
                .enumerate()
                .map(|(index, record)| {
                    // Read through the validation dataset's own field map.
                    let mapped = LockedEvaluation { fields: settings.validation_fields.clone(), ..evaluation.clone() };
                    split_record(workflow, &mapped, record).map_err(|message| format!("{}:{}: {message}", path.display(), index + 1))
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(BuildFileError::Failed)?,
        };
        // Shared build results (with a remote cache only): an entry for exactly these
        // inputs is the best previous lock; the descent's build keys still decide.
        let shared_results = RemoteBuildResults::of(options.cache.as_ref());
        let shared_key = RemoteBuildResults::key(&workflow.name, &workflow.fingerprint, &settings_fingerprint(&settings, &evaluation, &examples, &validation_examples));
        let shared_previous = shared_results.as_ref().and_then(|results| results.get(&shared_key, &workflow.name));
        let request = BuildRequest {
            validation_examples,
            as_written: workflow.clone(),
            previous: shared_previous.or_else(|| previous.and_then(|previous| previous.workflow(&workflow.name)).cloned()),
            models: as_written.models.clone(),
            settings,
            examples,
        };
        let services = BuildServices {
            provider: Arc::clone(&options.provider),
            sandbox: options.sandbox.clone(),
            cache: options.cache.clone(),
            jobs: options.jobs,
            events: Arc::clone(&options.events),
        };
        let built = build_workflow(request, services).await.map_err(|message| BuildFileError::Failed(format!("building `{}` failed: {message}", workflow.name)))?;
        if let Some(results) = &shared_results {
            results.put(&shared_key, &built.workflow);
        }
        *workflow = built.workflow;
        summaries.push(built.summary);
    }
    Ok((lock, summaries))
}
