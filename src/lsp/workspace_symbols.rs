//! Workspace symbols: the declarations and nodes of every open document and what
//! they import, matched by a case-insensitive substring of the query.

use lsp_types::{Location, OneOf, SymbolKind, WorkspaceSymbol, WorkspaceSymbolParams, WorkspaceSymbolResponse};

use super::snapshot::{RequestResult, Snapshot};
use crate::semantic::database::parse_file;
use crate::syntax::ast::*;
use crate::syntax::span::Span;

/// Enough for any picker; a huge generated file must not send megabytes.
const MAXIMUM_RESULTS: usize = 1000;

pub fn workspace_symbols(snapshot: &Snapshot, params: WorkspaceSymbolParams) -> RequestResult<Option<WorkspaceSymbolResponse>> {
    let query = params.query.to_lowercase();
    let mut found = Vec::new();
    for path in snapshot.workspace_files() {
        let (Some(view), Some(uri)) = (snapshot.file_at(&path), snapshot.uri_of(&path)) else { continue };
        let mut push = |name: &str, kind: SymbolKind, span: Span, container: Option<&str>| {
            if found.len() < MAXIMUM_RESULTS && name.to_lowercase().contains(&query) {
                found.push(WorkspaceSymbol {
                    name: name.to_string(),
                    kind,
                    tags: None,
                    container_name: container.map(str::to_string),
                    location: OneOf::Left(Location { uri: uri.clone(), range: view.contents.range(span) }),
                    data: None,
                });
            }
        };
        for item in &parse_file(snapshot.db(), view.file).items {
            match item {
                Item::Model(model) => push(&model.name.text, SymbolKind::CLASS, model.name.span, None),
                Item::Dataset(dataset) => push(&dataset.name.text, SymbolKind::STRUCT, dataset.name.span, None),
                Item::Metric(metric) => push(&metric.name.text, SymbolKind::FUNCTION, metric.name.span, None),
                Item::Workflow(workflow) => {
                    push(&workflow.name.text, SymbolKind::NAMESPACE, workflow.name.span, None);
                    for member in &workflow.members {
                        if let WorkflowMember::Node(node) = member {
                            push(&node.name.text, SymbolKind::OBJECT, node.name.span, Some(&workflow.name.text));
                        }
                    }
                }
                Item::Import(_) | Item::Optimize(_) => {}
            }
        }
    }
    Ok(Some(WorkspaceSymbolResponse::Nested(found)))
}
