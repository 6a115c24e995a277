//! flowc: compiles `.flow` LLM workflows into locked, deterministic execution plans.
//!
//! The modules are the stages of the pipeline, in the order data flows through them:
//! [`syntax`] (text → tree) → [`semantic`] (tree → span-free, checked workflow graph,
//! in a salsa database) → [`cli`] at the edge, the only layer that prints.
//! [`diagnostics`] is the shared registry every stage reports through.

pub mod cli;
pub mod diagnostics;
pub mod lsp;
pub mod diagram;
pub mod models;
pub mod optimize;
pub mod sandbox;
pub mod plan;
pub mod runtime;
pub mod semantic;
pub mod serve;
pub mod syntax;
pub mod stdlib;
pub mod vfs;
