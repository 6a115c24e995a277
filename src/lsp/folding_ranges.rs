//! Folding: every block that spans lines (items, nodes, nested blocks, multi-line
//! strings) and runs of comment lines.

use lsp_types::{FoldingRange, FoldingRangeKind, FoldingRangeParams};

use super::snapshot::{RequestResult, Snapshot};
use super::workspace::DocumentText;
use crate::semantic::database::parse_file;
use crate::syntax::ast::*;
use crate::syntax::span::Span;

pub fn folding_ranges(snapshot: &Snapshot, params: FoldingRangeParams) -> RequestResult<Option<Vec<FoldingRange>>> {
    let view = snapshot.file_of_uri(&params.text_document.uri)?;
    let parsed = parse_file(snapshot.db(), view.file);
    let mut folds = Folds { contents: &view.contents, ranges: Vec::new() };
    for item in &parsed.items {
        folds.add(item.span(), None);
        match item {
            Item::Model(model) => folds.optional_block(model.properties.as_ref()),
            Item::Dataset(dataset) => folds.optional_block(dataset.properties.as_ref()),
            Item::Metric(metric) => folds.block(&metric.properties),
            Item::Optimize(optimize) => folds.block(&optimize.properties),
            Item::Workflow(workflow) => {
                for member in &workflow.members {
                    if let WorkflowMember::Node(node) = member {
                        folds.add(node.span, None);
                        folds.block(&node.properties);
                    }
                }
            }
            Item::Import(_) => {}
        }
    }
    // Consecutive whole-line comments fold together.
    let mut run: Option<(u32, u32)> = None;
    for comment in parsed.comments.iter().filter(|comment| !comment.trailing) {
        let line = view.contents.range(comment.span).start.line;
        run = match run {
            Some((start, end)) if end + 1 == line => Some((start, line)),
            Some((start, end)) => {
                folds.lines(start, end, Some(FoldingRangeKind::Comment));
                Some((line, line))
            }
            None => Some((line, line)),
        };
    }
    if let Some((start, end)) = run {
        folds.lines(start, end, Some(FoldingRangeKind::Comment));
    }
    Ok(Some(folds.ranges))
}

struct Folds<'a> {
    contents: &'a DocumentText,
    ranges: Vec<FoldingRange>,
}

impl Folds<'_> {
    fn add(&mut self, span: Span, kind: Option<FoldingRangeKind>) {
        let range = self.contents.range(span);
        self.lines(range.start.line, range.end.line, kind);
    }

    fn lines(&mut self, start: u32, end: u32, kind: Option<FoldingRangeKind>) {
        if end > start {
            self.ranges.push(FoldingRange { start_line: start, start_character: None, end_line: end, end_character: None, kind, collapsed_text: None });
        }
    }

    fn optional_block(&mut self, block: Option<&PropertyBlock>) {
        if let Some(block) = block {
            self.block(block);
        }
    }

    fn block(&mut self, block: &PropertyBlock) {
        for property in &block.properties {
            match &property.value {
                PropertyValue::Block(inner) => {
                    self.add(inner.span, None);
                    self.block(inner);
                }
                PropertyValue::Value(Value { kind: ValueKind::String(literal), .. }) if literal.multiline => self.add(literal.span, None),
                _ => {}
            }
        }
    }
}
