//! Does a node's output match its gold value? Numbers within a relative 1e-6 (the
//! gold values are written by a model or computed in floating point), text without
//! surrounding space or case, lists and objects element by element.

use serde_json::Value;

pub fn values_match(gold: &Value, actual: &Value) -> bool {
    match (gold, actual) {
        (Value::Number(_), Value::Number(_)) => numbers_match(gold.as_f64(), actual.as_f64()),
        // A model may write a number as text ("12") where the type says number.
        (Value::Number(_), Value::String(text)) | (Value::String(text), Value::Number(_)) => {
            let number = if let Value::Number(_) = gold { gold.as_f64() } else { actual.as_f64() };
            numbers_match(number, text.trim().replace(',', "").parse::<f64>().ok())
        }
        (Value::String(gold), Value::String(actual)) => gold.trim().to_lowercase() == actual.trim().to_lowercase(),
        (Value::Array(gold), Value::Array(actual)) => gold.len() == actual.len() && gold.iter().zip(actual).all(|(gold, actual)| values_match(gold, actual)),
        (Value::Object(gold), Value::Object(actual)) => {
            gold.len() == actual.len() && gold.iter().all(|(key, gold)| actual.get(key).is_some_and(|actual| values_match(gold, actual)))
        }
        _ => gold == actual,
    }
}

/// Does `actual` carry everything `gold` does? Lists: `gold` is a subsequence of
/// `actual` (a reader that also returns "10.5" and "0.16" covers a teacher's gold
/// list that forgot them); objects: every gold field is covered; else a match.
/// For intermediate nodes only: their gold is a teacher's guess, and an output
/// that loses nothing of it leaves the nodes downstream everything they need.
pub fn value_covers(gold: &Value, actual: &Value) -> bool {
    match (gold, actual) {
        (Value::Array(gold), Value::Array(actual)) => {
            let mut remaining = actual.iter();
            gold.iter().all(|wanted| remaining.any(|item| values_match(wanted, item)))
        }
        (Value::Object(gold), Value::Object(actual)) => gold.iter().all(|(key, gold)| actual.get(key).is_some_and(|actual| value_covers(gold, actual))),
        _ => values_match(gold, actual),
    }
}

/// Partial credit in [0, 1]: how much of the gold value the output gets right.
/// Lists score their longest common subsequence (a number list with one word-number
/// too many still scores high), objects the mean of their fields, anything else
/// 1 or 0. Used to break ties between candidates that match gold equally often:
/// an intermediate node's gold is a teacher's guess, so near-misses carry signal.
pub fn similarity(gold: &Value, actual: &Value) -> f64 {
    if values_match(gold, actual) {
        return 1.0;
    }
    match (gold, actual) {
        (Value::Array(gold), Value::Array(actual)) => {
            let longest = gold.len().max(actual.len());
            if longest == 0 {
                return 1.0;
            }
            let mut table = vec![vec![0usize; actual.len() + 1]; gold.len() + 1];
            for (i, gold_item) in gold.iter().enumerate() {
                for (j, actual_item) in actual.iter().enumerate() {
                    table[i + 1][j + 1] = if values_match(gold_item, actual_item) { table[i][j] + 1 } else { table[i][j + 1].max(table[i + 1][j]) };
                }
            }
            table[gold.len()][actual.len()] as f64 / longest as f64
        }
        (Value::Object(gold), Value::Object(actual)) => {
            if gold.is_empty() {
                return 0.0;
            }
            gold.iter().map(|(key, gold)| actual.get(key).map_or(0.0, |actual| similarity(gold, actual))).sum::<f64>() / gold.len() as f64
        }
        _ => 0.0,
    }
}

fn numbers_match(gold: Option<f64>, actual: Option<f64>) -> bool {
    match (gold, actual) {
        (Some(gold), Some(actual)) => (gold - actual).abs() <= 1e-6 * gold.abs().max(actual.abs()).max(1e-9),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_match_within_relative_tolerance() {
        assert!(values_match(&json!(7594784.85), &json!(7594784.850000001)));
        assert!(values_match(&json!(3), &json!(3.0)));
        assert!(!values_match(&json!(3), &json!(4)));
        assert!(values_match(&json!(1234567), &json!("1,234,567")));
    }

    #[test]
    fn a_superset_list_covers_its_gold() {
        let gold = json!({"quantities": [16, 13, 6]});
        assert!(value_covers(&gold, &json!({"quantities": [10.5, 0.16, 16, 13, 6]})));
        assert!(!value_covers(&gold, &json!({"quantities": [16, 6, 13]})), "order matters");
        assert!(!value_covers(&gold, &json!({"quantities": [16, 13]})));
        assert!(value_covers(&json!(5), &json!(5.0)));
    }

    #[test]
    fn near_misses_get_partial_credit() {
        let gold = json!({"quantities": [16, 3, 4933828, 2]});
        assert_eq!(similarity(&gold, &json!({"quantities": [16, 4933828, 2]})), 0.75);
        assert_eq!(similarity(&gold, &json!({"quantities": [16, 3, 4933828, 2]})), 1.0);
        assert_eq!(similarity(&gold, &json!({"quantities": []})), 0.0);
        assert_eq!(similarity(&json!(5), &json!(6)), 0.0);
    }

    #[test]
    fn structures_match_element_by_element() {
        assert!(values_match(&json!({"quantities": [16, 3, 4933828]}), &json!({"quantities": [16.0, 3, 4933828]})));
        assert!(!values_match(&json!({"quantities": [16, 3]}), &json!({"quantities": [16]})));
        assert!(values_match(&json!("Billing "), &json!("billing")));
        assert!(!values_match(&json!(null), &json!(0)));
    }
}
