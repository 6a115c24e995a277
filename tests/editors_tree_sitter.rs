//! The tree-sitter grammar of `editors/tree-sitter-flow`, through the real
//! tree-sitter CLI (installed by `scripts/setup.sh`):
//! - its corpus and highlight tests pass (`tree-sitter test`);
//! - the code of metrics and code nodes is highlighted as Python (and nothing else is);
//! - the committed parser is what `tree-sitter generate` makes of `grammar.js`;
//! - every `.flow` file of `examples/` and `stdlib/` parses with no error node;
//! - it does not drift from the compiler's pest grammar: the same files (and every
//!   corpus case and whole-file example of docs/language.md) parsed by both give the
//!   same outline — items, names, node
//!   kinds, parameters, property keys and value shapes;
//! - a half-typed file keeps its errors local: cut any declaration of an example
//!   short and every other declaration still highlights exactly as before;
//! - it finishes every parse: every prefix of the examples and a few thousand seeded
//!   mutations parse within a per-file timeout (the external scanner's zero-width
//!   tokens cannot loop);
//! - every query file shipped for an editor compiles against the grammar.

#[path = "support/editor_tools.rs"]
mod editor_tools;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use editor_tools::{example_and_stdlib_files, repository_root, run_tree_sitter, text, tree_sitter_folder, tree_sitter_setup};
use flowc::syntax::ast;
use flowc::syntax::parse_source;

// (The first run compiles the flow and Python parsers: tens of seconds on a busy 2-core machine.)
const TOOL_LIMIT: Duration = Duration::from_secs(300);

/// The tour of every construct of docs/language.md (shared with the TextMate snapshots).
fn language_tour() -> PathBuf {
    repository_root().join("editors/vscode/test/snap/language_tour.flow")
}

fn scratch_folder(name: &str) -> PathBuf {
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("editors-tree-sitter").join(name);
    if folder.exists() {
        std::fs::remove_dir_all(&folder).expect("clear the scratch folder");
    }
    std::fs::create_dir_all(&folder).expect("create the scratch folder");
    folder
}

// ------------------------------------------------------------------ the CLI's tree

/// One node of `tree-sitter parse` output: kind, field name, byte range, children.
#[derive(Debug)]
struct SyntaxNode {
    kind: String,
    field: Option<String>,
    start: usize,
    end: usize,
    children: Vec<SyntaxNode>,
}

impl SyntaxNode {
    fn named_children(&self) -> impl Iterator<Item = &SyntaxNode> {
        self.children.iter().filter(|child| child.kind != "comment")
    }

    fn field(&self, name: &str) -> Option<&SyntaxNode> {
        self.children.iter().find(|child| child.field.as_deref() == Some(name))
    }

    fn fields<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a SyntaxNode> + 'a {
        self.children.iter().filter(move |child| child.field.as_deref() == Some(name))
    }

    fn required(&self, name: &str) -> &SyntaxNode {
        self.field(name).unwrap_or_else(|| panic!("{} has no `{name}` field: {self:?}", self.kind))
    }

    fn text<'a>(&self, source: &'a str) -> &'a str {
        &source[self.start..self.end]
    }

    fn walk(&self, visit: &mut dyn FnMut(&SyntaxNode)) {
        visit(self);
        for child in &self.children {
            child.walk(visit);
        }
    }
}

/// Reads the S-expression `tree-sitter parse` prints: `(kind [row, column] - [row, column] field: (...) ...)`.
struct SyntaxTreeReader<'a> {
    characters: std::iter::Peekable<std::str::Chars<'a>>,
    line_starts: Vec<usize>,
}

