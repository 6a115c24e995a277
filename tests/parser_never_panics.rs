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
use std::path::Path;
use std::sync::Once;
use std::time::Instant;

use flowc::syntax::span::Span;
use flowc::syntax::{parse_source, ParsedFile};

#[path = "support/fuzz_corpus.rs"]
mod fuzz_corpus;
use fuzz_corpus::*;


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
