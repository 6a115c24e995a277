//! The real editor tools the `editors_*` tests drive: the tree-sitter CLI, Node and
//! the npm packages of `editors/`, all installed by `scripts/setup.sh`. A missing tool
//! fails the test with the set-up command to run, never a silent pass.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn tree_sitter_folder() -> PathBuf {
    repository_root().join("editors/tree-sitter-flow")
}

pub fn vscode_folder() -> PathBuf {
    repository_root().join("editors/vscode")
}

/// An executable on `PATH`, or in one of `extra_folders`.
fn find_executable(name: &str, extra_folders: &[PathBuf]) -> Option<PathBuf> {
    let path_folders = std::env::var_os("PATH").map(|path| std::env::split_paths(&path).collect::<Vec<_>>()).unwrap_or_default();
    path_folders.iter().chain(extra_folders).map(|folder| folder.join(name)).find(|candidate| candidate.is_file())
}

/// The tree-sitter CLI (`cargo install tree-sitter-cli --locked` puts it in cargo's bin folder).
pub fn tree_sitter() -> PathBuf {
    let mut cargo_bins = Vec::new();
    if let Some(cargo_home) = std::env::var_os("CARGO_HOME") {
        cargo_bins.push(PathBuf::from(cargo_home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        cargo_bins.push(PathBuf::from(home).join(".cargo/bin"));
    }
    find_executable("tree-sitter", &cargo_bins).unwrap_or_else(|| {
        panic!("the tree-sitter CLI is not installed: run ./scripts/setup.sh (it runs `cargo install tree-sitter-cli --locked`)")
    })
}

pub fn node() -> PathBuf {
    find_executable("node", &[]).unwrap_or_else(|| panic!("Node.js is not installed: install Node 20 or later, then run ./scripts/setup.sh"))
}

/// A package that `npm ci` installed in `folder`; fails with the set-up command otherwise.
pub fn npm_package(folder: &Path, package: &str) -> PathBuf {
    let installed = folder.join("node_modules").join(package);
    assert!(
        installed.join("package.json").is_file(),
        "{} is missing: run ./scripts/setup.sh (it runs `npm ci` in {})",
        installed.display(),
        folder.display()
    );
    installed
}

/// Runs a command with a deadline: a hung tool fails the test instead of stalling CI.
pub fn run_bounded(command: &mut Command, limit: Duration) -> Output {
    let description = format!("{command:?}");
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("could not start {description}: {error}"));
    let started = Instant::now();
    // Read the pipes on their own threads so that a chatty tool cannot block on a full pipe.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let stdout_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut bytes).ok();
        bytes
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut bytes).ok();
        bytes
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the tool") {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!("{description} ran past {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: stdout_reader.join().expect("stdout reader"), stderr: stderr_reader.join().expect("stderr reader") }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The tree-sitter CLI compiles the grammar into a shared library on first use; two
/// test threads compiling it at once would race on the same file, so every call of
/// the CLI from one test binary goes through this lock.
pub fn tree_sitter_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A tree-sitter config (parser directories: the grammars npm installed next to
/// ours, for the Python injected into code bodies) and a library folder, both in the
/// build's scratch space, so the tests leave nothing in `~/.config` or `~/.cache`.
pub struct TreeSitterSetup {
    pub config: PathBuf,
    pub library_folder: PathBuf,
}

pub fn tree_sitter_setup() -> &'static TreeSitterSetup {
    static SETUP: OnceLock<TreeSitterSetup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("editors-tree-sitter");
        let library_folder = scratch.join("lib");
        std::fs::create_dir_all(&library_folder).expect("create the tree-sitter library folder");
        let parser_folder = tree_sitter_folder().join("node_modules");
        let config = scratch.join("config.json");
        let contents = serde_json::json!({ "parser-directories": [parser_folder] });
        std::fs::write(&config, serde_json::to_string_pretty(&contents).unwrap()).expect("write the tree-sitter config");
        TreeSitterSetup { config, library_folder }
    })
}

/// `tree-sitter ARGUMENTS` in the grammar folder, with the test config, bounded in time.
pub fn run_tree_sitter(arguments: &[&str], limit: Duration) -> Output {
    let setup = tree_sitter_setup();
    let _guard = tree_sitter_lock();
    let mut command = Command::new(tree_sitter());
    command.args(arguments).current_dir(tree_sitter_folder()).env("TREE_SITTER_LIBDIR", &setup.library_folder);
    run_bounded(&mut command, limit)
}

/// The `.flow` files under `examples/` and `stdlib/`, sorted.
pub fn example_and_stdlib_files() -> Vec<PathBuf> {
    fn walk(folder: &Path, found: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(folder).expect("read folder").map(|entry| entry.expect("entry").path()).collect();
        entries.sort();
        for entry in entries {
            if entry.is_dir() {
                walk(&entry, found);
            } else if entry.extension().is_some_and(|extension| extension == "flow") {
                found.push(entry);
            }
        }
    }
    let mut found = Vec::new();
    for folder in ["examples", "stdlib"] {
        walk(&repository_root().join(folder), &mut found);
    }
    assert!(found.len() >= 5, "expected the examples and the standard library, found {found:?}");
    found
}