impl SyntaxTreeReader<'_> {
    fn read(printed: &str, source: &str) -> SyntaxNode {
        let mut line_starts = vec![0];
        line_starts.extend(source.match_indices('\n').map(|(offset, _)| offset + 1));
        let mut reader = SyntaxTreeReader { characters: printed.chars().peekable(), line_starts };
        reader.skip_blanks();
        reader.node(None)
    }

    fn skip_blanks(&mut self) {
        while self.characters.peek().is_some_and(|character| character.is_whitespace()) {
            self.characters.next();
        }
    }

    fn expect(&mut self, wanted: char) {
        self.skip_blanks();
        let found = self.characters.next();
        assert_eq!(found, Some(wanted), "unexpected text in the tree-sitter output");
    }

    fn word(&mut self) -> String {
        self.skip_blanks();
        let mut word = String::new();
        if self.characters.peek() == Some(&'"') {
            // An anonymous token, as in `(MISSING "}")`.
            word.push(self.characters.next().unwrap());
            while let Some(character) = self.characters.next() {
                word.push(character);
                if character == '"' && word.len() > 1 {
                    break;
                }
            }
            return word;
        }
        while let Some(&character) = self.characters.peek() {
            if character.is_alphanumeric() || character == '_' {
                word.push(character);
                self.characters.next();
            } else {
                break;
            }
        }
        word
    }

    fn position(&mut self) -> usize {
        self.expect('[');
        let row: usize = self.word().parse().expect("row");
        self.expect(',');
        let column: usize = self.word().parse().expect("column");
        self.expect(']');
        // tree-sitter's columns count bytes.
        self.line_starts.get(row).copied().unwrap_or(*self.line_starts.last().unwrap()) + column
    }

    fn node(&mut self, field: Option<String>) -> SyntaxNode {
        self.expect('(');
        let mut kind = self.word();
        if kind == "MISSING" {
            kind = format!("MISSING {}", self.word());
        }
        let start = self.position();
        self.expect('-');
        let end = self.position();
        let mut children = Vec::new();
        loop {
            self.skip_blanks();
            match self.characters.peek() {
                Some(')') => {
                    self.characters.next();
                    break;
                }
                Some('(') => children.push(self.node(None)),
                Some(_) => {
                    let name = self.word();
                    self.expect(':');
                    self.skip_blanks();
                    children.push(self.node(Some(name)));
                }
                None => panic!("the tree-sitter output ended inside {kind}"),
            }
        }
        SyntaxNode { kind, field, start, end, children }
    }
}

/// Parses a file with the real CLI; the status says whether it found errors.
fn tree_sitter_parse(file: &Path) -> (SyntaxNode, bool, String) {
    let output = run_tree_sitter(&["parse", file.to_str().unwrap()], TOOL_LIMIT);
    let printed = text(&output.stdout);
    let source = std::fs::read_to_string(file).expect("read the parsed file");
    let tree = SyntaxTreeReader::read(&printed, &source);
    (tree, output.status.success(), printed)
}

/// Every node of a tree that marks a parse problem.
fn problem_nodes(tree: &SyntaxNode) -> Vec<String> {
    let mut problems = Vec::new();
    tree.walk(&mut |node| {
        if node.kind == "ERROR" || node.kind.starts_with("MISSING") || node.kind == "missing_close" || node.kind == "missing_rest" {
            problems.push(format!("{} at byte {}", node.kind, node.start));
        }
    });
    problems
}

// ----------------------------------------------------------------- the outlines

/// The outline of a file from the tree-sitter tree: one line per declaration and per
/// workflow member, with names, kinds, parameter and property keys and value shapes.
fn tree_sitter_outline(tree: &SyntaxNode, source: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for item in tree.named_children() {
        let name = |field: &str| item.required(field).text(source).to_string();
        match item.kind.as_str() {
            "import_declaration" => {
                let names: Vec<_> = item
                    .field("names")
                    .map(|list| list.fields("name").map(|name| name.text(source).to_string()).collect())
                    .unwrap_or_default();
                lines.push(format!("import {} {{{}}}", ts_string(item.required("path"), source), names.join(", ")));
            }
            "model_declaration" | "dataset_declaration" => {
                let keyword = item.kind.trim_end_matches("_declaration");
                let body = item.field("body").map(|block| ts_block(block, source)).unwrap_or_else(|| "-".into());
                lines.push(format!("{keyword} {} = {} {body}", name("name"), ts_value(item.required("source"), source)));
            }
            "metric_declaration" => lines.push(format!(
                "metric {}({}) {}",
                name("name"),
                ts_parameters(item.required("parameters"), source),
                ts_block(item.required("body"), source)
            )),
            "optimize_declaration" => lines.push(format!("optimize {} {}", name("workflow"), ts_block(item.required("body"), source))),
            "workflow_declaration" => {
                lines.push(format!(
                    "workflow {}({}) -> ({})",
                    name("name"),
                    ts_parameters(item.required("inputs"), source),
                    ts_parameters(item.required("outputs"), source)
                ));
                for member in item.required("body").named_children() {
                    match member.kind.as_str() {
                        "node_declaration" => {
                            let models = member
                                .field("models")
                                .map(|models| {
                                    let names: Vec<_> = models.fields("model").map(|model| model.text(source)).collect();
                                    format!("({})", names.join(", "))
                                })
                                .unwrap_or_default();
                            lines.push(format!(
                                "  node {} = {}{models} {}",
                                member.required("name").text(source),
                                member.required("kind").text(source),
                                ts_block(member.required("body"), source)
                            ));
                        }
                        "output_binding" => lines.push(format!(
                            "  {} = {}",
                            member.required("output").text(source),
                            ts_value(member.required("value"), source)
                        )),
                        other => panic!("unexpected workflow member {other}"),
                    }
                }
            }
            other => panic!("unexpected top-level node {other}"),
        }
    }
    lines
}

