//! Building a plan from checked source: what `flowc lock` writes (the workflows
//! exactly as written), and what `flowc run` recomputes to tell whether a plan is
//! stale.

use std::collections::BTreeMap;
use std::path::Path;

use super::fingerprint::{file_sha256, fingerprint_of, sha256_hex};
use super::lock_file::*;
use super::output_schema::output_schema;
use super::template::template_text;
use crate::diagnostics::{Diagnostic, Severity};
use crate::models::model_files::resolve_model_file;
use crate::semantic::analysis::literal_type;
use crate::semantic::database::{analyze_item, file_scope, item_hir, item_keys, Db, ItemId, SourceFile};
use crate::semantic::hir::*;
use crate::semantic::types::{resolve_type, Type};
use crate::semantic::file_diagnostics;
use crate::syntax::span::Span;

/// Why a plan could not be built.
#[derive(Debug)]
pub enum PlanError {
    /// The source has errors; they are returned for rendering.
    Diagnostics(Vec<Diagnostic<Span>>),
    /// Something outside the source is missing (a model file, say).
    Environment(String),
}

/// What the plan builder needs to know about the files it reads.
pub struct PlanOptions {
    /// Hash model files (needed for a real plan; a stale check also needs it).
    pub hash_model_files: bool,
}

pub fn build_lock(db: &dyn Db, file: SourceFile, lock_path: &Path, options: &PlanOptions) -> Result<LockFile, PlanError> {
    let diagnostics = file_diagnostics(db, file);
    if diagnostics.iter().any(|diagnostic| diagnostic.severity() == Severity::Error) {
        return Err(PlanError::Diagnostics(diagnostics));
    }
    let source_path = file.path(db).clone();
    let lock_dir = lock_path.parent().unwrap_or(Path::new(""));
    let source = relative_path(&source_path, lock_dir);

    let mut builder = PlanBuilder { db, file, models: BTreeMap::new(), options };
    let mut workflows = Vec::new();
    for (key, kind) in item_keys(db, file) {
        if *kind != ItemKind::Workflow || key.contains('#') {
            continue;
        }
        workflows.push(builder.workflow(key)?);
    }
    Ok(LockFile {
        format_version: LOCK_FORMAT_VERSION,
        flowc_version: env!("CARGO_PKG_VERSION").to_string(),
        source,
        source_sha256: sha256_hex(file.text(db).as_bytes()),
        models: builder.models,
        workflows,
    })
}

/// A model declared in (or imported into) `file`, locked as a plan would lock it:
/// how the optimiser pins its teacher.
pub fn lock_named_model(db: &dyn Db, file: SourceFile, name: &str, options: &PlanOptions) -> Result<LockedModel, PlanError> {
    let scope = file_scope(db, file);
    if !scope.entries.contains_key(name) {
        return Err(PlanError::Environment(format!("no model `{name}` is declared")));
    }
    PlanBuilder { db, file, models: BTreeMap::new(), options }.model(name)
}

/// `path` written relative to `base` when it lies below it, with `/` separators.
fn relative_path(path: &Path, base: &Path) -> String {
    let absolute = |p: &Path| {
        let p = if p.as_os_str().is_empty() { Path::new(".") } else { p };
        std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
    };
    let (path_abs, base_abs) = (absolute(path), absolute(base));
    let relative = path_abs.strip_prefix(&base_abs).map(Path::to_path_buf).unwrap_or(path_abs);
    relative.to_string_lossy().replace('\\', "/")
}

struct PlanBuilder<'a> {
    db: &'a dyn Db,
    file: SourceFile,
    models: BTreeMap<String, LockedModel>,
    options: &'a PlanOptions,
}

