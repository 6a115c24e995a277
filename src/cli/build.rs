//! `flowc build`: compile every workflow that has an `optimize` block by SGDe and
//! write the lock (the same format `flowc lock` writes). Workflows without one are
//! locked as written. `--locked` only checks that the lock would not change (CI);
//! `--watch` keeps the database alive and rebuilds on save.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::paths::write_atomically;
use super::plan_loading::build_runtime;
use super::terminal::print_file_diagnostics;
use super::{MessageFormat, Outcome};
use crate::optimize::build_file::{build_file, BuildFileError, BuildFileOptions};
use crate::optimize::descent::{BuildSummary, DeclaredModels};
use crate::optimize::events::{BuildEvent, EventSink};
use crate::plan::from_source::PlanOptions;
use crate::plan::LockFile;
use crate::runtime::call_cache::CallCache;
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::semantic::FlowDatabase;

pub struct BuildArguments {
    pub path: PathBuf,
    pub output: Option<PathBuf>,
    pub locked: bool,
    pub watch: bool,
    pub message_format: MessageFormat,
    pub jobs: usize,
    pub no_cache: bool,
}

pub fn run(arguments: BuildArguments) -> Outcome {
    let lock_path = arguments.output.clone().unwrap_or_else(|| arguments.path.parent().unwrap_or(Path::new("")).join("flow.lock"));
    let mut database = FlowDatabase::default();
    let runtime = build_runtime();
    let outcome = build_once(&arguments, &lock_path, &mut database, &runtime);
    if !arguments.watch {
        return outcome;
    }
    // Watch mode runs until interrupted; each rebuild reports its own outcome.
    eprintln!("watching {} for changes (Ctrl-C to stop)", arguments.path.display());
    let mut seen = modified_time(&arguments.path);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = modified_time(&arguments.path);
        if now != seen {
            seen = now;
            build_once(&arguments, &lock_path, &mut database, &runtime);
        }
    }
}

fn modified_time(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|metadata| metadata.modified()).ok()
}

fn build_once(arguments: &BuildArguments, lock_path: &Path, database: &mut FlowDatabase, runtime: &tokio::runtime::Runtime) -> Outcome {
    let path = &arguments.path;
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: cannot read {}: {error}", path.display());
            return Outcome::UsageError;
        }
    };
    // The same database across watch rebuilds: salsa re-analyses only what the
    // edit touched.
    let file = database.set_file_text(path, text.clone());
    let previous = match std::fs::read_to_string(lock_path) {
        Ok(existing) => match LockFile::from_toml(&existing) {
            Ok(lock) => Some(lock),
            Err(message) => {
                eprintln!("warning: the existing {} cannot be read ({message}); building from scratch", lock_path.display());
                None
            }
        },
        Err(_) => None,
    };
    let json = arguments.message_format == MessageFormat::Json;
    let progress = Progress::new(json);
    let sandbox = match Sandbox::new(SandboxConfig::default()) {
        Ok(sandbox) => sandbox,
        Err(error) => {
            eprintln!("error: the code sandbox could not start: {error}");
            return Outcome::Failure;
        }
    };
    let options = BuildFileOptions {
        provider: Arc::new(DeclaredModels { source_dir: path.parent().unwrap_or(Path::new("")).to_path_buf() }),
        sandbox,
        cache: (!arguments.no_cache).then(|| CallCache::new(CallCache::default_directory())),
        jobs: arguments.jobs,
        events: progress.sink(),
        plan: PlanOptions { hash_model_files: true },
    };
    let (lock, summaries) = match runtime.block_on(build_file(database, file, lock_path, previous.as_ref(), &options)) {
        Ok(built) => built,
        Err(BuildFileError::Diagnostics(diagnostics)) => {
            progress.finish();
            print_file_diagnostics(path, &text, &diagnostics);
            eprintln!("error: {} has errors; no plan was written", path.display());
            return Outcome::Failure;
        }
        Err(BuildFileError::Failed(message)) => {
            progress.finish();
            eprintln!("error: {message}; the lock was not changed");
            return Outcome::Failure;
        }
    };
    progress.finish();
    let rendered = lock.to_toml();
    let existing = std::fs::read_to_string(lock_path).ok();
    let unchanged = existing.as_deref() == Some(rendered.as_str());
    for summary in &summaries {
        if json {
            println!("{}", serde_json::json!({"event": "workflow-built", "summary": summary}));
        } else {
            print_summary(summary);
        }
    }
    if arguments.locked {
        if unchanged {
            eprintln!("{} is up to date", lock_path.display());
            return Outcome::Success;
        }
        eprintln!("error: {} would change (--locked): run `flowc build {}` and commit the lock", lock_path.display(), path.display());
        return Outcome::Failure;
    }
    if unchanged {
        eprintln!("{} is up to date", lock_path.display());
        return Outcome::Success;
    }
    if let Err(error) = write_atomically(lock_path, &rendered) {
        eprintln!("error: cannot write {}: {error}", lock_path.display());
        return Outcome::Failure;
    }
    eprintln!("wrote {}", lock_path.display());
    Outcome::Success
}

