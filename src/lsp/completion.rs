//! Completion: `{node.` offers the node's output fields; otherwise what fits where
//! the cursor is — item keywords at the top level, property names per block, node
//! kinds, names in scope (models, datasets, metrics, nodes, inputs), moves.

use lsp_types::{CompletionItem, CompletionItemKind, CompletionParams, CompletionResponse};

use super::snapshot::{RequestResult, Snapshot};
use super::syntax_lookup::*;
use crate::semantic::check_model::{DECODING_PARAMETERS, HTTP_SETTINGS};
use crate::semantic::check_optimize::{BUDGET_LIMITS, MOVES, OPTIMIZE_SETTINGS};
use crate::semantic::check_workflow::{CODE_PROPERTIES, CONSENSUS_PROPERTIES, LLM_PROPERTIES, VOTES};
use crate::semantic::database::{file_scope, parse_file, Db, SourceFile};
use crate::semantic::hir::ItemKind;
use crate::semantic::types::{Type, TYPE_NAMES};
use crate::semantic::workflow_graph::NODE_KINDS;
use crate::syntax::ast::*;
use crate::syntax::span::clamp_to_char_boundary;

const ITEM_KEYWORDS: &[&str] = &["import", "model", "dataset", "metric", "workflow", "optimize"];

pub fn completion(snapshot: &Snapshot, params: CompletionParams) -> RequestResult<Option<CompletionResponse>> {
    let position = params.text_document_position;
    let view = snapshot.file_of_uri(&position.text_document.uri)?;
    let text = view.contents.text.as_str();
    let offset = clamp_to_char_boundary(text, view.contents.offset(position.position));
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_before = &text[line_start..offset];
    let db = snapshot.db();
    let items = &parse_file(db, view.file).items;
    let mut completions = Completions::default();

    // A dotted path being typed: `{extract.`, `= extract.qu`.
    let path_typed = dotted_path_before(line_before);
    if let Some((head, _partial)) = path_typed.as_ref().and_then(|path| path.rsplit_once('.')) {
        let segments: Vec<&str> = head.split('.').collect();
        for ty in types_of_path(db, view.file, items, offset, &segments) {
            if let Type::Json(fields) = ty {
                for (field, field_type) in fields {
                    completions.add(&field, CompletionItemKind::FIELD, format!("{field_type}"));
                }
            }
        }
        return Ok(Some(CompletionResponse::Array(completions.items)));
    }

    let scope = file_scope(db, view.file);
    match item_at(items, offset) {
        Some(Item::Workflow(workflow)) if offset > workflow.body_span.start => {
            let node = node_at(items, offset).map(|(_, node)| node);
            add_workflow_names(&mut completions, workflow);
            if is_inside_template(node, offset) {
                return Ok(Some(CompletionResponse::Array(completions.items)));
            }
            match node {
                Some(_) if is_value_position(line_before) => {
                    if line_before.trim_start().starts_with("vote") {
                        completions.keywords(&VOTES);
                    }
                }
                Some(node) if offset > node.properties.span.start => {
                    let mut properties: Vec<&str> = Vec::new();
                    match node.kind.text.as_str() {
                        "llm" => properties.extend(LLM_PROPERTIES.iter().chain(&DECODING_PARAMETERS)),
                        "consensus" => properties.extend(LLM_PROPERTIES.iter().chain(&CONSENSUS_PROPERTIES).chain(&DECODING_PARAMETERS)),
                        "code" => properties.extend(CODE_PROPERTIES),
                        _ => {}
                    }
                    completions.items.clear();
                    completions.properties(&properties);
                }
                Some(_) => {
                    // `node x = |` or `llm(|`: kinds and models.
                    completions.items.clear();
                    completions.keywords(&NODE_KINDS);
                    for name in scope.names_of_kind(ItemKind::Model) {
                        completions.add(name, CompletionItemKind::CLASS, "model".into());
                    }
                }
                None => {
                    completions.keywords(&["node"]);
                    for output in &workflow.outputs {
                        completions.add(&output.name.text, CompletionItemKind::INTERFACE, "workflow output".into());
                    }
                }
            }
        }
        Some(Item::Workflow(_)) => {
            completions.keywords(&TYPE_NAMES);
            completions.keywords(&["json", "enum"]);
        }
        Some(Item::Model(model)) => {
            let mut properties: Vec<&str> = DECODING_PARAMETERS.to_vec();
            if model.source.callee.text == "gguf" {
                properties.push("engine");
            } else {
                properties.extend(HTTP_SETTINGS);
            }
            if !is_value_position(line_before) {
                completions.properties(&properties);
            }
        }
        Some(Item::Optimize(optimize)) => {
            let in_budget = optimize.properties.get("budget").is_some_and(|budget| contains(budget.span, offset) && offset > budget.key.span.end);
            if is_value_position(line_before) {
                let key = line_before.trim_start().split(|c: char| !c.is_ascii_alphanumeric() && c != '_').next().unwrap_or("");
                match key {
                    "teacher" => add_scope(&mut completions, scope.names_of_kind(ItemKind::Model), CompletionItemKind::CLASS, "model"),
                    "train" | "validation" => add_scope(&mut completions, scope.names_of_kind(ItemKind::Dataset), CompletionItemKind::STRUCT, "dataset"),
                    "metric" => add_metrics(&mut completions, db, view.file),
                    "moves" => completions.keywords(&MOVES),
                    _ => {}
                }
            } else if in_budget {
                completions.properties(&BUDGET_LIMITS);
            } else {
                completions.properties(&OPTIMIZE_SETTINGS);
            }
        }
        Some(Item::Dataset(_)) | Some(Item::Metric(_)) | Some(Item::Import(_)) => {
            add_metrics(&mut completions, db, view.file);
        }
        None => {
            completions.keywords(ITEM_KEYWORDS);
            // `optimize |`: the workflows.
            add_scope(&mut completions, scope.names_of_kind(ItemKind::Workflow), CompletionItemKind::MODULE, "workflow");
        }
    }
    Ok(Some(CompletionResponse::Array(completions.items)))
}

