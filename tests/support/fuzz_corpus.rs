//! The corpus of the no-panic tests: every `.flow` file of `examples/` and `stdlib/`,
//! cut and mutated the ways an editor breaks a file while someone types. Shared by
//! `tests/parser_never_panics.rs` (the parser) and `tests/lsp_never_crashes.rs` (the
//! language server), so both are driven by the same inputs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
/// Seed folders, relative to the crate root.
pub const SEED_FOLDERS: &[&str] = &["examples", "stdlib"];
/// Files below this size are cut at every char boundary.
pub const EVERY_BOUNDARY_BELOW: usize = 4 * 1024;
/// Cut points for larger files.
pub const CUTS_FOR_LARGE_FILES: usize = 300;
/// Mutated inputs in all, shared among the seed files.
pub const DEFAULT_MUTATIONS: usize = 3000;
/// Bytes of mutated text parsed in all (3,000 mutations of 4 KB files); large seeds
/// get fewer mutations.
pub const MUTATION_BYTE_BUDGET: usize = 12 * 1024 * 1024;
/// Each seed file gets at least this many, however many seeds there are.
pub const MINIMUM_MUTATIONS_PER_FILE: usize = 100;

/// Prefixes in all: past this, files under 4 KB are cut at evenly spaced points too,
/// so that a growing examples/ folder does not make the test slow (each prefix of a
/// 4 KB file costs about a millisecond in a debug build).
pub const PREFIX_BUDGET: usize = 10_000;

/// Tokens inserted by the mutator: the punctuation and keywords the grammar leans on,
/// and two multi-byte characters, without which no seed would test the char-boundary
/// invariant.
pub const TOKENS: &[&str] = &[
    "{", "}", "(", ")", "[", "]", "\"", "\"\"\"", "=", ",", ".", ":", "->", "//", "\n", "node",
    "llm", "é", "→",
];

/// Hand-written inputs run before the seeds: the edges that mutations rarely reach.
pub fn edge_cases() -> Vec<(&'static str, String)> {
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

// ------------------------------------------------------------------ seeds

pub fn seed_files(root: &Path) -> Vec<(PathBuf, String)> {
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

pub fn collect_flow_files(folder: &Path, paths: &mut Vec<PathBuf>) {
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
pub fn cut_points(text: &str, limit: usize) -> Vec<usize> {
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

pub fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

// ------------------------------------------------------------------ mutations

/// xorshift64*: tiny, deterministic, good enough to pick edits.
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `0..bound`; `bound` must be positive.
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub fn mutate(text: &str, rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => delete_char(text, rng),
        1 => insert_token(text, rng),
        2 => duplicate_line(text, rng),
        _ => swap_lines(text, rng),
    }
}

/// A random char boundary in `0..=text.len()`.
pub fn random_boundary(text: &str, rng: &mut Rng) -> usize {
    floor_char_boundary(text, rng.below(text.len() + 1))
}

pub fn delete_char(text: &str, rng: &mut Rng) -> String {
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

pub fn insert_token(text: &str, rng: &mut Rng) -> String {
    let at = random_boundary(text, rng);
    let token = TOKENS[rng.below(TOKENS.len())];
    let mut out = String::with_capacity(text.len() + token.len());
    out.push_str(&text[..at]);
    out.push_str(token);
    out.push_str(&text[at..]);
    out
}

/// Lines with their line breaks, so that joining them gives the text back.
pub fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

pub fn duplicate_line(text: &str, rng: &mut Rng) -> String {
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

pub fn swap_lines(text: &str, rng: &mut Rng) -> String {
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
