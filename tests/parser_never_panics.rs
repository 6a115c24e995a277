//! A cheap, deterministic fuzz of the parser that runs with `cargo test`.
//!
//! Every `.flow` file under `examples/` and `stdlib/` is taken as a seed and broken in
//! the ways an editor breaks a file while someone types:
//!
//! * every prefix (cut at each char boundary for files under 4 KB, at a few hundred
//!   evenly spaced points for larger ones; past 10,000 prefixes in all, every file is
//!   cut at evenly spaced points);
//! * a few thousand mutations from a seeded PRNG: delete a character, insert a token
//!   (`{ } ( ) [ ] " """ = , . : -> // \n node llm é →`), duplicate a line, swap two
//!   lines, one to three at a time;
//! * a few hand-written edge cases (empty text, lone quotes, multi-byte characters,
//!   nesting at and past the parser's limit).
//!
//! The budgets keep the test to about 15 s in a debug build with a handful of seeds.
//!
//! For each input, `parse_source` must return without panicking, and every span it
//! hands out (diagnostic labels, comments) must lie inside the text on char
//! boundaries, since the renderer slices the text with them. Inputs that fail are
//! shrunk and printed in full, so they can be pasted into a unit test.
//!
//! The inputs are the same on every run. `FLOWC_FUZZ_TRACE=1` prints each input before
//! it is parsed, for the one failure `catch_unwind` cannot report: an abort (stack
//! overflow). `FLOWC_FUZZ_MUTATIONS=N` changes the number of mutations (default 3000).

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Instant;

use flowc::syntax::span::Span;
use flowc::syntax::{parse_source, ParsedFile};

/// Seed folders, relative to the crate root.
const SEED_FOLDERS: &[&str] = &["examples", "stdlib"];
/// Files below this size are cut at every char boundary.
const EVERY_BOUNDARY_BELOW: usize = 4 * 1024;
/// Cut points for larger files.
const CUTS_FOR_LARGE_FILES: usize = 300;
/// Mutated inputs in all, shared among the seed files.
const DEFAULT_MUTATIONS: usize = 3000;
/// Bytes of mutated text parsed in all (3,000 mutations of 4 KB files); large seeds
/// get fewer mutations.
const MUTATION_BYTE_BUDGET: usize = 12 * 1024 * 1024;
/// Each seed file gets at least this many, however many seeds there are.
const MINIMUM_MUTATIONS_PER_FILE: usize = 100;

/// Prefixes in all: past this, files under 4 KB are cut at evenly spaced points too,
/// so that a growing examples/ folder does not make the test slow (each prefix of a
/// 4 KB file costs about a millisecond in a debug build).
const PREFIX_BUDGET: usize = 10_000;

/// Tokens inserted by the mutator: the punctuation and keywords the grammar leans on,
/// and two multi-byte characters, without which no seed would test the char-boundary
/// invariant.
const TOKENS: &[&str] = &[
    "{", "}", "(", ")", "[", "]", "\"", "\"\"\"", "=", ",", ".", ":", "->", "//", "\n", "node",
    "llm", "é", "→",
];

/// Hand-written inputs run before the seeds: the edges that mutations rarely reach.
fn edge_cases() -> Vec<(&'static str, String)> {
    let deep = |open: &str, close: &str, depth: usize| {
        format!(
            "model m = gguf(\"a\") {{ x = {}1{} }}\n",
            open.repeat(depth),
            close.repeat(depth)
        )
    };
    vec![
        ("empty", String::new()),
        ("only whitespace", " \n\t\r\n".to_string()),
        ("lone quote", "\"".to_string()),
        ("lone triple quote", "\"\"\"".to_string()),
        (
            "unterminated triple quote in a block",
            "metric m() {\n  source = \"\"\"\n    é\n".to_string(),
        ),
        ("multi-byte name", "model é = gguf(\"a\")\n".to_string()),
        ("multi-byte after an error", "model m = = é→\n".to_string()),
        (
            "bad escape before a multi-byte char",
            "model m = gguf(\"\\é\")\n".to_string(),
        ),
        ("comment only", "// é".to_string()),
        (
            "carriage returns",
            "model m = gguf(\"a\") {\r\n  seed = 0\r\n}\r\n".to_string(),
        ),
        ("lists nested near the limit", deep("[", "]", 126)),
        ("lists nested past the limit", deep("[", "]", 200)),
        ("brackets past the limit at top level", "(".repeat(1000)),
        (
            "huge integer",
            "model m = gguf(\"a\") { seed = 99999999999999999999999 }\n".to_string(),
        ),
        (
            "huge float",
            "model m = gguf(\"a\") { t = 1e999 }\n".to_string(),
        ),
    ]
}

