//! `flowc lock`: write the plan of a `.flow` file's workflows exactly as written.

use std::path::{Path, PathBuf};

use super::paths::write_atomically;
use super::terminal::print_file_diagnostics;
use super::Outcome;
use crate::plan::from_source::{build_lock, PlanError, PlanOptions};
use crate::semantic::FlowDatabase;

pub fn run(path: &Path, output: Option<&Path>) -> Outcome {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: cannot read {}: {error}", path.display());
            return Outcome::UsageError;
        }
    };
    let lock_path: PathBuf = output.map(Path::to_path_buf).unwrap_or_else(|| path.parent().unwrap_or(Path::new("")).join("flow.lock"));
    let mut database = FlowDatabase::default();
    let file = database.set_file_text(path, text.clone());
    let lock = match build_lock(&database, file, &lock_path, &PlanOptions { hash_model_files: true }) {
        Ok(lock) => lock,
        Err(PlanError::Diagnostics(diagnostics)) => {
            print_file_diagnostics(path, &text, &diagnostics);
            eprintln!("error: {} has errors; no plan was written", path.display());
            return Outcome::Failure;
        }
        Err(PlanError::Environment(message)) => {
            eprintln!("error: {message}");
            return Outcome::Failure;
        }
    };
    let rendered = lock.to_toml();
    if std::fs::read_to_string(&lock_path).is_ok_and(|existing| existing == rendered) {
        eprintln!("{} is up to date", lock_path.display());
        return Outcome::Success;
    }
    if let Err(error) = write_atomically(&lock_path, &rendered) {
        eprintln!("error: cannot write {}: {error}", lock_path.display());
        return Outcome::Failure;
    }
    let nodes: usize = lock.workflows.iter().map(|workflow| workflow.nodes.len()).sum();
    eprintln!("wrote {} ({} workflow(s), {nodes} node(s))", lock_path.display(), lock.workflows.len());
    Outcome::Success
}
