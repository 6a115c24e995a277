//! Reading a file in chunks gives what reading it whole gives: the same syntax tree,
//! the same syntax diagnostics, the same lowering (HIR, source maps, keys, duplicate
//! names), on every file of `examples/` and `stdlib/`, on a generated large workflow,
//! and on the parser's no-panic corpus (every prefix, thousands of mutations, the
//! hand-written edge cases) — with nodes grouped as the database groups them, and
//! with every node a chunk of its own, so that every cut the splitter can make is
//! tried. The same through the database, where the chunks are cached and the inputs
//! come one after another as edits of one file.
//!
//! `FLOWC_FUZZ_MUTATIONS=N` runs more (or fewer) mutations than the default 3,000.
//!
//! A file that does not read cleanly in chunks (a syntax error in one) is read whole
//! by the database; the test counts those and asserts that chunked reading was really
//! compared on most inputs, so it cannot pass by falling back everywhere.

use std::path::Path;

use flowc::semantic::database::{lower_file, parse_file, syntax_diagnostics};
use flowc::semantic::lower::lower_items;
use flowc::semantic::lower_chunks::lower_chunks;
use flowc::semantic::{file_diagnostics, FlowDatabase};
use flowc::syntax::chunk_parse::{chunked_syntax_diagnostics, parse_chunks, parse_source_in_chunks};
use flowc::syntax::chunk_split::NODES_PER_GROUP;
use flowc::syntax::parse_source;

#[path = "support/fuzz_corpus.rs"]
mod fuzz_corpus;
use fuzz_corpus::*;

/// Groupings tried: every node alone, and the database's.
const GROUPINGS: [u64; 2] = [1, NODES_PER_GROUP];

#[derive(Default, Debug)]
struct Counts {
    compared_in_chunks: usize,
    read_whole: usize,
}

/// Compare chunked and whole reading of `text`; count which happened.
fn compare(name: &str, text: &str, counts: &mut Counts) {
    let whole = parse_source(text);
    let whole_lowering = lower_items(&whole.items);
    for grouping in GROUPINGS {
        let Some((readable, chunks)) = parse_chunks(text, grouping) else {
            counts.read_whole += 1;
            continue;
        };
        counts.compared_in_chunks += 1;
        let parsed = parse_source_in_chunks(text, grouping).unwrap_or_else(|| panic!("{name}: its chunks read but do not fit together"));
        assert_eq!(parsed, whole, "{name} (groups of {grouping}): the tree differs from the whole file's\n{text}");
        let diagnostics = chunked_syntax_diagnostics(chunks.iter().map(|(offset, chunk)| (*offset, chunk)), &readable);
        assert_eq!(diagnostics, whole.diagnostics, "{name} (groups of {grouping}): syntax diagnostics differ\n{text}");
        let lowering = lower_chunks(chunks.iter().map(|(offset, chunk)| (*offset, chunk))).unwrap_or_else(|| panic!("{name}: the chunks' lowerings do not fit together"));
        assert_eq!(lowering, whole_lowering, "{name} (groups of {grouping}): the lowering differs from the whole file's\n{text}");
    }
}

/// A workflow of `count` nodes of every kind the generator of bench/check_large.sh
/// writes, with comments between the nodes and an item after the workflow.
fn large_workflow(count: usize) -> String {
    let mut text = String::from("// Generated.\nmodel student = gguf(\"student.gguf\") {\n  temperature = 0\n}\n\nworkflow big(question: text) -> (answer: number) {\n");
    for index in 0..count {
        if index % 5 == 4 {
            text.push_str(&format!(
                "  // node {index} computes\n  node n{index} = code {{\n    inputs {{\n      x: number = n{}.value\n    }}\n    source = \"\"\"\n      def run(x):\n          return {{\"value\": x + 1, \"summary\": \"node {{n0}}\"}}\n      \"\"\"\n    output = json {{ value: number, summary: text }}\n  }}\n",
                index - 1
            ));
        } else if index == 0 {
            text.push_str("  node n0 = llm(student) {\n    prompt = \"Read: {question}\"\n    output = json { value: number, summary: text }\n  }\n");
        } else {
            text.push_str(&format!(
                "  node n{index} = consensus(student) {{\n    system = \"Step {index}\\n\"\n    prompt = \"After {{n{}.value}} and {{{{literal}}}}\"\n    samples = 3\n    output = json {{ value: number, summary: text }}\n  }}\n",
                index - 1
            ));
        }
    }
    text.push_str(&format!("  answer = n{}.value\n}}\n\noptimize big {{\n  teacher = student\n}}\n", count - 1));
    text
}

