//! Prompt templates: the `{node.field}` references inside a string.
//!
//! A `{` directly followed by a letter or `_` opens a reference, which must be a dotted
//! name closed by `}`. Any other `{` (JSON in a prompt, `{ }`) is plain text, and `{{`
//! / `}}` always stand for one brace. Edges of the workflow graph are inferred from
//! these references, as a build system infers dependencies.

use super::ast::StringLiteral;
use super::scan::position_of_any;
use super::span::Span;
use super::strings::{decode_escapes, Dedent};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplatePart {
    /// Literal text, escapes decoded and multi-line strings dedented.
    Text(String),
    Reference(TemplateReference),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateReference {
    pub segments: Vec<String>,
    /// Span of the whole `{...}` in the file.
    pub span: Span,
    /// Spans of each segment in the file.
    pub segment_spans: Vec<Span>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    pub span: Span,
    pub message: String,
    pub label: String,
}

pub fn parse_template(literal: &StringLiteral) -> (Vec<TemplatePart>, Vec<TemplateError>) {
    let raw = literal.raw.as_str();
    let base = literal.content_start;
    let mut parts = Vec::new();
    let mut errors = Vec::new();
    let mut text_start = 0;
    let mut pending_text = String::new();
    let bytes = raw.as_bytes();
    let mut index = 0;
    let dedent = literal.multiline.then(|| Dedent::of(raw));

    let flush_raw = |from: usize, to: usize, pending: &mut String| {
        pending.push_str(&raw[from..to]);
    };
    // The pending text followed by `raw[from..to]`, leaving nothing pending (copied
    // once when nothing is pending, which is the usual case).
    let take_text = |from: usize, to: usize, pending: &mut String| -> String {
        if pending.is_empty() {
            raw[from..to].to_string()
        } else {
            pending.push_str(&raw[from..to]);
            std::mem::take(pending)
        }
    };

    while index < bytes.len() {
        match bytes[index] {
            b'{' if bytes.get(index + 1) == Some(&b'{') => {
                flush_raw(text_start, index + 1, &mut pending_text);
                index += 2;
                text_start = index;
            }
            b'}' if bytes.get(index + 1) == Some(&b'}') => {
                flush_raw(text_start, index + 1, &mut pending_text);
                index += 2;
                text_start = index;
            }
            b'\\' if !literal.multiline => index += 2,
            b'{' if bytes.get(index + 1).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') => {
                let open = index;
                let close = Some(position_of_any(bytes, open + 1, [b'}', b'\n', b'"', b'{'])).filter(|close| *close < bytes.len());
                match close {
                    Some(close) if bytes[close] == b'}' => {
                        let inner = &raw[open + 1..close];
                        match split_reference(inner, base + open + 1) {
                            Some((segments, segment_spans)) => {
                                let text = take_text(text_start, open, &mut pending_text);
                                if !text.is_empty() {
                                    parts.push(TemplatePart::Text(text));
                                }
                                parts.push(TemplatePart::Reference(TemplateReference {
                                    segments,
                                    span: Span::new(base + open, base + close + 1),
                                    segment_spans,
                                }));
                                index = close + 1;
                                text_start = index;
                            }
                            None => {
                                errors.push(TemplateError {
                                    span: Span::new(base + open, base + close + 1),
                                    message: format!("`{{{inner}}}` is not a reference"),
                                    label: "a reference is a dotted name such as `{extract.quantities}`".into(),
                                });
                                index = close + 1;
                            }
                        }
                    }
                    _ => {
                        let end = close.unwrap_or(raw.len());
                        errors.push(TemplateError {
                            span: Span::new(base + open, base + end),
                            message: "this `{` opens a reference that is never closed".into(),
                            label: "expected `}` after the name".into(),
                        });
                        index = end;
                    }
                }
            }
            _ => {
                // Nothing happens until the next brace or backslash.
                index += 1;
                index += bytes[index..].iter().position(|byte| matches!(byte, b'{' | b'}' | b'\\')).unwrap_or(bytes.len() - index);
            }
        }
    }
    let text = take_text(text_start, raw.len(), &mut pending_text);
    if !text.is_empty() {
        parts.push(TemplatePart::Text(text));
    }

    // Decode each literal run exactly as a plain string of the same kind would be
    // (multi-line strings are raw; a run without a backslash decodes to itself).
    match dedent {
        Some(dedent) => dedent_parts(&mut parts, raw, dedent),
        None => {
            for part in &mut parts {
                if let TemplatePart::Text(text) = part {
                    if text.contains('\\') {
                        *text = decode_escapes(text, 0).0;
                    }
                }
            }
        }
    }
    (parts, errors)
}

