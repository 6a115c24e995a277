//! Where a file may be cut into pieces that are parsed on their own (and, in the
//! database, cached on their own: an edit re-reads the piece it falls in).
//!
//! Cuts are made only at the start of a line, outside strings and comments:
//! - at bracket depth 0, before a line that starts (column 0) with an item keyword;
//! - inside the body of a workflow (depth 1), before some of the lines whose first
//!   word is `node`, so that a workflow of thousands of nodes is read in groups.
//!
//! The splitter is a guess at the file's structure, made with a byte scan far
//! cheaper than the parser; it never has to be right. Each piece is parsed with a
//! strict rule (`syntax::chunk_parse`), and a piece that does not read cleanly makes
//! the whole file be parsed in one piece, as before. So a wrong cut costs time, never
//! a different tree. It is total: any bytes give a list of chunks that tile the text.

use super::scan::position_of_any;

/// What a chunk holds, which decides the rule it is parsed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChunkKind {
    /// Whole top-level items.
    Items,
    /// `workflow NAME(...) -> (...) {` and the members up to the first cut.
    WorkflowOpening,
    /// Members of a workflow body, between two cuts.
    WorkflowMembers,
    /// The last members of a workflow body, its `}`, and any items after it.
    WorkflowClosing,
}

/// A piece of the text: `start..end`, byte offsets on line starts (or the ends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub kind: ChunkKind,
    pub start: usize,
    pub end: usize,
}

/// On average one `node` line in this many starts a new group. Parsing each node on
/// its own costs a parser start-up and a cached query or two per node, which made a
/// first check of 10,000 nodes slower; groups of about this many keep an edit's
/// re-read small (a few kilobytes) without that cost.
pub const NODES_PER_GROUP: u64 = 16;

const ITEM_KEYWORDS: [&[u8]; 6] = [b"import", b"model", b"dataset", b"metric", b"workflow", b"optimize"];

/// The chunks of `text`, in order, covering it exactly (none when it is empty).
pub fn split_into_chunks(text: &str) -> Vec<Chunk> {
    split_into_chunks_grouping(text, NODES_PER_GROUP)
}

/// The same with groups of about `nodes_per_group` nodes (1: every node alone, which
/// the tests use to try every cut).
pub fn split_into_chunks_grouping(text: &str, nodes_per_group: u64) -> Vec<Chunk> {
    let bytes = text.as_bytes();
    let mut scanner = Scanner { bytes, cuts: Vec::new(), workflow: None, nodes_per_group: nodes_per_group.max(1) };
    scanner.scan();
    scanner.into_chunks()
}

/// A workflow being scanned: where it starts, and its member cuts so far.
struct OpenWorkflow {
    start: usize,
    /// Whether its body `{` has been seen (before it: the header).
    in_body: bool,
    member_cuts: Vec<usize>,
}

struct Scanner<'text> {
    bytes: &'text [u8],
    /// Cut positions with the kind of the chunk that starts there.
    cuts: Vec<(usize, ChunkKind)>,
    workflow: Option<OpenWorkflow>,
    nodes_per_group: u64,
}