fn corpus() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = seed_files(root);
    assert!(!seeds.is_empty(), "no seed files under {SEED_FOLDERS:?}");
    let mut inputs: Vec<(String, String)> = edge_cases().into_iter().map(|(name, text)| (format!("edge case {name}"), text)).collect();
    let mut seeds: Vec<(String, String)> = seeds.into_iter().map(|(path, text)| (path.strip_prefix(root).unwrap_or(&path).display().to_string(), text)).collect();
    seeds.push(("a generated 300-node workflow".to_string(), large_workflow(300)));
    // `FLOWC_FUZZ_MUTATIONS=N` changes the number of mutations, as in parser_never_panics.
    let total_mutations = std::env::var("FLOWC_FUZZ_MUTATIONS").ok().and_then(|value| value.parse().ok()).unwrap_or(DEFAULT_MUTATIONS);
    let mutations_per_file = (total_mutations / seeds.len()).max(MINIMUM_MUTATIONS_PER_FILE);
    for (name, text) in &seeds {
        inputs.push((name.clone(), text.clone()));
        for cut in cut_points(text, CUTS_FOR_LARGE_FILES) {
            inputs.push((format!("{name} cut at {cut}"), text[..cut].to_string()));
        }
        let mut rng = Rng::new(fnv1a(name.as_bytes()));
        for index in 0..mutations_per_file {
            let mut mutated = text.clone();
            for _ in 0..1 + rng.below(3) {
                mutated = mutate(&mutated, &mut rng);
            }
            inputs.push((format!("{name} mutation #{index}"), mutated));
        }
    }
    inputs
}

#[test]
fn every_seed_file_reads_the_same_in_chunks_and_whole() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = seed_files(root);
    seeds.push((root.join("generated"), large_workflow(300)));
    for (path, text) in &seeds {
        let mut counts = Counts::default();
        compare(&path.display().to_string(), text, &mut counts);
        // The seeds have no syntax error, so every grouping must read in chunks.
        assert_eq!(counts.read_whole, 0, "{} was not read in chunks", path.display());
    }
    // And the large workflow really is cut between its nodes.
    let large = large_workflow(300);
    let (_, chunks) = parse_chunks(&large, NODES_PER_GROUP).expect("chunks");
    assert!(chunks.len() > 10, "only {} chunks", chunks.len());
}

#[test]
fn the_fuzz_corpus_reads_the_same_in_chunks_and_whole() {
    let mut counts = Counts::default();
    for (name, text) in corpus() {
        compare(&name, &text, &mut counts);
    }
    println!("{counts:?}");
    // A cut or mutated file with a syntax error anywhere is read whole (its chunk's
    // strict parse fails), but many mutations leave a readable file (an edit in a
    // string, a duplicated line), and every seed reads in chunks: if a quarter did
    // not, the comparison above would have compared next to nothing.
    let inputs = counts.compared_in_chunks + counts.read_whole;
    assert!(counts.compared_in_chunks * 4 > inputs, "{counts:?}");
}

#[test]
fn the_database_reads_each_edit_as_the_whole_file_would() {
    // One database, the corpus sent as successive versions of one file: the chunks
    // cached from earlier versions must never leak into a later one.
    let mut database = FlowDatabase::default();
    let path = Path::new("memory/edited.flow");
    let mut compared = 0;
    for (index, (name, text)) in corpus().into_iter().enumerate() {
        // Every version is compared on its tree, lowering and syntax diagnostics, and
        // a sample is checked in full against a fresh database.
        let file = database.set_file_text(path, text.clone());
        let whole = parse_source(&text);
        assert_eq!(*parse_file(&database, file), whole, "{name}: parse_file");
        assert_eq!(*syntax_diagnostics(&database, file), whole.diagnostics, "{name}: syntax_diagnostics");
        assert_eq!(*lower_file(&database, file), lower_items(&whole.items), "{name}: lower_file");
        if index % 10 == 0 {
            let mut fresh = FlowDatabase::default();
            let fresh_file = fresh.set_file_text(path, text.clone());
            assert_eq!(file_diagnostics(&database, file), file_diagnostics(&fresh, fresh_file), "{name}: file_diagnostics after edits");
            compared += 1;
        }
    }
    assert!(compared > 100, "{compared}");
}
