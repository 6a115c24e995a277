//! Diagnostics: the one registry of codes and the diagnostic type every layer reports.
//!
//! This module depends on nothing else in the crate, so every stage can use it.
//! It never prints: rendering to text or JSON is done by [`render`] for the CLI.

pub mod codes;
pub mod diagnostic;
pub mod render;

pub use codes::DiagnosticCode;
pub use diagnostic::{Diagnostic, Label, Severity};
