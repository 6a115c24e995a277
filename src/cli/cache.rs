//! `flowc cache`: where the model-call cache lives, and cleaning it.

use super::Outcome;
use crate::runtime::call_cache::CallCache;

pub fn clean() -> Outcome {
    let cache = CallCache::new(CallCache::default_directory());
    match cache.clean() {
        Ok(removed) => {
            eprintln!("removed {removed} cached call(s) from {}", cache.directory().display());
            Outcome::Success
        }
        Err(error) => {
            eprintln!("error: cannot clean {}: {error}", cache.directory().display());
            Outcome::Failure
        }
    }
}

pub fn show_directory() -> Outcome {
    println!("{}", CallCache::default_directory().display());
    Outcome::Success
}
