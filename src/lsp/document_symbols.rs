//! The outline: items, and inside workflows their inputs, outputs and nodes.

use lsp_types::{DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse, SymbolKind};

use super::snapshot::{RequestResult, Snapshot};
use super::workspace::DocumentText;
use crate::semantic::database::parse_file;
use crate::syntax::ast::*;
use crate::syntax::span::Span;

pub fn document_symbols(snapshot: &Snapshot, params: DocumentSymbolParams) -> RequestResult<Option<DocumentSymbolResponse>> {
    let view = snapshot.file_of_uri(&params.text_document.uri)?;
    let items = &parse_file(snapshot.db(), view.file).items;
    let symbols = items.iter().filter_map(|item| item_symbol(&view.contents, item)).collect();
    Ok(Some(DocumentSymbolResponse::Nested(symbols)))
}

#[allow(deprecated)] // `deprecated` is a required field of the struct.
fn symbol(contents: &DocumentText, name: &str, detail: Option<String>, kind: SymbolKind, span: Span, selection: Span, children: Vec<DocumentSymbol>) -> DocumentSymbol {
    DocumentSymbol {
        name: if name.is_empty() { "(unnamed)".into() } else { name.to_string() },
        detail,
        kind,
        tags: None,
        deprecated: None,
        range: contents.range(span),
        selection_range: contents.range(selection),
        children: (!children.is_empty()).then_some(children),
    }
}

pub fn item_symbol(contents: &DocumentText, item: &Item) -> Option<DocumentSymbol> {
    Some(match item {
        Item::Import(import) => symbol(contents, &format!("import \"{}\"", import.path.raw), None, SymbolKind::MODULE, import.span, import.path.span, Vec::new()),
        Item::Model(model) => symbol(contents, &model.name.text, Some(format!("model {}", model.source.callee.text)), SymbolKind::CLASS, model.span, model.name.span, Vec::new()),
        Item::Dataset(dataset) => symbol(contents, &dataset.name.text, Some("dataset".into()), SymbolKind::STRUCT, dataset.span, dataset.name.span, Vec::new()),
        Item::Metric(metric) => symbol(contents, &metric.name.text, Some("metric".into()), SymbolKind::FUNCTION, metric.span, metric.name.span, Vec::new()),
        Item::Optimize(optimize) => symbol(contents, &format!("optimize {}", optimize.target.text), None, SymbolKind::EVENT, optimize.span, optimize.target.span, Vec::new()),
        Item::Workflow(workflow) => {
            let mut children = Vec::new();
            for input in &workflow.inputs {
                children.push(symbol(contents, &input.name.text, Some("input".into()), SymbolKind::VARIABLE, input.span, input.name.span, Vec::new()));
            }
            for output in &workflow.outputs {
                children.push(symbol(contents, &output.name.text, Some("output".into()), SymbolKind::PROPERTY, output.span, output.name.span, Vec::new()));
            }
            for member in &workflow.members {
                if let WorkflowMember::Node(node) = member {
                    children.push(symbol(contents, &node.name.text, Some(format!("{} node", node.kind.text)), SymbolKind::OBJECT, node.span, node.name.span, Vec::new()));
                }
            }
            symbol(contents, &workflow.name.text, Some("workflow".into()), SymbolKind::NAMESPACE, workflow.span, workflow.name.span, children)
        }
    })
}
