//! The syntax layer: text in, syntax tree (with spans) and syntax diagnostics out.
//!
//! Invariants: knows nothing of salsa, models or the CLI; never fails outright; never
//! panics on any input.

pub mod ast;
pub mod comments;
pub mod format;
pub mod grammar;
pub mod parse;
mod scan;
pub mod span;
pub mod strings;
pub mod template;

pub use parse::{parse_source, ParsedFile};
