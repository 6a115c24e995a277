//! `GET /v1/plan`: what this server runs, as JSON: per workflow its inputs and
//! outputs as JSON Schema, fingerprints, nodes and build figures; the models with
//! their digests and decoding. Never an API key (the plan holds only variable
//! names, and those are left out too).

use serde_json::{json, Map, Value};

use super::input_validation::InputSignature;
use crate::plan::lock_file::{LockFile, LockedModel, LockedWorkflow};
use crate::plan::port_type::{input_schema, parse_port_type};

pub fn describe_plan(lock: &LockFile, plan_fingerprint: &str, signatures: &[InputSignature]) -> Value {
    let models: Map<String, Value> = lock.models.iter().map(|(name, model)| (name.clone(), describe_model(model))).collect();
    let workflows: Vec<Value> = lock.workflows.iter().zip(signatures).map(|(workflow, signature)| describe_workflow(workflow, signature)).collect();
    json!({
        "plan_fingerprint": plan_fingerprint,
        "format_version": lock.format_version,
        "flowc_version": lock.flowc_version,
        "source": lock.source,
        "source_sha256": lock.source_sha256,
        "models": models,
        "workflows": workflows,
    })
}

fn describe_model(model: &LockedModel) -> Value {
    let mut description = Map::new();
    description.insert("backend".into(), model.backend.clone().into());
    description.insert("model".into(), model.model.clone().into());
    if let Some(digest) = &model.file_sha256 {
        description.insert("file_sha256".into(), digest.clone().into());
    }
    if let Some(engine) = &model.engine {
        description.insert("engine".into(), engine.clone().into());
    }
    if let Some(base_url) = &model.base_url {
        description.insert("base_url".into(), base_url.clone().into());
    }
    description.insert("decoding".into(), serde_json::to_value(&model.decoding).unwrap_or(Value::Null));
    Value::Object(description)
}

fn describe_workflow(workflow: &LockedWorkflow, signature: &InputSignature) -> Value {
    let output_properties: Map<String, Value> = workflow
        .outputs
        .iter()
        .map(|output| (output.name.clone(), parse_port_type(&output.ty).map(|ty| input_schema(&ty)).unwrap_or(json!({}))))
        .collect();
    let output_names: Vec<&String> = workflow.outputs.iter().map(|output| &output.name).collect();
    let nodes: Vec<Value> = workflow
        .nodes
        .iter()
        .map(|node| {
            json!({
                "name": node.name,
                "kind": node.kind,
                "model": node.model,
                "fingerprint": node.fingerprint,
                "reads": node.reads,
                "output_type": node.output_type,
                "origin": node.provenance.origin,
            })
        })
        .collect();
    json!({
        "name": workflow.name,
        "fingerprint": workflow.fingerprint,
        "run": format!("/v1/workflows/{}:run", workflow.name),
        "batch": format!("/v1/workflows/{}:batch", workflow.name),
        "input_schema": signature.json_schema(),
        "output_schema": { "type": "object", "properties": output_properties, "required": output_names },
        "nodes": nodes,
        "build": workflow.build,
    })
}
