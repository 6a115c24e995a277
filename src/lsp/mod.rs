//! `flowc lsp`: the language server, at the edge of the pipeline beside the CLI.
//!
//! It uses every layer below (syntax, semantic, plan, diagnostics) and nothing below
//! uses it. One salsa database lives as long as the server; edits are applied to it
//! incrementally and requests run on snapshots (see [`server`] for the invariants).
//! One file per request kind, as ty does.

pub mod capabilities;
pub mod code_actions;
pub mod code_lens;
pub mod completion;
pub mod definition;
pub mod diagnostics;
pub mod disk_watch;
pub mod document_symbols;
pub mod folding_ranges;
pub mod formatting;
pub mod hover;
pub mod plan_view;
pub mod inlay_hints;
pub mod references;
pub mod rename;
pub mod semantic_tokens;
pub mod server;
pub mod signature_help;
pub mod snapshot;
pub mod symbol_index;
pub mod syntax_lookup;
pub mod workspace;
pub mod workspace_symbols;

pub use server::serve;

/// Serve the protocol on stdin/stdout (what editors start).
pub fn serve_stdio() -> Result<(), String> {
    let (connection, io_threads) = lsp_server::Connection::stdio();
    serve(connection)?;
    io_threads.join().map_err(|error| format!("the connection failed: {error}"))
}