impl Scanner<'_> {
    fn scan(&mut self) {
        let bytes = self.bytes;
        let mut depth = 0usize;
        let mut index = 0;
        self.line_start(0, depth);
        while index < bytes.len() {
            index = position_of_any(bytes, index, [b'\n', b'/', b'"', b'{', b'[', b'(', b'}', b']', b')']);
            let Some(&byte) = bytes.get(index) else { break };
            match byte {
                b'\n' => {
                    index += 1;
                    self.line_start(index, depth);
                }
                b'/' if bytes.get(index + 1) == Some(&b'/') => {
                    // A comment runs to the end of the line (the newline is seen above).
                    index = position_of_any(bytes, index, [b'\n']);
                }
                b'"' if bytes[index..].starts_with(b"\"\"\"") => {
                    // Everything up to the closing quotes is text; no cut inside.
                    index = match find(&bytes[index + 3..], b"\"\"\"") {
                        Some(end) => index + 3 + end + 3,
                        None => bytes.len(),
                    };
                }
                b'"' => index = end_of_one_line_string(bytes, index + 1),
                b'{' | b'[' | b'(' => {
                    if depth == 0 && byte == b'{' {
                        if let Some(workflow) = &mut self.workflow {
                            workflow.in_body = true;
                        }
                    }
                    depth += 1;
                    index += 1;
                }
                b'}' | b']' | b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 && self.workflow.as_ref().is_some_and(|workflow| workflow.in_body) {
                        self.close_workflow();
                    }
                    index += 1;
                }
                _ => index += 1,
            }
        }
        // A workflow whose body never closed is not cut: its chunk runs to the end.
        self.workflow = None;
    }

    /// At the start of a line (outside strings and comments): maybe a cut.
    fn line_start(&mut self, at: usize, depth: usize) {
        let rest = &self.bytes[at..];
        if depth == 0 {
            if let Some(keyword) = ITEM_KEYWORDS.iter().find(|keyword| starts_with_word(rest, keyword)) {
                // A new item: a workflow still in its header (never opened a body)
                // is abandoned, and its cuts with it.
                self.workflow = None;
                if *keyword == b"workflow" {
                    self.workflow = Some(OpenWorkflow { start: at, in_body: false, member_cuts: Vec::new() });
                }
                self.cuts.push((at, ChunkKind::Items));
            }
            return;
        }
        let nodes_per_group = self.nodes_per_group;
        let Some(workflow) = &mut self.workflow else { return };
        if depth != 1 || !workflow.in_body {
            return;
        }
        let indentation = rest.iter().take_while(|byte| matches!(byte, b' ' | b'\t')).count();
        let line = &rest[indentation..];
        if starts_with_word(line, b"node") && starts_a_group(line, nodes_per_group) {
            workflow.member_cuts.push(at);
        }
    }

    /// The body of the open workflow just closed: its cuts become chunks.
    fn close_workflow(&mut self) {
        let Some(workflow) = self.workflow.take() else { return };
        let Some((&last, inner)) = workflow.member_cuts.split_last() else { return };
        // The workflow's own cut (pushed as `Items` at its keyword) opens it.
        if let Some(cut) = self.cuts.iter_mut().rev().find(|(at, _)| *at == workflow.start) {
            cut.1 = ChunkKind::WorkflowOpening;
        }
        self.cuts.extend(inner.iter().map(|&at| (at, ChunkKind::WorkflowMembers)));
        self.cuts.push((last, ChunkKind::WorkflowClosing));
    }

    fn into_chunks(self) -> Vec<Chunk> {
        let length = self.bytes.len();
        let mut chunks: Vec<Chunk> = Vec::new();
        // Text before the first cut (comments, or anything) is a chunk of items too.
        let first_cut = self.cuts.first().map(|(at, _)| *at).unwrap_or(length);
        if first_cut > 0 {
            chunks.push(Chunk { kind: ChunkKind::Items, start: 0, end: first_cut });
        }
        for (index, &(start, kind)) in self.cuts.iter().enumerate() {
            let end = self.cuts.get(index + 1).map(|(at, _)| *at).unwrap_or(length);
            if end > start {
                chunks.push(Chunk { kind, start, end });
            }
        }
        chunks
    }
}

/// Whether chunks of these kinds, in this order, form a file: a workflow's opening,
/// then its members, then its closing, between chunks of whole items. (The splitter
/// only makes such sequences; a caller checks before trusting them.)
pub fn chunk_kinds_fit(kinds: impl IntoIterator<Item = ChunkKind>) -> bool {
    let mut in_workflow = false;
    for kind in kinds {
        let fits = match kind {
            ChunkKind::Items | ChunkKind::WorkflowOpening => !in_workflow,
            ChunkKind::WorkflowMembers | ChunkKind::WorkflowClosing => in_workflow,
        };
        if !fits {
            return false;
        }
        in_workflow = matches!(kind, ChunkKind::WorkflowOpening | ChunkKind::WorkflowMembers);
    }
    !in_workflow
}

/// Whether this `node` line starts a new group: decided by the line's own bytes, so
/// an edit elsewhere never moves a cut (and an edit of this line moves at most this
/// one).
fn starts_a_group(line: &[u8], nodes_per_group: u64) -> bool {
    let end = line.iter().position(|byte| *byte == b'\n').unwrap_or(line.len());
    // FNV-1a over the line.
    let hash = line[..end].iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3));
    hash % nodes_per_group == 0
}

