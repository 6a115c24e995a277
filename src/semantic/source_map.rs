//! Where each anchor of an item's HIR sits in the text: the only place spans are
//! kept on the semantic side. Recomputed on every edit (cheap), never cached inside
//! an analysis.

use super::hir::AnchorId;
use crate::syntax::span::Span;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceMap {
    spans: Vec<Span>,
}

impl SourceMap {
    pub fn add(&mut self, span: Span) -> AnchorId {
        self.spans.push(span);
        (self.spans.len() - 1) as AnchorId
    }

    pub fn span(&self, anchor: AnchorId) -> Option<Span> {
        self.spans.get(anchor as usize).copied()
    }

    /// How many anchors it maps.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The same anchors, their spans moved `offset` bytes on.
    pub fn relocated(&self, offset: usize) -> SourceMap {
        let mut moved = SourceMap { spans: Vec::with_capacity(self.spans.len()) };
        moved.extend_relocated(self, offset);
        moved
    }

    /// Append `other`'s anchors (numbered after these), moved `offset` bytes on.
    pub fn extend_relocated(&mut self, other: &SourceMap, offset: usize) {
        self.spans.extend(other.spans.iter().map(|span| Span::new(span.start + offset, span.end + offset)));
    }
}
