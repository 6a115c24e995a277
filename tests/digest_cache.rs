//! The digest cache (src/vfs/digest_cache.rs): a model file's sha256 is remembered
//! while its size, times and inode stay the same, and recomputed as soon as any of
//! them changes — a touch, an in-place edit, or a replacement renamed into place with
//! the same size and the same modification time.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use flowc::vfs::digest_cache::{DigestCache, DigestSource};

fn folder(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("flowc-digest-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Writes `bytes` to `path` with the modification time `modified`.
fn write_dated(path: &Path, bytes: &[u8], modified: SystemTime) {
    std::fs::write(path, bytes).unwrap();
    std::fs::File::options().write(true).open(path).unwrap().set_modified(modified).unwrap();
}

/// Setting a time is a status change "now": wait until the file has settled (see
/// `SETTLE_TIME`), so the next digest may be remembered.
fn settle() {
    std::thread::sleep(flowc::vfs::digest_cache::SETTLE_TIME + Duration::from_millis(100));
}

#[test]
fn a_settled_file_is_hashed_once_and_again_after_a_touch() {
    let directory = folder("touch");
    let cache = DigestCache::new(directory.join("digests"));
    let model = directory.join("model.gguf");
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    write_dated(&model, b"GGUF weights, version one", an_hour_ago);
    settle();

    assert_eq!(cache.sha256(&model).unwrap(), (sha256(b"GGUF weights, version one"), DigestSource::Hashed));
    assert_eq!(cache.sha256(&model).unwrap(), (sha256(b"GGUF weights, version one"), DigestSource::Remembered));

    // A touch: same bytes, new time. Hashed again (same digest), then remembered.
    std::fs::File::options().write(true).open(&model).unwrap().set_modified(an_hour_ago + Duration::from_secs(1)).unwrap();
    settle();
    assert_eq!(cache.sha256(&model).unwrap(), (sha256(b"GGUF weights, version one"), DigestSource::Hashed));
    assert_eq!(cache.sha256(&model).unwrap().1, DigestSource::Remembered);

    // An in-place edit of the same size, with the old modification time put back:
    // the status-change time still moves.
    write_dated(&model, b"GGUF weights, version two", an_hour_ago + Duration::from_secs(1));
    assert_eq!(cache.sha256(&model).unwrap(), (sha256(b"GGUF weights, version two"), DigestSource::Hashed));
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn a_replacement_with_the_same_size_and_time_is_noticed_by_its_inode() {
    let directory = folder("replace");
    let cache = DigestCache::new(directory.join("digests"));
    let model = directory.join("model.gguf");
    let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    write_dated(&model, b"first download", modified);
    settle();
    assert_eq!(cache.sha256(&model).unwrap().1, DigestSource::Hashed);
    assert_eq!(cache.sha256(&model).unwrap().1, DigestSource::Remembered);

    // A new download: same size, same modification time, renamed over the old one.
    let partial = directory.join("model.gguf.part");
    write_dated(&partial, b"other download", modified);
    std::fs::rename(&partial, &model).unwrap();
    assert_eq!(cache.sha256(&model).unwrap(), (sha256(b"other download"), DigestSource::Hashed));
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn a_file_modified_just_now_is_not_remembered() {
    // Timestamps are coarse: a second write within the same tick would look the same.
    let directory = folder("racy");
    let cache = DigestCache::new(directory.join("digests"));
    let model = directory.join("model.gguf");
    std::fs::write(&model, b"still being written").unwrap();
    assert_eq!(cache.sha256(&model).unwrap().1, DigestSource::Hashed);
    assert_eq!(cache.sha256(&model).unwrap().1, DigestSource::Hashed);
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn the_cache_is_keyed_by_path_and_its_entries_are_whole_files() {
    let directory = folder("paths");
    let cache = DigestCache::new(directory.join("digests"));
    let modified = SystemTime::now() - Duration::from_secs(3600);
    let (first, second) = (directory.join("a.gguf"), directory.join("b.gguf"));
    write_dated(&first, b"alpha", modified);
    write_dated(&second, b"beta", modified);
    settle();
    assert_eq!(cache.sha256(&first).unwrap().0, sha256(b"alpha"));
    assert_eq!(cache.sha256(&second).unwrap().0, sha256(b"beta"));
    assert_eq!(cache.sha256(&first).unwrap(), (sha256(b"alpha"), DigestSource::Remembered));
    // Written by rename: no temporary file is left behind.
    let leftovers: Vec<_> = walk(&directory.join("digests")).into_iter().filter(|path| path.to_string_lossy().ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A missing file is an error, not a stale digest.
    std::fs::remove_file(&first).unwrap();
    assert!(cache.sha256(&first).is_err());
    let _ = std::fs::remove_dir_all(&directory);
}

fn walk(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