/// `word` at the start of `bytes`, not followed by a character of a name.
fn starts_with_word(bytes: &[u8], word: &[u8]) -> bool {
    bytes.starts_with(word) && !bytes.get(word.len()).is_some_and(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
}

/// Past a `"` string that starts at `from` (just after its quote): after the closing
/// quote, or at the end of the line when it is not closed (the grammar's strings end
/// there too). An escape takes the next byte unless it is a newline.
fn end_of_one_line_string(bytes: &[u8], from: usize) -> usize {
    let mut index = from;
    loop {
        index = position_of_any(bytes, index, [b'"', b'\n', b'\\']);
        match bytes.get(index) {
            Some(b'"') => return index + 1,
            Some(b'\\') if bytes.get(index + 1).is_some_and(|next| *next != b'\n') => index += 2,
            Some(b'\\') => index += 1,
            _ => return index,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(ChunkKind, &str)> {
        split_into_chunks(text).into_iter().map(|chunk| (chunk.kind, &text[chunk.start..chunk.end])).collect()
    }

    #[test]
    fn chunks_tile_the_text_whatever_it_is() {
        for text in ["", "x", "\n\n", "workflow", "workflow w() -> () {\n  node a = code {\n", "\"\"\"\nmodel", "}}}\nmodel m"] {
            let chunks = split_into_chunks(text);
            let mut at = 0;
            for chunk in &chunks {
                assert_eq!(chunk.start, at, "{text:?}: {chunks:?}");
                assert!(chunk.end > chunk.start);
                at = chunk.end;
            }
            assert_eq!(at, text.len(), "{text:?}: {chunks:?}");
        }
    }

    #[test]
    fn items_are_cut_at_their_keywords_and_not_inside_strings_comments_or_blocks() {
        // (The metric's block is still open at `workflow`: an unclosed string ends at
        // the end of its line, as the grammar's do.)
        let text = "// lead\nmodel a = gguf(\"a\")\n// model b\ndataset d = jsonl(\"\"\"\nmodel c\n\"\"\") {\nmodel = 1\n}\nmodelled = 2\nmetric m() { x = \"\nworkflow\" }\n";
        let pieces: Vec<&str> = kinds(text).into_iter().map(|(_, piece)| piece).collect();
        assert_eq!(
            pieces,
            vec!["// lead\n", "model a = gguf(\"a\")\n// model b\n", "dataset d = jsonl(\"\"\"\nmodel c\n\"\"\") {\nmodel = 1\n}\nmodelled = 2\n", "metric m() { x = \"\nworkflow\" }\n"]
        );
    }

    #[test]
    fn a_large_workflow_is_cut_between_nodes_and_closed_after_its_brace() {
        let mut text = String::from("workflow w(q: text) -> (a: text) {\n");
        for index in 0..400 {
            text.push_str(&format!("  node n{index} = llm(m) {{\n    prompt = \"{{q}} node x\"\n  }}\n"));
        }
        text.push_str("  a = n399\n}\nmodel m = gguf(\"m\")\n");
        let chunks: Vec<(ChunkKind, &str)> = split_into_chunks(&text).into_iter().map(|chunk| (chunk.kind, &text[chunk.start..chunk.end])).collect();
        assert!(chunks.len() > 10, "{}", chunks.len());
        assert_eq!(chunks[0].0, ChunkKind::WorkflowOpening);
        assert!(chunks[0].1.starts_with("workflow w"));
        let closing = chunks.len() - 2;
        assert!(chunks[1..closing].iter().all(|(kind, piece)| *kind == ChunkKind::WorkflowMembers && piece.starts_with("  node n")));
        assert_eq!(chunks[closing].0, ChunkKind::WorkflowClosing);
        assert!(chunks[closing].1.ends_with("  a = n399\n}\n"));
        assert_eq!(chunks[closing + 1], (ChunkKind::Items, "model m = gguf(\"m\")\n"));
    }

    #[test]
    fn a_workflow_that_never_closes_is_one_chunk() {
        let mut text = String::from("workflow w(q: text) -> (a: text) {\n");
        for index in 0..400 {
            text.push_str(&format!("  node n{index} = llm(m) {{\n  }}\n"));
        }
        assert_eq!(kinds(&text), vec![(ChunkKind::Items, text.as_str())]);
    }
}
