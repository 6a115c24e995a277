//! Deterministic votes over consensus samples.
//!
//! `majority`: the most frequent normalised output; a tie goes to the candidate whose
//! first sample came earliest (samples are ordered by seed, so the rule is fixed).
//! `median`: the lower median of numeric outputs. The winner returned is an original
//! sample, not its normalised form.

use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VoteOutcome {
    pub winner: Value,
    /// `(normalised output, votes)` in order of first appearance.
    pub tally: Vec<(String, usize)>,
}

/// How outputs are compared: text trimmed, lower-cased, with runs of whitespace
/// collapsed; other values by their canonical JSON.
pub fn normalise(value: &Value) -> String {
    match value {
        Value::String(text) => text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase(),
        Value::Number(number) => match number.as_f64() {
            Some(float) if float.fract() == 0.0 && float.abs() < 9.0e15 => format!("{}", float as i64),
            Some(float) => format!("{float}"),
            None => number.to_string(),
        },
        other => other.to_string(),
    }
}

pub fn majority(samples: &[Value]) -> Option<VoteOutcome> {
    let mut tally: Vec<(String, usize, usize)> = Vec::new();
    for (index, sample) in samples.iter().enumerate() {
        let key = normalise(sample);
        match tally.iter_mut().find(|(known, _, _)| *known == key) {
            Some(entry) => entry.1 += 1,
            None => tally.push((key, 1, index)),
        }
    }
    let (_, _, first_index) = tally.iter().max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.2.cmp(&a.2)))?.clone();
    Some(VoteOutcome { winner: samples[first_index].clone(), tally: tally.into_iter().map(|(key, votes, _)| (key, votes)).collect() })
}

pub fn median(samples: &[Value]) -> Option<VoteOutcome> {
    let mut numeric: Vec<(f64, usize)> = samples.iter().enumerate().filter_map(|(index, sample)| sample.as_f64().map(|value| (value, index))).collect();
    if numeric.is_empty() {
        return None;
    }
    numeric.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (_, index) = numeric[(numeric.len() - 1) / 2];
    let tally = numeric.iter().map(|(value, _)| (format!("{value}"), 1)).collect();
    Some(VoteOutcome { winner: samples[index].clone(), tally })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn majority_normalises_and_breaks_ties_by_first_sample() {
        let outcome = majority(&[json!("Yes "), json!("no"), json!("yes"), json!("No")]).unwrap();
        assert_eq!(outcome.winner, json!("Yes "), "tie 2–2: `yes` appeared first");
        assert_eq!(outcome.tally, vec![("yes".to_string(), 2), ("no".to_string(), 2)]);
        let outcome = majority(&[json!(1), json!(2.0), json!(2)]).unwrap();
        assert_eq!(outcome.winner, json!(2.0));
        assert!(majority(&[]).is_none());
    }

    #[test]
    fn median_takes_the_lower_middle() {
        assert_eq!(median(&[json!(5), json!(1), json!(3), json!(100)]).unwrap().winner, json!(3));
        assert_eq!(median(&[json!(2), json!(9), json!(4)]).unwrap().winner, json!(4));
    }
}
