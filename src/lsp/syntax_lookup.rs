//! Finding declarations in a file's syntax tree by name or by position, and the
//! types of a workflow's values from its analysed graph.

use crate::semantic::database::{analyze_item, Db, ItemId, SourceFile};
use crate::semantic::types::Type;
use crate::semantic::workflow_graph::{Endpoint, WorkflowGraph};
use crate::syntax::ast::*;
use crate::syntax::span::Span;

pub fn workflow_named<'a>(items: &'a [Item], name: &str) -> Option<&'a WorkflowDecl> {
    items.iter().find_map(|item| match item {
        Item::Workflow(workflow) if workflow.name.text == name => Some(workflow),
        _ => None,
    })
}

pub fn item_declaring<'a>(items: &'a [Item], name: &str) -> Option<&'a Item> {
    items.iter().find(|item| item.declared_name().is_some_and(|declared| declared.text == name))
}

pub fn node_named<'a>(workflow: &'a WorkflowDecl, name: &str) -> Option<&'a NodeDecl> {
    workflow.members.iter().find_map(|member| match member {
        WorkflowMember::Node(node) if node.name.text == name => Some(node),
        _ => None,
    })
}

pub fn contains(span: Span, offset: usize) -> bool {
    span.start <= offset && offset <= span.end
}

/// The item whose text holds `offset`.
pub fn item_at(items: &[Item], offset: usize) -> Option<&Item> {
    items.iter().find(|item| contains(item.span(), offset))
}

/// The workflow and node whose text holds `offset`.
pub fn node_at(items: &[Item], offset: usize) -> Option<(&WorkflowDecl, &NodeDecl)> {
    let Some(Item::Workflow(workflow)) = item_at(items, offset) else { return None };
    workflow.members.iter().find_map(|member| match member {
        WorkflowMember::Node(node) if contains(node.span, offset) => Some((workflow, node)),
        _ => None,
    })
}

/// The analysed graph of a workflow (analysis is a cached salsa query).
pub fn workflow_graph(db: &dyn Db, file: SourceFile, workflow: &str) -> Option<std::sync::Arc<WorkflowGraph>> {
    analyze_item(db, ItemId::new(db, file, workflow.to_string())).graph.clone()
}

pub fn endpoint_type<'g>(graph: &'g WorkflowGraph, endpoint: &Endpoint) -> Option<&'g Type> {
    match endpoint {
        Endpoint::Input(name) => graph.inputs.iter().find(|(input, _)| input == name).map(|(_, ty)| ty),
        Endpoint::Node(name) => graph.nodes.iter().find(|node| node.name == *name).map(|node| &node.output),
    }
}

/// The type of `name.field.field` in a workflow: an input or a node's output, then
/// its fields.
pub fn path_type(graph: &WorkflowGraph, segments: &[&str]) -> Option<Type> {
    let (first, rest) = segments.split_first()?;
    let mut ty = graph
        .inputs
        .iter()
        .find(|(input, _)| input == first)
        .map(|(_, ty)| ty)
        .or_else(|| graph.nodes.iter().find(|node| node.name == *first).map(|node| &node.output))?;
    for field in rest {
        ty = ty.field(field)?;
    }
    Some(ty.clone())
}

/// The text of a span, clamped.
pub fn text_of(text: &str, span: Span) -> &str {
    text.get(span.start.min(text.len())..span.end.min(text.len())).unwrap_or("")
}

/// Where the run of characters matching `belongs` that ends `text` starts (a byte
/// offset on a char boundary).
pub fn start_of_run(text: &str, belongs: impl Fn(char) -> bool) -> usize {
    text.char_indices().rev().find(|(_, c)| !belongs(*c)).map(|(index, c)| index + c.len_utf8()).unwrap_or(0)
}
