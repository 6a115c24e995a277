//! Lowering a file read in chunks (`syntax::chunk_parse`), chunk by chunk, and
//! putting the file's lowering together: the same `LoweredFile` as `lower_items`
//! on the whole tree.
//!
//! A chunk's lowering depends on its tree and on one number from outside it: the id
//! of its first anchor (anchors are numbered through a whole workflow, in order).
//! So the database caches it per (chunk, first anchor), and an edit inside one node
//! re-lowers that node's chunk alone; the other chunks give back the same
//! `Arc<NodeHir>`s, which the per-node firewall then compares by pointer.

use std::sync::Arc;

use super::hir::{AnchorId, BindingHir, ItemHir, Name, NodeHir, ParamHir, WorkflowHir};
use super::lower::{lower_item, relocated, relocated_diagnostic, FileLowering, ItemLowering, KeyBase, LoweredFile, Lowerer};
use super::source_map::SourceMap;
use crate::syntax::chunk_parse::{ChunkTree, ParsedChunk};
use crate::syntax::parse::SyntaxDiagnostic;
use crate::syntax::span::Span;

/// One chunk lowered, spans from the chunk's start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoweredChunk {
    /// Members of a workflow cut in chunks (before any `items` of the chunk).
    pub workflow_part: Option<WorkflowPart>,
    /// Whole items.
    pub items: Vec<ItemLowering>,
}

/// The part of a workflow one chunk holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkflowPart {
    /// In the opening chunk: the workflow's start, name, signature and `{`.
    pub opening: Option<WorkflowHeading>,
    pub nodes: Vec<Arc<NodeHir>>,
    pub bindings: Vec<BindingHir>,
    /// The spans of the anchors this chunk adds, from its first anchor on.
    pub source_map: SourceMap,
    pub diagnostics: Vec<SyntaxDiagnostic>,
    /// In the closing chunk: the body's `}`.
    pub body_close: Option<Span>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkflowHeading {
    pub keyword: Span,
    pub name: Name,
    pub name_text: String,
    pub name_span: Span,
    pub inputs: Vec<ParamHir>,
    pub outputs: Vec<ParamHir>,
    pub body_open: Span,
}

/// Lower one chunk whose first workflow anchor (if it holds members) is `anchor_base`.
pub fn lower_chunk(chunk: &ParsedChunk, anchor_base: AnchorId) -> LoweredChunk {
    let members = |lowerer: &mut Lowerer, members: &[crate::syntax::ast::WorkflowMember]| {
        let mut nodes = Vec::new();
        let mut bindings = Vec::new();
        lowerer.members(members, &mut nodes, &mut bindings);
        (nodes, bindings)
    };
    match &chunk.tree {
        ChunkTree::Items(items) => LoweredChunk { workflow_part: None, items: items.iter().map(lower_item).collect() },
        ChunkTree::WorkflowOpening(opening) => {
            let mut lowerer = Lowerer::new(anchor_base);
            let name = lowerer.name(&opening.name);
            let inputs = opening.inputs.iter().map(|param| lowerer.param(param)).collect();
            let outputs = opening.outputs.iter().map(|param| lowerer.param(param)).collect();
            let (nodes, bindings) = members(&mut lowerer, &opening.members);
            let heading = WorkflowHeading {
                keyword: opening.keyword,
                name,
                name_text: opening.name.text.clone(),
                name_span: opening.name.span,
                inputs,
                outputs,
                body_open: opening.body_open,
            };
            let part = WorkflowPart { opening: Some(heading), nodes, bindings, source_map: lowerer.map, diagnostics: lowerer.diagnostics, body_close: None };
            LoweredChunk { workflow_part: Some(part), items: Vec::new() }
        }
        ChunkTree::WorkflowMembers(chunk_members) => {
            let mut lowerer = Lowerer::new(anchor_base);
            let (nodes, bindings) = members(&mut lowerer, chunk_members);
            let part = WorkflowPart { opening: None, nodes, bindings, source_map: lowerer.map, diagnostics: lowerer.diagnostics, body_close: None };
            LoweredChunk { workflow_part: Some(part), items: Vec::new() }
        }
        ChunkTree::WorkflowClosing { members: chunk_members, body_close, items } => {
            let mut lowerer = Lowerer::new(anchor_base);
            let (nodes, bindings) = members(&mut lowerer, chunk_members);
            let part = WorkflowPart { opening: None, nodes, bindings, source_map: lowerer.map, diagnostics: lowerer.diagnostics, body_close: Some(*body_close) };
            LoweredChunk { workflow_part: Some(part), items: items.iter().map(lower_item).collect() }
        }
    }
}

