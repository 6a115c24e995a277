//! Constants a text implies without writing them as a number: "twice" is 2, "a
//! dozen" 12, "per cent" 100, "a week" 7 days. Formula search may use a constant
//! only when a training text says one of its words, so the constants come from what
//! the problem says, not from a list fitted to the families the optimiser was
//! developed on (the earlier fixed list `[1, 2, 3, 4, 7, 10, 12, 60, 100]` was).
//!
//! The one constant always allowed is 1: it is the unit of counting (`n - 1`,
//! `n + 1`) and what makes `x // 1` the whole part of a quantity.

/// Word (or phrase) → the constants it implies. Words are matched whole, case-
/// insensitively, and a trailing plural `s` is allowed ("dozens", "weeks").
pub const IMPLIED_CONSTANTS: &[(&str, &[f64])] = &[
    // Multiples and fractions.
    ("twice", &[2.0]),
    ("double", &[2.0]),
    ("doubled", &[2.0]),
    ("pair", &[2.0]),
    ("couple", &[2.0]),
    ("half", &[2.0]),
    ("halves", &[2.0]),
    ("halved", &[2.0]),
    ("both ways", &[2.0]),
    ("round trip", &[2.0]),
    ("triple", &[3.0]),
    ("tripled", &[3.0]),
    ("thrice", &[3.0]),
    ("third", &[3.0]),
    ("quarter", &[4.0]),
    ("fourth", &[4.0]),
    ("fifth", &[5.0]),
    ("tenth", &[10.0]),
    ("dozen", &[12.0]),
    ("score", &[20.0]),
    ("hundred", &[100.0]),
    ("thousand", &[1000.0]),
    ("million", &[1_000_000.0]),
    // Rates.
    ("percent", &[100.0]),
    ("per cent", &[100.0]),
    ("%", &[100.0]),
    ("cent", &[100.0]),
    // Time.
    ("minute", &[60.0]),
    ("hour", &[60.0, 24.0]),
    ("day", &[24.0, 7.0]),
    ("daily", &[7.0]),
    ("week", &[7.0, 52.0]),
    ("weekly", &[7.0, 52.0]),
    ("fortnight", &[14.0]),
    ("month", &[12.0]),
    ("monthly", &[12.0]),
    ("year", &[12.0, 52.0, 365.0]),
    ("yearly", &[12.0]),
    ("annual", &[12.0]),
    ("decade", &[10.0]),
    ("century", &[100.0]),
    // Lengths.
    ("foot", &[12.0]),
    ("feet", &[12.0]),
    ("yard", &[3.0, 36.0]),
];

/// The constants formula search may use for these texts: 1, and every constant
/// implied by a word of the table found in any of them, ascending.
pub fn implied_constants(texts: &[&str]) -> Vec<f64> {
    let mut constants = vec![1.0];
    for text in texts {
        let words = words_of(text);
        for (phrase, implied) in IMPLIED_CONSTANTS {
            if contains_phrase(&words, phrase) {
                constants.extend_from_slice(implied);
            }
        }
    }
    constants.sort_by(|a, b| a.total_cmp(b));
    constants.dedup();
    constants
}

/// Lower-cased words and `%` signs, in order.
fn words_of(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for character in text.chars() {
        if character.is_alphabetic() {
            word.extend(character.to_lowercase());
            continue;
        }
        if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if character == '%' {
            words.push("%".into());
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn contains_phrase(words: &[String], phrase: &str) -> bool {
    let wanted: Vec<&str> = phrase.split(' ').collect();
    words.windows(wanted.len()).any(|window| {
        window.iter().zip(&wanted).all(|(word, wanted)| word == wanted || (word.strip_suffix('s') == Some(wanted) && wanted.len() > 2))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_come_from_the_words_of_the_text() {
        assert_eq!(implied_constants(&["She sold 12 pies."]), vec![1.0]);
        assert_eq!(implied_constants(&["He bought two dozens of eggs and paid twice as much"]), vec![1.0, 2.0, 12.0]);
        assert_eq!(implied_constants(&["a 15% tip", "3 per cent more"]), vec![1.0, 100.0]);
        assert_eq!(implied_constants(&["every week"]), vec![1.0, 7.0, 52.0]);
    }

    #[test]
    fn words_match_whole() {
        // "thirds" is a plural of "third"; "weekend" is not "week"; "scored" is not "score".
        assert_eq!(implied_constants(&["two thirds"]), vec![1.0, 3.0]);
        assert_eq!(implied_constants(&["on the weekend she scored"]), vec![1.0]);
    }
}
