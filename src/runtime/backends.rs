//! Turning a plan's models into live backends: GGUF files loaded in process (after
//! their digest is checked against the plan), HTTP models configured from the
//! environment.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use crate::models::anthropic::AnthropicBackend;
use crate::models::http::{HttpBackendConfig, HttpSettings};
use crate::models::model_files::resolve_model_file;
use crate::models::openai::OpenAiBackend;
use crate::models::ModelBackend;
use crate::plan::fingerprint::file_sha256;
use crate::plan::lock_file::{LockFile, LockedModel, LockedWorkflow};

/// The models `workflows` use, by their names in the plan.
pub async fn load_backends(lock: &LockFile, workflows: &[&LockedWorkflow], source_dir: &Path) -> Result<HashMap<String, Arc<dyn ModelBackend>>, String> {
    let used: BTreeSet<&str> = workflows.iter().flat_map(|workflow| workflow.nodes.iter()).filter_map(|node| node.model.as_deref()).collect();
    let mut backends: HashMap<String, Arc<dyn ModelBackend>> = HashMap::new();
    for name in used {
        let model = lock.models.get(name).ok_or_else(|| format!("the plan uses the model `{name}` but does not declare it"))?;
        let backend = load_backend(name, model, source_dir).await?;
        backends.insert(name.to_string(), backend);
    }
    Ok(backends)
}

/// One model of a plan as a live backend (the optimiser loads its teacher this way).
pub async fn load_backend(name: &str, model: &LockedModel, source_dir: &Path) -> Result<Arc<dyn ModelBackend>, String> {
    match model.backend.as_str() {
        "gguf" => {
            let path = resolve_model_file(&model.model, source_dir).map_err(|looked| {
                format!(
                    "the model file \"{}\" of `{name}` was not found (looked at {}); run the README set-up to fetch the default models",
                    model.model,
                    looked.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
                )
            })?;
            let digest = file_sha256(&path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
            if let Some(locked) = &model.file_sha256 {
                if *locked != digest {
                    return Err(format!(
                        "the plan is stale: the file of model `{name}` ({}) has sha256 {digest}, but the plan was compiled against {locked}; run `flowc lock` again",
                        path.display()
                    ));
                }
            }
            match model.engine.as_deref() {
                Some(crate::plan::from_source::LLAMA_CPP_ENGINE) => {
                    let backend = crate::models::llama_cpp_server::LlamaCppServerBackend::start(name, &path, digest, model.decoding.context_size)
                        .await
                        .map_err(|error| format!("model `{name}`: {error}"))?;
                    Ok(Arc::new(backend))
                }
                None => load_gguf(name, &path, digest).await,
                Some(other) => Err(format!("the plan's model `{name}` asks for the unknown engine `{other}`")),
            }
        }
        "openai" | "anthropic" => {
            let base_url = match model.base_url.as_deref() {
                Some(url) => match url.strip_prefix("env:") {
                    Some(variable) => Some(std::env::var(variable).map_err(|_| {
                        format!("the model `{name}` reads its base URL from the environment variable {variable}, which is not set")
                    })?),
                    None => Some(url.to_string()),
                },
                None => None,
            };
            let config = HttpBackendConfig {
                model: model.model.clone(),
                base_url,
                api_key_variable: model.api_key_env.clone(),
                http: HttpSettings::from_declaration(model.timeout_seconds, model.max_retries).map_err(|error| error.to_string())?,
            };
            let backend: Arc<dyn ModelBackend> = if model.backend == "openai" {
                Arc::new(OpenAiBackend::new(config).map_err(|error| format!("model `{name}`: {error}"))?)
            } else {
                Arc::new(AnthropicBackend::new(config).map_err(|error| format!("model `{name}`: {error}"))?)
            };
            Ok(backend)
        }
        other => Err(format!("the plan's model `{name}` has the unknown backend `{other}`")),
    }
}

#[cfg(feature = "in-process-models")]
async fn load_gguf(name: &str, path: &Path, digest: String) -> Result<Arc<dyn ModelBackend>, String> {
    let backend = crate::models::mistralrs_backend::MistralRsBackend::load(path, digest).await.map_err(|error| format!("model `{name}`: {error}"))?;
    Ok(Arc::new(backend))
}

#[cfg(not(feature = "in-process-models"))]
async fn load_gguf(name: &str, path: &Path, _digest: String) -> Result<Arc<dyn ModelBackend>, String> {
    Err(format!(
        "model `{name}` ({}) runs in process, but this flowc was built without the `in-process-models` feature; rebuild with default features",
        path.display()
    ))
}
