//! Span-free locations for semantic diagnostics.

use super::database::SourceFile;
use super::hir::AnchorId;
use crate::diagnostics::Diagnostic;

/// A location in some item of some file, stable under edits that only move text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AnchorRef {
    pub file: SourceFile,
    pub item: String,
    pub anchor: AnchorId,
}

/// What the semantic layer reports: labels point at anchors, not spans.
pub type SemanticDiagnostic = Diagnostic<AnchorRef>;
