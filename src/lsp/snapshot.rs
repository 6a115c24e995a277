//! What a request runs against: a clone of the database (a salsa snapshot) and the
//! open documents as they were when the request arrived.
//!
//! A newer edit cancels the snapshot: salsa makes every query of it unwind with
//! `salsa::Cancelled`, and the edit waits until each worker has dropped its snapshot,
//! so no answer is ever computed from text the editor no longer has.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lsp_types::Uri;

use super::symbol_index::{file_index, FileIndex};
use super::workspace::{DocumentText, FileLayer, OpenDocuments, PathMapping};
use crate::semantic::database::{Db, FlowDatabase, SourceFile};

pub struct Snapshot {
    pub database: FlowDatabase,
    pub documents: Arc<OpenDocuments>,
    pub paths: PathMapping,
    /// The edit generation the snapshot was taken at, and the live counter.
    pub generation: u64,
    pub current_generation: Arc<AtomicU64>,
}

/// Why a request got no result.
#[derive(Debug)]
pub enum RequestFailure {
    /// The request names something that is not there (an unknown document, say).
    InvalidParams(String),
    /// The request is refused with a message for the user (a rename that collides).
    Refused(String),
}

pub type RequestResult<T> = Result<T, RequestFailure>;

/// One file as a request sees it.
pub struct FileView {
    pub path: PathBuf,
    pub file: SourceFile,
    pub contents: DocumentText,
}

impl Snapshot {
    pub fn db(&self) -> &dyn Db {
        &self.database
    }

    /// Whether an edit arrived after this snapshot was taken.
    pub fn is_outdated(&self) -> bool {
        self.current_generation.load(Ordering::SeqCst) != self.generation
    }

    pub fn path_of(&self, uri: &Uri) -> RequestResult<PathBuf> {
        self.paths.path_of_uri(uri).ok_or_else(|| RequestFailure::InvalidParams(format!("not a file URI: {}", uri.as_str())))
    }

    pub fn uri_of(&self, path: &Path) -> Option<Uri> {
        self.paths.uri_of_path(path)
    }

    /// A file by URI: the open buffer if there is one, the disk otherwise.
    pub fn file_of_uri(&self, uri: &Uri) -> RequestResult<FileView> {
        let path = self.path_of(uri)?;
        self.file_at(&path).ok_or_else(|| RequestFailure::InvalidParams(format!("cannot read {}", path.display())))
    }

    pub fn file_at(&self, path: &Path) -> Option<FileView> {
        let file = FileLayer::file(self.db(), path)?;
        let contents = match self.documents.get(path) {
            // The buffer's line index is already built; its text is the database's.
            Some(document) => document.contents.clone(),
            None => DocumentText::new(file.text(self.db()).clone()),
        };
        Some(FileView { path: path.to_path_buf(), file, contents })
    }

    pub fn index(&self, view: &FileView) -> &FileIndex {
        file_index(self.db(), view.file)
    }

    /// The files a workspace-wide question looks at: every open buffer, and the
    /// standard modules and files they import (the workspace the editor shows).
    pub fn workspace_files(&self) -> Vec<PathBuf> {
        let mut paths = self.documents.paths();
        let mut index = 0;
        while index < paths.len() && paths.len() < 512 {
            if let Some(view) = self.file_at(&paths[index].clone()) {
                for link in &self.index(&view).imports {
                    if !paths.contains(&link.target) {
                        paths.push(link.target.clone());
                    }
                }
            }
            index += 1;
        }
        paths
    }
}
