//! The optimiser: `flowc build` compiles a workflow into a plan by Semantic
//! Gradient Descent (SGDe). A teacher model reads the student's traces on a few
//! training examples and its critiques act as gradients on each node.
//!
//! Layers, each depending only on those above it:
//! - `settings` (the optimize block), `teacher` (prompts, budget, cache),
//!   `events` (progress), `pac_bound`, `value_match`, `capabilities`;
//! - `gold_trace` (per-node gold I/O), `trial` (a candidate on a node's I/O);
//! - `moves` (prompt, offload, consensus, topology);
//! - `build_key` (what makes a locked node reusable) and `descent` (the loop,
//!   validate-and-revert, localisation, the build record).
//!
//! The optimiser works on plans (`LockedWorkflow`), never on source: its input is
//! what `flowc lock` writes, its output what `flowc run` executes.

pub mod build_file;
pub mod build_key;
pub mod calendar_dates;
pub mod capabilities;
pub mod critique_history;
pub mod descent;
pub mod events;
pub mod field_readers;
pub mod formula_search;
pub mod gold_trace;
pub mod implied_constants;
pub mod moves;
pub mod pac_bound;
pub mod role_readers;
pub mod role_search;
pub mod labelled_programs;
pub mod context_readers;
pub mod settings;
pub mod teacher;
pub mod trial;
pub mod value_match;
