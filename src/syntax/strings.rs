//! The value of a string literal: escapes decoded (`"..."`) or dedented (`"""..."""`).
//!
//! Kept apart from the parser because the semantic layer and the formatter ask for it
//! too, and both must agree on exactly one meaning of a literal.

use super::span::Span;

/// One invalid escape found while decoding, as a span in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidEscape {
    pub span: Span,
    pub sequence: String,
}

/// Decode the escapes of a one-line string's raw content.
/// `content_start` is the file offset of `raw`, to place errors.
pub fn decode_escapes(raw: &str, content_start: usize) -> (String, Vec<InvalidEscape>) {
    let mut value = String::with_capacity(raw.len());
    let mut errors = Vec::new();
    // Text between backslashes is copied a run at a time (most strings have none).
    let mut copied_up_to = 0;
    while let Some(found) = raw[copied_up_to..].find('\\') {
        let offset = copied_up_to + found;
        value.push_str(&raw[copied_up_to..offset]);
        let escaped = raw[offset + 1..].chars().next();
        match escaped {
            Some('n') => value.push('\n'),
            Some('t') => value.push('\t'),
            Some('r') => value.push('\r'),
            Some('\\') => value.push('\\'),
            Some('"') => value.push('"'),
            Some('0') => value.push('\0'),
            Some(other) => {
                let end = offset + 1 + other.len_utf8();
                errors.push(InvalidEscape {
                    span: Span::new(content_start + offset, content_start + end),
                    sequence: raw[offset..end].to_string(),
                });
                value.push(other);
            }
            None => errors.push(InvalidEscape {
                span: Span::new(content_start + offset, content_start + offset + 1),
                sequence: "\\".to_string(),
            }),
        }
        copied_up_to = offset + 1 + escaped.map_or(0, char::len_utf8);
    }
    value.push_str(&raw[copied_up_to..]);
    (value, errors)
}

/// How a multi-line string is dedented: its first line break (right after `"""`) and
/// a last line of only blanks (before the closing `"""`) are dropped, and the common
/// indentation of the other non-blank lines is removed from each of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dedent {
    pub indentation: usize,
}

impl Dedent {
    pub fn of(raw: &str) -> Dedent {
        let body = trim_multiline_ends(raw);
        let indentation = body
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| line.len() - line.trim_start_matches([' ', '\t']).len())
            .min()
            .unwrap_or(0);
        Dedent { indentation }
    }

    /// Dedent a whole multi-line string.
    pub fn apply(&self, raw: &str) -> String {
        let body = trim_multiline_ends(raw);
        let mut dedented = String::with_capacity(body.len());
        for (index, line) in body.split('\n').enumerate() {
            if index > 0 {
                dedented.push('\n');
            }
            dedented.push_str(strip_indentation(line, self.indentation));
        }
        dedented
    }
}

fn strip_indentation(line: &str, indentation: usize) -> &str {
    let strippable = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[strippable.min(indentation)..]
}

/// The part of a multi-line string's raw content that carries text: without the line
/// break after the opening quotes and without a blank last line.
pub fn trim_multiline_ends(raw: &str) -> &str {
    let mut body = raw;
    if let Some(rest) = body.strip_prefix("\r\n").or_else(|| body.strip_prefix('\n')) {
        body = rest;
    }
    if let Some(last_break) = body.rfind('\n') {
        if body[last_break + 1..].trim().is_empty() {
            body = &body[..last_break];
            body = body.strip_suffix('\r').unwrap_or(body);
        }
    } else if body.trim().is_empty() {
        body = "";
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_reports_escapes() {
        let (value, errors) = decode_escapes(r#"a\nb\q"#, 10);
        assert_eq!(value, "a\nbq");
        assert_eq!(errors, vec![InvalidEscape { span: Span::new(14, 16), sequence: "\\q".into() }]);
    }

    #[test]
    fn dedents_code() {
        let raw = "\n    def run(x):\n        return x\n    ";
        assert_eq!(Dedent::of(raw).apply(raw), "def run(x):\n    return x");
    }
}
