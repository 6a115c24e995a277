//! A table of word weights (naive Bayes over a text's distinct words), fitted by
//! `flowc build` on example texts of each class and read at run time: by the code
//! of a word-frequency classifier (the same table written as starlark, whose
//! `words_of` must agree with [`text_words`]: tested) and by a `likelihood_choice`
//! node that adds a table's evidence to the student's (`runtime::executor`).
//! In the runtime layer because plans use it; the optimiser only fits it.

use std::collections::{BTreeMap, BTreeSet};

/// Words are cut to this many letters: a crude stem that makes one word of
/// "charged", "charges" and "charging", or "delivered" and "delivery".
pub const STEM_LETTERS: usize = 6;
/// Add-half smoothing: a word never seen with a class is unlikely for it, not
/// impossible (one unseen word must not veto a class).
pub const SMOOTHING: f64 = 0.5;

/// English function words and greetings: in every class's texts alike, so they
/// carry no class, only noise for a table fitted on a few dozen texts. A
/// language's grammar, not a task's words.
pub const STOP_WORDS: [&str; 60] = [
    "i", "me", "my", "we", "our", "you", "your", "the", "a", "an", "and", "or", "but", "to", "of", "in", "on", "at", "for", "with", "is", "are",
    "was", "were", "be", "been", "it", "this", "that", "have", "has", "had", "do", "does", "did", "not", "no", "can", "could", "would", "will",
    "please", "hi", "hello", "thanks", "thank", "just", "so", "as", "from", "by", "am", "any", "there", "what", "when", "how", "why", "get", "got",
];

/// The distinct words of a text as the compiled classifier reads them: lower case,
/// letters and digits only, numbers and words of one or two letters dropped, stop
/// words dropped, a plural `s` off, then cut to `STEM_LETTERS` letters (`words_of`
/// in the starlark must agree: tested).
pub fn text_words(text: &str) -> Vec<String> {
    let cleaned: String = text.to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    let mut seen = BTreeSet::new();
    let mut words = Vec::new();
    for word in cleaned.split_whitespace() {
        if word.chars().all(|c| c.is_ascii_digit()) || word.chars().count() < 3 || STOP_WORDS.contains(&word) {
            continue;
        }
        let word = if word.chars().count() > 3 && word.ends_with('s') && !word.ends_with("ss") { &word[..word.len() - 1] } else { word };
        let word: String = word.chars().take(STEM_LETTERS).collect();
        if seen.insert(word.clone()) {
            words.push(word);
        }
    }
    words
}

/// The table is the lock's own type (a plan holds it as data); its behaviour lives
/// here, beside the word splitting it depends on.
pub use crate::plan::lock_file::LockedWordTable as WordTable;

impl WordTable {
    /// Fitted on `(class, text)` pairs; each text counts a word once.
    pub fn fit(classes: &[String], texts: &[(String, String)]) -> WordTable {
        let mut counts: BTreeMap<String, BTreeMap<String, f64>> = classes.iter().map(|class| (class.clone(), BTreeMap::new())).collect();
        let mut vocabulary = BTreeSet::new();
        for (class, text) in texts {
            let Some(class_counts) = counts.get_mut(class) else { continue };
            for word in text_words(text) {
                *class_counts.entry(word.clone()).or_default() += 1.0;
                vocabulary.insert(word);
            }
        }
        let size = vocabulary.len() as f64;
        let mut weights = BTreeMap::new();
        let mut unseen = BTreeMap::new();
        for (class, class_counts) in counts {
            let total: f64 = class_counts.values().sum::<f64>() + SMOOTHING * size;
            let total = total.max(1.0);
            unseen.insert(class.clone(), rounded((SMOOTHING / total).ln()));
            weights.insert(class, class_counts.into_iter().map(|(word, count)| (word, rounded(((count + SMOOTHING) / total).ln()))).collect());
        }
        WordTable { weights, unseen }
    }

    pub fn words(&self) -> usize {
        self.weights.values().flat_map(BTreeMap::keys).collect::<BTreeSet<_>>().len()
    }

    /// Each class's score for `text`: the sum of its weights over the distinct
    /// words of the text the table knows (a known word the class was not seen with
    /// counts its `unseen` weight); `None` when the text has no known word.
    pub fn class_scores(&self, text: &str) -> Option<BTreeMap<String, f64>> {
        let known: Vec<String> = text_words(text).into_iter().filter(|word| self.weights.values().any(|words| words.contains_key(word))).collect();
        if known.is_empty() {
            return None;
        }
        Some(
            self.weights
                .iter()
                .map(|(class, words)| {
                    let unseen = self.unseen.get(class).copied().unwrap_or(f64::NEG_INFINITY);
                    (class.clone(), known.iter().map(|word| words.get(word).copied().unwrap_or(unseen)).sum())
                })
                .collect(),
        )
    }
}

/// Four decimals: the table is data in the plan, and the plan's bytes must not
/// depend on the last bits of a logarithm.
fn rounded(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}