fn ts_string(node: &SyntaxNode, source: &str) -> String {
    let raw = node.named_children().find(|child| child.kind == "string_content").map(|content| content.text(source)).unwrap_or("");
    if node.kind == "multiline_string" {
        format!("\"\"\"{raw}\"\"\"")
    } else {
        format!("\"{raw}\"")
    }
}

fn ts_parameters(list: &SyntaxNode, source: &str) -> String {
    let parameters: Vec<_> = list
        .named_children()
        .map(|parameter| {
            let mut rendered = format!("{}: {}", parameter.required("name").text(source), ts_type(parameter.required("type"), source));
            if let Some(default) = parameter.field("default") {
                write!(rendered, " = {}", ts_value(default, source)).unwrap();
            }
            rendered
        })
        .collect();
    parameters.join(", ")
}

fn ts_block(block: &SyntaxNode, source: &str) -> String {
    let properties: Vec<_> = block
        .named_children()
        .map(|property| {
            let key = property.required("key").text(source);
            match (property.field("type"), property.field("value"), property.field("block")) {
                (Some(ty), None, None) => format!("{key} = type {}", ts_type(ty, source)),
                (Some(ty), Some(value), None) => format!("{key}: {} = {}", ts_type(ty, source), ts_value(value, source)),
                (None, Some(value), None) => format!("{key} = {}", ts_value(value, source)),
                (None, None, Some(inner)) => format!("{key} {}", ts_block(inner, source)),
                _ => panic!("unexpected property shape {property:?}"),
            }
        })
        .collect();
    format!("{{{}}}", properties.join(", "))
}

fn ts_value(value: &SyntaxNode, source: &str) -> String {
    match value.kind.as_str() {
        "string" | "multiline_string" => ts_string(value, source),
        "number" | "boolean" | "path" | "field_path" => value.text(source).to_string(),
        "list" => {
            let elements: Vec<_> = value.named_children().map(|element| ts_value(element, source)).collect();
            format!("[{}]", elements.join(", "))
        }
        "object" => ts_block(value, source),
        "call" => {
            let arguments: Vec<_> = value
                .required("arguments")
                .named_children()
                .map(|argument| {
                    let rendered = ts_value(argument.required("value"), source);
                    match argument.field("name") {
                        Some(name) => format!("{} = {rendered}", name.text(source)),
                        None => rendered,
                    }
                })
                .collect();
            format!("{}({})", value.required("function").text(source), arguments.join(", "))
        }
        other => panic!("unexpected value {other}"),
    }
}

fn ts_type(ty: &SyntaxNode, source: &str) -> String {
    match ty.kind.as_str() {
        "type_identifier" => ty.text(source).to_string(),
        "list_type" => format!("[{}]", ts_type(ty.required("element"), source)),
        "json_type" => {
            let fields: Vec<_> = ty
                .named_children()
                .map(|field| format!("{}: {}", field.required("name").text(source), ts_type(field.required("type"), source)))
                .collect();
            format!("json{{{}}}", fields.join(", "))
        }
        "enum_type" => {
            let values: Vec<_> = ty.named_children().map(|value| ts_string(value, source)).collect();
            format!("enum({})", values.join(", "))
        }
        other => panic!("unexpected type {other}"),
    }
}

/// The same outline from flowc's own parser (pest, `flowc::syntax::parse_source`).
fn pest_outline(items: &[ast::Item]) -> Vec<String> {
    let mut lines = Vec::new();
    for item in items {
        match item {
            ast::Item::Import(import) => {
                let names: Vec<_> = import.names.iter().map(|name| name.text.as_str()).collect();
                lines.push(format!("import {} {{{}}}", pest_string(&import.path), names.join(", ")));
            }
            ast::Item::Model(model) => {
                let body = model.properties.as_ref().map(pest_block).unwrap_or_else(|| "-".into());
                lines.push(format!("model {} = {} {body}", model.name.text, pest_call(&model.source)));
            }
            ast::Item::Dataset(dataset) => {
                let body = dataset.properties.as_ref().map(pest_block).unwrap_or_else(|| "-".into());
                lines.push(format!("dataset {} = {} {body}", dataset.name.text, pest_call(&dataset.source)));
            }
            ast::Item::Metric(metric) => {
                lines.push(format!("metric {}({}) {}", metric.name.text, pest_parameters(&metric.params), pest_block(&metric.properties)))
            }
            ast::Item::Optimize(optimize) => lines.push(format!("optimize {} {}", optimize.target.text, pest_block(&optimize.properties))),
            ast::Item::Workflow(workflow) => {
                lines.push(format!(
                    "workflow {}({}) -> ({})",
                    workflow.name.text,
                    pest_parameters(&workflow.inputs),
                    pest_parameters(&workflow.outputs)
                ));
                for member in &workflow.members {
                    match member {
                        ast::WorkflowMember::Node(node) => {
                            let models = node
                                .kind_arguments
                                .as_ref()
                                .map(|models| {
                                    let names: Vec<_> = models.iter().map(|model| model.text.as_str()).collect();
                                    format!("({})", names.join(", "))
                                })
                                .unwrap_or_default();
                            lines.push(format!("  node {} = {}{models} {}", node.name.text, node.kind.text, pest_block(&node.properties)));
                        }
                        ast::WorkflowMember::Binding(binding) => {
                            lines.push(format!("  {} = {}", binding.output.text, pest_path(&binding.target.segments)))
                        }
                    }
                }
            }
        }
    }
    lines
}

