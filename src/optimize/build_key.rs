//! Build keys: when may `flowc build` reuse a node exactly as the lock has it?
//!
//! A node's key hashes its declaration (span-free, without upstream), the *final*
//! artefacts of the nodes it reads (their fingerprints in the plan being built), and
//! the settings fingerprint (optimize block, training data, teacher identity,
//! metric, teacher prompts, optimiser version). Keying on upstream *results*
//! rather than upstream *declarations* is the early cut-off: an edited upstream
//! node that re-converges to the same artefact leaves its dependents' keys as they
//! were.
//!
//! The value key goes further (cut-off by value, `descent/cut_off_by_value.rs`):
//! the nodes a node reads count by the values they produced on every example, so
//! an edit that changes an artefact but none of its outputs invalidates nothing
//! downstream. A node is reused when either key matches its locked entry.

use std::collections::BTreeMap;

use serde::Serialize;

use super::settings::OptimizeSettings;
use super::teacher::prompts_version;
use crate::plan::fingerprint::fingerprint_of;
use crate::plan::from_source::node_fingerprint;
use crate::plan::lock_file::{LockedEvaluation, LockedModel, LockedNode};
use crate::runtime::metric::Example;

/// Bumped when the optimiser's algorithm changes what it produces.
pub const OPTIMISER_VERSION: u32 = 39;

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

/// The key of `declared` by value: as [`build_key`], but the nodes it reads count by
/// the values they produced on the examples (their [`value_fingerprint`]s), not by
/// their artefacts. `None` when a node it reads has no known values (a lock written
/// before values were recorded): only the artefact key can then reuse it.
/// `node_names` tells the nodes it reads from the workflow's inputs (which the
/// examples, in the settings, already cover).
pub fn value_key(
    settings_fingerprint: &str,
    declared: &LockedNode,
    model: Option<&LockedModel>,
    upstream_values: &BTreeMap<String, String>,
    node_names: &std::collections::BTreeSet<String>,
) -> Option<String> {
    #[derive(Serialize)]
    struct ValueKey<'a> {
        settings: &'a str,
        declaration: String,
        upstream_values: BTreeMap<&'a str, &'a String>,
    }
    let mut upstream = BTreeMap::new();
    for read in declared.reads.iter().filter(|read| node_names.contains(*read)) {
        upstream.insert(read.as_str(), upstream_values.get(read)?);
    }
    Some(fingerprint_of(&ValueKey { settings: settings_fingerprint, declaration: node_fingerprint(declared, model, &BTreeMap::new()), upstream_values: upstream }))
}

/// What one node produced on one example, as its value fingerprint counts it.
#[derive(Serialize)]
enum ProducedValue<'a> {
    Output(&'a serde_json::Value),
    Error(&'a str),
    /// An earlier node failed, so this one did not run.
    NotRun,
}

/// A fingerprint of `node`'s outputs on every run of `runs` (the training examples,
/// then the validation examples, in order): equal fingerprints, equal values on
/// every example, so whatever reads the node sees exactly what it saw before.
pub fn value_fingerprint<'a>(node: &str, runs: impl IntoIterator<Item = &'a crate::runtime::trace::RunTrace>) -> String {
    let produced: Vec<ProducedValue<'_>> = runs
        .into_iter()
        .map(|run| match run.nodes.iter().find(|trace| trace.node == node) {
            Some(trace) => match (&trace.output, &trace.error) {
                (Some(output), _) => ProducedValue::Output(output),
                (None, Some(error)) => ProducedValue::Error(error),
                (None, None) => ProducedValue::NotRun,
            },
            None => ProducedValue::NotRun,
        })
        .collect();
    fingerprint_of(&produced)
}
