//! Prompt templates as the plan stores them: text with `{name}` / `{node.field}`
//! references and `{{` / `}}` for literal braces. One canonical form, written from
//! the semantic layer's parts and read back by the runtime.

use crate::semantic::hir::TemplatePartHir;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateSegment {
    Text(String),
    Reference(Vec<String>),
}

/// The canonical text of a parsed template.
pub fn template_text(parts: &[TemplatePartHir]) -> String {
    let mut text = String::new();
    for part in parts {
        match part {
            TemplatePartHir::Text(literal) => text.push_str(&literal.replace('{', "{{").replace('}', "}}")),
            TemplatePartHir::Reference(path) => {
                text.push('{');
                text.push_str(&path.dotted());
                text.push('}');
            }
        }
    }
    text
}

/// Read a canonical template back. A `{` that does not open a well-formed reference
/// is taken as text (the plan was written by flowc, so this only guards hand edits).
pub fn parse_template_text(text: &str) -> Vec<TemplateSegment> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(position) = rest.find(['{', '}']) {
        literal.push_str(&rest[..position]);
        let tail = &rest[position..];
        if tail.starts_with("{{") {
            literal.push('{');
            rest = &tail[2..];
        } else if tail.starts_with("}}") {
            literal.push('}');
            rest = &tail[2..];
        } else if tail.starts_with('{') {
            match tail.find('}') {
                Some(close) if is_reference(&tail[1..close]) => {
                    if !literal.is_empty() {
                        segments.push(TemplateSegment::Text(std::mem::take(&mut literal)));
                    }
                    segments.push(TemplateSegment::Reference(tail[1..close].split('.').map(str::to_string).collect()));
                    rest = &tail[close + 1..];
                }
                _ => {
                    literal.push('{');
                    rest = &tail[1..];
                }
            }
        } else {
            literal.push('}');
            rest = &tail[1..];
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        segments.push(TemplateSegment::Text(literal));
    }
    segments
}

fn is_reference(inner: &str) -> bool {
    !inner.is_empty()
        && inner.split('.').all(|segment| {
            segment.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && segment.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_templates_round_trip() {
        let segments = parse_template_text("Q: {question} {{\"a\": 1}} {extract.n}");
        assert_eq!(
            segments,
            vec![
                TemplateSegment::Text("Q: ".into()),
                TemplateSegment::Reference(vec!["question".into()]),
                TemplateSegment::Text(" {\"a\": 1} ".into()),
                TemplateSegment::Reference(vec!["extract".into(), "n".into()]),
            ]
        );
    }
}