impl PlanBuilder<'_> {
    fn hir(&self, file: SourceFile, key: &str) -> Option<std::sync::Arc<ItemHir>> {
        item_hir(self.db, ItemId::new(self.db, file, key.to_string()))
    }

    fn workflow(&mut self, key: &str) -> Result<LockedWorkflow, PlanError> {
        let hir = self.hir(self.file, key).expect("a listed item has HIR");
        let ItemHir::Workflow(workflow) = &*hir else { unreachable!("listed as a workflow") };
        let analysis = analyze_item(self.db, ItemId::new(self.db, self.file, key.to_string()));
        let graph = analysis.graph.clone().expect("workflows have graphs");
        let order = graph.topological_order.clone().expect("a checked workflow has no cycle");

        let mut node_fingerprints: BTreeMap<String, String> = BTreeMap::new();
        let mut nodes_by_name: BTreeMap<String, LockedNode> = BTreeMap::new();
        // Indexed once: a plan of n nodes must not scan every node and edge n times.
        let declarations: std::collections::HashMap<&str, &NodeHir> = workflow.nodes.iter().map(|node| (node.name.text.as_str(), &**node)).collect();
        let outputs: std::collections::HashMap<&str, &Type> = graph.nodes.iter().map(|node| (node.name.as_str(), &node.output)).collect();
        let mut reads_by_node: std::collections::HashMap<&str, std::collections::BTreeSet<String>> = std::collections::HashMap::new();
        for edge in &graph.edges {
            reads_by_node.entry(edge.to.as_str()).or_default().insert(edge.from.name().to_string());
        }
        for name in &order {
            let node = declarations[name.as_str()];
            let output = outputs[name.as_str()].clone();
            let reads: Vec<String> = reads_by_node.remove(name.as_str()).unwrap_or_default().into_iter().collect();
            let locked = self.node(node, output, reads, &node_fingerprints)?;
            node_fingerprints.insert(name.clone(), locked.fingerprint.clone());
            nodes_by_name.insert(name.clone(), locked);
        }
        let mut problems = Vec::new();
        let inputs: Vec<LockedPort> = workflow
            .inputs
            .iter()
            .map(|param| LockedPort { name: param.name.text.clone(), ty: resolve_type(&param.ty, &mut problems).to_string() })
            .collect();
        let outputs: Vec<LockedOutput> = graph
            .outputs
            .iter()
            .map(|(name, ty)| LockedOutput {
                name: name.clone(),
                ty: ty.to_string(),
                from: graph.bindings.iter().find(|(output, _, _)| output == name).map(|(_, _, path)| path.clone()).unwrap_or_default(),
            })
            .collect();
        let evaluation = self.evaluation(&workflow.name.text);
        let nodes: Vec<LockedNode> = order.iter().map(|name| nodes_by_name.remove(name).expect("built above")).collect();

        #[derive(serde::Serialize)]
        struct WorkflowFingerprint<'a> {
            name: &'a str,
            inputs: &'a [LockedPort],
            outputs: &'a [LockedOutput],
            nodes: &'a BTreeMap<String, String>,
            evaluation: &'a Option<LockedEvaluation>,
        }
        let fingerprint = fingerprint_of(&WorkflowFingerprint {
            name: &workflow.name.text,
            inputs: &inputs,
            outputs: &outputs,
            nodes: &node_fingerprints,
            evaluation: &evaluation,
        });
        Ok(LockedWorkflow { name: workflow.name.text.clone(), fingerprint, inputs, outputs, order, nodes, evaluation, build: None })
    }

    fn node(&mut self, node: &NodeHir, output: Type, reads: Vec<String>, fingerprints: &BTreeMap<String, String>) -> Result<LockedNode, PlanError> {
        let properties = &node.properties;
        let string = |key: &str| -> Option<&StringHir> {
            match properties.get(key).and_then(|property| property.value.as_value()).map(|value| &value.kind) {
                Some(ValueKindHir::String(string)) => Some(string),
                _ => None,
            }
        };
        let number = |key: &str| -> Option<&NumberHir> {
            match properties.get(key).and_then(|property| property.value.as_value()).map(|value| &value.kind) {
                Some(ValueKindHir::Number(number)) => Some(number),
                _ => None,
            }
        };
        let kind = PlanNodeKind::from_written(&node.kind.text).ok_or_else(|| PlanError::Environment(format!("the node `{}` has the unknown kind `{}`", node.name.text, node.kind.text)))?;
        let (model, decoding) = match node.kind_arguments.as_deref() {
            Some([model_name]) if kind != "code" => {
                let model = self.model(&model_name.text)?;
                let mut decoding = model.decoding.clone();
                apply_decoding_overrides(&mut decoding, properties);
                (Some(model_name.text.clone()), Some(decoding))
            }
            _ => (None, None),
        };
        let consensus = (kind == "consensus").then(|| {
            let vote = match properties.get("vote").and_then(|property| property.value.as_value()).map(|value| &value.kind) {
                Some(ValueKindHir::Path(path)) => path.dotted(),
                _ => "majority".to_string(),
            };
            let decoding = decoding.clone().unwrap_or_default();
            LockedConsensus {
                samples: number("samples").and_then(NumberHir::as_i64).unwrap_or(5) as u32,
                vote,
                first_seed: decoding.seed.unwrap_or(0),
                // Votes over identical greedy samples decide nothing: sample with a
                // temperature unless the node itself sets one.
                temperature: number("temperature").and_then(NumberHir::as_f64).unwrap_or(DEFAULT_CONSENSUS_TEMPERATURE),
            }
        });
        let code_inputs: BTreeMap<String, String> = match properties.get("inputs").map(|property| &property.value) {
            Some(PropertyValueHir::Block(block)) => block
                .entries
                .iter()
                .filter_map(|entry| match entry.value.as_value().map(|value| &value.kind) {
                    Some(ValueKindHir::Path(path)) => Some((entry.key.text.clone(), path.dotted())),
                    _ => None,
                })
                .collect(),
            _ => BTreeMap::new(),
        };
        let schema = output_schema(&output).map(|schema| serde_json::to_string_pretty(&schema).expect("schemas serialise"));
        let mut locked = LockedNode {
            name: node.name.text.clone(),
            kind,
            fingerprint: String::new(),
            reads,
            model,
            decoding,
            system: string("system").map(|template| template_text(&template.template)),
            prompt: string("prompt").map(|template| template_text(&template.template)),
            code: string("source").map(|source| source.value.clone()),
            code_inputs,
            consensus,
            likelihood: None,
            output_type: output.to_string(),
            output_schema: schema,
            provenance: LockedProvenance { origin: "as-written".into(), ..Default::default() },
        };
        locked.fingerprint = node_fingerprint(&locked, locked.model.as_ref().and_then(|name| self.models.get(name)), fingerprints);
        Ok(locked)
    }

    fn model(&mut self, name: &str) -> Result<LockedModel, PlanError> {
        if let Some(model) = self.models.get(name) {
            return Ok(model.clone());
        }
        let scope = file_scope(self.db, self.file);
        let item = scope.entries.get(name).expect("checked: the model resolves").clone();
        let hir = self.hir(item.file, &item.key).expect("resolved items have HIR");
        let ItemHir::Model(model) = &*hir else { unreachable!("checked: a model") };
        let written = match model.source.arguments.first().map(|argument| &argument.value.kind) {
            Some(ValueKindHir::String(string)) => string.value.clone(),
            _ => String::new(),
        };
        let backend = model.source.callee.text.clone();
        let properties = &model.properties;
        let mut locked = LockedModel {
            backend: backend.clone(),
            model: written.clone(),
            file_sha256: None,
            base_url: None,
            api_key_env: None,
            timeout_seconds: None,
            max_retries: None,
            engine: None,
            decoding: LockedDecoding::default(),
        };
        apply_decoding_overrides(&mut locked.decoding, properties);
        for property in &properties.entries {
            let value = property.value.as_value().map(|value| &value.kind);
            match (property.key.text.as_str(), value) {
                ("base_url", Some(ValueKindHir::String(url))) => locked.base_url = Some(url.value.clone()),
                ("base_url", Some(ValueKindHir::Call(call))) => locked.base_url = env_name(call).map(|name| format!("env:{name}")),
                ("api_key", Some(ValueKindHir::Call(call))) => locked.api_key_env = env_name(call),
                ("timeout_seconds", Some(ValueKindHir::Number(number))) => locked.timeout_seconds = number.as_f64(),
                ("max_retries", Some(ValueKindHir::Number(number))) => locked.max_retries = number.as_i64().map(|n| n as u32),
                // The embedded engine is the default and is not written, so plans
                // that do not choose one keep their bytes.
                ("engine", Some(ValueKindHir::String(engine))) if engine.value != EMBEDDED_ENGINE => locked.engine = Some(engine.value.clone()),
                _ => {}
            }
        }
        if backend == "gguf" && self.options.hash_model_files {
            let model_dir = item.file.path(self.db).parent().unwrap_or(Path::new("")).to_path_buf();
            let path = resolve_model_file(&written, &model_dir).map_err(|looked| {
                PlanError::Environment(format!(
                    "the model file \"{written}\" of `{name}` was not found (looked at {}); run the README set-up to fetch the default models, or point the model at a GGUF file",
                    looked.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
                ))
            })?;
            let digest = file_sha256(&path).map_err(|error| PlanError::Environment(format!("cannot read {}: {error}", path.display())))?;
            locked.file_sha256 = Some(digest);
        }
        self.models.insert(name.to_string(), locked.clone());
        Ok(locked)
    }

    /// The metric and field mapping of the optimize block for `workflow`, if any.
    fn evaluation(&self, workflow: &str) -> Option<LockedEvaluation> {
        let hir = self.hir(self.file, &format!("optimize:{workflow}"))?;
        let ItemHir::Optimize(optimize) = &*hir else { return None };
        let scope = file_scope(self.db, self.file);
        let metric_value = optimize.properties.get("metric")?.value.as_value()?;
        let (metric_name, arguments): (&str, &[ArgumentHir]) = match &metric_value.kind {
            ValueKindHir::Path(path) => (path.segments.first()?.text.as_str(), &[]),
            ValueKindHir::Call(call) => (call.callee.text.as_str(), &call.arguments),
            _ => return None,
        };
        let metric_item = scope.entries.get(metric_name)?;
        let metric_hir = self.hir(metric_item.file, &metric_item.key)?;
        let ItemHir::Metric(metric) = &*metric_hir else { return None };
        let metric_code = match metric.properties.get("source")?.value.as_value().map(|value| &value.kind) {
            Some(ValueKindHir::String(source)) => source.value.clone(),
            _ => return None,
        };
        let mut metric_arguments = BTreeMap::new();
        for param in &metric.params {
            let given = arguments.iter().find(|argument| argument.name.as_ref().is_some_and(|name| name.text == param.name.text));
            let value = given.map(|argument| &argument.value).or(param.default.as_ref());
            if let Some(value) = value.and_then(literal_value) {
                metric_arguments.insert(param.name.text.clone(), value);
            }
        }
        let train_name = match &optimize.properties.get("train")?.value.as_value()?.kind {
            ValueKindHir::Path(path) => path.segments.first()?.text.clone(),
            _ => return None,
        };
        let dataset_item = scope.entries.get(&train_name)?;
        let dataset_hir = self.hir(dataset_item.file, &dataset_item.key)?;
        let ItemHir::Dataset(dataset) = &*dataset_hir else { return None };
        let fields = crate::semantic::check_dataset::dataset_field_map(dataset);
        Some(LockedEvaluation { metric: metric_name.to_string(), metric_arguments, metric_code, fields })
    }
}

