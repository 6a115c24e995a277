//! Snapshot tests of the diagnostics flowc reports, one small broken file per code.
//!
//! Every `tests/diagnostics/*.flow` file is a case: its name starts with the code it
//! must trigger (`E0101_unknown_name.flow`). For each case, every diagnostic of the
//! file is rendered as a person sees it (no colour, 100 columns) and compared with
//! `tests/snapshots/diagnostic_snapshots__<case>.snap`.
//!
//! Files under `tests/diagnostics/support/` are helpers the cases import or read
//! (a second `.flow` file, a dataset), not cases.
//!
//! Paths are given relative to the crate root (`tests/diagnostics/...`), so the
//! snapshots are the same on every machine; imports and dataset files are resolved
//! relative to that path, so the tests run with the crate root as the working
//! directory. To accept changed output: `INSTA_UPDATE=always cargo test --test
//! diagnostic_snapshots`, then review the `.snap` files with `git diff`.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;

use flowc::diagnostics::codes::ALL_CODES;
use flowc::diagnostics::render::{render_human, RenderOptions};
use flowc::semantic::{file_diagnostics, FlowDatabase};

const CASES_FOLDER: &str = "tests/diagnostics";

/// Work from the crate root, where the relative case paths resolve.
fn enter_crate_root() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("cannot enter the crate root");
    });
}

/// The case files, sorted, as paths relative to the crate root.
fn case_files() -> Vec<PathBuf> {
    enter_crate_root();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(CASES_FOLDER)
        .expect("tests/diagnostics exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|extension| extension == "flow"))
        .map(|path| Path::new(CASES_FOLDER).join(path.file_name().expect("a file name")))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no case files under {CASES_FOLDER}");
    cases
}

fn case_name(path: &Path) -> String {
    path.file_stem().and_then(|stem| stem.to_str()).expect("a UTF-8 file name").to_string()
}

/// The code a case is named after: `E0101` for `E0101_unknown_name`.
fn case_code(name: &str) -> &str {
    name.split('_').next().unwrap_or(name)
}

/// Every diagnostic of one file, rendered and concatenated, and their codes.
fn check_case(path: &Path) -> (String, Vec<&'static str>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let shown_path = path.to_str().expect("a UTF-8 path").replace('\\', "/");
    let mut database = FlowDatabase::default();
    let file = database.set_file_text(Path::new(&shown_path), text.clone());
    let diagnostics = file_diagnostics(&database, file);
    let options = RenderOptions { color: false, width: 100 };
    let mut rendered = String::new();
    for diagnostic in &diagnostics {
        rendered.push_str(&render_human(diagnostic, &shown_path, &text, options));
        rendered.push('\n');
    }
    if diagnostics.is_empty() {
        rendered.push_str("(no diagnostics)\n");
    }
    (rendered, diagnostics.iter().map(|diagnostic| diagnostic.code.id).collect())
}

#[test]
fn every_case_matches_its_snapshot() {
    let mut failures: Vec<String> = Vec::new();
    for path in case_files() {
        let name = case_name(&path);
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            let (rendered, codes) = check_case(&path);
            let mut settings = insta::Settings::clone_current();
            settings.set_prepend_module_to_snapshot(true);
            settings.set_description(format!("flowc check {}", path.display()));
            settings.set_omit_expression(true);
            settings.bind(|| insta::assert_snapshot!(name.clone(), rendered));
            codes
        }));
        match result {
            Ok(codes) => {
                let expected = case_code(&name);
                if !codes.contains(&expected) {
                    failures.push(format!("{name}: expected a {expected} diagnostic, found {codes:?}"));
                }
            }
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                failures.push(format!("{name}: {}", message.lines().next().unwrap_or("")));
            }
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n  {}", failures.len(), failures.join("\n  "));
}

#[test]
fn every_code_has_a_case() {
    let cases: Vec<String> = case_files().iter().map(|path| case_name(path)).collect();
    let missing: Vec<&str> = ALL_CODES
        .iter()
        .map(|code| code.id)
        .filter(|id| !cases.iter().any(|case| case_code(case) == *id))
        .collect();
    assert!(
        missing.is_empty(),
        "no case file under {CASES_FOLDER} for {missing:?}: add `<CODE>_<what>.flow` triggering each"
    );
}

#[test]
fn every_case_is_named_after_a_known_code() {
    let unknown: Vec<String> = case_files()
        .iter()
        .map(|path| case_name(path))
        .filter(|case| !ALL_CODES.iter().any(|code| code.id == case_code(case)))
        .collect();
    assert!(unknown.is_empty(), "case files named after no code: {unknown:?}");
}

#[test]
fn no_snapshot_is_orphaned() {
    let cases: Vec<String> = case_files().iter().map(|path| case_name(path)).collect();
    let Ok(entries) = std::fs::read_dir("tests/snapshots") else { return };
    let prefix = "diagnostic_snapshots__";
    let orphans: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|file| Some(file.strip_prefix(prefix)?.strip_suffix(".snap")?.to_string()))
        .filter(|name| !cases.contains(name))
        .collect();
    assert!(orphans.is_empty(), "snapshots without a case file (delete them): {orphans:?}");
}
