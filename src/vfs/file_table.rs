//! The file table: one salsa input per path, created on first use, and the set of
//! paths whose contents an editor holds (overlays, which win over the disk).
//!
//! The table is plain bookkeeping (path → input); every byte a query sees is in the
//! inputs themselves, so salsa knows exactly which queries read which file.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use salsa::Setter;

use super::disk::{is_virtual, normalize_path, read_contents, FileContents};
use super::source_file::{FileStatus, SourceFile};

#[derive(Default)]
struct Entries {
    files: HashMap<PathBuf, SourceFile>,
    overlays: BTreeSet<PathBuf>,
}

/// Shared by every clone of a database (salsa snapshots included).
#[derive(Clone, Default)]
pub struct FileTable {
    entries: Arc<Mutex<Entries>>,
}

impl FileTable {
    /// The input for `path`, reading it from disk the first time the path is asked
    /// for (a missing file gets an input too, with [`FileStatus::Missing`]).
    pub fn file(&self, db: &dyn salsa::Database, path: &Path) -> SourceFile {
        let path = normalize_path(path);
        let mut entries = self.entries.lock().expect("the file table is never poisoned");
        if let Some(file) = entries.files.get(&path) {
            return *file;
        }
        let contents = read_contents(&path);
        let file = SourceFile::new(db, path.clone(), contents.text, contents.status);
        entries.files.insert(path, file);
        file
    }

    /// The input for `path` if the table knows it, without reading anything.
    pub fn known(&self, path: &Path) -> Option<SourceFile> {
        self.entries.lock().expect("the file table is never poisoned").files.get(&normalize_path(path)).copied()
    }

    /// Every path on disk the table knows, present or missing: what a watcher must
    /// watch so that no input goes stale.
    pub fn disk_paths(&self) -> Vec<PathBuf> {
        let entries = self.entries.lock().expect("the file table is never poisoned");
        let mut paths: Vec<PathBuf> = entries.files.keys().filter(|path| !is_virtual(path)).cloned().collect();
        paths.sort();
        paths
    }

    pub fn is_overlay(&self, path: &Path) -> bool {
        self.entries.lock().expect("the file table is never poisoned").overlays.contains(&normalize_path(path))
    }

    /// Hold `text` for `path` in memory: the disk is not read for it again until
    /// [`FileTable::remove_overlay`].
    pub fn set_overlay<Db: salsa::Database>(&self, db: &mut Db, path: &Path, text: String) -> SourceFile {
        let path = normalize_path(path);
        let existing = {
            let mut entries = self.entries.lock().expect("the file table is never poisoned");
            entries.overlays.insert(path.clone());
            entries.files.get(&path).copied()
        };
        match existing {
            Some(file) => {
                update(db, file, FileContents::present(text));
                file
            }
            None => {
                let file = SourceFile::new(&*db, path.clone(), text, FileStatus::Exists);
                self.entries.lock().expect("the file table is never poisoned").files.insert(path, file);
                file
            }
        }
    }

    /// Forget the overlay of `path`: its contents come from the disk again.
    pub fn remove_overlay<Db: salsa::Database>(&self, db: &mut Db, path: &Path) -> Option<SourceFile> {
        let path = normalize_path(path);
        let file = {
            let mut entries = self.entries.lock().expect("the file table is never poisoned");
            entries.overlays.remove(&path);
            entries.files.get(&path).copied()
        }?;
        update(db, file, read_contents(&path));
        Some(file)
    }

    /// Re-read from disk every known file at or under one of `changed` (a watcher
    /// reports files and, for renames and deletions of folders, folders), skipping
    /// overlays. Returns the paths whose contents or existence really changed: an
    /// event that left the bytes as they were (a touch, our own lock write) changes
    /// no input and re-runs nothing.
    pub fn apply_disk_changes<Db: salsa::Database>(&self, db: &mut Db, changed: &[PathBuf]) -> Vec<PathBuf> {
        let changed: Vec<PathBuf> = changed.iter().map(|path| absolute(path)).collect();
        let candidates: Vec<(PathBuf, SourceFile)> = {
            let entries = self.entries.lock().expect("the file table is never poisoned");
            entries
                .files
                .iter()
                .filter(|(path, _)| !is_virtual(path) && !entries.overlays.contains(*path))
                .filter(|(path, _)| {
                    let known = absolute(path);
                    changed.iter().any(|changed| known.starts_with(changed))
                })
                .map(|(path, file)| (path.clone(), *file))
                .collect()
        };
        let mut updated = Vec::new();
        for (path, file) in candidates {
            if update(db, file, read_contents(&path)) {
                updated.push(path);
            }
        }
        updated.sort();
        updated
    }
}

/// Set the input's fields that differ from `contents`; true if any did. Unchanged
/// fields are not set, so salsa keeps every result that read them.
fn update<Db: salsa::Database>(db: &mut Db, file: SourceFile, contents: FileContents) -> bool {
    let mut changed = false;
    if file.status(&*db) != contents.status {
        file.set_status(db).to(contents.status);
        changed = true;
    }
    if *file.text(&*db) != contents.text {
        file.set_text(db).to(contents.text);
        changed = true;
    }
    changed
}

/// An absolute, lexically clean form of `path`, for comparing the table's paths (as
/// the user wrote them) with a watcher's (as the operating system reports them).
pub fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return normalize_path(path);
    }
    match std::env::current_dir() {
        Ok(directory) => normalize_path(&directory.join(path)),
        Err(_) => normalize_path(path),
    }
}
