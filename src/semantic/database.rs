//! The salsa database: source files are inputs; parse → lower → scope → analysis are
//! tracked queries.
//!
//! The layering is what makes edits cheap. A file is cut into chunks (top-level
//! items, and groups of nodes inside large workflows: `syntax::chunk_split`); each
//! chunk's text is interned, so `parse_chunk` and `lower_chunk` run again only for
//! the chunk an edit fell in. `file_chunks`, `lower_file` and `syntax_diagnostics`
//! re-run on every edit of a file (they hold spans) but only put the cached chunks
//! together; a file whose chunks do not all read cleanly (a syntax error) is parsed
//! and lowered whole, as `parse_source` and `lower_items` do, with the same result.
//! `item_hir` is the firewall: it returns one item's span-free HIR, so when an edit
//! leaves a declaration's meaning unchanged (a comment, whitespace, another item),
//! salsa sees an equal value and does not re-run `analyze_item` for it, nor anything
//! that depends on it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::analysis::{analyze, ItemAnalysis};
use super::check_workflow::{build_workflow_context, check_one_node, NodeCheck, WorkflowContext};
use super::hir::{ItemHir, ItemKind, NodeHir};
use super::lower::{lower_items, LoweredFile};
use super::lower_chunks::{lower_chunk as lower_one_chunk, ChunkedLowering, LoweredChunk};
use super::scope::{build_scope, FileScope};
use super::analysis::Checker;
use crate::sandbox::signature::{top_level_function, FunctionSignature};
use crate::syntax::chunk_parse::{chunked_syntax_diagnostics, parse_chunk as parse_one_chunk, ChunkedTree, ParsedChunk};
use crate::syntax::chunk_split::{chunk_kinds_fit, split_into_chunks, ChunkKind};
use crate::syntax::parse::{readable_text, ReadableText, SyntaxDiagnostic};
use crate::syntax::{parse_source, ParsedFile};
use crate::vfs::{FileStatus, FileTable};

/// Files are inputs of the file layer (`crate::vfs`); re-exported here, where the
/// queries that read them live.
pub use crate::vfs::{normalize_path, SourceFile};

/// An item of a file, by key (see [`super::lower::ItemKey`]).
#[salsa::interned(debug)]
pub struct ItemId<'db> {
    #[returns(copy)]
    pub file: SourceFile,
    #[returns(ref)]
    pub key: String,
}

#[salsa::db]
pub trait Db: salsa::Database {
    /// The file at `path` if it exists (an editor overlay, else the disk, read once
    /// and then kept current by `FlowDatabase::apply_disk_changes`); `None` if it
    /// does not. Either way the calling query depends on the path, so the file
    /// changing, appearing or disappearing re-runs it. Standard modules are found
    /// under `<std>/NAME.flow`.
    fn load_file(&self, path: &Path) -> Option<SourceFile>;
}

/// Called with the name of every query salsa executes (not those it reuses).
pub type ExecutionObserver = Arc<dyn Fn(&str) + Send + Sync>;

#[salsa::db]
#[derive(Clone)]
pub struct FlowDatabase {
    storage: salsa::Storage<Self>,
    files: FileTable,
}

impl Default for FlowDatabase {
    fn default() -> Self {
        FlowDatabase { storage: salsa::Storage::new(None), files: FileTable::default() }
    }
}

impl FlowDatabase {
    /// A database that reports each query execution to `observer` (tests and
    /// benchmarks count them to prove incrementality).
    pub fn with_execution_observer(observer: ExecutionObserver) -> Self {
        let callback = move |event: salsa::Event| {
            if let salsa::EventKind::WillExecute { database_key } = event.kind {
                observer(&format!("{database_key:?}"));
            }
        };
        FlowDatabase { storage: salsa::Storage::new(Some(Box::new(callback))), files: FileTable::default() }
    }

    /// Add (or replace the text of) a file held in memory, e.g. an editor buffer. The
    /// overlay wins over the disk until [`FlowDatabase::remove_file_overlay`].
    pub fn set_file_text(&mut self, path: &Path, text: String) -> SourceFile {
        let files = self.files.clone();
        files.set_overlay(self, path, text)
    }

    /// Drop the overlay of `path` (an editor closed the buffer): the disk's contents
    /// come back, or the file becomes missing. `None` if the path was never known.
    pub fn remove_file_overlay(&mut self, path: &Path) -> Option<SourceFile> {
        let files = self.files.clone();
        files.remove_overlay(self, path)
    }

