//! Hover: what a name is, and — when a lock sits beside the file — what the compiler
//! made of it: a node's compiled artefacts, the move and critique that produced
//! them, and whether the lock is stale for it.

use std::fmt::Write as _;
use std::io::BufRead;
use std::path::Path;

use lsp_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use super::plan_view::{current_plan, hash_in_background, lock_beside, workflow_status, WorkflowPlanStatus};
use crate::models::model_files::resolve_model_file;
use crate::plan::fingerprint::cached_file_sha256;
use super::snapshot::{FileView, RequestResult, Snapshot};
use super::symbol_index::Symbol;
use super::syntax_lookup::*;
use crate::diagnostics::codes::ALL_CODES;
use crate::plan::from_source::{lock_named_model, PlanOptions};
use crate::plan::lock_file::{LockFile, LockedNode};
use crate::semantic::database::{item_keys, parse_file};
use crate::semantic::file_diagnostics;
use crate::semantic::hir::ItemKind;
use crate::semantic::workflow_graph::Endpoint;
use crate::stdlib;
use crate::syntax::ast::*;

pub fn hover(snapshot: &Snapshot, params: HoverParams) -> RequestResult<Option<Hover>> {
    let position = params.text_document_position_params;
    let view = snapshot.file_of_uri(&position.text_document.uri)?;
    let offset = view.contents.offset(position.position);
    let index = snapshot.index(&view);
    let mut markdown = String::new();
    let mut range = None;
    if let Some(occurrence) = index.occurrence_at(offset) {
        range = Some(view.contents.range(occurrence.span));
        markdown = describe_symbol(snapshot, &occurrence.symbol);
    } else if let Some(link) = index.import_at(offset) {
        range = Some(view.contents.range(link.path_span));
        markdown = describe_module(snapshot, &link.target);
    }
    // A diagnostic under the cursor: its code's explanation.
    for diagnostic in file_diagnostics(snapshot.db(), view.file) {
        if !contains(diagnostic.primary.location, offset) {
            continue;
        }
        if !markdown.is_empty() {
            markdown.push_str("\n\n---\n\n");
        }
        let code = diagnostic.code;
        let _ = write!(markdown, "**{}** `{}`: {}\n\n{}", code.qualified(), code.name, code.summary, code.explanation.trim());
        range.get_or_insert(view.contents.range(diagnostic.primary.location));
        break;
    }
    // `flow::E0101` written in a comment or a message: explain it too.
    if markdown.is_empty() {
        if let Some(code) = code_written_at(&view.contents.text, offset) {
            markdown = format!("**{}** `{}`: {}\n\n{}", code.qualified(), code.name, code.summary, code.explanation.trim());
        }
    }
    if markdown.is_empty() {
        return Ok(None);
    }
    Ok(Some(Hover { contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: markdown }), range }))
}

fn code_written_at(text: &str, offset: usize) -> Option<&'static crate::diagnostics::DiagnosticCode> {
    let offset = crate::syntax::span::clamp_to_char_boundary(text, offset);
    let start = start_of_run(&text[..offset], |c| c.is_ascii_alphanumeric());
    let end = text[offset..].find(|c: char| !c.is_ascii_alphanumeric()).map(|i| offset + i).unwrap_or(text.len());
    let word = &text[start..end];
    ALL_CODES.iter().copied().find(|code| code.id == word)
}

