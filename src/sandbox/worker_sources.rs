//! The sources a worker has been given (by id, see [`super::protocol`]), each parsed
//! once, at its first call.
//!
//! Parsing is a pure function of the text and the dialect, so reusing a parse changes
//! nothing a call can observe: every call still evaluates a fresh module from a copy
//! of the syntax tree, with its own heap and its own step, memory and time budget. A
//! syntax error is not kept: it is reported by every call, as before, and costs what
//! parsing costs.
//!
//! Bounded by count ([`super::protocol::WORKER_SOURCE_CAPACITY`]): when a new source would pass it,
//! every source is forgotten, the rule flowc's account of the worker follows too
//! (`WorkerProcess`), so flowc knows without asking when to send a text again.

use std::collections::HashMap;

use starlark::syntax::AstModule;

use super::protocol::forgets_every_source_before_keeping;

pub struct GivenSource {
    pub text: String,
    /// Filled by the first call that parses the text without error.
    pub parsed: Option<AstModule>,
}

#[derive(Default)]
pub struct WorkerSources {
    by_id: HashMap<u64, GivenSource>,
}

impl WorkerSources {
    /// Keeps `text` under `id`, forgetting every source first if the table is full.
    pub fn define(&mut self, id: u64, text: String) {
        if forgets_every_source_before_keeping(self.by_id.contains_key(&id), self.by_id.len()) {
            self.by_id.clear();
        }
        self.by_id.insert(id, GivenSource { text, parsed: None });
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut GivenSource> {
        self.by_id.get_mut(&id)
    }

    /// How many sources are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_id.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::protocol::WORKER_SOURCE_CAPACITY;
    use super::*;

    #[test]
    fn a_full_table_forgets_everything_before_it_keeps_a_new_source() {
        let mut sources = WorkerSources::default();
        for id in 0..WORKER_SOURCE_CAPACITY as u64 {
            sources.define(id, format!("def run():\n    return {id}\n"));
        }
        assert_eq!(sources.len(), WORKER_SOURCE_CAPACITY);
        // Defining a kept id again replaces it without emptying the table.
        sources.define(3, "def run():\n    return 'three'\n".into());
        assert_eq!(sources.len(), WORKER_SOURCE_CAPACITY);
        assert!(sources.get_mut(3).unwrap().text.contains("three"));
        sources.define(WORKER_SOURCE_CAPACITY as u64, "def run():\n    return 'new'\n".into());
        assert_eq!(sources.len(), 1);
        assert!(sources.get_mut(0).is_none());
        assert!(sources.get_mut(WORKER_SOURCE_CAPACITY as u64).is_some());
    }
}
