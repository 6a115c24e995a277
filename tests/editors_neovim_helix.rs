//! The Neovim and Helix files of `editors/`:
//! - real Neovim (headless, the Debian package the set-up installs) detects `.flow`
//!   files through `editors/nvim/ftdetect` and applies `editors/nvim/ftplugin`, and
//!   does neither without them;
//! - with the grammar built into `parser/flow.so`, Neovim's own tree-sitter runtime
//!   parses an example, its highlighter starts, the highlight and fold queries of
//!   `editors/nvim/queries/flow` capture what they should, and after an edit that
//!   half-types a node (reparsed incrementally by Neovim) the rest still highlights;
//! - the queries shipped for Neovim are the tree-sitter grammar's own, and Helix's
//!   highlights are the same patterns with Helix's scope names;
//! - `editors/helix/languages.toml` declares the language, the grammar and the
//!   `flowc lsp` server.
//! (That every one of these queries compiles against the grammar is checked in
//! tests/editors_tree_sitter.rs.)

#[path = "support/editor_tools.rs"]
mod editor_tools;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use editor_tools::{repository_root, run_bounded, run_tree_sitter, text, tree_sitter_folder};

fn neovim() -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|folder| folder.join("nvim")).find(|candidate| candidate.is_file()))
        .unwrap_or_default();
    found.unwrap_or_else(|| panic!("Neovim is not installed: run ./scripts/setup.sh (it runs `apt-get install -y neovim`)"))
}

/// Opens an example in headless Neovim (no user configuration) and reports the
/// buffer's filetype and the settings the ftplugin makes.
fn neovim_buffer_settings(with_editor_folder: bool) -> String {
    let example = repository_root().join("examples/gsm_hard/gsm_hard.flow");
    let mut command = Command::new(neovim());
    command.arg("--clean").arg("--headless");
    if with_editor_folder {
        command.arg("--cmd").arg(format!("set runtimepath^={}", repository_root().join("editors/nvim").display()));
    }
    command.arg(&example).arg("-c").arg(
        r#"lua io.stdout:write(string.format("filetype=%s commentstring=%s shiftwidth=%d expandtab=%s\n", vim.bo.filetype, vim.bo.commentstring, vim.bo.shiftwidth, tostring(vim.bo.expandtab)))"#,
    );
    command.arg("-c").arg("qa!").env("HOME", std::env::temp_dir());
    let output = run_bounded(&mut command, Duration::from_secs(30));
    assert!(output.status.success(), "nvim failed:\n{}{}", text(&output.stdout), text(&output.stderr));
    text(&output.stdout).trim().to_string()
}

#[test]
fn neovim_detects_flow_files_and_applies_the_ftplugin() {
    assert_eq!(neovim_buffer_settings(true), "filetype=flow commentstring=// %s shiftwidth=2 expandtab=true");
    // Without editors/nvim on the runtime path Neovim knows nothing of `.flow`.
    let without = neovim_buffer_settings(false);
    assert!(!without.starts_with("filetype=flow "), "Neovim already detects .flow without editors/nvim: {without}");
}

#[test]
fn neovim_highlights_flow_files_with_the_tree_sitter_grammar() {
    // Build the grammar where Neovim looks for parsers: `parser/flow.so` on the runtime path.
    let runtime = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("editors-neovim");
    std::fs::create_dir_all(runtime.join("parser")).unwrap();
    let library = runtime.join("parser/flow.so");
    let build = run_tree_sitter(&["build", "--output", library.to_str().unwrap()], Duration::from_secs(300));
    assert!(build.status.success(), "tree-sitter build failed:\n{}", text(&build.stderr));

    let example = repository_root().join("examples/gsm_hard/gsm_hard.flow");
    let check = repository_root().join("editors/nvim/test/tree_sitter_check.lua");
    let mut command = Command::new(neovim());
    command
        .arg("--clean")
        .arg("--headless")
        .arg("--cmd")
        .arg(format!("set runtimepath^={}", repository_root().join("editors/nvim").display()))
        .arg("--cmd")
        .arg(format!("set runtimepath^={}", runtime.display()))
        .arg(&example)
        .arg("-c")
        .arg(format!("luafile {}", check.display()))
        .arg("-c")
        .arg("qa!")
        .env("HOME", std::env::temp_dir());
    let output = run_bounded(&mut command, Duration::from_secs(60));
    let printed = text(&output.stdout);
    assert!(output.status.success() && !printed.contains("failed="), "nvim failed:\n{printed}{}", text(&output.stderr));
    let lines: Vec<&str> = printed.lines().collect();
    let has = |line: &str| lines.contains(&line);

    assert!(has("filetype=flow"), "{printed}");
    assert!(has("highlighter=true"), "the ftplugin did not start tree-sitter highlighting:\n{printed}");
    assert!(has("clean problems=0"), "{printed}");
    let folds: usize = lines.iter().find_map(|line| line.strip_prefix("clean folds=")).expect("fold count").parse().unwrap();
    assert!(folds >= 10, "only {folds} folds in {printed}");

    // Rows (0-based) of what must highlight, before and after the edit.
    let source = std::fs::read_to_string(&example).unwrap();
    let row_of = |prefix: &str| source.lines().position(|line| line.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?} line"));
    let (extract, compute, optimize) = (row_of("  node extract"), row_of("  node compute"), row_of("optimize solve"));
    for expected in [
        format!("clean function extract {extract}"),
        format!("clean function compute {compute}"),
        format!("clean keyword optimize {optimize}"),
        format!("clean function solve {optimize}"),
        format!("clean string.special {{question}} {}", row_of("      Problem: {question}")),
    ] {
        assert!(has(&expected), "missing `{expected}` in\n{printed}");
    }

    let removed: usize = lines.iter().find_map(|line| line.strip_prefix("removed=")).expect("removed line count").parse().unwrap();
    assert!(removed >= 3, "the edit removed {removed} lines");
    let problems: usize = lines.iter().find_map(|line| line.strip_prefix("edited problems=")).expect("problem count").parse().unwrap();
    assert!(problems >= 1, "the half-typed node shows no problem in the tree:\n{printed}");
    for expected in [
        format!("edited function extract {extract}"),
        format!("edited function compute {}", compute - removed),
        format!("edited keyword optimize {}", optimize - removed),
        format!("edited function solve {}", optimize - removed),
    ] {
        assert!(has(&expected), "after half-typing `extract`, missing `{expected}` in\n{printed}");
    }
}