    /// Re-read the known files at or under `paths` (what a watcher reported) and
    /// update the inputs whose bytes or existence changed; returns their paths.
    /// Overlays are left alone.
    pub fn apply_disk_changes(&mut self, paths: &[PathBuf]) -> Vec<PathBuf> {
        let files = self.files.clone();
        files.apply_disk_changes(self, paths)
    }

    /// Every disk path the database has read or looked for, missing ones included:
    /// what a watcher must watch.
    pub fn watched_paths(&self) -> Vec<PathBuf> {
        self.files.disk_paths()
    }
}

#[salsa::db]
impl salsa::Database for FlowDatabase {}

#[salsa::db]
impl Db for FlowDatabase {
    fn load_file(&self, path: &Path) -> Option<SourceFile> {
        let file = self.files.file(self, path);
        // Reading the status is what makes the caller depend on the path.
        (file.status(self) == FileStatus::Exists).then_some(file)
    }
}

/// A chunk of a file's text (`syntax::chunk_split`), interned: the same text of the
/// same kind is the same chunk wherever it sits, so its parse and lowering are reused.
#[salsa::interned(debug)]
pub struct SourceChunk<'db> {
    #[returns(copy)]
    pub kind: ChunkKind,
    #[returns(ref)]
    pub text: String,
}

/// A file cut into chunks that all read cleanly, with the offset of each.
#[derive(Clone, Debug, PartialEq, Eq, salsa::SalsaValue)]
pub struct FileChunks<'db> {
    pub readable: ReadableText,
    pub chunks: Vec<(usize, SourceChunk<'db>)>,
}

// `no_eq` here and below: these values hold spans or offsets, so they differ after
// nearly every edit; comparing a large file's old and new values (to find them
// equal) cost more than it ever saved. The firewall is `item_hir`, below.

/// The file's chunks, or `None` when it must be read whole: it nests too deep, or a
/// chunk does not read cleanly (most often a syntax error inside it).
#[salsa::tracked(returns(ref), no_eq)]
pub fn file_chunks<'db>(db: &'db dyn Db, file: SourceFile) -> Option<FileChunks<'db>> {
    let text = file.text(db);
    let readable = readable_text(text).ok()?;
    let cuts = split_into_chunks(&text[..readable.end]);
    if !chunk_kinds_fit(cuts.iter().map(|chunk| chunk.kind)) {
        return None;
    }
    let mut chunks = Vec::with_capacity(cuts.len());
    for cut in cuts {
        let chunk = SourceChunk::new(db, cut.kind, text[cut.start..cut.end].to_string());
        parse_chunk(db, chunk).as_ref()?;
        chunks.push((cut.start, chunk));
    }
    Some(FileChunks { readable, chunks })
}

/// One chunk's strict parse, offsets from its start (`None`: it does not read cleanly).
#[salsa::tracked(returns(ref), no_eq)]
pub fn parse_chunk<'db>(db: &'db dyn Db, chunk: SourceChunk<'db>) -> Option<ParsedChunk> {
    parse_one_chunk(chunk.kind(db), chunk.text(db))
}

/// A chunk and the id of its first workflow anchor: what its lowering depends on.
#[salsa::interned(debug)]
pub struct ChunkAtAnchor<'db> {
    #[returns(copy)]
    pub chunk: SourceChunk<'db>,
    #[returns(copy)]
    pub anchor_base: u32,
}

#[salsa::tracked(returns(ref), no_eq)]
pub fn lower_chunk<'db>(db: &'db dyn Db, at: ChunkAtAnchor<'db>) -> LoweredChunk {
    match parse_chunk(db, at.chunk(db)) {
        Some(parsed) => lower_one_chunk(parsed, at.anchor_base(db)),
        None => LoweredChunk { workflow_part: None, items: Vec::new() },
    }
}

/// The file's syntax tree: its chunks' trees put together, or the whole text parsed.
/// Only the editor features need the tree; checking reads `lower_file` and
/// `syntax_diagnostics`.
#[salsa::tracked(returns(ref), no_eq)]
pub fn parse_file(db: &dyn Db, file: SourceFile) -> ParsedFile {
    if let Some(chunks) = file_chunks(db, file) {
        let mut tree = ChunkedTree::default();
        for (offset, chunk) in &chunks.chunks {
            if let Some(parsed) = parse_chunk(db, *chunk) {
                tree.add(*offset, parsed);
            }
        }
        if let Some(parsed) = tree.finish(file.text(db), &chunks.readable) {
            return parsed;
        }
    }
    parse_source(file.text(db))
}

