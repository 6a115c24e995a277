//! Moving a piece of syntax tree by a number of bytes: a chunk of a file is parsed
//! on its own, with offsets from the chunk's start, and moved to where the chunk
//! sits in the file when the file's tree is put together (`syntax::chunk_parse`).
//! Every span of the tree moves; nothing else changes.

use super::ast::*;
use super::parse::SyntaxDiagnostic;
use super::span::Span;

pub trait Relocate {
    /// Add `by` to every byte offset held.
    fn relocate(&mut self, by: usize);
}

impl Relocate for Span {
    fn relocate(&mut self, by: usize) {
        self.start += by;
        self.end += by;
    }
}

impl<T: Relocate> Relocate for Vec<T> {
    fn relocate(&mut self, by: usize) {
        for element in self {
            element.relocate(by);
        }
    }
}

impl<T: Relocate> Relocate for Option<T> {
    fn relocate(&mut self, by: usize) {
        if let Some(inner) = self {
            inner.relocate(by);
        }
    }
}

impl<T: Relocate> Relocate for Box<T> {
    fn relocate(&mut self, by: usize) {
        (**self).relocate(by);
    }
}

impl Relocate for SyntaxDiagnostic {
    fn relocate(&mut self, by: usize) {
        self.primary.location.relocate(by);
        for label in &mut self.secondary {
            label.location.relocate(by);
        }
    }
}

impl Relocate for Ident {
    fn relocate(&mut self, by: usize) {
        self.span.relocate(by);
    }
}

impl Relocate for Item {
    fn relocate(&mut self, by: usize) {
        match self {
            Item::Import(item) => item.relocate(by),
            Item::Model(item) => {
                item.name.relocate(by);
                item.source.relocate(by);
                item.properties.relocate(by);
                item.span.relocate(by);
            }
            Item::Dataset(item) => {
                item.name.relocate(by);
                item.source.relocate(by);
                item.properties.relocate(by);
                item.span.relocate(by);
            }
            Item::Metric(item) => {
                item.name.relocate(by);
                item.params.relocate(by);
                item.properties.relocate(by);
                item.span.relocate(by);
            }
            Item::Workflow(item) => item.relocate(by),
            Item::Optimize(item) => {
                item.target.relocate(by);
                item.properties.relocate(by);
                item.span.relocate(by);
            }
        }
    }
}

impl Relocate for ImportDecl {
    fn relocate(&mut self, by: usize) {
        self.path.relocate(by);
        self.names.relocate(by);
        self.span.relocate(by);
    }
}

impl Relocate for WorkflowDecl {
    fn relocate(&mut self, by: usize) {
        self.name.relocate(by);
        self.inputs.relocate(by);
        self.outputs.relocate(by);
        self.members.relocate(by);
        self.body_span.relocate(by);
        self.span.relocate(by);
    }
}

impl Relocate for WorkflowMember {
    fn relocate(&mut self, by: usize) {
        match self {
            WorkflowMember::Node(node) => {
                node.name.relocate(by);
                node.kind.relocate(by);
                node.kind_arguments.relocate(by);
                node.properties.relocate(by);
                node.span.relocate(by);
            }
            WorkflowMember::Binding(binding) => {
                binding.output.relocate(by);
                binding.target.relocate(by);
                binding.span.relocate(by);
            }
        }
    }
}

impl Relocate for Param {
    fn relocate(&mut self, by: usize) {
        self.name.relocate(by);
        self.ty.relocate(by);
        self.default.relocate(by);
        self.span.relocate(by);
    }
}

impl Relocate for PropertyBlock {
    fn relocate(&mut self, by: usize) {
        self.properties.relocate(by);
        self.span.relocate(by);
    }
}

impl Relocate for Property {
    fn relocate(&mut self, by: usize) {
        self.key.relocate(by);
        match &mut self.value {
            PropertyValue::Type(ty) => ty.relocate(by),
            PropertyValue::Typed { ty, value } => {
                ty.relocate(by);
                value.relocate(by);
            }
            PropertyValue::Block(block) => block.relocate(by),
            PropertyValue::Value(value) => value.relocate(by),
        }
        self.span.relocate(by);
    }
}

impl Relocate for Value {
    fn relocate(&mut self, by: usize) {
        match &mut self.kind {
            ValueKind::String(literal) => literal.relocate(by),
            ValueKind::Number(number) => number.span.relocate(by),
            ValueKind::Bool(_) => {}
            ValueKind::List(values) => values.relocate(by),
            ValueKind::Object(block) => block.relocate(by),
            ValueKind::Call(call) => call.relocate(by),
            ValueKind::FieldPath(segments) => segments.relocate(by),
            ValueKind::Path(path) => path.relocate(by),
        }
        self.span.relocate(by);
    }
}

impl Relocate for StringLiteral {
    fn relocate(&mut self, by: usize) {
        self.content_start += by;
        self.span.relocate(by);
    }
}

impl Relocate for Call {
    fn relocate(&mut self, by: usize) {
        self.callee.relocate(by);
        for argument in &mut self.arguments {
            argument.name.relocate(by);
            argument.value.relocate(by);
            argument.span.relocate(by);
        }
        self.span.relocate(by);
    }
}

impl Relocate for PathExpr {
    fn relocate(&mut self, by: usize) {
        self.segments.relocate(by);
        self.span.relocate(by);
    }
}

impl Relocate for TypeExpr {
    fn relocate(&mut self, by: usize) {
        match &mut self.kind {
            TypeExprKind::Named(name) => name.relocate(by),
            TypeExprKind::List(element) => element.relocate(by),
            TypeExprKind::Json(fields) => {
                for field in fields {
                    field.name.relocate(by);
                    field.ty.relocate(by);
                    field.span.relocate(by);
                }
            }
            TypeExprKind::Enum(variants) => variants.relocate(by),
        }
        self.span.relocate(by);
    }
}