fn pest_string(literal: &ast::StringLiteral) -> String {
    if literal.multiline {
        format!("\"\"\"{}\"\"\"", literal.raw)
    } else {
        format!("\"{}\"", literal.raw)
    }
}

fn pest_path(segments: &[ast::Ident]) -> String {
    segments.iter().map(|segment| segment.text.as_str()).collect::<Vec<_>>().join(".")
}

fn pest_parameters(parameters: &[ast::Param]) -> String {
    let rendered: Vec<_> = parameters
        .iter()
        .map(|parameter| {
            let mut rendered = format!("{}: {}", parameter.name.text, pest_type(&parameter.ty));
            if let Some(default) = &parameter.default {
                write!(rendered, " = {}", pest_value(default)).unwrap();
            }
            rendered
        })
        .collect();
    rendered.join(", ")
}

fn pest_block(block: &ast::PropertyBlock) -> String {
    let properties: Vec<_> = block
        .properties
        .iter()
        .map(|property| {
            let key = &property.key.text;
            match &property.value {
                ast::PropertyValue::Type(ty) => format!("{key} = type {}", pest_type(ty)),
                ast::PropertyValue::Typed { ty, value } => format!("{key}: {} = {}", pest_type(ty), pest_value(value)),
                ast::PropertyValue::Value(value) => format!("{key} = {}", pest_value(value)),
                ast::PropertyValue::Block(inner) => format!("{key} {}", pest_block(inner)),
            }
        })
        .collect();
    format!("{{{}}}", properties.join(", "))
}

fn pest_call(call: &ast::Call) -> String {
    let arguments: Vec<_> = call
        .arguments
        .iter()
        .map(|argument| match &argument.name {
            Some(name) => format!("{} = {}", name.text, pest_value(&argument.value)),
            None => pest_value(&argument.value),
        })
        .collect();
    format!("{}({})", call.callee.text, arguments.join(", "))
}

fn pest_value(value: &ast::Value) -> String {
    match &value.kind {
        ast::ValueKind::String(literal) => pest_string(literal),
        ast::ValueKind::Number(number) => number.text.clone(),
        ast::ValueKind::Bool(boolean) => boolean.to_string(),
        ast::ValueKind::List(elements) => format!("[{}]", elements.iter().map(pest_value).collect::<Vec<_>>().join(", ")),
        ast::ValueKind::Object(block) => pest_block(block),
        ast::ValueKind::Call(call) => pest_call(call),
        ast::ValueKind::FieldPath(segments) => format!(".{}", pest_path(segments)),
        ast::ValueKind::Path(path) => pest_path(&path.segments),
    }
}

fn pest_type(ty: &ast::TypeExpr) -> String {
    match &ty.kind {
        ast::TypeExprKind::Named(name) => name.text.clone(),
        ast::TypeExprKind::List(element) => format!("[{}]", pest_type(element)),
        ast::TypeExprKind::Json(fields) => {
            let fields: Vec<_> = fields.iter().map(|field| format!("{}: {}", field.name.text, pest_type(&field.ty))).collect();
            format!("json{{{}}}", fields.join(", "))
        }
        ast::TypeExprKind::Enum(values) => format!("enum({})", values.iter().map(pest_string).collect::<Vec<_>>().join(", ")),
    }
}