#[test]
fn parser_never_panics_on_truncated_or_mutated_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = seed_files(root);
    assert!(
        !seeds.is_empty(),
        "found no .flow file under {:?} of {}: the fuzz has nothing to start from",
        SEED_FOLDERS,
        root.display()
    );

    let trace = std::env::var_os("FLOWC_FUZZ_TRACE").is_some();
    let total_mutations = std::env::var("FLOWC_FUZZ_MUTATIONS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_MUTATIONS);
    let total_bytes: usize = seeds.iter().map(|(_, text)| text.len().max(1)).sum();
    // An even share of the mutations, or fewer when the seeds are large, so that the
    // bytes parsed stay within the budget.
    let mutations_per_file = (total_mutations / seeds.len())
        .min(MUTATION_BYTE_BUDGET / total_bytes)
        .max(MINIMUM_MUTATIONS_PER_FILE.min(total_mutations));

    let every_boundary: usize = seeds
        .iter()
        .map(|(_, text)| cut_points(text, usize::MAX).len())
        .sum();
    let cuts_per_file = if every_boundary <= PREFIX_BUDGET {
        usize::MAX
    } else {
        let share = (PREFIX_BUDGET / seeds.len()).max(CUTS_FOR_LARGE_FILES);
        println!("{every_boundary} prefixes is over the budget of {PREFIX_BUDGET}: cutting each file at most {share} times");
        share
    };

    let started = Instant::now();
    let mut harness = Harness::new(trace, parse_source);
    for (name, input) in edge_cases() {
        harness.run("edge cases", name, &input);
    }
    for (path, text) in &seeds {
        let name = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();

        harness.run(&name, "unchanged", text);
        for (index, cut) in cut_points(text, cuts_per_file).into_iter().enumerate() {
            harness.run(
                &name,
                &format!("prefix #{index} ({cut} bytes)"),
                &text[..cut],
            );
        }

        let mut rng = Rng::new(fnv1a(name.as_bytes()));
        for index in 0..mutations_per_file {
            let mut mutated = text.clone();
            let steps = 1 + rng.below(3);
            for _ in 0..steps {
                mutated = mutate(&mutated, &mut rng);
            }
            harness.run(&name, &format!("mutation #{index}"), &mutated);
        }
    }
    let elapsed = started.elapsed();
    let failures = std::mem::take(&mut harness.failures);

    println!(
        "parsed {} inputs from {} seed file(s) in {:.2?}: {} failing input(s), {} distinct problem(s)",
        harness.inputs,
        seeds.len(),
        elapsed,
        harness.failing_inputs,
        failures.len()
    );
    if !failures.is_empty() {
        let mut report = String::new();
        for failure in &failures {
            let _ = writeln!(report, "{failure}");
        }
        // Printed (not only put in the panic message) so that the whole report is in
        // the captured test output even when the message is cut.
        println!("{report}");
        panic!(
            "{} input(s) made the parser panic or hand out a bad span ({} distinct problem(s)); see the output above",
            harness.failing_inputs,
            failures.len()
        );
    }
}

// ------------------------------------------------------------------ seeds

fn seed_files(root: &Path) -> Vec<(PathBuf, String)> {
    let mut paths = Vec::new();
    for folder in SEED_FOLDERS {
        collect_flow_files(&root.join(folder), &mut paths);
    }
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| match std::fs::read_to_string(&path) {
            Ok(text) => Some((path, text)),
            // A file that is not UTF-8 is not something `parse_source` can be handed.
            Err(error) => {
                println!("skipping {}: {error}", path.display());
                None
            }
        })
        .collect()
}