fn print_summary(summary: &BuildSummary) {
    println!("workflow `{}`{}", summary.workflow, if summary.reused_all { " (every node reused from the lock; no model call)" } else { "" });
    for node in &summary.nodes {
        println!("  {:<18} {}", node.node, node.outcome);
    }
    match summary.train_passed_before {
        Some(before) => println!("  training examples: {before}/{n} before, {}/{n} after", summary.train_passed_after, n = summary.train_examples),
        None => println!("  training examples: {}/{}", summary.train_passed_after, summary.train_examples),
    }
    println!(
        "  teacher: {} call(s) ({} answered by the model, the rest from the cache), {} token(s); {} hypotheses tried; stopped: {}",
        summary.teacher.calls,
        summary.teacher.model_calls,
        summary.teacher.prompt_tokens + summary.teacher.completion_tokens,
        summary.hypotheses,
        summary.stopped
    );
    if let Some(diagnosis) = &summary.diagnosis {
        println!("  diagnosis:");
        for line in diagnosis.lines() {
            println!("    {line}");
        }
    }
    if let Some((passed, total)) = summary.validation {
        println!("  validation set: {passed}/{total} pass (run once on the final plan; never used to choose)");
    }
    println!("  {}", summary.pac);
    println!("  {} student call(s) reached the model; {:.1} s", summary.student_calls, summary.seconds);
}

/// Live progress: a spinner with the current node, step and call counts on a
/// terminal; JSON events on stdout with `--message-format json`; nothing otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    json: bool,
    state: Arc<Mutex<ProgressState>>,
}

#[derive(Default)]
struct ProgressState {
    node: String,
    step: u32,
    teacher_calls: u64,
    student_calls: u64,
    moves: u64,
}

impl Progress {
    fn new(json: bool) -> Progress {
        let bar = (!json && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}").expect("a valid template"));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { bar, json, state: Arc::new(Mutex::new(ProgressState::default())) }
    }

    fn sink(&self) -> EventSink {
        let bar = self.bar.clone();
        let json = self.json;
        let state = Arc::clone(&self.state);
        Arc::new(move |event: &BuildEvent| {
            if json {
                println!("{}", serde_json::to_string(event).unwrap_or_default());
                return;
            }
            let Some(bar) = &bar else { return };
            let mut state = state.lock().expect("never poisoned");
            match event {
                BuildEvent::NodeStarted { node, step, .. } => {
                    state.node = node.clone();
                    state.step = *step;
                }
                BuildEvent::TeacherCall { calls, .. } => state.teacher_calls = *calls,
                BuildEvent::StudentCall { calls, .. } => state.student_calls = *calls,
                BuildEvent::MoveTried { .. } => state.moves += 1,
                BuildEvent::ChangeKept { node, move_name, train_passed, train_total, .. } => {
                    bar.println(format!("  kept {move_name} on `{node}`: {train_passed}/{train_total} training examples pass"));
                }
                BuildEvent::ChangeReverted { node, move_name, train_passed, previously_passed, .. } => {
                    bar.println(format!("  reverted {move_name} on `{node}`: {train_passed} would pass, {previously_passed} did"));
                }
                _ => {}
            }
            bar.set_message(format!(
                "node `{}` step {} · teacher calls {} · student calls {} · candidates tried {}",
                state.node, state.step, state.teacher_calls, state.student_calls, state.moves
            ));
        })
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
