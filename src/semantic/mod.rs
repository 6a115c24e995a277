//! The semantic layer: resolve names, check types, build the typed workflow graph.
//!
//! Everything here runs inside salsa queries (see [`database`]); cached results are
//! span-free ([`hir`], [`anchor`]), and spans come back only through source maps
//! when diagnostics are shown ([`file_diagnostics`]).

pub mod analysis;
pub mod anchor;
pub mod check_dataset;
pub mod check_metric;
pub mod check_model;
pub mod check_optimize;
pub mod check_workflow;
pub mod database;
pub mod file_diagnostics;
pub mod hir;
pub mod lower;
pub mod lower_chunks;
pub mod scope;
pub mod source_map;
pub mod suggest;
pub mod types;
pub mod workflow_graph;

pub use database::{FlowDatabase, SourceFile};
pub use file_diagnostics::file_diagnostics;
