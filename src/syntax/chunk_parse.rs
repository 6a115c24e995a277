//! A file read in chunks (`syntax::chunk_split`), and put back together: the same
//! tree and diagnostics as `parse_source` on the whole text, from pieces that can be
//! parsed, and cached, one by one. An edit inside one node of a 10,000-node workflow
//! then re-reads a few kilobytes instead of megabytes.
//!
//! Why a chunk read alone reads as it would inside the file: each chunk kind has a
//! strict rule in the grammar (`chunk_*`), the stretch of `file` it covers without
//! the catch-all alternatives. A chunk is trusted only if that rule matches all of it
//! and no catch-all inside a block swallowed anything. pest decides by what follows a
//! position, never by what precedes it, so a rule at a position inside the chunk can
//! read differently only by looking past the chunk's end. Chunks end before a line
//! that starts with an item keyword or `node`, which no rule can take as the
//! continuation of what came before (a binding's lookahead and an optional block or
//! name list see a letter there as they see the end); and the rules that scan far
//! (an unclosed `"""`, the catch-alls) cannot leave a chunk clean. Any chunk that
//! does not read cleanly, or a sequence of chunks that does not fit together, makes
//! the caller parse the whole text as before. `tests/parser_in_chunks.rs` compares
//! the two on every example, every standard module, and the parser's fuzz corpus.

use pest::iterators::Pair;
use pest::Parser;

use super::ast::*;
use super::chunk_split::{chunk_kinds_fit, split_into_chunks_grouping, ChunkKind};
use super::comments::collect_comments;
use super::grammar::{FlowGrammar, Rule};
use super::parse::{finish_diagnostics, limit_pest_calls, nesting_too_deep, readable_text, ParsedFile, ReadableText, SyntaxDiagnostic, TreeBuilder};
use super::relocate::Relocate;
use super::span::Span;

/// One chunk's tree and diagnostics, with offsets from the chunk's start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedChunk {
    pub tree: ChunkTree,
    pub diagnostics: Vec<SyntaxDiagnostic>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkTree {
    Items(Vec<Item>),
    WorkflowOpening(WorkflowOpening),
    WorkflowMembers(Vec<WorkflowMember>),
    WorkflowClosing { members: Vec<WorkflowMember>, body_close: Span, items: Vec<Item> },
}

/// `workflow NAME(inputs) -> (outputs) {` and the members that follow in the chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkflowOpening {
    pub keyword: Span,
    pub name: Ident,
    pub inputs: Vec<Param>,
    pub outputs: Vec<Param>,
    pub body_open: Span,
    pub members: Vec<WorkflowMember>,
}

impl Relocate for WorkflowOpening {
    fn relocate(&mut self, by: usize) {
        self.keyword.relocate(by);
        self.name.relocate(by);
        self.inputs.relocate(by);
        self.outputs.relocate(by);
        self.body_open.relocate(by);
        self.members.relocate(by);
    }
}

/// The strict parse of one chunk of `kind`; `None` when it does not read cleanly.
pub fn parse_chunk(kind: ChunkKind, text: &str) -> Option<ParsedChunk> {
    limit_pest_calls();
    // The whole file was checked, but a chunk is only text: keep the parser's
    // promise on any text.
    if nesting_too_deep(text).is_some() {
        return None;
    }
    let rule = match kind {
        ChunkKind::Items => Rule::chunk_items,
        ChunkKind::WorkflowOpening => Rule::chunk_workflow_opening,
        ChunkKind::WorkflowMembers => Rule::chunk_workflow_members,
        ChunkKind::WorkflowClosing => Rule::chunk_workflow_closing,
    };
    let chunk = FlowGrammar::parse(rule, text).ok()?.next()?;
    let mut builder = TreeBuilder::new(text);
    let tree = match kind {
        ChunkKind::Items => ChunkTree::Items(items_of(&mut builder, chunk.into_inner())),
        ChunkKind::WorkflowOpening => {
            let mut inner = chunk.into_inner();
            let keyword = inner.next()?.as_span().into();
            let name = inner.next()?;
            let name = Ident { text: name.as_str().to_string(), span: name.as_span().into() };
            let inputs = builder.params(inner.next()?);
            let outputs = builder.params(inner.next()?);
            let body_open = inner.next()?.as_span().into();
            let members = members_of(&mut builder, &mut inner);
            ChunkTree::WorkflowOpening(WorkflowOpening { keyword, name, inputs, outputs, body_open, members })
        }
        ChunkKind::WorkflowMembers => ChunkTree::WorkflowMembers(members_of(&mut builder, &mut chunk.into_inner())),
        ChunkKind::WorkflowClosing => {
            let mut inner = chunk.into_inner();
            let members = members_of(&mut builder, &mut inner);
            let body_close = inner.next().filter(|pair| pair.as_rule() == Rule::body_close)?.as_span().into();
            let items = items_of(&mut builder, inner);
            ChunkTree::WorkflowClosing { members, body_close, items }
        }
    };
    if builder.recovered_regions > 0 {
        return None;
    }
    Some(ParsedChunk { tree, diagnostics: builder.diagnostics })
}

fn items_of<'text>(builder: &mut TreeBuilder<'text>, pairs: impl Iterator<Item = Pair<'text, Rule>>) -> Vec<Item> {
    pairs.filter(|pair| pair.as_rule() != Rule::EOI).map(|pair| builder.item(pair)).collect()
}