pub fn describe_symbol(snapshot: &Snapshot, symbol: &Symbol) -> String {
    let Some(view) = snapshot.file_at(symbol.file()) else { return format!("{} `{}`", symbol.describe(), symbol.name()) };
    let items = &parse_file(snapshot.db(), view.file).items;
    match symbol {
        Symbol::Item { name, kind, .. } => match (kind, item_declaring(items, name)) {
            (ItemKind::Model, Some(Item::Model(model))) => describe_model(snapshot, &view, model),
            (ItemKind::Dataset, Some(Item::Dataset(dataset))) => describe_dataset(&view, dataset),
            (ItemKind::Metric, Some(Item::Metric(metric))) => describe_metric(&view, metric),
            (ItemKind::Workflow, Some(Item::Workflow(workflow))) => describe_workflow(snapshot, &view, workflow),
            _ => format!("{} `{name}`", kind.describe()),
        },
        Symbol::Node { workflow, name, .. } => match workflow_named(items, workflow).and_then(|decl| Some((decl, node_named(decl, name)?))) {
            Some((workflow, node)) => describe_node(snapshot, &view, workflow, node),
            None => format!("node `{name}`"),
        },
        Symbol::WorkflowInput { workflow, name, .. } => {
            let ty = workflow_named(items, workflow)
                .and_then(|decl| decl.inputs.iter().find(|input| input.name.text == *name))
                .map(|input| text_of(&view.contents.text, input.ty.span).to_string())
                .unwrap_or_default();
            format!("```flow\n{name}: {ty}\n```\ninput of workflow `{workflow}`")
        }
        Symbol::WorkflowOutput { workflow, name, .. } => {
            let decl = workflow_named(items, workflow);
            let ty = decl
                .and_then(|decl| decl.outputs.iter().find(|output| output.name.text == *name))
                .map(|output| text_of(&view.contents.text, output.ty.span).to_string())
                .unwrap_or_default();
            let binding = decl.and_then(|decl| {
                decl.members.iter().find_map(|member| match member {
                    WorkflowMember::Binding(binding) if binding.output.text == *name => Some(text_of(&view.contents.text, binding.target.span).to_string()),
                    _ => None,
                })
            });
            let bound = match binding {
                Some(target) => format!("bound to `{target}`"),
                None => "not bound yet".into(),
            };
            format!("```flow\n{name}: {ty}\n```\noutput of workflow `{workflow}`, {bound}")
        }
    }
}

fn describe_module(snapshot: &Snapshot, target: &Path) -> String {
    let shown = match stdlib::standard_module_name(target) {
        Some(module) => format!("std/{module}"),
        None => target.display().to_string(),
    };
    let Some(view) = snapshot.file_at(target) else { return format!("module `{shown}`: cannot be read") };
    let names: Vec<String> =
        item_keys(snapshot.db(), view.file).iter().filter(|(key, kind)| *kind != ItemKind::Import && *kind != ItemKind::Optimize && !key.contains('#')).map(|(key, kind)| format!("- `{key}` ({})", kind.describe())).collect();
    format!("module `{shown}`\n\n{}", names.join("\n"))
}

