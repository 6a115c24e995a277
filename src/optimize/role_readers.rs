//! Quantities with roles, not positions: readers that find a number by the words
//! next to it ("the number nearest to `shelter`", "the number after `$`"), so a
//! formula can say *which* quantity it uses however a phrasing orders them.
//!
//! Why not positions: when the same problem is worded in several ways, the numbers
//! come in a different order in each (`numbers[2]` is the price in one phrasing and
//! the count in the next), and no formula over positions exists. Why not the
//! student: the 135M student is at chance at choosing which number plays which role,
//! even constrained to the numbers of the text and shown labelled demonstrations
//! (measured: 25–29%). The words a role is attached to are shared by every phrasing
//! of a problem (a shelter is called a shelter), so a deterministic reader keyed on
//! such a word is both reliable and order-free.
//!
//! How readers are found (no teacher call): the *anchors* are the words every
//! training text contains (minus function words); each anchor gives three readers
//! (the number nearest to it in its sentence, the nearest after it, the nearest
//! before it — over every occurrence of the word, the tightest binding wins). Readers that agree on every training example are one hypothesis to the data;
//! of such a group the one whose number sits closest to its word is kept (the
//! tightest binding is the likeliest to hold on another phrasing). Formula search
//! then runs over these named roles. All reading happens in the sandbox, with the
//! same starlark functions the plan will run, so search and plan cannot disagree.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use std::sync::LazyLock;

use super::capabilities::TEXT_TOKENS_SOURCE;
use super::formula_search::Leaf;
use crate::sandbox::Sandbox;

/// Starlark: `read_number(text, anchor, relation)`, `anchor_words(text)` and
/// `reader_table(text, anchors)`. Numbers are read as `numbers_in` reads them
/// (digits with separators and decimals, cardinal words).
pub static ROLE_READERS_SOURCE: LazyLock<String> = LazyLock::new(|| format!("{TEXT_TOKENS_SOURCE}{READERS}"));

const READERS: &str = r#"def _read(tokens, anchor, relation):
    # [value, distance] of the number bound most tightly to `anchor` (a word, or
    # a list of cue words: any of them) by `relation`, over every occurrence of
    # the word (in its own sentence), or None. At equal distance the number after
    # the word wins, then the earlier.
    words = anchor if type(anchor) == "list" else [anchor]
    best = None
    for a in range(len(tokens)):
        if tokens[a]["kind"] != "word" or tokens[a]["text"] not in words:
            continue
        for n in range(len(tokens)):
            t = tokens[n]
            if t["kind"] != "number" or t["sentence"] != tokens[a]["sentence"]:
                continue
            distance = n - a
            if relation == "after" and distance < 0:
                continue
            if relation == "before" and distance > 0:
                continue
            key = abs(distance) * 2 + (1 if distance < 0 else 0)
            if best == None or key < best[1]:
                best = [t["value"], key]
    if best == None:
        return None
    return [best[0], best[1] // 2]

def read_number(text, anchor, relation):
    found = _read(_tokens(text), anchor, relation)
    if found == None:
        words = ("the word \"%s\"" % anchor) if type(anchor) == "string" else ("any of the words %s" % anchor)
        fail("no number %s %s in: %s" % (relation, words, text[:200]))
    return found[0]

def anchor_words(text):
    words = {}
    for t in _tokens(text):
        if t["kind"] == "word":
            words[t["text"]] = True
    return sorted(words.keys())

def reader_table(text, anchors):
    tokens = _tokens(text)
    table = {}
    for anchor in anchors:
        for relation in ["nearest", "after", "before"]:
            found = _read(tokens, anchor, relation)
            if found != None:
                table[anchor + " " + relation] = found
    return table
"#;

/// The relations a reader can have to its anchor, in order of preference at equal
/// binding (the nearest number is the least committal).
pub const RELATIONS: [&str; 3] = ["nearest", "after", "before"];

/// Function words: present in every text and attached to no quantity in particular.
pub(crate) const FUNCTION_WORDS: [&str; 58] = [
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "by", "with", "from", "is", "are", "was", "were", "be", "it", "that",
    "this", "how", "what", "many", "much", "if", "he", "she", "they", "his", "her", "their", "them", "then", "there", "does", "do", "did",
    "has", "have", "had", "will", "would", "each", "per", "all", "into", "as", "so", "up", "out", "some", "after", "before", "than", "who", "which",
];

/// At most this many anchors and leaves: formula search's cost grows with the
/// fourth power of its leaves, and more readers mean more chance fits.
const MAX_ANCHORS: usize = 40;
const MAX_ROLE_LEAVES: usize = 12;

/// A reader: the number `relation` to the word `anchor` — or, when `cue_words` is
/// not empty, to any of those words, `anchor` then being the role's name (a field
/// reader's or a test's list of words).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoleReader {
    pub anchor: String,
    pub relation: String,
    pub cue_words: Vec<String>,
}

