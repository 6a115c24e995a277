//! The model-call cache: responses on disk, content-addressed by the full request.
//!
//! The key covers the model's identity (backend, file digest or endpoint and name)
//! and the whole request — every message, every decoding parameter (an unset
//! temperature and `temperature = 0` are different keys) and the output constraint.
//! Entries are written to a temporary file and renamed into place, so a crash never
//! leaves a half-written entry, and an interrupted run resumes from what finished.
//! API keys are not part of identities or requests, so they never reach the cache.
//!
//! With a remote cache (`super::remote_cache`, Bazel's HTTP protocol) the local cache
//! reads through: a local miss asks the remote, and a remote hit is kept locally;
//! every new entry goes to both, with the same key and the same bytes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::remote_cache::RemoteCache;
use serde::de::DeserializeOwned;

use crate::models::{ChatRequest, ChatResponse, ModelIdentity, ScoreRequest, ScoreResponse};
use crate::plan::fingerprint::sha256_hex;

/// Bumped when the layout of keys or entries changes.
const CACHE_FORMAT: &str = "flowc-call-cache/1";

#[derive(Clone, Debug)]
pub struct CallCache {
    directory: PathBuf,
    remote: Option<RemoteCache>,
}

#[derive(Serialize)]
struct KeyMaterial<'a> {
    format: &'static str,
    model: &'a ModelIdentity,
    request: &'a ChatRequest,
}

/// A reply score's key: its own field name, so no score key can equal a chat key.
#[derive(Serialize)]
struct ScoreKeyMaterial<'a> {
    format: &'static str,
    model: &'a ModelIdentity,
    score: &'a ScoreRequest,
}

#[derive(Serialize, Deserialize)]
struct Entry<Response> {
    key: String,
    response: Response,
}

impl CallCache {
    pub fn new(directory: impl Into<PathBuf>) -> CallCache {
        CallCache { directory: directory.into(), remote: None }
    }

    /// The same cache, reading through to (and writing to) `remote` as well.
    pub fn with_remote(mut self, remote: Option<RemoteCache>) -> CallCache {
        self.remote = remote;
        self
    }

    pub fn remote(&self) -> Option<&RemoteCache> {
        self.remote.as_ref()
    }

    /// `$XDG_CACHE_HOME/flowc/calls` (or `~/.cache/flowc/calls`).
    pub fn default_directory() -> PathBuf {
        crate::models::model_files::cache_home().join("flowc").join("calls")
    }

    pub fn directory(&self) -> &Path {
        &self.directory
    }

    pub fn key(model: &ModelIdentity, request: &ChatRequest) -> String {
        let material = serde_json::to_vec(&KeyMaterial { format: CACHE_FORMAT, model, request }).expect("requests serialise");
        sha256_hex(&material)
    }

    pub fn score_key(model: &ModelIdentity, request: &ScoreRequest) -> String {
        let material = serde_json::to_vec(&ScoreKeyMaterial { format: CACHE_FORMAT, model, score: request }).expect("requests serialise");
        sha256_hex(&material)
    }

    fn path_of(&self, key: &str) -> PathBuf {
        self.directory.join(&key[..2]).join(format!("{key}.json"))
    }

    pub fn get(&self, key: &str) -> Option<ChatResponse> {
        self.get_entry(key)
    }

    pub fn get_score(&self, key: &str) -> Option<ScoreResponse> {
        self.get_entry(key)
    }

    pub fn put_score(&self, key: &str, response: &ScoreResponse) -> std::io::Result<()> {
        self.put_entry(key, response)
    }

    fn get_entry<Response: DeserializeOwned>(&self, key: &str) -> Option<Response> {
        if let Some(response) = std::fs::read(self.path_of(key)).ok().and_then(|bytes| decode_entry(key, &bytes)) {
            return Some(response);
        }
        let remote = self.remote.as_ref()?;
        let bytes = remote.get(key)?;
        let response = decode_entry(key, &bytes)?;
        // Read-through: the next lookup is local. A local cache that cannot be
        // written costs a remote lookup next time, nothing else.
        let _ = self.write_local(key, &bytes);
        Some(response)
    }

    /// Store an entry locally (the error is the local cache's) and remotely (whose
    /// failures only warn, once, inside the remote cache).
    pub fn put(&self, key: &str, response: &ChatResponse) -> std::io::Result<()> {
        self.put_entry(key, response)
    }

