//! The VS Code extension of `editors/vscode`, through the real tools its npm lock
//! installs (`scripts/setup.sh` runs `npm ci` there):
//! - the TextMate grammar passes its scope assertions and its snapshots, tokenised by
//!   `vscode-tmgrammar-test` (VS Code's own engine, vscode-textmate + oniguruma), with
//!   VS Code's Python grammar for the embedded code bodies;
//! - the manifest declares the language, grammar and server-path setting, and the
//!   language configuration's indentation rules behave as JavaScript (VS Code) reads them;
//! - the entry point is valid JavaScript and finds `vscode-languageclient`;
//! - `@vscode/vsce` packages a `.vsix` holding what the extension needs and no dev tools.

#[path = "support/editor_tools.rs"]
mod editor_tools;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use editor_tools::{node, npm_package, run_bounded, text, vscode_folder};

const TOOL_LIMIT: Duration = Duration::from_secs(180);

fn python_grammar() -> PathBuf {
    npm_package(&vscode_folder(), "tm-grammars").join("grammars/python.json")
}

fn grammar_test_tool(script: &str) -> PathBuf {
    npm_package(&vscode_folder(), "vscode-tmgrammar-test").join("dist").join(script)
}

fn run_node(arguments: &[&str]) -> std::process::Output {
    let mut command = Command::new(node());
    command.args(arguments).current_dir(vscode_folder());
    run_bounded(&mut command, TOOL_LIMIT)
}

fn read_json(relative: &str) -> serde_json::Value {
    let path = vscode_folder().join(relative);
    let contents = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&contents).unwrap_or_else(|error| panic!("{} is not valid JSON: {error}", path.display()))
}

#[test]
fn textmate_grammar_passes_its_scope_assertions() {
    let tool = grammar_test_tool("unit.js");
    let python = python_grammar();
    let output = run_node(&[
        tool.to_str().unwrap(),
        "-g",
        "syntaxes/flow.tmLanguage.json",
        "-g",
        python.to_str().unwrap(),
        "test/unit/*.flow",
    ]);
    let printed = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "vscode-tmgrammar-test failed:\n{printed}");
    assert!(printed.contains("constructs.flow run successful"), "the assertion file did not run:\n{printed}");
}

#[test]
fn textmate_snapshots_match() {
    let snapshot_folder = vscode_folder().join("test/snap");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&snapshot_folder)
        .expect("read test/snap")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "flow"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 6, "expected the language tour, the examples and the standard library in test/snap, found {cases:?}");
    let update = std::env::var_os("FLOWC_UPDATE_SNAPSHOTS").is_some();
    for case in &cases {
        // The examples are links to examples/ and stdlib/: a moved example breaks here.
        assert!(case.is_file(), "{} points at no file", case.display());
        // Without its snapshot the tool would write one and pass.
        let snapshot = PathBuf::from(format!("{}.snap", case.display()));
        assert!(update || snapshot.is_file(), "{} has no snapshot: run this test with FLOWC_UPDATE_SNAPSHOTS=1", case.display());
    }

    let tool = grammar_test_tool("snapshot.js");
    let python = python_grammar();
    let mut arguments =
        vec![tool.to_str().unwrap(), "-g", "syntaxes/flow.tmLanguage.json", "-g", python.to_str().unwrap(), "test/snap/*.flow"];
    if update {
        arguments.push("--updateSnapshot");
    }
    let output = run_node(&arguments);
    let printed = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(
        output.status.success(),
        "the TextMate snapshots changed (if the change is meant, rerun with FLOWC_UPDATE_SNAPSHOTS=1 and review the .snap diff):\n{printed}"
    );
    assert!(!printed.contains("grammar not found"), "a grammar the snapshots need is missing:\n{printed}");
}

