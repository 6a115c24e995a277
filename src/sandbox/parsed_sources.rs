//! The parsed form of the sources a worker has run, so that a plan's code is parsed
//! once per worker instead of once per call.
//!
//! A served plan calls the same few sources (its code nodes, its metric) thousands of
//! times a second; parsing and validating a reader of a hundred lines cost about a
//! fifth of a worker's time per call. Parsing is a pure function of the source text
//! and the dialect, so reusing a parse changes nothing a call can observe: every call
//! still evaluates a fresh module from a copy of the syntax tree, with its own heap
//! and its own step, memory and time budget.
//!
//! Bounded by count, not by bytes: a plan has a handful of sources, and a caller
//! sending ever-new sources (the optimiser trying candidates) only ever holds the
//! last [`CAPACITY`] of them. When full, the cache is emptied rather than evicting by
//! recency — simpler, and a plan's sources come back within a call or two.

use std::cell::RefCell;
use std::collections::HashMap;

use starlark::syntax::AstModule;

/// How many distinct sources one worker keeps parsed.
pub const CAPACITY: usize = 64;

#[derive(Default)]
pub struct ParsedSources {
    by_source: RefCell<HashMap<String, AstModule>>,
}

impl ParsedSources {
    /// The syntax tree of `source`: a copy of the kept one, or `parse`'s result,
    /// kept when it parsed (a syntax error is not kept: it is reported each time,
    /// and it costs what parsing costs).
    pub fn get_or_parse<E>(&self, source: &str, parse: impl FnOnce() -> Result<AstModule, E>) -> Result<AstModule, E> {
        if let Some(ast) = self.by_source.borrow().get(source) {
            return Ok(ast.clone());
        }
        let ast = parse()?;
        let mut by_source = self.by_source.borrow_mut();
        if by_source.len() >= CAPACITY {
            by_source.clear();
        }
        by_source.insert(source.to_owned(), ast.clone());
        Ok(ast)
    }

    /// How many sources are kept parsed.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_source.borrow().len()
    }
}
