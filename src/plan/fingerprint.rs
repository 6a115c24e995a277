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

/// sha256 of a file, through the digest cache (`crate::vfs::digest_cache`): a file
/// whose size, times and inode are unchanged is not read again.
pub fn file_sha256(path: &std::path::Path) -> std::io::Result<String> {
    crate::vfs::digest_cache::cached_file_sha256(path)
}

/// The digest the digest cache holds for the file as it is now, without reading the
/// file: `None` when it would have to be hashed (the language server never hashes a
/// 1 GB model while it holds a snapshot; it warms the cache in the background).
pub fn cached_file_sha256(path: &std::path::Path) -> Option<String> {
    crate::vfs::digest_cache::DigestCache::at_default_directory().remembered(path)
}
