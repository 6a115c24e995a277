//! The command line: the edge of the pipeline, and the only layer that prints.
//!
//! Exit codes, like cargo's: 0 success (warnings allowed), 1 the input has errors
//! (or would be reformatted under `fmt --check`), 2 the command itself is wrong.

pub mod build;
pub mod cache;
pub mod check;
pub mod eval;
pub mod explain;
pub mod explain_plan;
pub mod fmt;
pub mod graph;
pub mod lock;
pub mod paths;
pub mod plan_loading;
pub mod run;
pub mod serve;
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
    /// Run the language server on stdin/stdout (what editors start).
    Lsp {
        /// Accepted for clients that pass it (VS Code's); stdio is the only transport.
        #[arg(long)]
        stdio: bool,
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
    /// Write the plan (`flow.lock`) of a .flow file's workflows exactly as written.
    Lock {
        /// The root .flow file.
        path: PathBuf,
        /// Where to write the plan (default: `flow.lock` next to the .flow file).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Compile the workflows that have an `optimize` block by semantic gradient
    /// descent (the teacher improves each node on the training examples) and write
    /// the plan. Incremental: nodes whose inputs did not change are reused from the
    /// existing lock without any model call.
    Build {
        /// The root .flow file.
        path: PathBuf,
        /// Where to write the plan (default: `flow.lock` next to the .flow file).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// Write nothing; exit 1 if the lock would change (for CI).
        #[arg(long, conflicts_with = "watch")]
        locked: bool,
        /// Stay running and rebuild whenever the file is saved.
        #[arg(long)]
        watch: bool,
        /// `human` (default: summary, live progress on a terminal) or `json` (one
        /// event per line on stdout).
        #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
        message_format: MessageFormat,
        /// How many student calls and code runs may be in flight at once.
        #[arg(long, default_value_t = 4)]
        jobs: usize,
        /// Neither read nor write the model-call cache (an interrupted build then
        /// starts over).
        #[arg(long)]
        no_cache: bool,
        /// A shared cache (Bazel's HTTP remote-cache protocol, `http://HOST:PORT/PREFIX`)
        /// the model-call cache reads through and writes to; default
        /// `$FLOWC_REMOTE_CACHE`. A server that fails costs one warning.
        #[arg(long, value_name = "URL")]
        remote_cache: Option<String>,
    },
    /// Explain a compiled plan: per node, the move that produced it, the teacher's
    /// critique, and the artefact; per workflow, training figures and the PAC bound.
    ExplainPlan {
        /// The plan (`flow.lock`).
        plan: PathBuf,
        /// Only this node.
        node: Option<String>,
    },
    /// Run a plan on inputs with the student alone: JSON lines out, in input order.
    /// Exit status: 0 every input answered; 3 every input ran and some failed in the
    /// plan (their lines are `{"error": ...}`); 1 the run could not go on (a stale
    /// plan, a model that cannot load); 2 bad arguments.
    Run {
        /// The plan (`flow.lock`).
        plan: PathBuf,
        /// One input: a JSON object of the workflow's inputs.
        #[arg(long, conflicts_with = "inputs")]
        input: Option<String>,
        /// A file of inputs, one JSON object per line.
        #[arg(long)]
        inputs: Option<PathBuf>,
        /// Write the outputs here instead of standard output.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// Write the trace of every run (JSON lines) here.
        #[arg(long)]
        trace: Option<PathBuf>,
        #[command(flatten)]
        execution: ExecutionArguments,
    },
    /// Run a plan over a dataset and score it with a metric.
    Eval {
        /// The plan (`flow.lock`).
        plan: PathBuf,
        /// The dataset: one JSON object per line.
        #[arg(long)]
        data: PathBuf,
        /// The metric (default: the one of the workflow's optimize block).
        #[arg(long)]
        metric: Option<String>,
        /// Where to write the JSON report.
        #[arg(long, default_value = "eval-report.json")]
        report: PathBuf,
        /// Write the trace of every run (JSON lines) here.
        #[arg(long)]
        trace: Option<PathBuf>,
        /// How many failing examples to print.
        #[arg(long, default_value_t = 10)]
        show_failures: usize,
        #[command(flatten)]
        execution: ExecutionArguments,
    },
    /// Serve a plan over HTTP: `POST /v1/workflows/{name}:run` and `:batch`,
    /// `GET /v1/plan`, `/healthz`, `/readyz`, `/metrics` and the plan page at `/`.
    /// Stops on SIGTERM/SIGINT after answering every accepted request.
    Serve {
        /// The plan (`flow.lock`).
        plan: PathBuf,
        /// Where to listen. Loopback unless you say otherwise.
        #[arg(long = "addr", default_value = crate::serve::config::DEFAULT_ADDRESS)]
        address: String,
        /// Workflow runs at once (and node executions across them, as in `run`).
        #[arg(long, default_value_t = 4)]
        jobs: usize,
        /// Requests that may wait for a run slot; beyond them the answer is 429.
        #[arg(long, default_value_t = 64)]
        queue: usize,
        /// Seconds a request may take, waiting included; beyond them, 504.
        #[arg(long, default_value_t = 60.0)]
        timeout: f64,
        /// The largest request body, in bytes (413 above it).
        #[arg(long, default_value_t = crate::serve::config::DEFAULT_BODY_LIMIT_BYTES)]
        body_limit: usize,
        /// The environment variable holding a bearer token that every request but
        /// /healthz and /readyz must send (`Authorization: Bearer ...`).
        #[arg(long)]
        token_env: Option<String>,
        /// Write request bodies into the request log (off: inputs may be private).
        #[arg(long)]
        log_bodies: bool,
        /// No line per request (start, ready and stop are still reported).
        #[arg(long)]
        quiet: bool,
        /// Neither read nor write the model-call cache.
        #[arg(long)]
        no_cache: bool,
    },
    /// The model-call cache.
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Internal: a sandbox worker process, started by flowc itself to run code (see
    /// `crate::sandbox`). Speaks JSON lines on stdin/stdout.
    #[command(name = "__sandbox-worker", hide = true)]
    SandboxWorker,
}

#[derive(clap::Args, Debug)]
pub struct ExecutionArguments {
    /// Which workflow, when the plan has several.
    #[arg(long)]
    pub workflow: Option<String>,
    /// How many nodes may run at the same time (across inputs).
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Neither read nor write the model-call cache.
    #[arg(long)]
    pub no_cache: bool,
    /// A shared cache (Bazel's HTTP remote-cache protocol) the model-call cache reads
    /// through and writes to; default `$FLOWC_REMOTE_CACHE`.
    #[arg(long, value_name = "URL")]
    pub remote_cache: Option<String>,
}

impl ExecutionArguments {
    fn into_options(self) -> plan_loading::ExecutionOptions {
        plan_loading::ExecutionOptions { workflow: self.workflow, jobs: self.jobs, no_cache: self.no_cache, remote_cache: self.remote_cache }
    }
}

#[derive(Subcommand, Debug)]
pub enum CacheAction {
    /// Remove every cached model call.
    Clean,
    /// Print the cache's folder.
    Dir,
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
    /// The picture `flowc serve`'s plan page shows.
    Svg,
}

/// How a command ended.
pub enum Outcome {
    Success,
    Failure,
    UsageError,
    /// The command ran to the end and wrote every output, but some inputs failed
    /// in the plan itself (their `error` lines say why): a distinct status, so a
    /// script can accept a plan's own answers and still stop on a broken run.
    InputsFailed,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        ExitCode::from(match outcome {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::UsageError => 2,
            Outcome::InputsFailed => 3,
        })
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Check { paths, message_format } => check::run(&paths, message_format),
        Command::Fmt { paths, check } => fmt::run(&paths, check),
        Command::Lsp { stdio: _ } => match crate::lsp::serve_stdio() {
            Ok(()) => Outcome::Success,
            Err(message) => {
                eprintln!("error: flowc lsp: {message}");
                Outcome::Failure
            }
        },
        Command::Graph { path, workflow, format } => graph::run(&path, workflow.as_deref(), format),
        Command::Explain { code, list } => explain::run(code.as_deref(), list),
        Command::Lock { path, output } => lock::run(&path, output.as_deref()),
        Command::Build { path, output, locked, watch, message_format, jobs, no_cache, remote_cache } => {
            build::run(build::BuildArguments { path, output, locked, watch, message_format, jobs, no_cache, remote_cache })
        }
        Command::ExplainPlan { plan, node } => explain_plan::run(&plan, node.as_deref()),
        Command::Run { plan, input, inputs, output, trace, execution } => {
            run::run(run::RunArguments { plan, input, inputs, output, trace, execution: execution.into_options() })
        }
        Command::Eval { plan, data, metric, report, trace, show_failures, execution } => eval::run(eval::EvalArguments {
            plan,
            data,
            metric,
            report,
            trace,
            show_failures,
            execution: execution.into_options(),
        }),
        Command::Serve { plan, address, jobs, queue, timeout, body_limit, token_env, log_bodies, quiet, no_cache } => serve::run(serve::ServeArguments {
            plan,
            address,
            jobs,
            queue,
            timeout_seconds: timeout,
            body_limit_bytes: body_limit,
            token_env,
            log_bodies,
            quiet,
            no_cache,
        }),
        Command::Cache { action: CacheAction::Clean } => cache::clean(),
        Command::Cache { action: CacheAction::Dir } => cache::show_directory(),
        Command::SandboxWorker => return crate::sandbox::worker_main(),
    };
    outcome.into()
}