#[derive(Default)]
struct Completions {
    items: Vec<CompletionItem>,
}

impl Completions {
    fn add(&mut self, label: &str, kind: CompletionItemKind, detail: String) {
        if self.items.iter().any(|item| item.label == label) {
            return;
        }
        self.items.push(CompletionItem { label: label.to_string(), kind: Some(kind), detail: Some(detail), ..Default::default() });
    }

    fn keywords(&mut self, words: &[&str]) {
        for word in words {
            self.add(word, CompletionItemKind::KEYWORD, "keyword".into());
        }
    }

    fn properties(&mut self, names: &[&str]) {
        for name in names {
            self.add(name, CompletionItemKind::PROPERTY, "property".into());
        }
    }
}

fn add_scope<'a>(completions: &mut Completions, names: impl Iterator<Item = &'a str>, kind: CompletionItemKind, detail: &str) {
    for name in names {
        completions.add(name, kind, detail.into());
    }
}

/// Metrics in scope, then those of the standard modules (with where they come from).
fn add_metrics(completions: &mut Completions, db: &dyn Db, file: SourceFile) {
    add_scope(completions, file_scope(db, file).names_of_kind(ItemKind::Metric), CompletionItemKind::FUNCTION, "metric");
    for (module, _) in crate::stdlib::STANDARD_MODULES {
        let Some(standard) = db.load_file(&crate::stdlib::standard_module_path(module)) else { continue };
        for item in &parse_file(db, standard).items {
            if let Item::Metric(metric) = item {
                completions.add(&metric.name.text, CompletionItemKind::FUNCTION, format!("metric from std/{module} (import it)"));
            }
        }
    }
}

fn add_workflow_names(completions: &mut Completions, workflow: &WorkflowDecl) {
    for input in &workflow.inputs {
        completions.add(&input.name.text, CompletionItemKind::VARIABLE, "workflow input".into());
    }
    for member in &workflow.members {
        if let WorkflowMember::Node(node) = member {
            completions.add(&node.name.text, CompletionItemKind::VARIABLE, format!("{} node", node.kind.text));
        }
    }
}

/// `ident.ident.partial` just before the cursor, if the cursor ends one.
fn dotted_path_before(line_before: &str) -> Option<String> {
    let start = start_of_run(line_before, |c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    let path = &line_before[start..];
    let first = path.chars().next()?;
    (path.contains('.') && (first.is_ascii_alphabetic() || first == '_')).then(|| path.to_string())
}

/// Inside the prompt or system template of the node around the cursor.
fn is_inside_template(node: Option<&NodeDecl>, offset: usize) -> bool {
    let Some(node) = node else { return false };
    ["prompt", "system"].iter().any(|key| {
        matches!(node.properties.get(key), Some(Property { value: PropertyValue::Value(Value { kind: ValueKind::String(literal), .. }), .. }) if literal.span.start < offset && offset < literal.span.end)
    })
}

fn is_value_position(line_before: &str) -> bool {
    line_before.contains('=')
}

/// The possible types of `head` (a dotted path without the part being typed): in the
/// workflow around the cursor, else in any workflow of the file that has the name
/// (a half-typed file may not parse around the cursor).
fn types_of_path(db: &dyn Db, file: SourceFile, items: &[Item], offset: usize, head: &[&str]) -> Vec<Type> {
    if let Some(Item::Workflow(workflow)) = item_at(items, offset) {
        if let Some(ty) = workflow_graph(db, file, &workflow.name.text).and_then(|graph| path_type(&graph, head)) {
            return vec![ty];
        }
    }
    items
        .iter()
        .filter_map(|item| match item {
            Item::Workflow(workflow) => workflow_graph(db, file, &workflow.name.text).and_then(|graph| path_type(&graph, head)),
            _ => None,
        })
        .take(1)
        .collect()
}
