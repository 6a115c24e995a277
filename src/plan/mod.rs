//! The plan: a workflow compiled into a lock file (`flow.lock`), the contract
//! between the compiler and the runtime.
//!
//! `lock_file` is the format; `from_source` builds a plan from checked source (and
//! recomputes fingerprints to detect stale plans); `fingerprint`, `template` and
//! `output_schema` are the pieces both sides must agree on.

pub mod fingerprint;
pub mod from_source;
pub mod lock_file;
pub mod node_kind;
pub mod output_schema;
pub mod port_type;
pub mod staleness;
pub mod template;

pub use lock_file::LockFile;