#[test]
fn manifest_declares_the_language_grammar_and_server_setting() {
    let manifest = read_json("package.json");
    let contributes = &manifest["contributes"];
    let language = contributes["languages"].as_array().unwrap().iter().find(|language| language["id"] == "flow").expect("the flow language");
    assert!(language["extensions"].as_array().unwrap().iter().any(|extension| extension == ".flow"));
    let configuration = language["configuration"].as_str().unwrap();
    assert!(vscode_folder().join(configuration).is_file(), "{configuration} is missing");

    let grammar_entry = contributes["grammars"].as_array().unwrap().iter().find(|grammar| grammar["language"] == "flow").expect("a grammar");
    let grammar_path = grammar_entry["path"].as_str().unwrap();
    let grammar = read_json(grammar_path);
    assert_eq!(grammar["scopeName"], grammar_entry["scopeName"], "package.json and {grammar_path} disagree on the scope name");

    let setting = &contributes["configuration"]["properties"]["flow.server.path"];
    assert_eq!(setting["type"], "string");
    assert_eq!(setting["default"], "flowc");

    // The entry point parses and finds the language client it requires.
    let main = manifest["main"].as_str().unwrap();
    let check = run_node(&["--check", main]);
    assert!(check.status.success(), "{main} is not valid JavaScript:\n{}", text(&check.stderr));
    let entry_point = std::fs::read_to_string(vscode_folder().join(main)).unwrap();
    assert!(entry_point.contains("'lsp'"), "{main} does not start `flowc lsp`");
    let resolve = run_node(&["-e", "console.log(require.resolve('vscode-languageclient/node'))"]);
    assert!(resolve.status.success(), "vscode-languageclient is not installed: run ./scripts/setup.sh\n{}", text(&resolve.stderr));
}

/// The language configuration's patterns, as VS Code (JavaScript's RegExp) reads them.
#[test]
fn language_configuration_indents_blocks_and_code_strings() {
    let configuration = read_json("language-configuration.json");
    assert_eq!(configuration["comments"]["lineComment"], "//");
    let pairs = configuration["autoClosingPairs"].as_array().unwrap();
    for open in ["{", "[", "(", "\"", "\"\"\""] {
        assert!(pairs.iter().any(|pair| pair["open"] == open), "no auto-closing pair for {open}");
    }

    let script = r#"
        const configuration = require('./language-configuration.json');
        const increase = new RegExp(configuration.indentationRules.increaseIndentPattern);
        const decrease = new RegExp(configuration.indentationRules.decreaseIndentPattern);
        new RegExp(configuration.wordPattern);
        const cases = [
          [increase, 'workflow solve(question: text) -> (answer: number) {', true],
          [increase, '  node extract = llm(student) {', true],
          [increase, '    source = """', true],
          [increase, '  moves = [', true],
          [increase, '    prompt = "Problem: {question}"', false],
          [increase, '      """', false],
          [increase, '  budget { iterations = 5 }', false],
          [decrease, '  }', true],
          [decrease, '      """', true],
          [decrease, '    temperature = 0', false],
        ];
        const wrong = cases.filter(([pattern, line, expected]) => pattern.test(line) !== expected);
        if (wrong.length > 0) {
          console.error(wrong.map(([pattern, line, expected]) => `${pattern} on ${JSON.stringify(line)}: expected ${expected}`).join('\n'));
          process.exit(1);
        }
        console.log(`ok ${cases.length}`);
    "#;
    let output = run_node(&["-e", script]);
    assert!(output.status.success(), "indentation rules:\n{}{}", text(&output.stdout), text(&output.stderr));
}

#[test]
fn vsix_package_holds_the_extension_and_no_dev_tools() {
    npm_package(&vscode_folder(), "@vscode/vsce");
    npm_package(&vscode_folder(), "vscode-languageclient");
    let output_folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("editors-vscode");
    std::fs::create_dir_all(&output_folder).unwrap();
    let vsix = output_folder.join("flow.vsix");
    std::fs::remove_file(&vsix).ok();
    let output = run_node(&["scripts/package.js", vsix.to_str().unwrap()]);
    let printed = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "packaging failed:\n{printed}");
    assert!(printed.contains(&format!("ok {}", vsix.display())), "the package check did not pass:\n{printed}");
    let size = std::fs::metadata(&vsix).expect("the .vsix was written").len();
    // The extension, its grammar and vscode-languageclient: about half a megabyte.
    assert!((100_000..5_000_000).contains(&size), "unexpected .vsix size {size} bytes");
}