fn describe_model(snapshot: &Snapshot, view: &FileView, model: &ModelDecl) -> String {
    let text = &view.contents.text;
    let mut markdown = format!("```flow\nmodel {} = {}\n```\n", model.name.text, text_of(text, model.source.span));
    let backend = model.source.callee.text.as_str();
    let _ = writeln!(markdown, "- backend: `{backend}`");
    if let Some(argument) = model.source.arguments.first() {
        let _ = writeln!(markdown, "- {}: {}", if backend == "gguf" { "file" } else { "model" }, text_of(text, argument.value.span));
    }
    // The digest only when it is known: hashing a large model would hold the
    // snapshot (and every edit) for seconds, so it is started in the background.
    if backend == "gguf" {
        let written = model.source.arguments.first().and_then(|argument| match &argument.value.kind {
            ValueKind::String(literal) => Some(literal.raw.clone()),
            _ => None,
        });
        let folder = view.path.parent().unwrap_or(Path::new("")).to_path_buf();
        match written.map(|written| resolve_model_file(&written, &folder)) {
            Some(Ok(path)) => match cached_file_sha256(&path) {
                Some(digest) => {
                    let _ = writeln!(markdown, "- sha256: `{digest}`\n- path: `{}`", path.display());
                }
                None => {
                    hash_in_background(vec![path.clone()]);
                    let _ = writeln!(markdown, "- sha256: being computed (hover again in a moment)\n- path: `{}`", path.display());
                }
            },
            Some(Err(looked)) => {
                let looked: Vec<String> = looked.iter().map(|path| format!("`{}`", path.display())).collect();
                let _ = writeln!(markdown, "- the file is missing (looked at {})", looked.join(", "));
            }
            None => {}
        }
    }
    match lock_named_model(snapshot.db(), view.file, &model.name.text, &PlanOptions { hash_model_files: false }) {
        Ok(locked) => {
            if let Some(engine) = &locked.engine {
                let _ = writeln!(markdown, "- engine: `{engine}`");
            }
            let decoding = serde_json::to_value(&locked.decoding).ok().and_then(|value| value.as_object().cloned()).unwrap_or_default();
            if decoding.is_empty() {
                let _ = writeln!(markdown, "- decoding: the engine's defaults");
            } else {
                let settings: Vec<String> = decoding.iter().map(|(key, value)| format!("`{key} = {value}`")).collect();
                let _ = writeln!(markdown, "- decoding: {}", settings.join(", "));
            }
            if let Some(url) = &locked.base_url {
                let _ = writeln!(markdown, "- base url: `{url}`");
            }
            if let Some(variable) = &locked.api_key_env {
                let _ = writeln!(markdown, "- API key from `${variable}`");
            }
        }
        Err(error) => {
            let reason = match error {
                crate::plan::from_source::PlanError::Environment(reason) => reason,
                crate::plan::from_source::PlanError::Diagnostics(_) => "the file has errors".into(),
            };
            let _ = writeln!(markdown, "- cannot lock this model: {reason}");
        }
    }
    markdown
}

fn describe_dataset(view: &FileView, dataset: &DatasetDecl) -> String {
    let text = &view.contents.text;
    let mut markdown = format!("```flow\ndataset {} = {}\n```\n", dataset.name.text, text_of(text, dataset.source.span));
    if let Some(block) = &dataset.properties {
        let _ = writeln!(markdown, "fields:");
        for property in &block.properties {
            let value = text_of(text, property.span).split_once('=').map(|(_, value)| value.trim().to_string()).unwrap_or_default();
            let _ = writeln!(markdown, "- `{}` ← `{value}`", property.key.text);
        }
    }
    let path = dataset.source.arguments.first().and_then(|argument| match &argument.value.kind {
        ValueKind::String(literal) => Some(literal.raw.clone()),
        _ => None,
    });
    if let Some(path) = path {
        let resolved = view.path.parent().unwrap_or(Path::new("")).join(&path);
        match count_rows(&resolved) {
            Some(rows) => {
                let _ = writeln!(markdown, "\n{rows} row(s) in `{}`", resolved.display());
            }
            None => {
                let _ = writeln!(markdown, "\n`{}` cannot be read", resolved.display());
            }
        }
    }
    markdown
}

/// Non-blank lines of a JSON-lines file, reading at most 256 MB.
fn count_rows(path: &Path) -> Option<usize> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let reader = std::io::BufReader::new(file.take(256 << 20));
    Some(reader.lines().map_while(Result::ok).filter(|line| !line.trim().is_empty()).count())
}

fn describe_metric(view: &FileView, metric: &MetricDecl) -> String {
    let text = &view.contents.text;
    let params: Vec<&str> = metric.params.iter().map(|param| text_of(text, param.span)).collect();
    let origin = match stdlib::standard_module_name(&view.path) {
        Some(module) => format!("from `std/{module}`"),
        None => format!("declared in `{}`", view.path.display()),
    };
    let description = metric.properties.get("description").and_then(|property| match &property.value {
        PropertyValue::Value(Value { kind: ValueKind::String(literal), .. }) => Some(literal.raw.clone()),
        _ => None,
    });
    let mut markdown = format!("```flow\nmetric {}({})\n```\n{origin}: called as `score(expected, actual{})`", metric.name.text, params.join(", "), metric.params.iter().map(|param| format!(", {}", param.name.text)).collect::<String>());
    if let Some(description) = description {
        let _ = write!(markdown, "\n\n{description}");
    }
    markdown
}