/// Apply the multi-line dedent to the text parts: the same result as dedenting the
/// whole string, since references never sit inside indentation.
fn dedent_parts(parts: &mut Vec<TemplatePart>, raw: &str, dedent: Dedent) {
    // Rebuild with sentinels, dedent once, split back: simple and exactly consistent.
    const SENTINEL: char = '\u{1}';
    let mut joined = String::with_capacity(raw.len());
    for part in parts.iter() {
        match part {
            TemplatePart::Text(text) => joined.push_str(text),
            TemplatePart::Reference(_) => joined.push(SENTINEL),
        }
    }
    let dedented = dedent.apply(&joined);
    let mut texts = dedented.split(SENTINEL);
    let mut rebuilt = Vec::with_capacity(parts.len());
    let push_text = |rebuilt: &mut Vec<TemplatePart>, text: Option<&str>| {
        if let Some(text) = text.filter(|text| !text.is_empty()) {
            rebuilt.push(TemplatePart::Text(text.to_string()));
        }
    };
    push_text(&mut rebuilt, texts.next());
    for part in parts.drain(..) {
        if let TemplatePart::Reference(reference) = part {
            rebuilt.push(TemplatePart::Reference(reference));
            push_text(&mut rebuilt, texts.next());
        }
    }
    *parts = rebuilt;
}

fn split_reference(inner: &str, start: usize) -> Option<(Vec<String>, Vec<Span>)> {
    let mut segments = Vec::new();
    let mut spans = Vec::new();
    let mut offset = start;
    for segment in inner.split('.') {
        let valid = segment.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && segment.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return None;
        }
        segments.push(segment.to_string());
        spans.push(Span::new(offset, offset + segment.len()));
        offset += segment.len() + 1;
    }
    Some((segments, spans))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(raw: &str, multiline: bool) -> StringLiteral {
        StringLiteral { raw: raw.into(), content_start: 1, multiline, span: Span::new(0, raw.len() + 2) }
    }

    #[test]
    fn finds_references_and_keeps_json_braces() {
        let (parts, errors) = parse_template(&literal(r#"Q: {question} {{x}} {"a": 1} {extract.n}\n"#, false));
        assert!(errors.is_empty(), "{errors:?}");
        let references: Vec<_> = parts
            .iter()
            .filter_map(|part| match part {
                TemplatePart::Reference(reference) => Some(reference.segments.join(".")),
                _ => None,
            })
            .collect();
        assert_eq!(references, vec!["question", "extract.n"]);
        assert_eq!(parts[0], TemplatePart::Text("Q: ".into()));
        assert_eq!(parts[2], TemplatePart::Text(" {x} {\"a\": 1} ".into()));
        assert_eq!(parts[4], TemplatePart::Text("\n".into()));
    }

    #[test]
    fn reports_unclosed_and_malformed_references() {
        let (_, errors) = parse_template(&literal("a {name b", false));
        assert_eq!(errors.len(), 1);
        let (_, errors) = parse_template(&literal("a {na-me} b", false));
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn dedents_multiline_templates() {
        let (parts, _) = parse_template(&literal("\n    Q: {q}\n      indented\n    ", true));
        assert_eq!(parts[0], TemplatePart::Text("Q: ".into()));
        assert_eq!(parts[2], TemplatePart::Text("\n  indented".into()));
    }
}
