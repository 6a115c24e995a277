//! Is a plan still the compilation of its source? Like a stale Terraform plan, a
//! plan whose workflow or model files changed since it was written is refused.
//!
//! Compared are semantic fingerprints (span-free) and model file digests, so a
//! reformatted or re-commented source does not make a plan stale.

use std::path::{Path, PathBuf};

use super::from_source::{build_lock, PlanError, PlanOptions};
use super::lock_file::{LockFile, LockedWorkflow};
use crate::semantic::FlowDatabase;

#[derive(Debug)]
pub enum Staleness {
    Fresh,
    /// The source is not where the plan says; the plan is run as it is.
    SourceMissing(PathBuf),
    /// Each reason names what changed.
    Stale(Vec<String>),
}

pub fn check_staleness(lock: &LockFile, lock_path: &Path) -> Result<Staleness, PlanError> {
    let source_path = lock_path.parent().unwrap_or(Path::new("")).join(&lock.source);
    let Ok(text) = std::fs::read_to_string(&source_path) else {
        return Ok(Staleness::SourceMissing(source_path));
    };
    let mut database = FlowDatabase::default();
    let file = database.set_file_text(&source_path, text);
    let current = match build_lock(&database, file, lock_path, &PlanOptions { hash_model_files: true }) {
        Ok(current) => current,
        Err(PlanError::Diagnostics(diagnostics)) => {
            return Ok(Staleness::Stale(vec![format!(
                "{} no longer checks cleanly ({} error(s)); run `flowc check {}`",
                source_path.display(),
                diagnostics.iter().filter(|d| d.severity() == crate::diagnostics::Severity::Error).count(),
                source_path.display()
            )]))
        }
        Err(other) => return Err(other),
    };
    let mut reasons = Vec::new();
    for (name, locked_model) in &lock.models {
        match current.models.get(name) {
            Some(model) if model.file_sha256 != locked_model.file_sha256 => reasons.push(format!(
                "the file of model `{name}` ({}) changed: sha256 {} when locked, {} now",
                model.model,
                short(locked_model.file_sha256.as_deref()),
                short(model.file_sha256.as_deref())
            )),
            Some(model) if model != locked_model => reasons.push(format!("the model `{name}` is declared differently now")),
            Some(_) => {}
            None => reasons.push(format!("the model `{name}` is no longer used")),
        }
    }
    for workflow in &lock.workflows {
        let Some(now) = current.workflow(&workflow.name) else {
            reasons.push(format!("the workflow `{}` is no longer in {}", workflow.name, source_path.display()));
            continue;
        };
        if now.fingerprint == workflow.fingerprint {
            continue;
        }
        let NodeChanges { changed, removed } = node_changes(workflow, now);
        let changed: Vec<String> = changed.iter().map(|name| format!("`{name}`")).collect();
        let removed: Vec<String> = removed.iter().map(|name| format!("`{name}`")).collect();
        let mut detail = Vec::new();
        if !changed.is_empty() {
            detail.push(format!("changed or new: {}", changed.join(", ")));
        }
        if !removed.is_empty() {
            detail.push(format!("removed: {}", removed.join(", ")));
        }
        if detail.is_empty() {
            detail.push("its signature, bindings or evaluation changed".into());
        }
        reasons.push(format!("the workflow `{}` changed since the plan was written ({})", workflow.name, detail.join("; ")));
    }
    Ok(if reasons.is_empty() { Staleness::Fresh } else { Staleness::Stale(reasons) })
}

/// Which nodes of a workflow differ between a locked plan and the current source.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NodeChanges {
    /// Nodes whose fingerprint changed, and new nodes, in the current plan's order.
    pub changed: Vec<String>,
    /// Locked nodes the source no longer has.
    pub removed: Vec<String>,
}

pub fn node_changes(locked: &LockedWorkflow, now: &LockedWorkflow) -> NodeChanges {
    let changed = now
        .nodes
        .iter()
        .filter(|node| locked.nodes.iter().find(|old| old.name == node.name).is_none_or(|old| old.fingerprint != node.fingerprint))
        .map(|node| node.name.clone())
        .collect();
    let removed = locked.nodes.iter().filter(|old| now.nodes.iter().all(|node| node.name != old.name)).map(|node| node.name.clone()).collect();
    NodeChanges { changed, removed }
}

fn short(digest: Option<&str>) -> String {
    digest.map(|digest| digest[..12.min(digest.len())].to_string()).unwrap_or_else(|| "none".into())
}
