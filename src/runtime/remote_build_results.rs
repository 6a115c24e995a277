//! Build results in the shared cache: the compiled workflow `flowc build` produced,
//! under a key of everything the build read — the workflow as written (its
//! fingerprint covers every artefact and each model's identity, file digests
//! included) and the settings fingerprint (the optimize block, the training and
//! validation examples, the metric, the teacher's identity and prompts, the
//! optimiser's version).
//!
//! A build that finds an entry hands it to the descent as the previous lock, so the
//! descent's own build keys decide what is reused: a stale or foreign entry can only
//! cost the nodes whose keys differ, never put a wrong artefact in the plan. With
//! the call cache (which makes a rebuild deterministic), a second clone pointed at
//! the shared cache reuses the whole workflow with no model call and no search.
//!
//! Only with a remote cache: locally, the lock next to the source is the build
//! result, and a deleted lock means "build it again".

use serde::Serialize;

use super::call_cache::CallCache;
use super::remote_cache::RemoteCache;
use crate::plan::fingerprint::sha256_hex;
use crate::plan::lock_file::LockedWorkflow;

/// Bumped when the key material or the stored form changes.
const BUILD_RESULT_FORMAT: &str = "flowc-build-result/1";

#[derive(Clone, Debug)]
pub struct RemoteBuildResults {
    remote: RemoteCache,
}

#[derive(Serialize)]
struct KeyMaterial<'a> {
    format: &'static str,
    workflow: &'a str,
    as_written_fingerprint: &'a str,
    settings_fingerprint: &'a str,
}

impl RemoteBuildResults {
    /// The build results of the remote cache the call cache reads through, if any.
    pub fn of(cache: Option<&CallCache>) -> Option<RemoteBuildResults> {
        Some(RemoteBuildResults { remote: cache?.remote()?.clone() })
    }

    pub fn key(workflow: &str, as_written_fingerprint: &str, settings_fingerprint: &str) -> String {
        let material = KeyMaterial { format: BUILD_RESULT_FORMAT, workflow, as_written_fingerprint, settings_fingerprint };
        sha256_hex(&serde_json::to_vec(&material).expect("key material serialises"))
    }

    /// The workflow a build with these inputs produced, if the cache has it and it is
    /// the named workflow.
    pub fn get(&self, key: &str, workflow: &str) -> Option<LockedWorkflow> {
        let bytes = self.remote.get(key)?;
        let text = String::from_utf8(bytes).ok()?;
        toml::from_str::<LockedWorkflow>(&text).ok().filter(|built| built.name == workflow)
    }

    /// Stored in the lock's own format (TOML: its literal values round-trip there).
    pub fn put(&self, key: &str, built: &LockedWorkflow) {
        if let Ok(text) = toml::to_string(built) {
            self.remote.put(key, text.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compiled_workflow_round_trips_through_the_stored_form() {
        let lock = crate::plan::LockFile::from_toml(include_str!("../../examples/gsm_hard/flow.lock")).expect("the committed lock reads");
        for workflow in &lock.workflows {
            let text = toml::to_string(workflow).unwrap();
            assert_eq!(&toml::from_str::<LockedWorkflow>(&text).unwrap(), workflow);
        }
    }
}
