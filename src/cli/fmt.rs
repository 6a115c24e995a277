//! `flowc fmt`: rewrite files in the canonical layout, or `--check` that they are.

use std::path::PathBuf;

use super::paths::{collect_flow_files, write_atomically};
use super::Outcome;
use crate::syntax::format::{format_source, FormatError};

pub fn run(paths: &[PathBuf], check: bool) -> Outcome {
    let files = match collect_flow_files(paths) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::UsageError;
        }
    };
    let mut would_change = Vec::new();
    let mut unformattable = 0;
    for path in &files {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("error: cannot read {}: {error}", path.display());
                return Outcome::UsageError;
            }
        };
        let formatted = match format_source(&text) {
            Ok(formatted) => formatted,
            Err(FormatError::SyntaxErrors(count)) => {
                // Never rewrite what could not be fully read: the user's text is kept.
                eprintln!("error: {} has {count} syntax error(s); run `flowc check` on it; not formatted", path.display());
                unformattable += 1;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if check {
            println!("{}", path.display());
            would_change.push(path);
        } else if let Err(error) = write_atomically(path, &formatted) {
            eprintln!("error: cannot write {}: {error}", path.display());
            return Outcome::Failure;
        }
    }
    if check && !would_change.is_empty() {
        eprintln!("{} file(s) would be reformatted; run `flowc fmt` to fix", would_change.len());
    }
    if unformattable > 0 || (check && !would_change.is_empty()) {
        Outcome::Failure
    } else {
        Outcome::Success
    }
}
