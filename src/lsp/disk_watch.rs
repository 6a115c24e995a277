//! What changes on disk behind the editor's back: the lock beside an open file
//! (rewritten by `flowc build`, or by the `flowc.build` command of the code lens),
//! imported files and datasets edited elsewhere. The server watches the folders of
//! what it reads with the file layer's watcher (`crate::vfs::watcher`): clients that
//! send `workspace/didChangeWatchedFiles` are not needed for it (Neovim 0.7 sends none).
//!
//! One thread owns the watcher. It is told what to watch over a channel and reports
//! batches of changed paths, and model digests becoming known, as [`ServerEvent`]s;
//! it ends when the server drops its end of either channel.

use std::path::PathBuf;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::vfs::watcher::FileWatcher;

/// What the server's loop hears besides the client.
#[derive(Debug)]
pub enum ServerEvent {
    /// Paths created, modified, removed or renamed on disk.
    DiskChanged(Vec<PathBuf>),
    /// A model file's digest finished hashing: plan status (code lens, hover) can
    /// now be told.
    DigestsKnown,
}

/// How long the watcher thread waits for changes before it looks for a new list
/// of files to watch.
const POLL_FOR_NEW_FILES: Duration = Duration::from_millis(200);

/// Start the watcher thread. Send it the files to watch (the whole list each time);
/// changes come back on `events`. `None` when the system has no watcher to give
/// (the server then relies on the client's `didChangeWatchedFiles`).
pub fn start_disk_watch(events: Sender<ServerEvent>) -> Option<Sender<Vec<PathBuf>>> {
    let mut watcher = match FileWatcher::new() {
        Ok(watcher) => watcher,
        Err(error) => {
            eprintln!("flowc lsp: {error}; changes on disk are seen only when the editor reports them");
            return None;
        }
    };
    let (files_sender, files): (Sender<Vec<PathBuf>>, Receiver<Vec<PathBuf>>) = crossbeam_channel::unbounded();
    let started = std::thread::Builder::new().name("flowc-lsp disk watch".into()).spawn(move || loop {
        // Only the newest list matters.
        let mut newest = None;
        loop {
            match files.try_recv() {
                Ok(list) => newest = Some(list),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        if let Some(list) = newest {
            if let Err(error) = watcher.watch_files(&list) {
                eprintln!("flowc lsp: {error}");
            }
        }
        match watcher.next_changes(Some(POLL_FOR_NEW_FILES)) {
            Ok(Some(changed)) => {
                if events.send(ServerEvent::DiskChanged(changed)).is_err() {
                    return;
                }
            }
            Ok(None) => {}
            Err(error) => {
                eprintln!("flowc lsp: {error}; changes on disk are seen only when the editor reports them");
                return;
            }
        }
    });
    match started {
        Ok(_) => Some(files_sender),
        Err(error) => {
            eprintln!("flowc lsp: cannot start the disk watcher: {error}");
            None
        }
    }
}