fn collect_flow_files(folder: &Path, paths: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return; // a folder that does not exist (yet) holds no seeds
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect_flow_files(&path, paths);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "flow")
        {
            paths.push(path);
        }
    }
}

/// Byte offsets to cut the text at, all on char boundaries: every boundary for a
/// small file (at most `limit` of them), evenly spaced ones for a large file.
fn cut_points(text: &str, limit: usize) -> Vec<usize> {
    let count = if text.len() < EVERY_BOUNDARY_BELOW {
        let boundaries = text.char_indices().count();
        if boundaries <= limit {
            return text.char_indices().map(|(offset, _)| offset).collect();
        }
        limit
    } else {
        CUTS_FOR_LARGE_FILES.min(limit)
    };
    let mut cuts: Vec<usize> = (0..count)
        .map(|index| floor_char_boundary(text, index * text.len() / count))
        .collect();
    cuts.dedup();
    cuts
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

// ------------------------------------------------------------------ mutations

/// xorshift64*: tiny, deterministic, good enough to pick edits.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `0..bound`; `bound` must be positive.
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn mutate(text: &str, rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => delete_char(text, rng),
        1 => insert_token(text, rng),
        2 => duplicate_line(text, rng),
        _ => swap_lines(text, rng),
    }
}

/// A random char boundary in `0..=text.len()`.
fn random_boundary(text: &str, rng: &mut Rng) -> usize {
    floor_char_boundary(text, rng.below(text.len() + 1))
}

fn delete_char(text: &str, rng: &mut Rng) -> String {
    if text.is_empty() {
        return String::new();
    }
    let start = floor_char_boundary(text, rng.below(text.len()));
    let width = text[start..].chars().next().map_or(0, char::len_utf8);
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    out.push_str(&text[start + width..]);
    out
}

fn insert_token(text: &str, rng: &mut Rng) -> String {
    let at = random_boundary(text, rng);
    let token = TOKENS[rng.below(TOKENS.len())];
    let mut out = String::with_capacity(text.len() + token.len());
    out.push_str(&text[..at]);
    out.push_str(token);
    out.push_str(&text[at..]);
    out
}

/// Lines with their line breaks, so that joining them gives the text back.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

fn duplicate_line(text: &str, rng: &mut Rng) -> String {
    let mut lines = lines(text);
    if lines.is_empty() {
        return text.to_string();
    }
    let index = rng.below(lines.len());
    let line = lines[index];
    lines.insert(index, line);
    let mut out = lines.concat();
    // The last line may lack its break; its copy must not glue onto the original.
    if !line.ends_with('\n') {
        out = lines[..=index].concat() + "\n" + &lines[index + 1..].concat();
    }
    out
}

fn swap_lines(text: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = lines(text).into_iter().map(str::to_string).collect();
    if lines.len() < 2 {
        return text.to_string();
    }
    if let Some(last) = lines.last_mut() {
        if !last.ends_with('\n') {
            last.push('\n');
        }
    }
    let first = rng.below(lines.len());
    let second = rng.below(lines.len());
    lines.swap(first, second);
    lines.concat()
}

// ------------------------------------------------------------------ harness

thread_local! {
    /// Whether this thread is inside `check`, where panics are expected and recorded.
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    /// The message and location of the last panic caught inside `check`.
    static LAST_PANIC: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Install (once) a panic hook that keeps the message of a panic inside `check`
/// instead of printing it (a failing input is reported once, shrunk, at the end,
/// instead of as hundreds of messages) and leaves every other panic, such as a
/// failing test on another thread, to the hook that was there before.
fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CAPTURING.with(Cell::get) {
                return previous(info);
            }
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let payload = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "<non-string panic payload>".to_string());
            LAST_PANIC.with(|last| *last.borrow_mut() = Some((location, payload)));
        }));
    });
}

/// What went wrong with one input.
struct Problem {
    /// What stays the same across inputs that hit the same bug: the panic's source
    /// location, or the broken invariant and the diagnostic code.
    kind: String,
    detail: String,
}

