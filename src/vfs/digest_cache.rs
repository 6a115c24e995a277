//! The digest cache: the sha256 of a large file (a GGUF model is 0.1–1.1 GB),
//! remembered by what the file system says about it, as cargo's fingerprints and
//! Bazel's digest cache do, so that a no-op build does not re-read gigabytes.
//!
//! An entry is keyed by the file's absolute path and records its size, modification
//! and status-change times (nanoseconds), inode and device; it is used only if every
//! one of them is unchanged. Replacing the file (a download renamed into place, even
//! of the same size and modification time) changes the inode; editing it in place
//! changes the times. A file modified less than [`SETTLE_TIME`] before it was hashed
//! is not recorded: timestamps are coarse (a few milliseconds), and a second write
//! within the same tick would otherwise go unseen (git's "racily clean" entries).
//! A file copied or touched a moment ago is therefore hashed until it is a second old.
//!
//! Entries live in `$XDG_CACHE_HOME/flowc/digests` (one small JSON file per path,
//! written to a temporary file and renamed into place). A cache that cannot be read
//! or written only costs the hashing.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bumped when the layout of entries changes.
const DIGEST_CACHE_FORMAT: &str = "flowc-digest-cache/1";

/// How old a file's last modification (and status change) must be before its
/// digest is remembered: far above the file system's timestamp tick.
pub const SETTLE_TIME: Duration = Duration::from_secs(1);

/// What the file system says about a file: the key of an entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub size: u64,
    pub modified_ns: i128,
    pub changed_ns: i128,
    pub inode: u64,
    pub device: u64,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    format: String,
    path: PathBuf,
    stamp: FileStamp,
    sha256: String,
}

/// Where a digest came from (tests and benchmarks check that the cache works).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestSource {
    /// The entry matched: the file was not read.
    Remembered,
    /// The file was read and hashed.
    Hashed,
}

#[derive(Clone, Debug)]
pub struct DigestCache {
    directory: PathBuf,
}

impl DigestCache {
    pub fn new(directory: impl Into<PathBuf>) -> DigestCache {
        DigestCache { directory: directory.into() }
    }

    /// `$XDG_CACHE_HOME/flowc/digests` (or `~/.cache/flowc/digests`).
    pub fn default_directory() -> PathBuf {
        crate::models::model_files::cache_home().join("flowc").join("digests")
    }

    pub fn at_default_directory() -> DigestCache {
        DigestCache::new(DigestCache::default_directory())
    }

    /// The sha256 (hex) of the file at `path`, from the cache when the file is
    /// unchanged, else by reading it (and remembering the result).
    pub fn sha256(&self, path: &Path) -> std::io::Result<(String, DigestSource)> {
        let path = crate::vfs::file_table::absolute(path);
        let before = stamp(&path)?;
        let entry_path = self.entry_path(&path);
        if let Some(entry) = read_entry(&entry_path) {
            if entry.format == DIGEST_CACHE_FORMAT && entry.path == path && entry.stamp == before {
                return Ok((entry.sha256, DigestSource::Remembered));
            }
        }
        let digest = hash_file(&path)?;
        // Remember it only if the file did not change while it was read and has
        // settled (see the module documentation).
        let after = stamp(&path)?;
        if after == before && is_settled(&after) {
            let entry = Entry { format: DIGEST_CACHE_FORMAT.to_string(), path: path.clone(), stamp: after, sha256: digest.clone() };
            // A cache that cannot be written costs the hashing next time, nothing else.
            let _ = write_entry(&entry_path, &entry);
        }
        Ok((digest, DigestSource::Hashed))
    }

    /// The remembered sha256 of the file at `path` if the file is unchanged since,
    /// without reading the file.
    pub fn remembered(&self, path: &Path) -> Option<String> {
        let path = crate::vfs::file_table::absolute(path);
        let now = stamp(&path).ok()?;
        let entry = read_entry(&self.entry_path(&path))?;
        (entry.format == DIGEST_CACHE_FORMAT && entry.path == path && entry.stamp == now).then_some(entry.sha256)
    }

    fn entry_path(&self, path: &Path) -> PathBuf {
        let key: String = Sha256::digest(path.as_os_str().as_encoded_bytes()).iter().map(|byte| format!("{byte:02x}")).collect();
        self.directory.join(&key[..2]).join(format!("{key}.json"))
    }
}

/// The sha256 of a file through the default digest cache.
pub fn cached_file_sha256(path: &Path) -> std::io::Result<String> {
    DigestCache::at_default_directory().sha256(path).map(|(digest, _)| digest)
}

pub fn stamp(path: &Path) -> std::io::Result<FileStamp> {
    let metadata = std::fs::metadata(path)?;
    Ok(stamp_of(&metadata))
}

#[cfg(unix)]
fn stamp_of(metadata: &std::fs::Metadata) -> FileStamp {
    use std::os::unix::fs::MetadataExt;
    FileStamp {
        size: metadata.size(),
        modified_ns: i128::from(metadata.mtime()) * 1_000_000_000 + i128::from(metadata.mtime_nsec()),
        changed_ns: i128::from(metadata.ctime()) * 1_000_000_000 + i128::from(metadata.ctime_nsec()),
        inode: metadata.ino(),
        device: metadata.dev(),
    }
}

#[cfg(not(unix))]
fn stamp_of(metadata: &std::fs::Metadata) -> FileStamp {
    let nanos = |time: std::io::Result<SystemTime>| {
        time.ok().and_then(|time| time.duration_since(SystemTime::UNIX_EPOCH).ok()).map(|since| since.as_nanos() as i128).unwrap_or(-1)
    };
    FileStamp { size: metadata.len(), modified_ns: nanos(metadata.modified()), changed_ns: nanos(metadata.created()), inode: 0, device: 0 }
}

fn is_settled(stamp: &FileStamp) -> bool {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|since| since.as_nanos() as i128).unwrap_or(0);
    let settle = SETTLE_TIME.as_nanos() as i128;
    now - stamp.modified_ns >= settle && now - stamp.changed_ns >= settle
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect())
}

fn read_entry(path: &Path) -> Option<Entry> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn write_entry(path: &Path, entry: &Entry) -> std::io::Result<()> {
    // One temporary name per writer (process and call), so that two threads
    // remembering the same file never write into each other's temporary file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let folder = path.parent().expect("entries live in a folder");
    std::fs::create_dir_all(folder)?;
    let write = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temporary = folder.join(format!(".{}.{}.{write}.tmp", path.file_name().and_then(|name| name.to_str()).unwrap_or("entry"), std::process::id()));
    std::fs::write(&temporary, serde_json::to_vec(entry).expect("entries serialise"))?;
    std::fs::rename(&temporary, path)
}