impl RoleReader {
    /// A starlark identifier naming the role: `shelter`, `dollar_after`.
    pub fn variable(&self) -> String {
        let base: String = match self.anchor.as_str() {
            "$" => "dollars".into(),
            "%" => "percent".into(),
            "#" => "number_sign".into(),
            other => other.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect(),
        };
        let base = if base.starts_with(|c: char| c.is_ascii_digit()) || base.is_empty() { format!("role_{base}") } else { base };
        match self.relation.as_str() {
            "nearest" => base,
            relation => format!("{base}_{relation}"),
        }
    }

    pub fn call(&self, text_argument: &str) -> String {
        let anchor = if self.cue_words.is_empty() { json!(self.anchor) } else { json!(self.cue_words) };
        format!("read_number({text_argument}, {anchor}, {})", json!(self.relation))
    }

    /// How the reader reads, in words, for critiques and provenance.
    pub fn describe(&self) -> String {
        let relation = if self.relation == "nearest" { "nearest to" } else { self.relation.as_str() };
        if self.cue_words.is_empty() {
            format!("`{}` = the number {relation} \"{}\"", self.variable(), self.anchor)
        } else {
            format!("`{}` = the number {relation} any of the cue words {}", self.variable(), self.cue_words.iter().map(|word| format!("\"{word}\"")).collect::<Vec<_>>().join(", "))
        }
    }
}

/// The roles found on the training texts: one leaf per distinct vector of values.
pub struct RoleLeaves {
    pub readers: Vec<RoleReader>,
    pub leaves: Vec<Leaf>,
    /// Readers held against the data before deduplication (hypotheses).
    pub considered: u64,
}

/// Reads every anchor's numbers on `texts` (one per training example) in the
/// sandbox and returns the distinct roles, tightest-bound first.
pub async fn role_leaves(sandbox: &Sandbox, texts: &[String]) -> Result<RoleLeaves, String> {
    let common = common_words(sandbox, texts).await?;
    let anchors: Vec<String> = common.into_iter().filter(|word| !FUNCTION_WORDS.contains(&word.as_str())).take(MAX_ANCHORS).collect();
    let mut tables = Vec::new();
    for text in texts {
        let table = call(sandbox, "reader_table", json!({ "text": text, "anchors": anchors })).await?;
        tables.push(table.as_object().cloned().unwrap_or_default());
    }
    Ok(distinct_roles(&anchors.iter().map(|anchor| (anchor.clone(), Vec::new())).collect::<Vec<_>>(), &tables, texts.len()))
}

/// From the tables of every text (`"<anchor> <relation>" → [value, distance]`), the
/// readers defined on every text, one per distinct vector of values.
fn distinct_roles(anchors: &[(String, Vec<String>)], tables: &[Map<String, Value>], texts: usize) -> RoleLeaves {
    // Per reader defined on every text: its values and its total distance.
    let mut groups: BTreeMap<Vec<i64>, (u64, usize, RoleReader, Vec<f64>)> = BTreeMap::new();
    let mut considered = 0;
    for (anchor, cue_words) in anchors {
        for (relation_rank, relation) in RELATIONS.iter().enumerate() {
            let key = format!("{anchor} {relation}");
            let mut values = Vec::new();
            let mut distance = 0u64;
            for table in tables {
                let Some(found) = table.get(&key).and_then(Value::as_array) else { break };
                let (Some(value), Some(far)) = (found.first().and_then(Value::as_f64), found.get(1).and_then(Value::as_u64)) else { break };
                values.push(value);
                distance += far;
            }
            if values.len() != texts {
                continue;
            }
            considered += 1;
            let reader = RoleReader { anchor: anchor.clone(), relation: relation.to_string(), cue_words: cue_words.clone() };
            let signature: Vec<i64> = values.iter().map(|value| (value * 1e6).round() as i64).collect();
            let rank = (distance, relation_rank);
            match groups.get(&signature) {
                Some((best_distance, best_rank, best_reader, _)) if (*best_distance, *best_rank, best_reader) <= (rank.0, rank.1, &reader) => {}
                _ => {
                    groups.insert(signature, (distance, relation_rank, reader, values));
                }
            }
        }
    }
    let mut chosen: Vec<(u64, usize, RoleReader, Vec<f64>)> = groups.into_values().collect();
    chosen.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
    chosen.truncate(MAX_ROLE_LEAVES);
    // Two anchors can give the same variable name only if they differ in
    // punctuation; keep the first.
    let mut names = BTreeSet::new();
    chosen.retain(|(_, _, reader, _)| names.insert(reader.variable()));
    RoleLeaves {
        leaves: chosen.iter().map(|(_, _, reader, values)| Leaf { text: reader.variable(), values: values.clone() }).collect(),
        readers: chosen.into_iter().map(|(_, _, reader, _)| reader).collect(),
        considered,
    }
}

