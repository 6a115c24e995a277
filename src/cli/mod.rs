//! The command line: the edge of the pipeline, and the only layer that prints.
//!
//! Exit codes, like cargo's: 0 success (warnings allowed), 1 the input has errors
//! (or would be reformatted under `fmt --check`), 2 the command itself is wrong.

pub mod check;
pub mod explain;
pub mod fmt;
pub mod graph;
pub mod paths;
pub mod terminal;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(name = "flowc", version, about = "Compile LLM workflows (.flow) into locked, deterministic plans for small models")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check .flow files (or every .flow file under folders) and report problems.
    Check {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// `human` (default) or `json` (one object per line per diagnostic, on stdout).
        #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
        message_format: MessageFormat,
    },
    /// Format .flow files in place in the one canonical layout.
    Fmt {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Change nothing; list the files that would change and exit 1 if any would.
        #[arg(long)]
        check: bool,
    },
    /// Print a workflow's graph of nodes and edges.
    Graph {
        /// The .flow file.
        path: PathBuf,
        /// Which workflow, when the file has several.
        #[arg(long)]
        workflow: Option<String>,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Explain a diagnostic code, e.g. `flowc explain E0101`.
    Explain {
        /// `E0101`, `flow::E0101` or a code name such as `unknown-name`.
        code: Option<String>,
        /// List every code.
        #[arg(long, conflicts_with = "code")]
        list: bool,
    },
    /// Internal: a sandbox worker process, started by flowc itself to run code (see
    /// `crate::sandbox`). Speaks JSON lines on stdin/stdout.
    #[command(name = "__sandbox-worker", hide = true)]
    SandboxWorker,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    Human,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

/// How a command ended.
pub enum Outcome {
    Success,
    Failure,
    UsageError,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        ExitCode::from(match outcome {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::UsageError => 2,
        })
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Check { paths, message_format } => check::run(&paths, message_format),
        Command::Fmt { paths, check } => fmt::run(&paths, check),
        Command::Graph { path, workflow, format } => graph::run(&path, workflow.as_deref(), format),
        Command::Explain { code, list } => explain::run(code.as_deref(), list),
        Command::SandboxWorker => return crate::sandbox::worker_main(),
    };
    outcome.into()
}