/// The inputs of the corpus tests (`test/corpus/*.txt`), except the error cases.
fn corpus_inputs() -> Vec<(String, String)> {
    let corpus_folder = tree_sitter_folder().join("test/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&corpus_folder).expect("read the corpus").map(|entry| entry.unwrap().path()).collect();
    files.sort();
    let rule = "=".repeat(60);
    let divider = "-".repeat(60);
    let mut inputs = Vec::new();
    for file in files {
        if file.file_stem().is_some_and(|stem| stem == "errors") {
            continue;
        }
        let contents = std::fs::read_to_string(&file).unwrap();
        // Each case: a rule, its name, a rule, the input, a divider, the expected tree.
        let mut rest = contents.as_str();
        while let Some(start) = rest.find(&rule) {
            let after_first = &rest[start + rule.len()..];
            let name_end = after_first.find(&rule).expect("a corpus case name between two rules");
            let name = after_first[..name_end].trim().to_string();
            let body = &after_first[name_end + rule.len()..];
            let divider_at = body.find(&divider).expect("a corpus case divider");
            inputs.push((format!("{}: {name}", file.file_name().unwrap().to_string_lossy()), body[..divider_at].trim().to_string() + "\n"));
            rest = &body[divider_at..];
        }
    }
    assert!(inputs.len() >= 20, "expected the corpus cases, found {}", inputs.len());
    inputs
}

/// The ```flow blocks of docs/language.md that are whole files (the others are
/// fragments: a property, a binding, a node on its own).
fn documentation_files() -> Vec<(String, String)> {
    let documentation = std::fs::read_to_string(repository_root().join("docs/language.md")).unwrap();
    let mut files = Vec::new();
    for (index, block) in documentation.split("```flow\n").skip(1).enumerate() {
        let code = block.split("```").next().unwrap_or("");
        if parse_source(code).diagnostics.is_empty() {
            files.push((format!("docs/language.md, flow block {}", index + 1), code.to_string()));
        }
    }
    assert!(files.len() >= 8, "only {} whole-file examples in docs/language.md", files.len());
    files
}

// ------------------------------------------------------------------------ tests

#[test]
fn corpus_and_highlight_tests_pass() {
    editor_tools::npm_package(&tree_sitter_folder(), "tree-sitter-python");
    let setup = tree_sitter_setup();
    let output = run_tree_sitter(&["test", "--config-path", setup.config.to_str().unwrap()], TOOL_LIMIT);
    let printed = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "tree-sitter test failed:\n{printed}");
    assert!(!printed.contains('✗'), "a tree-sitter test failed:\n{printed}");
    // The highlight tests ran.
    for highlight_test in ["constructs.flow", "half_typed.flow"] {
        assert!(printed.contains(highlight_test), "the highlight test {highlight_test} did not run:\n{printed}");
    }
}

/// How often each keyword is highlighted in `tree-sitter highlight --html` output.
fn highlighted_keywords(html: &str) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for piece in html.split("<span class='keyword'>").skip(1) {
        let word = piece.split('<').next().unwrap_or("").to_string();
        *counts.entry(word).or_insert(0) += 1;
    }
    counts
}

