//! The file layer: every file a query reads — sources, imports, datasets, the lock —
//! is a salsa input held here, as rust-analyzer's `vfs` and ty's `System` do.
//!
//! - [`source_file`]: the input, `SourceFile { path, text, status }`. A path that held
//!   no file is an input too (`FileStatus::Missing`), so "the import is missing" is
//!   a result that depends on the path, and the file appearing re-runs it.
//! - [`file_table`]: path → input, created on first use by reading [`disk`]; the
//!   overlays (editor buffers) that win over the disk.
//! - [`disk`]: where contents come from (the embedded standard library, else the
//!   disk) and the one normalisation of paths.
//! - [`watcher`]: `notify`-based change notifications for the folders of the files
//!   the table knows (missing ones included); never polling.
//! - [`digest_cache`]: sha256 of large files (models) remembered by path, size,
//!   modification time and inode, so a no-op build does not re-hash gigabytes.
//!
//! ## Using it (the CLI's `build --watch`, the language server)
//!
//! The database ([`crate::semantic::FlowDatabase`]) owns a [`file_table::FileTable`]:
//!
//! - `db.load_file(path)` (the [`crate::semantic::database::Db`] trait) returns the
//!   file if it exists, else `None`; either way the calling query now depends on it.
//! - `db.set_file_text(path, text)` sets an overlay (an open editor buffer): it wins
//!   over the disk until `db.remove_file_overlay(path)`, which reads the disk again
//!   (the buffer was closed; a file deleted meanwhile becomes missing).
//! - `db.apply_disk_changes(&paths)` re-reads the given files (and files under the
//!   given folders) that are not overlays and returns those whose bytes or existence
//!   changed; nothing else is invalidated.
//! - `db.watched_paths()` lists every disk path the table knows; give it to
//!   [`watcher::FileWatcher::watch_files`] after each batch, and feed what
//!   [`watcher::FileWatcher::next_changes`] returns to `apply_disk_changes`. The
//!   language server runs that loop on a thread of its own and turns changed paths
//!   into fresh diagnostics; `flowc build --watch` rebuilds (src/cli/build.rs).

pub mod digest_cache;
pub mod disk;
pub mod file_table;
pub mod source_file;
pub mod watcher;

pub use disk::normalize_path;
pub use file_table::FileTable;
pub use source_file::{FileStatus, SourceFile};
pub use watcher::{FileWatcher, WatchError};
