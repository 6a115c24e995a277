//! The syntax layer: text in, syntax tree (with spans) and syntax diagnostics out.
//!
//! Invariants: knows nothing of salsa, models or the CLI; never fails outright; never
//! panics on any input.

pub mod ast;
pub mod chunk_parse;
pub mod chunk_split;
pub mod comments;
pub mod format;
pub mod grammar;
pub mod parse;
pub mod relocate;
mod scan;
pub mod span;
pub mod strings;
pub mod template;

pub use parse::{parse_source, ParsedFile};