#[test]
fn code_bodies_are_highlighted_as_python() {
    editor_tools::npm_package(&tree_sitter_folder(), "tree-sitter-python");
    let setup = tree_sitter_setup();
    let sample = tree_sitter_folder().join("test/injection/python_in_code.flow");
    let highlight = |config: &Path| {
        let output = run_tree_sitter(
            &[
                "highlight",
                "--config-path",
                config.to_str().unwrap(),
                "--html",
                "--style",
                "minimal",
                "--layout",
                "fragment",
                sample.to_str().unwrap(),
            ],
            TOOL_LIMIT,
        );
        assert!(output.status.success(), "tree-sitter highlight failed:\n{}", text(&output.stderr));
        highlighted_keywords(&text(&output.stdout))
    };
    let keywords = highlight(&setup.config);
    // `def` and `return` of the metric's and the code node's sources, `for` of the
    // code node's; not the `def ... return` in the description or the prompt.
    for (keyword, count) in [("def", 2), ("return", 2), ("for", 1), ("metric", 1), ("workflow", 1), ("node", 2)] {
        assert_eq!(keywords.get(keyword).copied().unwrap_or(0), count, "`{keyword}` highlighted as a keyword: {keywords:?}");
    }
    // Without the Python grammar the sources are plain strings: the injection is what
    // highlights them.
    let no_python = scratch_folder("no_python").join("config.json");
    std::fs::write(&no_python, r#"{ "parser-directories": [] }"#).unwrap();
    let without = highlight(&no_python);
    assert_eq!(without.get("def"), None, "Python keywords without the Python grammar: {without:?}");
    assert_eq!(without.get("metric"), Some(&1));
}

#[test]
fn committed_parser_is_generated_from_grammar_js() {
    editor_tools::node();
    let output_folder = scratch_folder("generated");
    // ABI 14, not the CLI's default 15: Neovim before 0.11 (Debian's 0.7 included) and
    // older Helix load only ABI 14 parsers, and this grammar needs nothing of 15.
    let output = run_tree_sitter(&["generate", "--abi", "14", "--output", output_folder.to_str().unwrap()], TOOL_LIMIT);
    assert!(output.status.success(), "tree-sitter generate failed:\n{}{}", text(&output.stdout), text(&output.stderr));
    for file in ["parser.c", "grammar.json", "node-types.json"] {
        let generated = std::fs::read(output_folder.join(file)).expect("generated file");
        let committed = std::fs::read(tree_sitter_folder().join("src").join(file)).expect("committed file");
        assert!(
            generated == committed,
            "editors/tree-sitter-flow/src/{file} is not what grammar.js generates: run `npm run generate` (tree-sitter generate --abi 14) in editors/tree-sitter-flow and commit src/"
        );
    }
}

#[test]
fn every_example_and_stdlib_file_parses_without_error_nodes() {
    let mut files = example_and_stdlib_files();
    files.push(language_tour());
    for file in files {
        let (tree, clean, printed) = tree_sitter_parse(&file);
        let problems = problem_nodes(&tree);
        assert!(clean && problems.is_empty(), "{} does not parse cleanly with tree-sitter: {problems:?}\n{printed}", file.display());
        assert!(tree.named_children().count() >= 2, "{}: too few declarations in {printed}", file.display());
    }
}

#[test]
fn tree_sitter_and_pest_read_the_same_outline() {
    let mut cases: Vec<(String, String)> = example_and_stdlib_files()
        .into_iter()
        .chain([language_tour()])
        .map(|file| (file.display().to_string(), std::fs::read_to_string(&file).unwrap()))
        .collect();
    cases.extend(corpus_inputs());
    cases.extend(documentation_files());

    let folder = scratch_folder("drift");
    let mut compared_lines = 0;
    for (index, (name, source)) in cases.iter().enumerate() {
        let parsed = parse_source(source);
        assert!(parsed.diagnostics.is_empty(), "{name}: flowc's parser reports {:?}", parsed.diagnostics);
        let expected = pest_outline(&parsed.items);

        let file = folder.join(format!("case_{index}.flow"));
        std::fs::write(&file, source).unwrap();
        let (tree, clean, printed) = tree_sitter_parse(&file);
        assert!(clean && problem_nodes(&tree).is_empty(), "{name}: tree-sitter finds errors:\n{printed}");
        let actual = tree_sitter_outline(&tree, source);

        assert_eq!(actual, expected, "{name}: the tree-sitter grammar and grammar/flow.pest read this file differently");
        compared_lines += expected.len();
    }
    assert!(compared_lines > 100, "compared only {compared_lines} outline lines");
}

/// A capture of `tree-sitter query`: name, start row and column, end row and column, text.
type Capture = (String, usize, usize, usize, usize, String);

/// `tree-sitter query QUERY FILE...`: the captures of each file, in order.
fn query_captures(query: &Path, files: &[PathBuf], keep_zero_width: bool) -> Vec<Vec<Capture>> {
    let mut arguments = vec!["query".to_string(), query.display().to_string()];
    arguments.extend(files.iter().map(|file| file.display().to_string()));
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let output = run_tree_sitter(&arguments, TOOL_LIMIT);
    assert!(output.status.success(), "tree-sitter query failed:\n{}", text(&output.stderr));
    let printed = text(&output.stdout);

    let mut per_file: Vec<Vec<Capture>> = Vec::new();
    for line in printed.lines() {
        if files.iter().any(|file| line == file.display().to_string()) {
            per_file.push(Vec::new());
            continue;
        }
        let Some(capture) = line.trim_start().strip_prefix("capture: ") else { continue };
        // `N - name, start: (r, c), end: (r, c), text: `...`` (single-line) or `name, start: ...`.
        let capture = capture.split_once(" - ").map(|(_, rest)| rest).unwrap_or(capture);
        let (name, rest) = capture.split_once(", start: (").expect("capture start");
        let (start, rest) = rest.split_once("), end: (").expect("capture end");
        let (end, rest) = rest.split_once(')').expect("capture end");
        let text = rest.strip_prefix(", text: `").and_then(|text| text.strip_suffix('`')).unwrap_or("").to_string();
        let position = |pair: &str| -> (usize, usize) {
            let (row, column) = pair.split_once(", ").expect("row, column");
            (row.parse().unwrap(), column.parse().unwrap())
        };
        let ((start_row, start_column), (end_row, end_column)) = (position(start), position(end));
        // Zero-width captures are the places of missing tokens: in highlights they
        // belong to the broken part.
        if keep_zero_width || (start_row, start_column) != (end_row, end_column) {
            per_file.last_mut().expect("captures follow a file name").push((name.to_string(), start_row, start_column, end_row, end_column, text));
        }
    }
    assert_eq!(per_file.len(), files.len(), "tree-sitter query printed {} files for {}:\n{printed}", per_file.len(), files.len());
    per_file
}

#[test]
fn a_half_typed_declaration_keeps_its_errors_local() {
    let highlights = tree_sitter_folder().join("queries/highlights.scm");
    let folder = scratch_folder("half_typed");
    let problems_query = folder.join("problems.scm");
    std::fs::write(&problems_query, "(ERROR) @problem\n(MISSING) @problem\n(missing_close) @problem\n(missing_rest) @problem\n").unwrap();

    struct Variant {
        description: String,
        file: PathBuf,
        original: PathBuf,
        /// Rows of the original before the broken declaration, and the row shift after it.
        first_broken_row: usize,
        last_broken_row: usize,
        cut_row: usize,
    }
    let originals = example_and_stdlib_files();
    let mut variants = Vec::new();
    for original in &originals {
        let source = std::fs::read_to_string(original).unwrap();
        let (tree, _, _) = tree_sitter_parse(original);
        let line_starts: Vec<usize> = std::iter::once(0).chain(source.match_indices('\n').map(|(offset, _)| offset + 1)).collect();
        let row_of = |offset: usize| line_starts.partition_point(|&start| start <= offset) - 1;
        for item in tree.named_children() {
            let end_of_last_line = source[item.end..].find('\n').map(|offset| item.end + offset + 1).unwrap_or(source.len());
            // Cut at a fifth, two fifths, ... of the declaration: where someone is typing.
            for fifth in 1..=4 {
                let mut cut = item.start + (item.end - item.start) * fifth / 5;
                while !source.is_char_boundary(cut) {
                    cut += 1;
                }
                // Inside an unclosed `"""` the rest of the file is string, for pest too.
                if source[item.start..cut].matches("\"\"\"").count() % 2 == 1 {
                    continue;
                }
                let broken = format!("{}\n{}", &source[..cut], &source[end_of_last_line..]);
                let file = folder.join(format!("variant_{}.flow", variants.len()));
                std::fs::write(&file, &broken).unwrap();
                variants.push(Variant {
                    description: format!(
                        "{} cut inside its {} at byte {cut} (…{:?})",
                        original.display(),
                        item.kind,
                        &source[(cut.saturating_sub(30).max(item.start)..cut).find(|&start| source.is_char_boundary(start)).unwrap_or(cut)..cut]
                    ),
                    file,
                    original: original.clone(),
                    first_broken_row: row_of(item.start),
                    last_broken_row: row_of(item.end),
                    cut_row: broken[..cut].matches('\n').count(),
                });
            }
        }
    }
    assert!(variants.len() >= 60, "only {} half-typed variants", variants.len());

    let variant_files: Vec<PathBuf> = variants.iter().map(|variant| variant.file.clone()).collect();
    let broken_highlights = query_captures(&highlights, &variant_files, false);
    let broken_problems = query_captures(&problems_query, &variant_files, true);
    let clean_highlights = query_captures(&highlights, &originals, false);

    let mut not_local = Vec::new();
    for (index, variant) in variants.iter().enumerate() {
        let clean = &clean_highlights[originals.iter().position(|original| *original == variant.original).unwrap()];
        let broken = &broken_highlights[index];
        // Each variant is really broken: the tree shows where (an ERROR, a MISSING token
        // or a missing bracket or rest), or a zero-width MISSING token was reported.
        let problems = &broken_problems[index];
        let cut_is_visible = !problems.is_empty() || {
            let output = run_tree_sitter(&["parse", "--quiet", variant.file.to_str().unwrap()], TOOL_LIMIT);
            !output.status.success()
        };
        assert!(cut_is_visible, "{}: tree-sitter sees nothing wrong", variant.description);

        let shift = variant.last_broken_row - variant.cut_row;
        let before = |captures: &[Capture]| -> Vec<Capture> {
            captures.iter().filter(|capture| capture.1 < variant.first_broken_row).cloned().collect()
        };
        let expected_after: Vec<Capture> = clean
            .iter()
            .filter(|capture| capture.1 > variant.last_broken_row)
            .map(|capture| (capture.0.clone(), capture.1 - shift, capture.2, capture.3 - shift, capture.4, capture.5.clone()))
            .collect();
        let actual_after: Vec<Capture> = broken.iter().filter(|capture| capture.1 > variant.cut_row).cloned().collect();
        if before(clean) != before(broken) || expected_after != actual_after {
            let first_difference = expected_after
                .iter()
                .zip(&actual_after)
                .find(|(expected, actual)| expected != actual)
                .map(|(expected, actual)| format!("expected {expected:?}, got {actual:?}"))
                .unwrap_or_else(|| format!("{} captures expected after the cut, {} found", expected_after.len(), actual_after.len()));
            not_local.push(format!("{}: {first_difference}", variant.description));
        }
    }
    assert!(
        not_local.is_empty(),
        "{} of {} half-typed files highlight differently outside the broken declaration:\n{}",
        not_local.len(),
        variants.len(),
        not_local.join("\n")
    );
}

#[test]
fn every_editor_query_compiles_against_the_grammar() {
    let sample = language_tour();
    let mut query_files = Vec::new();
    for folder in ["editors/tree-sitter-flow/queries", "editors/nvim/queries/flow", "editors/helix/queries/flow"] {
        let folder = repository_root().join(folder);
        let mut files: Vec<_> = std::fs::read_dir(&folder)
            .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "scm"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no queries in {}", folder.display());
        query_files.extend(files);
    }
    for query in &query_files {
        let output = run_tree_sitter(&["query", query.to_str().unwrap(), sample.to_str().unwrap()], TOOL_LIMIT);
        assert!(output.status.success(), "{} does not compile against the grammar:\n{}", query.display(), text(&output.stderr));
        assert!(text(&output.stdout).contains("capture:"), "{} captures nothing in the language tour", query.display());
    }
}

/// A small deterministic PRNG (xorshift64*): the same mutations on every run.
struct Mutations(u64);

impl Mutations {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

#[test]
fn every_truncation_and_mutation_parses_within_a_timeout() {
    const PREFIXES_PER_FILE: usize = 150;
    const MUTATIONS_PER_FILE: usize = 150;
    // What typing inserts: brackets, quotes, keywords at odd places, multi-byte text.
    const INSERTIONS: &[&str] =
        &["{", "}", "(", ")", "[", "]", "\"", "\"\"\"", "=", ",", ".", ":", "->", "//", "\n", "node ", "model ", "workflow w", "metric m", "import ", "é", "\t"];
    let folder = scratch_folder("fuzz");
    let mut random = Mutations(0x5eed_f10e);
    let mut paths = Vec::new();
    for (file_index, original) in example_and_stdlib_files().iter().enumerate() {
        let source = std::fs::read_to_string(original).unwrap();
        let mut variants: Vec<String> = Vec::new();
        for step in 0..PREFIXES_PER_FILE {
            let mut cut = source.len() * step / PREFIXES_PER_FILE;
            while !source.is_char_boundary(cut) {
                cut += 1;
            }
            variants.push(source[..cut].to_string());
        }
        for _ in 0..MUTATIONS_PER_FILE {
            let mut characters: Vec<char> = source.chars().collect();
            for _ in 0..=random.below(3) {
                let at = random.below(characters.len() + 1);
                if random.below(10) < 4 && at < characters.len() {
                    characters.remove(at);
                } else {
                    let insertion = INSERTIONS[random.below(INSERTIONS.len())];
                    characters.splice(at..at, insertion.chars());
                }
            }
            variants.push(characters.into_iter().collect());
        }
        for (variant_index, variant) in variants.iter().enumerate() {
            let path = folder.join(format!("file{file_index}_{variant_index}.flow"));
            std::fs::write(&path, variant).unwrap();
            paths.push(path);
        }
    }
    let list = folder.join("paths.txt");
    std::fs::write(&list, paths.iter().map(|path| format!("{}\n", path.display())).collect::<String>()).unwrap();

    // Two seconds per file (they take well under 50 ms); a parse cut off by the timeout has no duration.
    let output = run_tree_sitter(&["parse", "--quiet", "--json-summary", "--timeout", "2000000", "--paths", list.to_str().unwrap()], TOOL_LIMIT);
    let printed = text(&output.stdout);
    let json_start = printed.find("{\n  \"parse_summaries\"").unwrap_or_else(|| panic!("no JSON summary in:\n{printed}"));
    let summary: serde_json::Value = serde_json::from_str(&printed[json_start..]).expect("the JSON summary parses");
    let summaries = summary["parse_summaries"].as_array().expect("parse_summaries");
    assert_eq!(summaries.len(), paths.len(), "tree-sitter parsed {} of {} files", summaries.len(), paths.len());
    let unfinished: Vec<&str> =
        summaries.iter().filter(|entry| entry["duration"].is_null()).map(|entry| entry["file"].as_str().unwrap_or("?")).collect();
    assert!(unfinished.is_empty(), "{} parses did not finish within 2 s: {unfinished:?}", unfinished.len());
}
