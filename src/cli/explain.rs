//! `flowc explain CODE`: the long explanation of a diagnostic code.

use super::Outcome;
use crate::diagnostics::codes::{find_code, ALL_CODES};
use crate::semantic::suggest::closest;

pub fn run(code: Option<&str>, list: bool) -> Outcome {
    if list || code.is_none() {
        for code in ALL_CODES {
            println!("{}  {:<28} {}", code.qualified(), code.name, code.summary);
        }
        return Outcome::Success;
    }
    let query = code.unwrap_or_default();
    match find_code(query) {
        Some(code) => {
            println!("{} ({}): {}\n", code.qualified(), code.name, code.summary);
            print!("{}", code.explanation.trim_start_matches(|c| c != '\n').trim_start());
            Outcome::Success
        }
        None => {
            let ids = ALL_CODES.iter().map(|code| code.id);
            let hint = closest(query.trim_start_matches("flow::"), ids).map(|id| format!("; did you mean `{id}`?")).unwrap_or_default();
            eprintln!("error: no diagnostic code `{query}`{hint}\n`flowc explain --list` lists every code");
            Outcome::UsageError
        }
    }
}