/// The members at the front of `pairs` (left at the first pair that is not one).
fn members_of<'text>(builder: &mut TreeBuilder<'text>, pairs: &mut pest::iterators::Pairs<'text, Rule>) -> Vec<WorkflowMember> {
    let mut members = Vec::new();
    while pairs.peek().is_some_and(|pair| pair.as_rule() == Rule::workflow_member) {
        if let Some(pair) = pairs.next() {
            members.push(builder.workflow_member(pair));
        }
    }
    members
}

/// A workflow whose opening chunk has been seen and whose closing one has not.
struct WorkflowInProgress {
    keyword: Span,
    name: Ident,
    inputs: Vec<Param>,
    outputs: Vec<Param>,
    body_open: Span,
    members: Vec<WorkflowMember>,
}

/// The file's tree put together from its chunks, in order. `fits` turns false when
/// the chunks do not form a file (members outside a workflow, say); the splitter
/// never makes such a sequence, but the caller falls back to a whole parse if so.
pub struct ChunkedTree {
    items: Vec<Item>,
    diagnostics: Vec<SyntaxDiagnostic>,
    workflow: Option<WorkflowInProgress>,
    fits: bool,
}

impl Default for ChunkedTree {
    fn default() -> Self {
        ChunkedTree { items: Vec::new(), diagnostics: Vec::new(), workflow: None, fits: true }
    }
}

impl ChunkedTree {
    /// Add the chunk that starts at `offset`.
    pub fn add(&mut self, offset: usize, chunk: &ParsedChunk) {
        self.diagnostics.extend(chunk.diagnostics.iter().cloned().map(|mut diagnostic| {
            diagnostic.relocate(offset);
            diagnostic
        }));
        let moved = |items: &Vec<Item>| {
            let mut items = items.clone();
            items.relocate(offset);
            items
        };
        match &chunk.tree {
            ChunkTree::Items(items) if self.workflow.is_none() => self.items.extend(moved(items)),
            ChunkTree::WorkflowOpening(opening) if self.workflow.is_none() => {
                let mut opening = opening.clone();
                opening.relocate(offset);
                let WorkflowOpening { keyword, name, inputs, outputs, body_open, members } = opening;
                self.workflow = Some(WorkflowInProgress { keyword, name, inputs, outputs, body_open, members });
            }
            ChunkTree::WorkflowMembers(members) => match &mut self.workflow {
                Some(workflow) => {
                    let mut members = members.clone();
                    members.relocate(offset);
                    workflow.members.extend(members);
                }
                None => self.fits = false,
            },
            ChunkTree::WorkflowClosing { members, body_close, items } => match self.workflow.take() {
                Some(mut workflow) => {
                    let mut members = members.clone();
                    members.relocate(offset);
                    workflow.members.extend(members);
                    let mut body_close = *body_close;
                    body_close.relocate(offset);
                    self.items.push(Item::Workflow(WorkflowDecl {
                        name: workflow.name,
                        inputs: workflow.inputs,
                        outputs: workflow.outputs,
                        members: workflow.members,
                        body_span: Span::new(workflow.body_open.start, body_close.end),
                        span: Span::new(workflow.keyword.start, body_close.end),
                    }));
                    self.items.extend(moved(items));
                }
                None => self.fits = false,
            },
            _ => self.fits = false,
        }
    }

    /// The file's tree, or `None` if the chunks did not fit together.
    pub fn finish(self, text: &str, readable: &ReadableText) -> Option<ParsedFile> {
        if !self.fits || self.workflow.is_some() {
            return None;
        }
        Some(ParsedFile { items: self.items, comments: collect_comments(text), diagnostics: finish_diagnostics(self.diagnostics, readable) })
    }
}

/// The file's syntax diagnostics from its chunks alone (no tree is put together).
pub fn chunked_syntax_diagnostics<'chunk>(chunks: impl IntoIterator<Item = (usize, &'chunk ParsedChunk)>, readable: &ReadableText) -> Vec<SyntaxDiagnostic> {
    let mut diagnostics = Vec::new();
    for (offset, chunk) in chunks {
        diagnostics.extend(chunk.diagnostics.iter().cloned().map(|mut diagnostic| {
            diagnostic.relocate(offset);
            diagnostic
        }));
    }
    finish_diagnostics(diagnostics, readable)
}

/// The chunks of `text` (cut with groups of about `nodes_per_group` nodes), each
/// parsed, with its offset; `None` where the whole text must be parsed. Not cached:
/// the database's queries do this piece by piece; this is for tests and tools.
pub fn parse_chunks(text: &str, nodes_per_group: u64) -> Option<(ReadableText, Vec<(usize, ParsedChunk)>)> {
    let readable = readable_text(text).ok()?;
    let cuts = split_into_chunks_grouping(&text[..readable.end], nodes_per_group);
    if !chunk_kinds_fit(cuts.iter().map(|chunk| chunk.kind)) {
        return None;
    }
    let chunks = cuts.into_iter().map(|chunk| Some((chunk.start, parse_chunk(chunk.kind, &text[chunk.start..chunk.end])?))).collect::<Option<Vec<_>>>()?;
    Some((readable, chunks))
}

/// `parse_source`'s result put together from `parse_chunks`, or `None`.
pub fn parse_source_in_chunks(text: &str, nodes_per_group: u64) -> Option<ParsedFile> {
    let (readable, chunks) = parse_chunks(text, nodes_per_group)?;
    let mut tree = ChunkedTree::default();
    for (offset, chunk) in &chunks {
        tree.add(*offset, chunk);
    }
    tree.finish(text, &readable)
}

