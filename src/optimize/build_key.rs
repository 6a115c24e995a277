//! Build keys: when may `flowc build` reuse a node exactly as the lock has it?
//!
//! A node's key hashes its declaration (span-free, without upstream), the *final*
//! artefacts of the nodes it reads (their fingerprints in the plan being built), and
//! the settings fingerprint (optimize block, training data, teacher identity,
//! metric, teacher prompts, optimiser version). Keying on upstream *results*
//! rather than upstream *declarations* is the early cut-off: an edited upstream
//! node that re-converges to the same artefact leaves its dependents' keys as they
//! were.

use std::collections::BTreeMap;

use serde::Serialize;

use super::settings::OptimizeSettings;
use super::teacher::prompts_version;
use crate::plan::fingerprint::fingerprint_of;
use crate::plan::from_source::node_fingerprint;
use crate::plan::lock_file::{LockedEvaluation, LockedModel, LockedNode};
use crate::runtime::metric::Example;

/// Bumped when the optimiser's algorithm changes what it produces.
pub const OPTIMISER_VERSION: u32 = 8;

/// `validation` is in too: its figure is part of the lock, and a changed validation
/// set must not leave a stale figure behind (the rebuild costs cache hits only).
pub fn settings_fingerprint(settings: &OptimizeSettings, evaluation: &LockedEvaluation, examples: &[Example], validation: &[Example]) -> String {
    #[derive(Serialize)]
    struct SettingsFingerprint<'a> {
        settings: &'a OptimizeSettings,
        evaluation: &'a LockedEvaluation,
        examples: Vec<(&'a serde_json::Map<String, serde_json::Value>, &'a serde_json::Map<String, serde_json::Value>)>,
        validation: Vec<(&'a serde_json::Map<String, serde_json::Value>, &'a serde_json::Map<String, serde_json::Value>)>,
        prompts: String,
        optimiser_version: u32,
    }
    fingerprint_of(&SettingsFingerprint {
        settings,
        evaluation,
        examples: examples.iter().map(|example| (&example.inputs, &example.expected)).collect(),
        validation: validation.iter().map(|example| (&example.inputs, &example.expected)).collect(),
        prompts: prompts_version(),
        optimiser_version: OPTIMISER_VERSION,
    })
}

/// The key of `declared` (the node as written) given the final fingerprints of the
/// nodes it reads.
pub fn build_key(settings_fingerprint: &str, declared: &LockedNode, model: Option<&LockedModel>, upstream_finals: &BTreeMap<String, String>) -> String {
    #[derive(Serialize)]
    struct BuildKey<'a> {
        settings: &'a str,
        declaration: String,
        upstream: BTreeMap<&'a str, Option<&'a String>>,
    }
    fingerprint_of(&BuildKey {
        settings: settings_fingerprint,
        declaration: node_fingerprint(declared, model, &BTreeMap::new()),
        upstream: declared.reads.iter().map(|read| (read.as_str(), upstream_finals.get(read))).collect(),
    })
}