/// The file's syntax diagnostics (as `parse_file`'s), without putting a tree together.
#[salsa::tracked(returns(ref), no_eq)]
pub fn syntax_diagnostics(db: &dyn Db, file: SourceFile) -> Vec<SyntaxDiagnostic> {
    match file_chunks(db, file) {
        Some(chunks) => chunked_syntax_diagnostics(
            chunks.chunks.iter().filter_map(|(offset, chunk)| parse_chunk(db, *chunk).as_ref().map(|parsed| (*offset, parsed))),
            &chunks.readable,
        ),
        None => parse_file(db, file).diagnostics.clone(),
    }
}

#[salsa::tracked(returns(ref), no_eq)]
pub fn lower_file(db: &dyn Db, file: SourceFile) -> LoweredFile {
    if let Some(chunks) = file_chunks(db, file) {
        let mut lowering = ChunkedLowering::default();
        for (offset, chunk) in &chunks.chunks {
            let at = ChunkAtAnchor::new(db, *chunk, lowering.next_anchor_base());
            lowering.add(*offset, lower_chunk(db, at));
        }
        if let Some(lowered) = lowering.finish() {
            return lowered;
        }
    }
    lower_items(&parse_file(db, file).items)
}

/// The keys and kinds of a file's items, in order: span-free, so importers and the
/// scope do not re-run when a file's text moves.
#[salsa::tracked(returns(ref))]
pub fn item_keys(db: &dyn Db, file: SourceFile) -> Vec<(String, ItemKind)> {
    lower_file(db, file).items.iter().map(|item| (item.key.clone(), item.hir.kind())).collect()
}

/// The firewall: one item's span-free HIR.
#[salsa::tracked(returns(clone))]
pub fn item_hir<'db>(db: &'db dyn Db, item: ItemId<'db>) -> Option<Arc<ItemHir>> {
    lower_file(db, item.file(db)).item(item.key(db)).map(|lowered| lowered.hir.clone())
}

/// The names visible in a file: its own declarations and its imports.
#[salsa::tracked(returns(ref))]
pub fn file_scope(db: &dyn Db, file: SourceFile) -> FileScope {
    build_scope(db, file)
}

/// Every check of one item; for a workflow also its typed graph.
#[salsa::tracked(returns(ref))]
pub fn analyze_item<'db>(db: &'db dyn Db, item: ItemId<'db>) -> ItemAnalysis {
    analyze(db, item.file(db), item.key(db))
}

/// A node of a workflow item, by position.
#[salsa::interned(debug)]
pub struct NodeId<'db> {
    #[returns(copy)]
    pub workflow: ItemId<'db>,
    #[returns(copy)]
    pub position: usize,
}

/// The second firewall, inside a workflow: one node's span-free HIR. An edit inside a
/// node (that adds or removes no anchor before the others) leaves every other node's
/// value equal, so their checks are reused.
#[salsa::tracked(returns(clone))]
pub fn node_hir<'db>(db: &'db dyn Db, node: NodeId<'db>) -> Option<Arc<NodeHir>> {
    let hir = item_hir(db, node.workflow(db))?;
    let ItemHir::Workflow(workflow) = &*hir else { return None };
    workflow.nodes.get(node.position(db)).cloned()
}

/// What every node of a workflow is checked against (signature, node names and
/// output types), with the diagnostics of that part; `None` for other items.
#[salsa::tracked(returns(ref))]
pub fn workflow_context<'db>(db: &'db dyn Db, workflow: ItemId<'db>) -> Option<WorkflowContext> {
    let hir = item_hir(db, workflow)?;
    let ItemHir::Workflow(declaration) = &*hir else { return None };
    let mut checker = Checker::new(db, workflow.file(db), workflow.key(db));
    Some(build_workflow_context(&mut checker, declaration))
}

/// Every check of one node: diagnostics, the references it makes (the edges), its
/// graph node. Collected by `analyze_item` for the workflow.
#[salsa::tracked(returns(ref))]
pub fn analyze_node<'db>(db: &'db dyn Db, node: NodeId<'db>) -> Option<NodeCheck> {
    let workflow = node.workflow(db);
    let (Some(hir), Some(context)) = (node_hir(db, node), workflow_context(db, workflow)) else { return None };
    let mut checker = Checker::new(db, workflow.file(db), workflow.key(db));
    Some(check_one_node(&mut checker, context, node.position(db), &hir))
}

/// The text of a code node's `source`, interned: its `run` signature is read once
/// per distinct text (starlark's parser is the costliest part of checking a node).
#[salsa::interned(debug)]
pub struct CodeText<'db> {
    #[returns(ref)]
    pub text: String,
}

#[salsa::tracked(returns(ref))]
pub fn code_run_signature<'db>(db: &'db dyn Db, code: CodeText<'db>) -> FunctionSignature {
    top_level_function(code.text(db), "run")
}