struct Failure {
    seed: String,
    case: String,
    problem: Problem,
    input: String,
    shrunk: String,
    shrunk_problem: Problem,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "==== {} / {}: {}",
            self.seed, self.case, self.problem.detail
        )?;
        writeln!(
            f,
            "---- shrunk input ({} bytes), which fails with: {}",
            self.shrunk.len(),
            self.shrunk_problem.detail
        )?;
        writeln!(f, "{:?}", self.shrunk)?;
        writeln!(f, "---- original input ({} bytes)", self.input.len())?;
        writeln!(f, "{:?}", self.input)
    }
}

/// Distinct problems reported in full (each one is shrunk, which costs parses).
const MAXIMUM_REPORTED_FAILURES: usize = 10;

struct Harness {
    /// `parse_source`, or a stand-in in the harness's own tests.
    parse: fn(&str) -> ParsedFile,
    trace: bool,
    inputs: usize,
    failing_inputs: usize,
    failures: Vec<Failure>,
}

impl Harness {
    fn new(trace: bool, parse: fn(&str) -> ParsedFile) -> Harness {
        install_panic_hook();
        Harness {
            parse,
            trace,
            inputs: 0,
            failing_inputs: 0,
            failures: Vec::new(),
        }
    }

    fn run(&mut self, seed: &str, case: &str, input: &str) {
        self.inputs += 1;
        if self.trace {
            eprintln!("[fuzz] {seed} / {case}: {input:?}");
        }
        let Some(problem) = check(self.parse, input) else {
            return;
        };
        self.failing_inputs += 1;
        // One report per distinct problem, so that one bug does not fill the output.
        if self.failures.len() >= MAXIMUM_REPORTED_FAILURES
            || self
                .failures
                .iter()
                .any(|failure| failure.problem.kind == problem.kind)
        {
            return;
        }
        let (shrunk, shrunk_problem) = shrink(self.parse, input, &problem);
        self.failures.push(Failure {
            seed: seed.to_string(),
            case: case.to_string(),
            problem,
            input: input.to_string(),
            shrunk,
            shrunk_problem,
        });
    }
}

/// Parse one input; `None` when all is well, else what went wrong.
fn check(parse: fn(&str) -> ParsedFile, input: &str) -> Option<Problem> {
    LAST_PANIC.with(|last| *last.borrow_mut() = None);
    CAPTURING.with(|capturing| capturing.set(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| parse(input)));
    CAPTURING.with(|capturing| capturing.set(false));
    let parsed = match outcome {
        Ok(parsed) => parsed,
        Err(_) => {
            let (location, message) = LAST_PANIC
                .with(|last| last.borrow_mut().take())
                .unwrap_or_else(|| ("?".into(), "?".into()));
            return Some(Problem {
                kind: format!("panic at {location}"),
                detail: format!("parse_source panicked at {location}: {message}"),
            });
        }
    };
    for diagnostic in &parsed.diagnostics {
        let code = diagnostic.code.id;
        let labels = std::iter::once(("primary", &diagnostic.primary)).chain(
            diagnostic
                .secondary
                .iter()
                .map(|label| ("secondary", label)),
        );
        for (which, label) in labels {
            if let Some((invariant, detail)) = span_problem(input, label.location) {
                return Some(Problem {
                    kind: format!("{code} {which} label {invariant}"),
                    detail: format!(
                        "diagnostic {code} ({:?}) has a {which} label {detail} (label: {:?})",
                        diagnostic.message, label.message
                    ),
                });
            }
        }
    }
    for comment in &parsed.comments {
        if let Some((invariant, detail)) = span_problem(input, comment.span) {
            return Some(Problem {
                kind: format!("comment {invariant}"),
                detail: format!("a comment {detail}"),
            });
        }
    }
    None
}