fn describe_workflow(snapshot: &Snapshot, view: &FileView, workflow: &WorkflowDecl) -> String {
    let text = &view.contents.text;
    let signature_end = workflow.body_span.start;
    let signature = text_of(text, crate::syntax::span::Span::new(workflow.span.start, signature_end)).trim();
    let nodes = workflow.members.iter().filter(|member| matches!(member, WorkflowMember::Node(_))).count();
    let mut markdown = format!("```flow\n{signature}\n```\n{nodes} node(s)");
    if let Some((lock_path, lock)) = lock_beside(&view.path) {
        let current = current_plan(snapshot.db(), view.file, &lock_path);
        let _ = write!(markdown, "\n\nplan (`{}`): {}", lock_path.display(), describe_status(&workflow_status(&lock, &current, &workflow.name.text)));
        if let Some(build) = lock.workflow(&workflow.name.text).and_then(|locked| locked.build.as_ref()) {
            let _ = write!(
                markdown,
                "\n\nbuilt with teacher `{}`: {}/{} training examples passed before, {} after; {} teacher call(s); stopped: {}",
                build.teacher, build.train_passed_before, build.train_examples, build.train_passed_after, build.teacher_calls, build.stopped
            );
        }
    }
    markdown
}

fn describe_status(status: &WorkflowPlanStatus) -> String {
    match status {
        WorkflowPlanStatus::UpToDate => "up to date".into(),
        WorkflowPlanStatus::NotLocked => "not in the lock; run `flowc lock` or `flowc build`".into(),
        WorkflowPlanStatus::CannotTell(reason) => format!("cannot tell: {reason}"),
        WorkflowPlanStatus::Stale { changed, removed } => {
            let mut parts = Vec::new();
            if !changed.is_empty() {
                parts.push(format!("changed or new: {}", changed.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")));
            }
            if !removed.is_empty() {
                parts.push(format!("removed: {}", removed.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")));
            }
            if parts.is_empty() {
                parts.push("its signature, bindings or evaluation changed".into());
            }
            format!("**stale** ({}); run `flowc build`", parts.join("; "))
        }
    }
}

fn describe_node(snapshot: &Snapshot, view: &FileView, workflow: &WorkflowDecl, node: &NodeDecl) -> String {
    let text = &view.contents.text;
    let kind = match &node.kind_arguments {
        Some(arguments) => format!("{}({})", node.kind.text, arguments.iter().map(|argument| argument.text.as_str()).collect::<Vec<_>>().join(", ")),
        None => node.kind.text.clone(),
    };
    let mut markdown = format!("```flow\nnode {} = {kind}\n```\n", node.name.text);
    let _ = writeln!(markdown, "{} node of workflow `{}`", node.kind.text, workflow.name.text);
    if let Some(model) = node.kind_arguments.as_ref().and_then(|arguments| arguments.first()) {
        let _ = writeln!(markdown, "\n- model: `{}`", model.text);
    }
    if let Some(graph) = workflow_graph(snapshot.db(), view.file, &workflow.name.text) {
        if let Some(graph_node) = graph.nodes.iter().find(|graph_node| graph_node.name == node.name.text) {
            let _ = writeln!(markdown, "- output: `{}`", graph_node.output);
        }
        let inputs: Vec<String> = graph
            .edges
            .iter()
            .filter(|edge| edge.to == node.name.text)
            .map(|edge| {
                let segments: Vec<&str> = edge.path.split('.').collect();
                let ty = path_type(&graph, &segments).map(|ty| ty.to_string()).unwrap_or_else(|| "?".into());
                let source = match &edge.from {
                    Endpoint::Input(name) => format!("workflow input `{name}`"),
                    Endpoint::Node(name) => format!("node `{name}`"),
                };
                format!("  - `{}`: `{ty}` ← {source}", edge.path)
            })
            .collect();
        if inputs.is_empty() {
            let _ = writeln!(markdown, "- inputs: none");
        } else {
            let _ = writeln!(markdown, "- inputs:\n{}", inputs.join("\n"));
        }
    } else {
        let _ = text;
    }
    if let Some((lock_path, lock)) = lock_beside(&view.path) {
        describe_locked_node(snapshot, view, &mut markdown, &lock_path, &lock, &workflow.name.text, &node.name.text);
    }
    markdown
}

fn describe_locked_node(snapshot: &Snapshot, view: &FileView, markdown: &mut String, lock_path: &Path, lock: &LockFile, workflow: &str, node: &str) {
    let _ = write!(markdown, "\n---\n\n**compiled** (`{}`)", lock_path.display());
    let Some(locked) = lock.workflow(workflow).and_then(|locked| locked.nodes.iter().find(|locked| locked.name == node)) else {
        let _ = write!(markdown, ": this node is not in the lock; run `flowc lock` or `flowc build`");
        return;
    };
    let current = current_plan(snapshot.db(), view.file, lock_path);
    let status = workflow_status(lock, &current, workflow);
    let node_status = match &status {
        WorkflowPlanStatus::UpToDate => "up to date".to_string(),
        WorkflowPlanStatus::Stale { changed, .. } if changed.iter().any(|name| name == node) => "**stale**: this node changed since the lock was written; run `flowc build`".into(),
        WorkflowPlanStatus::Stale { .. } => format!("this node is unchanged, but workflow `{workflow}` is {}", describe_status(&status)),
        other => describe_status(other),
    };
    let _ = writeln!(markdown, ": {node_status}\n");
    write_locked_artefacts(markdown, locked);
}

fn write_locked_artefacts(markdown: &mut String, locked: &LockedNode) {
    let provenance = &locked.provenance;
    let mut origin = format!("- produced by: `{}`", provenance.origin);
    if let Some(step) = provenance.step {
        let _ = write!(origin, " (descent step {step})");
    }
    if let Some(score) = &provenance.node_score {
        let _ = write!(origin, ", node score {score}");
    }
    if let Some(target) = &provenance.inserted_for {
        let _ = write!(origin, ", inserted for `{target}`");
    }
    let _ = writeln!(markdown, "{origin}");
    if let Some(critique) = &provenance.critique {
        let _ = writeln!(markdown, "- critique: {}", critique.trim());
    }
    if let Some(likelihood) = &locked.likelihood {
        let classes: Vec<&str> = likelihood.classes.iter().map(|class| class.class.as_str()).collect();
        let _ = writeln!(markdown, "- likelihood choice: the student reads `{}` after each class's prompt ({}); the most likely wins", likelihood.reply, classes.join(", "));
    }
    if let Some(consensus) = &locked.consensus {
        let _ = writeln!(
            markdown,
            "- consensus: {} samples, `{}` vote, seeds from {}, temperature {}",
            consensus.samples, consensus.vote, consensus.first_seed, consensus.temperature
        );
    }
    if let Some(system) = &locked.system {
        let _ = writeln!(markdown, "\nsystem prompt:\n```text\n{}\n```", system.trim_end());
    }
    if let Some(prompt) = &locked.prompt {
        let _ = writeln!(markdown, "\nprompt:\n```text\n{}\n```", prompt.trim_end());
    }
    if let Some(code) = &locked.code {
        let inputs: Vec<String> = locked.code_inputs.iter().map(|(name, reference)| format!("`{name} = {reference}`")).collect();
        if !inputs.is_empty() {
            let _ = writeln!(markdown, "\ncode inputs: {}", inputs.join(", "));
        }
        let _ = writeln!(markdown, "\ncode:\n```python\n{}\n```", code.trim_end());
    }
}
