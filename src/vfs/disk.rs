//! Where a path's contents come from when no editor buffer holds it: the standard
//! library embedded in the binary (`<std>/NAME.flow`), else the disk.

use std::path::{Path, PathBuf};

use super::source_file::FileStatus;
use crate::stdlib;

/// What the file layer found at a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileContents {
    pub status: FileStatus,
    pub text: String,
}

impl FileContents {
    pub fn missing() -> FileContents {
        FileContents { status: FileStatus::Missing, text: String::new() }
    }

    pub fn present(text: String) -> FileContents {
        FileContents { status: FileStatus::Exists, text }
    }
}

/// Read `path` now. A file that cannot be read as UTF-8 text counts as missing: no
/// query can use it, and the diagnostic that names the path says where to look.
pub fn read_contents(path: &Path) -> FileContents {
    if let Some(module) = stdlib::standard_module_name(path) {
        return match stdlib::standard_module(module) {
            Some(text) => FileContents::present(text.to_string()),
            None => FileContents::missing(),
        };
    }
    match std::fs::read_to_string(path) {
        Ok(text) => FileContents::present(text),
        Err(_) => FileContents::missing(),
    }
}

/// True for paths that exist only inside the binary (never watched, never re-read).
pub fn is_virtual(path: &Path) -> bool {
    stdlib::standard_module_name(path).is_some()
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