/// The invariant a span breaks, if any, and a sentence saying how.
fn span_problem(text: &str, span: Span) -> Option<(&'static str, String)> {
    if span.start > span.end {
        return Some(("reversed", format!("span {span:?} that is reversed")));
    }
    if span.end > text.len() {
        return Some((
            "out of bounds",
            format!(
                "span {span:?} past the end of the text ({} bytes)",
                text.len()
            ),
        ));
    }
    if !text.is_char_boundary(span.start) || !text.is_char_boundary(span.end) {
        return Some((
            "not on a char boundary",
            format!("span {span:?} that splits a character"),
        ));
    }
    None
}

/// Shrink a failing input while it keeps failing the same way: drop chunks of lines,
/// then chunks of characters, halving the chunk size down to one.
fn shrink(parse: fn(&str) -> ParsedFile, input: &str, problem: &Problem) -> (String, Problem) {
    let still_fails =
        |candidate: &str| check(parse, candidate).filter(|found| found.kind == problem.kind);
    let mut best = input.to_string();
    let mut best_problem = Problem {
        kind: problem.kind.clone(),
        detail: problem.detail.clone(),
    };
    let mut budget = 5000usize;

    for by_lines in [true, false] {
        let units = |text: &str| -> Vec<String> {
            if by_lines {
                text.split_inclusive('\n').map(str::to_string).collect()
            } else {
                text.chars().map(String::from).collect()
            }
        };
        let mut chunk = units(&best).len().div_ceil(2).max(1);
        loop {
            let mut start = 0;
            loop {
                let parts = units(&best);
                if start >= parts.len() || budget == 0 {
                    break;
                }
                let end = (start + chunk).min(parts.len());
                let candidate: String = parts[..start].concat() + &parts[end..].concat();
                budget -= 1;
                match still_fails(&candidate) {
                    Some(found) => {
                        best = candidate;
                        best_problem = found;
                    }
                    None => start += chunk,
                }
            }
            if chunk == 1 || budget == 0 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
    }
    (best, best_problem)
}

// ------------------------------------------------------------------ self-checks

#[test]
fn mutations_are_deterministic_and_keep_utf8() {
    let text = "model m = gguf(\"é.gguf\") {\n  temperature = 0\n}\nworkflow w(q: text) -> (a: text) {\n  a = q\n}";
    let run = || {
        let mut rng = Rng::new(42);
        (0..200).map(|_| mutate(text, &mut rng)).collect::<Vec<_>>()
    };
    let first = run();
    assert_eq!(first, run());
    assert!(first.iter().any(|mutated| mutated != text));
}

#[test]
fn cut_points_are_char_boundaries() {
    let small = "é{ñ}";
    assert_eq!(cut_points(small, usize::MAX), vec![0, 2, 3, 5]);
    assert_eq!(cut_points(small, 2), vec![0, 3]);
    let large = "é".repeat(5000);
    let cuts = cut_points(&large, usize::MAX);
    assert!(cuts.len() > 100 && cuts.len() <= CUTS_FOR_LARGE_FILES);
    assert!(cuts.iter().all(|&cut| large.is_char_boundary(cut)));
}

/// The harness itself must catch a panic, keep it out of the output, and shrink the
/// input to the part that matters.
#[test]
fn harness_catches_and_shrinks_a_panic() {
    fn panics_on_arrow_in_braces(text: &str) -> ParsedFile {
        if text.contains("{->}") {
            panic!("planted bug");
        }
        parse_source(text)
    }
    let mut harness = Harness::new(false, panics_on_arrow_in_braces);
    harness.run("planted", "clean", "model m = gguf(\"a\")\n");
    harness.run(
        "planted",
        "buggy",
        "model m = gguf(\"a\")\nworkflow w() -> () {->}\n// é\n",
    );
    harness.run("planted", "same bug again", "{->}{->}");
    assert_eq!(harness.inputs, 3);
    assert_eq!(harness.failing_inputs, 2);
    assert_eq!(harness.failures.len(), 1, "one distinct problem");
    let failure = &harness.failures[0];
    assert_eq!(failure.shrunk, "{->}");
    assert!(
        failure.problem.detail.contains("planted bug"),
        "{}",
        failure.problem.detail
    );
    assert!(
        failure.problem.kind.contains("parser_never_panics.rs"),
        "{}",
        failure.problem.kind
    );
}
