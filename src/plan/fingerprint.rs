//! Fingerprints: sha256 over a canonical JSON encoding of span-free data.
//!
//! serde_json writes struct fields in declaration order and BTreeMaps sorted, so the
//! encoding of a value is canonical; spans never reach the hashed data, so comments
//! and formatting never change a fingerprint.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Changes whenever what a fingerprint covers changes, so that plans written by an
/// older flowc are seen as stale rather than trusted.
pub const FINGERPRINT_VERSION: &str = "flowc-plan-fingerprint/1";

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub fn fingerprint_of<T: Serialize>(value: &T) -> String {
    #[derive(Serialize)]
    struct Versioned<'a, T> {
        version: &'static str,
        value: &'a T,
    }
    let encoded = serde_json::to_vec(&Versioned { version: FINGERPRINT_VERSION, value }).expect("fingerprinted data serialises");
    sha256_hex(&encoded)
}

type DigestKey = (std::path::PathBuf, u64, Option<std::time::SystemTime>);

fn digest_table() -> &'static std::sync::Mutex<std::collections::HashMap<DigestKey, String>> {
    static DIGESTS: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<DigestKey, String>>> = std::sync::OnceLock::new();
    DIGESTS.get_or_init(Default::default)
}

fn digest_key(path: &std::path::Path) -> std::io::Result<DigestKey> {
    let metadata = std::fs::metadata(path)?;
    Ok((path.to_path_buf(), metadata.len(), metadata.modified().ok()))
}

/// The digest `file_sha256` remembers for the file as it is now, without reading it.
pub fn cached_file_sha256(path: &std::path::Path) -> Option<String> {
    let key = digest_key(path).ok()?;
    digest_table().lock().expect("digest table").get(&key).cloned()
}

/// sha256 of a file, streamed; remembered per process while the file's size and
/// modification time stay the same, because a long-lived caller (the language
/// server) re-plans on every hover and a 1 GB model file takes seconds to hash.
pub fn file_sha256(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let key = digest_key(path)?;
    if let Some(digest) = digest_table().lock().expect("digest table").get(&key) {
        return Ok(digest.clone());
    }
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
    let digest: String = hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect();
    // Only a file with a modification time is remembered: without one a rewrite
    // of the same size could not be told apart.
    if key.2.is_some() {
        digest_table().lock().expect("digest table").insert(key, digest.clone());
    }
    Ok(digest)
}
