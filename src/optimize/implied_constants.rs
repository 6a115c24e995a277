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
    // v17: a journey "there and back" is two legs. Added after train_ticket
    // (later9) failed for want of it; a hypothesis until families drawn after it
    // show it helps.
    ("there and back", &[2.0]),
    ("each way", &[2.0]),
    ("return trip", &[2.0]),
    ("return journey", &[2.0]),
    ("triple", &[3.0]),
    ("tripled", &[3.0]),
    ("thrice", &[3.0]),
    ("third", &[3.0]),
    ("quarter", &[4.0]),
    ("fourth", &[4.0]),
    ("fifth", &[5.0]),
    ("tenth", &[10.0]),
    ("dozen", &[12.0]),
    // Not "score" (20): in word problems it is a game's or a test's score ("what
    // score does she need"), and the 20 it implied let a coincidental formula fit
    // basketball_points (`point_6 - 20 / throw - free * throw`, 0.04 held-out).
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
    ("weekday", &[5.0]),
    ("monday to friday", &[5.0]),
    ("monday through friday", &[5.0]),
    ("weekend", &[2.0]),
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

/// Unit conversions: the factor is implied when the texts name a unit of each side
/// ("513 g of chicken … $9.50 per kilogram" implies 1000). Both sides, because one
/// unit alone converts nothing, and every constant offered widens the search.
/// Single letters that contractions also make ("I'm", "I'll") are left out.
pub const UNIT_CONVERSIONS: &[(&[&str], &[&str], f64)] = &[
    (&["g", "gram", "gramme"], &["kg", "kilo", "kilogram", "kilogramme"], 1000.0),
    (&["ml", "millilitre", "milliliter"], &["litre", "liter"], 1000.0),
    (&["cm", "centimetre", "centimeter"], &["metre", "meter"], 100.0),
    (&["metre", "meter"], &["km", "kilometre", "kilometer"], 1000.0),
    (&["second"], &["minute"], 60.0),
];

/// The constants formula search may use for these texts: 1, every constant implied
/// by a word of the table found in any of them, and every unit conversion whose two
/// sides they name, ascending.
pub fn implied_constants(texts: &[&str]) -> Vec<f64> {
    let mut constants = vec![1.0];
    let mut all_words: Vec<Vec<String>> = Vec::new();
    for text in texts {
        let words = words_of(text);
        for (phrase, implied) in IMPLIED_CONSTANTS {
            if contains_phrase(&words, phrase) {
                constants.extend_from_slice(implied);
            }
        }
        all_words.push(words);
    }
    let named = |units: &[&str]| all_words.iter().any(|words| units.iter().any(|unit| contains_phrase(words, unit)));
    for (smaller, larger, factor) in UNIT_CONVERSIONS {
        if named(smaller) && named(larger) {
            constants.push(*factor);
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
        assert_eq!(implied_constants(&["runs 8.4 km Monday to Friday"]), vec![1.0, 5.0]);
        assert_eq!(implied_constants(&["a ticket there and back costs $14"]), vec![1.0, 2.0]);
        assert_eq!(implied_constants(&["the way back is shorter"]), vec![1.0], "\"back\" alone is no second leg");
    }

    #[test]
    fn a_unit_conversion_needs_both_units() {
        assert_eq!(implied_constants(&["uses 513 g of chicken", "costs $9.50 per kilogram"]), vec![1.0, 1000.0]);
        assert_eq!(implied_constants(&["uses 513 grams of chicken"]), vec![1.0]);
        assert_eq!(implied_constants(&["I'm driving 40 km"]), vec![1.0], "the m of I'm is not a metre");
        assert_eq!(implied_constants(&["what score does Felix need"]), vec![1.0]);
    }

    #[test]
    fn words_match_whole() {
        // "thirds" is a plural of "third"; "weekend" is its own word (2 days), not "week".
        assert_eq!(implied_constants(&["two thirds"]), vec![1.0, 3.0]);
        assert_eq!(implied_constants(&["on the weekend she scored"]), vec![1.0, 2.0]);
    }
}
