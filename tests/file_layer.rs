//! The file layer (src/vfs/): files on disk are salsa inputs, so every change a
//! watcher reports — an edited import, a deleted and recreated one, a file that was
//! missing and appears, a renamed root — is seen, and nothing else is re-analysed
//! (counted salsa executions). Then the watcher itself, on real file events.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flowc::semantic::database::Db;
use flowc::semantic::{file_diagnostics, FlowDatabase, SourceFile};
use flowc::vfs::FileWatcher;

#[derive(Clone, Default)]
struct ExecutionLog(Arc<Mutex<Vec<String>>>);

impl ExecutionLog {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn count(executions: &[String], query: &str) -> usize {
    executions.iter().filter(|execution| execution.starts_with(&format!("{query}("))).count()
}

fn database() -> (FlowDatabase, ExecutionLog) {
    let log = ExecutionLog::default();
    let sink = log.clone();
    let database = FlowDatabase::with_execution_observer(Arc::new(move |query: &str| sink.0.lock().unwrap().push(query.to_string())));
    (database, log)
}

const SHARED: &str = "// The student, shared by the project.\nmodel student = gguf(\"student.gguf\") {\n  temperature = 0\n}\n";
const EXTRA: &str = "model helper = gguf(\"helper.gguf\") {\n  temperature = 0\n}\n";
const MAIN: &str = r#"import "./shared.flow" { student }
import "./extra.flow" { helper }

workflow solve(question: text) -> (answer: text) {
  node reply = llm(student) {
    prompt = "{question}"
    output = text
  }
  answer = reply
}

workflow help(question: text) -> (answer: text) {
  node reply = llm(helper) {
    prompt = "Help: {question}"
    output = text
  }
  answer = reply
}
"#;

/// A project folder of its own: main.flow imports shared.flow and extra.flow.
fn project(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("flowc-file-layer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(directory.join("shared.flow"), SHARED).unwrap();
    std::fs::write(directory.join("extra.flow"), EXTRA).unwrap();
    std::fs::write(directory.join("main.flow"), MAIN).unwrap();
    directory
}

fn codes(database: &FlowDatabase, file: SourceFile) -> Vec<String> {
    file_diagnostics(database, file).iter().map(|diagnostic| diagnostic.code.id.to_string()).collect()
}

/// Loads main.flow from disk, checks it once, and clears the log.
fn checked(directory: &Path) -> (FlowDatabase, ExecutionLog, SourceFile) {
    let (database, log) = database();
    let main = database.load_file(&directory.join("main.flow")).expect("main.flow is on disk");
    assert!(codes(&database, main).is_empty(), "{:?}", codes(&database, main));
    log.take();
    (database, log, main)
}

#[test]
fn an_edited_import_is_re_read_and_only_what_reads_it_is_re_analysed() {
    let directory = project("edit");
    let (mut database, log, main) = checked(&directory);
    let shared = directory.join("shared.flow");

    // A comment: the file is re-read and re-parsed, and no analysis re-runs.
    std::fs::write(&shared, format!("// One more comment.\n{SHARED}")).unwrap();
    assert_eq!(database.apply_disk_changes(&[shared.clone()]), vec![shared.clone()]);
    assert!(codes(&database, main).is_empty());
    let executions = log.take();
    assert_eq!(count(&executions, "file_chunks"), 1, "shared.flow alone: {executions:#?}");
    assert_eq!(count(&executions, "analyze_item"), 0, "{executions:#?}");
    assert_eq!(count(&executions, "file_scope"), 0, "{executions:#?}");

    // Renaming the model is a real change: the importer sees it.
    std::fs::write(&shared, SHARED.replace("model student", "model pupil")).unwrap();
    assert_eq!(database.apply_disk_changes(&[shared.clone()]), vec![shared.clone()]);
    assert!(codes(&database, main).contains(&"E0202".to_string()), "{:?}", codes(&database, main));
    let executions = log.take();
    assert_eq!(count(&executions, "file_chunks"), 1, "main.flow and extra.flow are not parsed again: {executions:#?}");
    assert_eq!(count(&executions, "file_scope"), 1, "main.flow's scope: {executions:#?}");

    // An event that leaves the bytes as they were changes nothing.
    assert!(database.apply_disk_changes(&[shared.clone(), directory.join("extra.flow")]).is_empty());
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn a_deleted_import_is_missed_and_its_recreation_is_seen() {
    let directory = project("delete");
    let (mut database, log, main) = checked(&directory);
    let extra = directory.join("extra.flow");

    std::fs::remove_file(&extra).unwrap();
    assert_eq!(database.apply_disk_changes(&[extra.clone()]), vec![extra.clone()]);
    assert_eq!(codes(&database, main), vec!["E0201"]);
    let executions = log.take();
    assert_eq!(count(&executions, "file_chunks"), 0, "nothing is parsed again: {executions:#?}");
    assert_eq!(count(&executions, "file_scope"), 1, "{executions:#?}");

    std::fs::write(&extra, EXTRA).unwrap();
    assert_eq!(database.apply_disk_changes(&[extra.clone()]), vec![extra.clone()]);
    assert!(codes(&database, main).is_empty(), "{:?}", codes(&database, main));
    let executions = log.take();
    assert_eq!(count(&executions, "file_chunks"), 1, "extra.flow alone: {executions:#?}");
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn a_file_that_was_missing_is_seen_when_it_appears() {
    let directory = project("missing");
    let extra = directory.join("extra.flow");
    std::fs::remove_file(&extra).unwrap();
    let (mut database, log) = database();
    let main = database.load_file(&directory.join("main.flow")).unwrap();
    assert_eq!(codes(&database, main), vec!["E0201"]);
    assert!(database.watched_paths().contains(&extra), "a missing import is watched: {:?}", database.watched_paths());
    log.take();

    std::fs::write(&extra, EXTRA).unwrap();
    assert_eq!(database.apply_disk_changes(&[directory.clone()]), vec![extra.clone()], "a folder event reaches the files under it");
    assert!(codes(&database, main).is_empty(), "{:?}", codes(&database, main));
    let executions = log.take();
    assert_eq!(count(&executions, "file_chunks"), 1, "{executions:#?}");
    assert_eq!(count(&executions, "file_scope"), 1, "{executions:#?}");
    // main.flow's four items (two imports, two workflows) read its scope, which
    // gained a name; nothing of shared.flow runs again.
    assert_eq!(count(&executions, "analyze_item"), 4, "{executions:#?}");
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn a_dataset_that_appears_clears_its_diagnostic() {
    let directory = project("dataset");
    let root = directory.join("data.flow");
    std::fs::write(&root, "dataset train = jsonl(\"train.jsonl\") {\n  x = .x\n}\n").unwrap();
    let (mut database, log) = database();
    let file = database.load_file(&root).unwrap();
    assert_eq!(codes(&database, file), vec!["E0602"]);
    log.take();
    std::fs::write(directory.join("train.jsonl"), "{\"x\": 1}\n").unwrap();
    assert_eq!(database.apply_disk_changes(&[directory.join("train.jsonl")]), vec![directory.join("train.jsonl")]);
    assert!(codes(&database, file).is_empty());
    assert_eq!(count(&log.take(), "file_chunks"), 0, "the .flow file is not parsed again");
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn a_renamed_root_is_missing_under_its_old_name_and_its_imports_are_reused() {
    let directory = project("rename");
    let (mut database, log, _main) = checked(&directory);
    let old = directory.join("main.flow");
    let new = directory.join("renamed.flow");

    std::fs::rename(&old, &new).unwrap();
    // A rename is reported under both names; only the known one changes.
    assert_eq!(database.apply_disk_changes(&[old.clone(), new.clone()]), vec![old.clone()]);
    assert!(database.load_file(&old).is_none(), "the old name is gone");
    let renamed = database.load_file(&new).expect("the new name is read");
    assert!(codes(&database, renamed).is_empty(), "{:?}", codes(&database, renamed));
    let executions = log.take();
    assert_eq!(count(&executions, "file_chunks"), 1, "the renamed root alone; its imports are reused: {executions:#?}");
    assert_eq!(count(&executions, "file_scope"), 1, "{executions:#?}");
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn an_overlay_wins_over_the_disk_until_it_is_removed() {
    let directory = project("overlay");
    let (mut database, _log, main) = checked(&directory);
    let shared = directory.join("shared.flow");
    database.set_file_text(&shared, SHARED.replace("model student", "model pupil"));
    assert_eq!(codes(&database, main), vec!["E0202"], "the buffer, not the disk");
    std::fs::write(&shared, format!("// Saved elsewhere.\n{SHARED}")).unwrap();
    assert!(database.apply_disk_changes(&[shared.clone()]).is_empty(), "a disk event does not override an open buffer");
    assert_eq!(codes(&database, main), vec!["E0202"]);
    database.remove_file_overlay(&shared).expect("shared.flow is known");
    assert!(codes(&database, main).is_empty(), "the disk's contents are back");
    assert!(database.load_file(&shared).unwrap().text(&database).starts_with("// Saved elsewhere."));
    let _ = std::fs::remove_dir_all(&directory);
}

/// Waits (bounded) for the watcher to report `wanted`, applying every batch.
fn wait_for(watcher: &FileWatcher, database: &mut FlowDatabase, wanted: &Path) -> Vec<PathBuf> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut changed = Vec::new();
    while std::time::Instant::now() < deadline {
        let Some(paths) = watcher.next_changes(Some(Duration::from_secs(2))).unwrap() else { continue };
        changed.extend(database.apply_disk_changes(&paths));
        if changed.iter().any(|path| path == wanted) {
            return changed;
        }
    }
    panic!("the watcher did not report {} within 10 s (changed: {changed:?})", wanted.display());
}

#[test]
fn the_watcher_reports_edits_deletions_and_creations_from_the_operating_system() {
    let directory = project("watcher");
    let (mut database, _log, main) = checked(&directory);
    let mut watcher = FileWatcher::new().unwrap();
    watcher.watch_files(&database.watched_paths()).unwrap();
    let shared = directory.join("shared.flow");
    let extra = directory.join("extra.flow");

    std::fs::write(&shared, SHARED.replace("model student", "model pupil")).unwrap();
    wait_for(&watcher, &mut database, &shared);
    assert_eq!(codes(&database, main), vec!["E0202"]);

    std::fs::remove_file(&extra).unwrap();
    wait_for(&watcher, &mut database, &extra);
    assert!(codes(&database, main).contains(&"E0201".to_string()), "{:?}", codes(&database, main));

    // Written elsewhere and renamed into place, as editors save.
    std::fs::write(directory.join(".extra.flow.tmp"), EXTRA).unwrap();
    std::fs::rename(directory.join(".extra.flow.tmp"), &extra).unwrap();
    std::fs::write(&shared, SHARED).unwrap();
    watcher.watch_files(&database.watched_paths()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !codes(&database, main).is_empty() {
        assert!(std::time::Instant::now() < deadline, "still {:?}", codes(&database, main));
        if let Some(paths) = watcher.next_changes(Some(Duration::from_secs(2))).unwrap() {
            database.apply_disk_changes(&paths);
        }
    }
    // Nothing else happens on its own: no event, no change.
    assert!(watcher.next_changes(Some(Duration::from_millis(300))).unwrap().map_or(true, |paths| database.apply_disk_changes(&paths).is_empty()));
    let _ = std::fs::remove_dir_all(&directory);
}