    fn put_entry<Response: Serialize>(&self, key: &str, response: &Response) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(&Entry { key: key.to_string(), response }).expect("responses serialise");
        let local = self.write_local(key, &bytes);
        if let Some(remote) = &self.remote {
            remote.put(key, &bytes);
        }
        local
    }

    fn write_local(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path_of(key);
        let folder = path.parent().expect("entries live in a folder");
        std::fs::create_dir_all(folder)?;
        let temporary = folder.join(format!(".{key}.{}.tmp", std::process::id()));
        std::fs::write(&temporary, bytes)?;
        std::fs::rename(&temporary, &path)
    }

    /// Remove every entry; returns how many files were removed.
    pub fn clean(&self) -> std::io::Result<usize> {
        if !self.directory.exists() {
            return Ok(0);
        }
        let mut removed = 0;
        for shard in std::fs::read_dir(&self.directory)? {
            let shard = shard?.path();
            if shard.is_dir() {
                removed += std::fs::read_dir(&shard)?.count();
                std::fs::remove_dir_all(&shard)?;
            }
        }
        Ok(removed)
    }
}

/// An entry's response, if the bytes are an entry for `key` (a key in the file that
/// differs from its name is a miss, never another request's answer).
fn decode_entry<Response: DeserializeOwned>(key: &str, bytes: &[u8]) -> Option<Response> {
    let entry: Entry<Response> = serde_json::from_slice(bytes).ok()?;
    (entry.key == key).then_some(entry.response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{ChatMessage, DecodingParameters, OutputConstraint, Role};

    fn identity() -> ModelIdentity {
        ModelIdentity { backend: "gguf".into(), model: "m.gguf".into(), file_sha256: Some("ab".into()), endpoint: None }
    }

    fn request() -> ChatRequest {
        ChatRequest {
            messages: vec![ChatMessage { role: Role::User, content: "hi".into() }],
            decoding: DecodingParameters { temperature: Some(0.0), seed: Some(0), max_tokens: Some(16), ..Default::default() },
            constraint: OutputConstraint::None,
        }
    }

    #[test]
    fn every_decoding_parameter_changes_the_key() {
        let base = CallCache::key(&identity(), &request());
        let variants: Vec<Box<dyn Fn(&mut ChatRequest)>> = vec![
            Box::new(|r| r.decoding.temperature = None),
            Box::new(|r| r.decoding.temperature = Some(0.1)),
            Box::new(|r| r.decoding.seed = None),
            Box::new(|r| r.decoding.seed = Some(1)),
            Box::new(|r| r.decoding.max_tokens = Some(17)),
            Box::new(|r| r.decoding.top_p = Some(0.9)),
            Box::new(|r| r.decoding.top_k = Some(40)),
            Box::new(|r| r.decoding.repeat_penalty = Some(1.1)),
            Box::new(|r| r.messages[0].content.push('!')),
            Box::new(|r| r.messages[0].role = Role::System),
            Box::new(|r| r.constraint = OutputConstraint::Regex { pattern: "[0-9]+".into() }),
        ];
        for (index, change) in variants.iter().enumerate() {
            let mut changed = request();
            change(&mut changed);
            assert_ne!(CallCache::key(&identity(), &changed), base, "variant {index} kept the key");
        }
        let mut other_model = identity();
        other_model.file_sha256 = Some("cd".into());
        assert_ne!(CallCache::key(&other_model, &request()), base);
        assert_eq!(CallCache::key(&identity(), &request()), base, "keys are stable");
    }

    #[test]
    fn unset_temperature_differs_from_zero() {
        let mut unset = request();
        unset.decoding.temperature = None;
        assert_ne!(CallCache::key(&identity(), &unset), CallCache::key(&identity(), &request()));
    }

    #[test]
    fn stores_and_cleans_entries() {
        let directory = std::env::temp_dir().join(format!("flowc-cache-test-{}", std::process::id()));
        let cache = CallCache::new(&directory);
        let key = CallCache::key(&identity(), &request());
        assert!(cache.get(&key).is_none());
        let response = ChatResponse { text: "hello".into(), prompt_tokens: 3, completion_tokens: 1, ..Default::default() };
        cache.put(&key, &response).unwrap();
        assert_eq!(cache.get(&key), Some(response));
        let score_request = ScoreRequest { messages: request().messages, reply: "hi".into() };
        let score_key = CallCache::score_key(&identity(), &score_request);
        assert_ne!(score_key, key);
        assert!(cache.get_score(&score_key).is_none());
        let score = ScoreResponse { log_probability: -1.25, prompt_tokens: 3, reply_tokens: 1 };
        cache.put_score(&score_key, &score).unwrap();
        assert_eq!(cache.get_score(&score_key), Some(score));
        assert!(cache.get(&score_key).is_none(), "a score entry is not a chat response");
        assert_eq!(cache.clean().unwrap(), 2);
        assert!(cache.get(&key).is_none());
        let _ = std::fs::remove_dir_all(&directory);
    }
}
