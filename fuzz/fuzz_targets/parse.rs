//! Fuzz the `.flow` parser: any UTF-8 text must parse without a panic, every span the
//! parser hands out must point inside the text at char boundaries, and a text that
//! parses cleanly must also survive the next syntax stage (prompt templates) and parse
//! the same way twice.
//!
//! Run with `cargo +nightly fuzz run parse` from the repository root (see README.md).

#![no_main]

use flowc::syntax::ast::{Item, PropertyBlock, PropertyValue, Value, ValueKind, WorkflowMember};
use flowc::syntax::parse_source;
use flowc::syntax::span::Span;
use flowc::syntax::template::parse_template;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_source(text);

    for diagnostic in &parsed.diagnostics {
        check_span(
            text,
            diagnostic.primary.location,
            "diagnostic primary label",
        );
        for label in &diagnostic.secondary {
            check_span(text, label.location, "diagnostic secondary label");
        }
    }
    for comment in &parsed.comments {
        check_span(text, comment.span, "comment");
    }
    for item in &parsed.items {
        check_span(text, item.span(), "item");
    }

    if parsed.diagnostics.is_empty() {
        // A clean parse: the tree is what later stages consume, so walk it the way
        // they do and make sure nothing on that path panics either.
        for item in &parsed.items {
            walk_item(text, item);
        }
        let again = parse_source(text);
        assert_eq!(
            parsed, again,
            "parsing the same text twice gave different results"
        );
    }
});

fn check_span(text: &str, span: Span, what: &str) {
    assert!(span.start <= span.end, "{what} span {span:?} is reversed");
    assert!(
        span.end <= text.len(),
        "{what} span {span:?} runs past the end ({} bytes)",
        text.len()
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{what} span {span:?} splits a character"
    );
}

fn walk_item(text: &str, item: &Item) {
    match item {
        Item::Import(import) => walk_string_literal(text, &import.path),
        Item::Model(model) => {
            model
                .source
                .arguments
                .iter()
                .for_each(|argument| walk_value(text, &argument.value));
            if let Some(block) = &model.properties {
                walk_block(text, block);
            }
        }
        Item::Dataset(dataset) => {
            dataset
                .source
                .arguments
                .iter()
                .for_each(|argument| walk_value(text, &argument.value));
            if let Some(block) = &dataset.properties {
                walk_block(text, block);
            }
        }
        Item::Metric(metric) => walk_block(text, &metric.properties),
        Item::Optimize(optimize) => walk_block(text, &optimize.properties),
        Item::Workflow(workflow) => {
            check_span(text, workflow.body_span, "workflow body");
            for member in &workflow.members {
                check_span(text, member.span(), "workflow member");
                if let WorkflowMember::Node(node) = member {
                    walk_block(text, &node.properties);
                }
            }
        }
    }
}

fn walk_block(text: &str, block: &PropertyBlock) {
    check_span(text, block.span, "property block");
    for property in &block.properties {
        check_span(text, property.span, "property");
        match &property.value {
            PropertyValue::Type(_) => {}
            PropertyValue::Typed { value, .. } | PropertyValue::Value(value) => {
                walk_value(text, value)
            }
            PropertyValue::Block(block) => walk_block(text, block),
        }
    }
}

fn walk_value(text: &str, value: &Value) {
    check_span(text, value.span, "value");
    match &value.kind {
        ValueKind::String(literal) => walk_string_literal(text, literal),
        ValueKind::List(values) => values.iter().for_each(|value| walk_value(text, value)),
        ValueKind::Object(block) => walk_block(text, block),
        ValueKind::Call(call) => call
            .arguments
            .iter()
            .for_each(|argument| walk_value(text, &argument.value)),
        ValueKind::Number(_)
        | ValueKind::Bool(_)
        | ValueKind::FieldPath(_)
        | ValueKind::Path(_) => {}
    }
}

fn walk_string_literal(text: &str, literal: &flowc::syntax::ast::StringLiteral) {
    check_span(text, literal.span, "string literal");
    let (parts, errors) = parse_template(literal);
    for part in &parts {
        if let flowc::syntax::template::TemplatePart::Reference(reference) = part {
            check_span(text, reference.span, "template reference");
            for span in &reference.segment_spans {
                check_span(text, *span, "template reference segment");
            }
        }
    }
    for error in &errors {
        check_span(text, error.span, "template error");
    }
}