/// The in-process engine of GGUF models (mistralrs).
pub const EMBEDDED_ENGINE: &str = "mistralrs";
/// A llama.cpp server that flowc starts on loopback for a GGUF model.
pub const LLAMA_CPP_ENGINE: &str = "llama.cpp";

/// The temperature of consensus samples when the node sets none.
pub const DEFAULT_CONSENSUS_TEMPERATURE: f64 = 0.7;

fn env_name(call: &CallHir) -> Option<String> {
    match call.arguments.first().map(|argument| &argument.value.kind) {
        Some(ValueKindHir::String(name)) => Some(name.value.clone()),
        _ => None,
    }
}

fn apply_decoding_overrides(decoding: &mut LockedDecoding, properties: &PropertiesHir) {
    for property in &properties.entries {
        let Some(ValueKindHir::Number(number)) = property.value.as_value().map(|value| &value.kind) else { continue };
        match property.key.text.as_str() {
            "temperature" => decoding.temperature = number.as_f64(),
            "seed" => decoding.seed = number.as_i64().map(|n| n as u64),
            "max_tokens" => decoding.max_tokens = number.as_i64().map(|n| n as u32),
            "top_p" => decoding.top_p = number.as_f64(),
            "top_k" => decoding.top_k = number.as_i64().map(|n| n as u32),
            "repeat_penalty" => decoding.repeat_penalty = number.as_f64(),
            "context_size" => decoding.context_size = number.as_i64().map(|n| n as u32),
            _ => {}
        }
    }
}

