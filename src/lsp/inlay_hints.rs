//! Inlay hints: the inferred type of a code node's input where it is not written
//! (`numbers = extract.quantities` shows `: [number]`).

use lsp_types::{InlayHint, InlayHintKind, InlayHintLabel, InlayHintParams};

use super::snapshot::{RequestResult, Snapshot};
use super::syntax_lookup::{path_type, workflow_graph};
use crate::semantic::database::parse_file;
use crate::syntax::ast::*;

pub fn inlay_hints(snapshot: &Snapshot, params: InlayHintParams) -> RequestResult<Option<Vec<InlayHint>>> {
    let view = snapshot.file_of_uri(&params.text_document.uri)?;
    let wanted = view.contents.line_index.span(&view.contents.text, params.range);
    let db = snapshot.db();
    let mut hints = Vec::new();
    for item in &parse_file(db, view.file).items {
        let Item::Workflow(workflow) = item else { continue };
        if workflow.span.end < wanted.start || workflow.span.start > wanted.end {
            continue;
        }
        let Some(graph) = workflow_graph(db, view.file, &workflow.name.text) else { continue };
        for member in &workflow.members {
            let WorkflowMember::Node(node) = member else { continue };
            let Some(Property { value: PropertyValue::Block(inputs), .. }) = node.properties.get("inputs") else { continue };
            for input in &inputs.properties {
                let PropertyValue::Value(Value { kind: ValueKind::Path(path), .. }) = &input.value else { continue };
                if input.span.end < wanted.start || input.span.start > wanted.end {
                    continue;
                }
                let segments: Vec<&str> = path.segments.iter().map(|segment| segment.text.as_str()).collect();
                let Some(ty) = path_type(&graph, &segments) else { continue };
                hints.push(InlayHint {
                    position: view.contents.range(input.key.span).end,
                    label: InlayHintLabel::String(format!(": {ty}")),
                    kind: Some(InlayHintKind::TYPE),
                    text_edits: None,
                    tooltip: None,
                    padding_left: None,
                    padding_right: None,
                    data: None,
                });
            }
        }
    }
    Ok(Some(hints))
}