#[test]
fn neovim_queries_are_the_grammar_queries() {
    let queries = tree_sitter_folder().join("queries");
    let mut names: Vec<_> = std::fs::read_dir(&queries).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    names.sort();
    assert!(names.len() >= 5, "expected highlights, locals, injections, folds and indents, found {names:?}");
    for name in names {
        let shared = std::fs::read_to_string(queries.join(&name)).unwrap();
        let neovim_copy = repository_root().join("editors/nvim/queries/flow").join(&name);
        let installed = std::fs::read_to_string(&neovim_copy).unwrap_or_else(|error| panic!("{}: {error}", neovim_copy.display()));
        assert_eq!(installed, shared, "{} differs from the grammar's {}", neovim_copy.display(), name.to_string_lossy());
    }
}

/// Helix's names for the captures of the shared highlights (the rest are the same).
const HELIX_SCOPES: &[(&str, &str)] = &[
    ("comment", "comment.line"),
    ("keyword.import", "keyword.control.import"),
    ("keyword.type", "keyword.storage.type"),
    ("function.call", "function"),
    ("property", "variable.other.member"),
    ("variable.member", "variable.other.member"),
    ("number", "constant.numeric"),
    ("boolean", "constant.builtin.boolean"),
    ("string.escape", "constant.character.escape"),
];

/// The text without its leading block of `;` comment lines.
fn without_header(query: &str) -> &str {
    let mut rest = query;
    while rest.starts_with(';') {
        rest = rest.split_once('\n').map(|(_, after)| after).unwrap_or("");
    }
    rest
}

#[test]
fn helix_highlights_are_the_shared_patterns_with_helix_scopes() {
    let shared = std::fs::read_to_string(tree_sitter_folder().join("queries/highlights.scm")).unwrap();
    let helix = std::fs::read_to_string(repository_root().join("editors/helix/queries/flow/highlights.scm")).unwrap();
    // Rename every `@capture` of the shared file.
    let mut renamed = String::new();
    let mut rest = without_header(&shared);
    while let Some(at) = rest.find('@') {
        renamed.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let length = rest.find(|character: char| !(character.is_alphanumeric() || character == '.' || character == '_')).unwrap_or(rest.len());
        let capture = &rest[..length];
        renamed.push_str(HELIX_SCOPES.iter().find(|(shared, _)| *shared == capture).map(|(_, helix)| *helix).unwrap_or(capture));
        rest = &rest[length..];
    }
    renamed.push_str(rest);
    assert_eq!(
        without_header(&helix),
        renamed,
        "editors/helix/queries/flow/highlights.scm is not the shared highlights with Helix's scope names"
    );
    for (_, scope) in HELIX_SCOPES {
        assert!(helix.contains(&format!("@{scope}")), "Helix highlights never use {scope}");
    }
}

#[test]
fn helix_languages_toml_declares_the_language_grammar_and_server() {
    let path = repository_root().join("editors/helix/languages.toml");
    let contents = std::fs::read_to_string(&path).unwrap();
    let table: toml::Table = toml::from_str(&contents).unwrap_or_else(|error| panic!("{} is not valid TOML: {error}", path.display()));

    let language = table["language"].as_array().unwrap().iter().find(|language| language["name"].as_str() == Some("flow")).expect("[[language]] flow");
    assert_eq!(language["scope"].as_str(), Some("source.flow"));
    assert!(language["file-types"].as_array().unwrap().iter().any(|file_type| file_type.as_str() == Some("flow")));
    assert_eq!(language["comment-token"].as_str(), Some("//"));
    assert!(language["language-servers"].as_array().unwrap().iter().any(|server| server.as_str() == Some("flowc")));

    let server = &table["language-server"]["flowc"];
    assert_eq!(server["command"].as_str(), Some("flowc"));
    assert_eq!(server["args"].as_array().unwrap().iter().map(|argument| argument.as_str().unwrap()).collect::<Vec<_>>(), vec!["lsp"]);

    let grammar = table["grammar"].as_array().unwrap().iter().find(|grammar| grammar["name"].as_str() == Some("flow")).expect("[[grammar]] flow");
    assert!(grammar["source"]["path"].as_str().unwrap().ends_with("editors/tree-sitter-flow"));

    let helix_queries = repository_root().join("editors/helix/queries/flow");
    for query in ["highlights.scm", "indents.scm", "injections.scm", "locals.scm"] {
        assert!(helix_queries.join(query).is_file(), "editors/helix/queries/flow/{query} is missing");
    }
}