/// A literal written in the source, as the plan stores it.
pub fn literal_value(value: &ValueHir) -> Option<LiteralValue> {
    literal_type(value)?;
    Some(match &value.kind {
        ValueKindHir::String(string) => LiteralValue::Text(string.value.clone()),
        ValueKindHir::Number(number) => match number.as_i64() {
            Some(integer) => LiteralValue::Integer(integer),
            None => LiteralValue::Float(number.as_f64()?),
        },
        ValueKindHir::Bool(boolean) => LiteralValue::Bool(*boolean),
        ValueKindHir::List(values) => LiteralValue::List(values.iter().filter_map(literal_value).collect()),
        _ => return None,
    })
}

fn is_absent<T>(value: &&Option<T>) -> bool {
    value.is_none()
}

/// Everything a node's behaviour depends on: its artefacts, its model and decoding,
/// and the fingerprints of the nodes it reads.
pub fn node_fingerprint(node: &LockedNode, model: Option<&LockedModel>, upstream: &BTreeMap<String, String>) -> String {
    #[derive(serde::Serialize)]
    struct NodeFingerprint<'a> {
        kind: &'a str,
        model: Option<&'a LockedModel>,
        decoding: &'a Option<LockedDecoding>,
        system: &'a Option<String>,
        prompt: &'a Option<String>,
        code: &'a Option<String>,
        code_inputs: &'a BTreeMap<String, String>,
        consensus: &'a Option<LockedConsensus>,
        // Absent from the hash when absent from the node, so the fingerprints of
        // plans written before the kind existed stay as they were.
        #[serde(skip_serializing_if = "is_absent")]
        likelihood: &'a Option<crate::plan::lock_file::LockedLikelihoodChoice>,
        output_type: &'a str,
        reads: BTreeMap<&'a str, Option<&'a String>>,
    }
    fingerprint_of(&NodeFingerprint {
        kind: node.kind.as_str(),
        model,
        decoding: &node.decoding,
        system: &node.system,
        prompt: &node.prompt,
        code: &node.code,
        code_inputs: &node.code_inputs,
        consensus: &node.consensus,
        likelihood: &node.likelihood,
        output_type: &node.output_type,
        reads: node.reads.iter().map(|read| (read.as_str(), upstream.get(read))).collect(),
    })
}
