//! The salsa input every query reads a file through.

use std::path::PathBuf;

/// Whether a path held a file the last time the file layer looked. A missing file is
/// an input like any other: a query that found nothing at a path depends on this
/// status, so the file appearing later re-runs exactly that query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileStatus {
    Exists,
    Missing,
}

/// One path of the workspace, on disk or in memory. `text` is empty while the file is
/// missing; its `status` says which.
#[salsa::input(debug)]
pub struct SourceFile {
    #[returns(ref)]
    pub path: PathBuf,
    #[returns(ref)]
    pub text: String,
    #[returns(copy)]
    pub status: FileStatus,
}
