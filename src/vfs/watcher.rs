//! The file watcher: the operating system's change notifications (inotify, FSEvents,
//! ReadDirectoryChanges through the `notify` crate), never polling.
//!
//! It watches the *folder* of every file it is given, not the file: a file that is
//! missing, deleted and created again, or replaced by an editor's rename-into-place
//! is seen only that way. Events are batched (a save is often several events) and
//! handed out as paths; the caller applies them to its database with
//! [`crate::semantic::FlowDatabase::apply_disk_changes`], which re-reads just those
//! paths and changes an input only if its bytes or existence changed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use super::file_table::absolute;

/// How long the watcher waits for more events after the first one of a batch: an
/// editor's save (write a temporary file, rename it over the original) arrives as a
/// burst, and one rebuild should see all of it.
pub const SETTLE_TIME: Duration = Duration::from_millis(50);
/// A batch ends after this even if events keep coming (a long copy into the folder).
const LONGEST_BATCH: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("the file watcher could not start: {0}")]
    Start(notify::Error),
    #[error("cannot watch {path}: {error}")]
    Watch { path: PathBuf, error: notify::Error },
    #[error("the file watcher failed: {0}")]
    Event(notify::Error),
    #[error("the file watcher stopped")]
    Stopped,
}

pub struct FileWatcher {
    watcher: RecommendedWatcher,
    events: Receiver<notify::Result<notify::Event>>,
    watched_folders: BTreeSet<PathBuf>,
}

impl FileWatcher {
    pub fn new() -> Result<FileWatcher, WatchError> {
        let (sender, events) = channel();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // The receiver is gone only when the watcher is being dropped.
            let _ = sender.send(event);
        })
        .map_err(WatchError::Start)?;
        Ok(FileWatcher { watcher, events, watched_folders: BTreeSet::new() })
    }

    /// Watch exactly what `files` needs: the folder of each (or, for a file whose
    /// folder does not exist yet, the nearest folder above it that does). Folders no
    /// longer needed are unwatched. Call again after each batch: the set of files a
    /// build reads changes with its imports.
    pub fn watch_files(&mut self, files: &[PathBuf]) -> Result<(), WatchError> {
        let wanted: BTreeSet<PathBuf> = files.iter().filter_map(|file| nearest_existing_folder(&absolute(file))).collect();
        for folder in self.watched_folders.difference(&wanted).cloned().collect::<Vec<_>>() {
            // A folder that was deleted is already unwatched by the system.
            let _ = self.watcher.unwatch(&folder);
            self.watched_folders.remove(&folder);
        }
        for folder in wanted {
            if self.watched_folders.contains(&folder) {
                continue;
            }
            self.watcher.watch(&folder, RecursiveMode::NonRecursive).map_err(|error| WatchError::Watch { path: folder.clone(), error })?;
            self.watched_folders.insert(folder);
        }
        Ok(())
    }

    /// The folders being watched now.
    pub fn watched_folders(&self) -> impl Iterator<Item = &Path> {
        self.watched_folders.iter().map(PathBuf::as_path)
    }

    /// Wait for the next batch of changes: the paths that were created, modified,
    /// removed or renamed (both names), deduplicated. `None` if `timeout` passed
    /// first; without a timeout, waits until something changes.
    pub fn next_changes(&self, timeout: Option<Duration>) -> Result<Option<Vec<PathBuf>>, WatchError> {
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        let mut changed: BTreeSet<PathBuf> = BTreeSet::new();
        // Wait for the first relevant event.
        loop {
            let event = match deadline {
                None => self.events.recv().map_err(|_| WatchError::Stopped)?,
                Some(deadline) => match self.events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(event) => event,
                    Err(RecvTimeoutError::Timeout) => return Ok(None),
                    Err(RecvTimeoutError::Disconnected) => return Err(WatchError::Stopped),
                },
            };
            collect(event?, &mut changed).map_err(WatchError::Event)?;
            if !changed.is_empty() {
                break;
            }
        }
        // Then take what else arrives until the folder is quiet.
        let batch_started = Instant::now();
        while batch_started.elapsed() < LONGEST_BATCH {
            match self.events.recv_timeout(SETTLE_TIME) {
                Ok(event) => collect(event?, &mut changed).map_err(WatchError::Event)?,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return Err(WatchError::Stopped),
            }
        }
        Ok(Some(changed.into_iter().collect()))
    }
}

impl From<notify::Error> for WatchError {
    fn from(error: notify::Error) -> WatchError {
        WatchError::Event(error)
    }
}

/// Add an event's paths, unless it only reports that a file was opened or read
/// (a build reading its own inputs must not wake the watcher).
fn collect(event: notify::Event, changed: &mut BTreeSet<PathBuf>) -> Result<(), notify::Error> {
    if matches!(event.kind, EventKind::Access(_)) {
        return Ok(());
    }
    changed.extend(event.paths.iter().map(|path| absolute(path)));
    Ok(())
}

fn nearest_existing_folder(file: &Path) -> Option<PathBuf> {
    let mut folder = file.parent()?;
    loop {
        if folder.is_dir() {
            return Some(folder.to_path_buf());
        }
        folder = folder.parent()?;
    }
}
