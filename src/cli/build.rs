//! `flowc build`: compile every workflow that has an `optimize` block by SGDe and
//! write the lock (the same format `flowc lock` writes). Workflows without one are
//! locked as written. `--locked` only checks that the lock would not change (CI);
//! `--watch` keeps the database alive and rebuilds on save.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::paths::write_atomically;
use super::plan_loading::{build_runtime, configured_call_cache};
use super::terminal::print_file_diagnostics;
use super::{MessageFormat, Outcome};
use crate::optimize::build_file::{build_file, BuildFileError, BuildFileOptions};
use crate::optimize::descent::{BuildSummary, DeclaredModels};
use crate::optimize::events::{BuildEvent, EventSink};
use crate::plan::from_source::PlanOptions;
use crate::plan::LockFile;
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::semantic::database::Db;
use crate::semantic::FlowDatabase;
use crate::vfs::FileWatcher;

pub struct BuildArguments {
    pub path: PathBuf,
    pub output: Option<PathBuf>,
    pub locked: bool,
    pub watch: bool,
    pub message_format: MessageFormat,
    pub jobs: usize,
    pub no_cache: bool,
    pub remote_cache: Option<String>,
}

pub fn run(arguments: BuildArguments) -> Outcome {
    let lock_path = arguments.output.clone().unwrap_or_else(|| arguments.path.parent().unwrap_or(Path::new("")).join("flow.lock"));
    let mut database = FlowDatabase::default();
    let runtime = build_runtime();
    let outcome = build_once(&arguments, &lock_path, &mut database, &runtime);
    if !arguments.watch {
        return outcome;
    }
    // Watch mode runs until interrupted; each rebuild reports its own outcome. The
    // watcher covers every file the last build read or looked for (the root, its
    // imports, datasets, the lock; missing ones too), and a batch of events rebuilds
    // only if some file's bytes or existence really changed.
    let mut watcher = match FileWatcher::new() {
        Ok(watcher) => watcher,
        Err(error) => {
            eprintln!("error: {error}");
            return Outcome::Failure;
        }
    };
    let mut announced = false;
    loop {
        if let Err(error) = watcher.watch_files(&database.watched_paths()) {
            eprintln!("error: {error}");
            return Outcome::Failure;
        }
        if !announced {
            // Only once the folders are watched: a save after this line is seen.
            eprintln!("watching {} and the {} file(s) it reads for changes (Ctrl-C to stop)", arguments.path.display(), database.watched_paths().len().saturating_sub(1));
            announced = true;
        }
        let reported = match watcher.next_changes(None) {
            Ok(Some(paths)) => paths,
            Ok(None) => continue,
            Err(error) => {
                eprintln!("error: {error}");
                return Outcome::Failure;
            }
        };
        let changed = database.apply_disk_changes(&reported);
        if changed.is_empty() {
            continue;
        }
        eprintln!("changed: {}", changed.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", "));
        build_once(&arguments, &lock_path, &mut database, &runtime);
    }
}

fn build_once(arguments: &BuildArguments, lock_path: &Path, database: &mut FlowDatabase, runtime: &tokio::runtime::Runtime) -> Outcome {
    let path = &arguments.path;
    // Every file goes through the database's file layer, and the same database
    // lives across watch rebuilds: salsa re-analyses only what an edit touched.
    let Some(file) = database.load_file(path) else {
        eprintln!("error: cannot read {}: no such file", path.display());
        return Outcome::UsageError;
    };
    let text = file.text(&*database).clone();
    let existing = database.load_file(lock_path).map(|lock| lock.text(&*database).clone());
    let previous = match &existing {
        Some(existing) => match LockFile::from_toml(existing) {
            Ok(lock) => Some(lock),
            Err(message) => {
                eprintln!("warning: the existing {} cannot be read ({message}); building from scratch", lock_path.display());
                None
            }
        },
        None => None,
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
    let cache = match configured_call_cache(arguments.no_cache, arguments.remote_cache.as_deref()) {
        Ok(cache) => cache,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::UsageError;
        }
    };
    let options = BuildFileOptions {
        provider: Arc::new(DeclaredModels { source_dir: path.parent().unwrap_or(Path::new("")).to_path_buf() }),
        sandbox,
        cache,
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
    // The database learns of our own write now, so the watcher's event for it finds
    // nothing new and does not rebuild.
    database.apply_disk_changes(&[lock_path.to_path_buf()]);
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
