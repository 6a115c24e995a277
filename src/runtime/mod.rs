//! The runtime: executes a locked plan with the student alone.
//!
//! `executor` runs one input through a workflow (independent nodes concurrently,
//! bounded by `--jobs`); `backends` loads the plan's models; `call_cache` makes model
//! calls content-addressed and resumable; `vote` decides consensus nodes;
//! `output_parsing` reads raw model text as typed values; `trace` records it all.

pub mod backends;
pub mod call_cache;
pub mod executor;
pub mod json_lines;
pub mod metric;
pub mod output_parsing;
pub mod remote_build_results;
pub mod remote_cache;
pub mod plan_loading;
pub mod trace;
pub mod values;
pub mod vote;
pub mod word_table;
