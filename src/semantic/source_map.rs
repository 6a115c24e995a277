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
}