/// A workflow whose chunks are being put together, spans already in file offsets.
struct WorkflowInProgress {
    heading: WorkflowHeading,
    nodes: Vec<Arc<NodeHir>>,
    bindings: Vec<BindingHir>,
    source_map: SourceMap,
    diagnostics: Vec<SyntaxDiagnostic>,
}

/// The file's lowering put together from its chunks' lowerings, in order. Ask
/// `next_anchor_base` before lowering each chunk.
#[derive(Default)]
pub struct ChunkedLowering {
    file: FileLowering,
    workflow: Option<WorkflowInProgress>,
    broken: bool,
}

impl ChunkedLowering {
    /// The first anchor id of the next chunk's workflow members.
    pub fn next_anchor_base(&self) -> AnchorId {
        self.workflow.as_ref().map(|workflow| workflow.source_map.len() as AnchorId).unwrap_or(0)
    }

    /// Add the chunk lowering of the chunk at `offset`.
    pub fn add(&mut self, offset: usize, chunk: &LoweredChunk) {
        if let Some(part) = &chunk.workflow_part {
            match (&part.opening, self.workflow.take()) {
                (Some(heading), None) => {
                    let mut heading = heading.clone();
                    heading.keyword = relocated(heading.keyword, offset);
                    heading.name_span = relocated(heading.name_span, offset);
                    heading.body_open = relocated(heading.body_open, offset);
                    self.workflow = Some(WorkflowInProgress {
                        heading,
                        nodes: Vec::new(),
                        bindings: Vec::new(),
                        source_map: SourceMap::default(),
                        diagnostics: Vec::new(),
                    });
                }
                (None, Some(workflow)) => self.workflow = Some(workflow),
                _ => {
                    self.broken = true;
                    return;
                }
            }
            let Some(workflow) = &mut self.workflow else { return };
            workflow.nodes.extend(part.nodes.iter().cloned());
            workflow.bindings.extend(part.bindings.iter().cloned());
            workflow.source_map.extend_relocated(&part.source_map, offset);
            workflow.diagnostics.extend(part.diagnostics.iter().cloned().map(|diagnostic| relocated_diagnostic(diagnostic, offset)));
            if let Some(body_close) = part.body_close {
                self.close_workflow(relocated(body_close, offset));
            }
        }
        if !chunk.items.is_empty() && self.workflow.is_some() {
            self.broken = true;
            return;
        }
        for item in &chunk.items {
            self.file.add_item(item.clone(), offset);
        }
    }

    fn close_workflow(&mut self, body_close: Span) {
        let Some(mut workflow) = self.workflow.take() else { return };
        let body_span = Span::new(workflow.heading.body_open.start, body_close.end);
        let body_anchor = workflow.source_map.len() as AnchorId;
        let mut body = SourceMap::default();
        body.add(body_span);
        workflow.source_map.extend_relocated(&body, 0);
        let heading = workflow.heading;
        let hir = WorkflowHir { name: heading.name, inputs: heading.inputs, outputs: heading.outputs, nodes: workflow.nodes, bindings: workflow.bindings, body_anchor };
        let item = ItemLowering {
            key_base: KeyBase::Named(heading.name_text.clone()),
            declared: vec![(heading.name_text, heading.name_span)],
            hir: Arc::new(ItemHir::Workflow(hir)),
            source_map: workflow.source_map,
            span: Span::new(heading.keyword.start, body_close.end),
            diagnostics: workflow.diagnostics,
        };
        self.file.add_item(item, 0);
    }

    /// The file's lowering, or `None` if the chunks did not fit together.
    pub fn finish(self) -> Option<LoweredFile> {
        (!self.broken && self.workflow.is_none()).then(|| self.file.finish())
    }
}

/// `lower_items` of a file's chunks, lowered one by one (not cached: the database's
/// `lower_file` does this with a query per chunk).
pub fn lower_chunks<'chunk>(chunks: impl IntoIterator<Item = (usize, &'chunk ParsedChunk)>) -> Option<LoweredFile> {
    let mut lowering = ChunkedLowering::default();
    for (offset, chunk) in chunks {
        let lowered = lower_chunk(chunk, lowering.next_anchor_base());
        lowering.add(offset, &lowered);
    }
    lowering.finish()
}