/// The words every one of `texts` contains, without function words (stemmed as the
/// readers stem, so "does" and "this" are dropped too).
pub async fn common_content_words(sandbox: &Sandbox, texts: &[String]) -> Result<BTreeSet<String>, String> {
    let function_words: BTreeSet<String> = FUNCTION_WORDS.iter().flat_map(|word| [word.to_string(), stem(word)]).collect();
    Ok(common_words(sandbox, texts).await?.into_iter().filter(|word| !function_words.contains(word)).collect())
}

/// The readers' stemming (`_stem` in `capabilities::TEXT_TOKENS_SOURCE`).
fn stem(word: &str) -> String {
    if word.chars().count() > 3 && word.ends_with('s') && !word.ends_with("ss") {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    }
}

/// The words (stemmed, as the readers see them) that every one of `texts` contains.
pub async fn common_words(sandbox: &Sandbox, texts: &[String]) -> Result<BTreeSet<String>, String> {
    let mut common: Option<BTreeSet<String>> = None;
    for text in texts {
        let words = call(sandbox, "anchor_words", json!({ "text": text })).await?;
        let words: BTreeSet<String> = words.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
        common = Some(match common {
            None => words,
            Some(common) => common.intersection(&words).cloned().collect(),
        });
    }
    Ok(common.unwrap_or_default())
}

/// The code of a node computing `expression` over the roles of `text_argument`:
/// each role a named variable read by its anchor, then the formula.
pub fn role_formula_source(text_argument: &str, readers: &[RoleReader], expression: &str) -> String {
    let mut body = String::new();
    for reader in readers {
        // Only the roles the formula uses are read (a role missing from a text
        // would fail the node for nothing).
        if mentions(expression, &reader.variable()) {
            body.push_str(&format!("    {} = {}\n", reader.variable(), reader.call(text_argument)));
        }
    }
    format!("{}\ndef run({text_argument}):\n{body}    return {expression}\n", ROLE_READERS_SOURCE.as_str())
}

/// Whether `expression` uses the identifier `name` (not as part of a longer one).
pub fn mentions(expression: &str, name: &str) -> bool {
    identifiers(expression).any(|word| word == name)
}

/// The identifiers of a starlark expression, in order, each as often as written
/// (with empty pieces between operators, which match no name).
pub fn identifiers(expression: &str) -> impl Iterator<Item = &str> {
    expression.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
}

async fn call(sandbox: &Sandbox, function: &str, arguments: Value) -> Result<Value, String> {
    let arguments: Map<String, Value> = arguments.as_object().cloned().unwrap_or_default();
    sandbox.call(&ROLE_READERS_SOURCE, function, arguments).await.map_err(|error| format!("the role readers failed: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_identifiers_named_after_the_anchor() {
        assert_eq!(RoleReader { anchor: "shelter".into(), relation: "nearest".into(), cue_words: Vec::new() }.variable(), "shelter");
        assert_eq!(RoleReader { anchor: "$".into(), relation: "after".into(), cue_words: Vec::new() }.variable(), "dollars_after");
    }

    #[test]
    fn only_used_roles_are_read() {
        let readers = vec![RoleReader { anchor: "roll".into(), relation: "nearest".into(), cue_words: Vec::new() }, RoleReader { anchor: "rolls".into(), relation: "after".into(), cue_words: Vec::new() }];
        let source = role_formula_source("question", &readers, "roll * 2");
        assert!(source.contains("    roll = read_number(question, \"roll\", \"nearest\")"));
        assert!(!source.contains("rolls_after ="));
    }
}
