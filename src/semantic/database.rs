//! The salsa database: source files are inputs; parse → lower → scope → analysis are
//! tracked queries.
//!
//! The layering is what makes edits cheap. `parse_file` and `lower_file` re-run on
//! every edit of a file (they hold spans). `item_hir` is the firewall: it returns one
//! item's span-free HIR, so when an edit leaves a declaration's meaning unchanged
//! (a comment, whitespace, another item), salsa sees an equal value and does not
//! re-run `analyze_item` for it, nor anything that depends on it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::analysis::{analyze, ItemAnalysis};
use super::hir::{ItemHir, ItemKind};
use super::lower::{lower_items, LoweredFile};
use super::scope::{build_scope, FileScope};
use crate::stdlib;
use crate::syntax::{parse_source, ParsedFile};

#[salsa::input(debug)]
pub struct SourceFile {
    #[returns(ref)]
    pub path: PathBuf,
    #[returns(ref)]
    pub text: String,
}

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
    /// The source file at `path`, loaded on first use; `None` if it cannot be read.
    /// Standard modules are found under `<std>/NAME.flow`.
    fn load_file(&self, path: &Path) -> Option<SourceFile>;
}

/// Called with the name of every query salsa executes (not those it reuses).
pub type ExecutionObserver = Arc<dyn Fn(&str) + Send + Sync>;

#[salsa::db]
#[derive(Clone)]
pub struct FlowDatabase {
    storage: salsa::Storage<Self>,
    files: Arc<Mutex<HashMap<PathBuf, Option<SourceFile>>>>,
}

impl Default for FlowDatabase {
    fn default() -> Self {
        FlowDatabase { storage: salsa::Storage::new(None), files: Default::default() }
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
        FlowDatabase { storage: salsa::Storage::new(Some(Box::new(callback))), files: Default::default() }
    }

    /// Add (or replace the text of) a file held in memory, e.g. an editor buffer.
    pub fn set_file_text(&mut self, path: &Path, text: String) -> SourceFile {
        use salsa::Setter;
        let path = normalize_path(path);
        let existing = self.files.lock().expect("file table").get(&path).copied().flatten();
        match existing {
            Some(file) => {
                if file.text(self) != &text {
                    file.set_text(self).to(text);
                }
                file
            }
            None => {
                let file = SourceFile::new(self, path.clone(), text);
                self.files.lock().expect("file table").insert(path, Some(file));
                file
            }
        }
    }
}

#[salsa::db]
impl salsa::Database for FlowDatabase {}

#[salsa::db]
impl Db for FlowDatabase {
    fn load_file(&self, path: &Path) -> Option<SourceFile> {
        let path = normalize_path(path);
        if let Some(known) = self.files.lock().expect("file table").get(&path) {
            return *known;
        }
        let text = match stdlib::standard_module_name(&path) {
            Some(module) => stdlib::standard_module(module).map(str::to_string),
            None => std::fs::read_to_string(&path).ok(),
        };
        let file = text.map(|text| SourceFile::new(self, path.clone(), text));
        self.files.lock().expect("file table").insert(path, file);
        file
    }
}

/// Lexically clean a path (`a/./b/../c` → `a/c`) so one file has one key.
pub fn normalize_path(path: &Path) -> PathBuf {
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !normalized.pop() {
                    normalized.push("..");
                }
            }
            other => normalized.push(other.as_os_str()),
        }
    }
    normalized
}

#[salsa::tracked(returns(ref))]
pub fn parse_file(db: &dyn Db, file: SourceFile) -> ParsedFile {
    parse_source(file.text(db))
}

#[salsa::tracked(returns(ref))]
pub fn lower_file(db: &dyn Db, file: SourceFile) -> LoweredFile {
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
