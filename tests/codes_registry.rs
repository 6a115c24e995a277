//! The registry of diagnostic codes is consistent, and every code is explained.

use std::collections::HashSet;

use flowc::diagnostics::codes::{find_code, ALL_CODES};
use flowc::diagnostics::Severity;

/// `E0101` / `W0301`: a letter, then four digits.
fn is_well_formed_id(id: &str) -> bool {
    let mut characters = id.chars();
    matches!(characters.next(), Some('E' | 'W')) && id.len() == 5 && characters.all(|c| c.is_ascii_digit())
}

#[test]
fn there_are_codes() {
    assert!(!ALL_CODES.is_empty());
}

#[test]
fn ids_are_unique() {
    let mut seen = HashSet::new();
    let repeated: Vec<&str> = ALL_CODES.iter().map(|code| code.id).filter(|id| !seen.insert(*id)).collect();
    assert!(repeated.is_empty(), "ids used twice: {repeated:?}");
}

#[test]
fn names_are_unique() {
    let mut seen = HashSet::new();
    let repeated: Vec<&str> = ALL_CODES.iter().map(|code| code.name).filter(|name| !seen.insert(*name)).collect();
    assert!(repeated.is_empty(), "names used twice: {repeated:?}");
}

#[test]
fn ids_are_a_letter_and_four_digits() {
    let malformed: Vec<&str> = ALL_CODES.iter().map(|code| code.id).filter(|id| !is_well_formed_id(id)).collect();
    assert!(malformed.is_empty(), "ids not matching ^[EW]\\d{{4}}$: {malformed:?}");
}

#[test]
fn names_are_kebab_case() {
    let malformed: Vec<&str> = ALL_CODES
        .iter()
        .map(|code| code.name)
        .filter(|name| {
            name.is_empty()
                || name.starts_with('-')
                || name.ends_with('-')
                || name.contains("--")
                || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        .collect();
    assert!(malformed.is_empty(), "names not in kebab-case: {malformed:?}");
}

#[test]
fn severity_matches_the_prefix() {
    let wrong: Vec<String> = ALL_CODES
        .iter()
        .filter(|code| {
            let expected = if code.id.starts_with('E') { Severity::Error } else { Severity::Warning };
            code.severity != expected
        })
        .map(|code| format!("{} is {:?}", code.id, code.severity))
        .collect();
    assert!(wrong.is_empty(), "E codes must be errors and W codes warnings: {wrong:?}");
}

#[test]
fn summaries_are_one_line() {
    let bad: Vec<&str> = ALL_CODES
        .iter()
        .filter(|code| code.summary.trim().is_empty() || code.summary.contains('\n') || code.summary.ends_with('.'))
        .map(|code| code.id)
        .collect();
    assert!(bad.is_empty(), "summaries must be one line without a final period: {bad:?}");
}

#[test]
fn every_code_can_be_found_by_id_qualified_id_and_name() {
    for code in ALL_CODES {
        for query in [code.id.to_string(), code.qualified(), code.id.to_lowercase(), code.name.to_string()] {
            let found = find_code(&query).unwrap_or_else(|| panic!("find_code({query:?}) found nothing"));
            assert_eq!(found.id, code.id, "find_code({query:?})");
        }
    }
    assert!(find_code("E9999").is_none());
}

#[test]
fn every_explanation_is_real() {
    let mut problems: Vec<String> = Vec::new();
    for code in ALL_CODES {
        let explanation = code.explanation;
        let heading = format!("# {}", code.id);
        if !explanation.starts_with(&heading) {
            let first_line = explanation.lines().next().unwrap_or("");
            problems.push(format!("{}: does not start with `{heading}` (starts with {first_line:?})", code.id));
        }
        if explanation.contains("PENDING") {
            problems.push(format!("{}: still says PENDING", code.id));
        }
        if !explanation.contains("```flow") {
            problems.push(format!("{}: has no ```flow example", code.id));
        }
        if explanation.chars().count() < 300 {
            problems.push(format!("{}: only {} characters (at least 300)", code.id, explanation.chars().count()));
        }
    }
    assert!(problems.is_empty(), "{} problem(s) in explanations:\n  {}", problems.len(), problems.join("\n  "));
}
