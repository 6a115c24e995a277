//! Comments, collected beside the syntax tree.
//!
//! The grammar treats comments as silent trivia, which keeps the tree simple; the
//! formatter still has to keep every comment, so this scanner finds them with their
//! spans. It knows just enough of the lexical syntax (strings) not to mistake `//`
//! inside a string for a comment.

use super::scan::position_of_any;
use super::span::Span;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// The comment text including the leading `//`, without the line break.
    pub text: String,
    pub span: Span,
    /// Whether code precedes the comment on its line (`x = 1 // why`).
    pub trailing: bool,
}

pub fn collect_comments(text: &str) -> Vec<Comment> {
    let bytes = text.as_bytes();
    let mut comments = Vec::new();
    let mut index = 0;
    let mut code_on_line = false;
    while index < bytes.len() {
        match bytes[index] {
            b'\n' => {
                code_on_line = false;
                index += 1;
            }
            b'"' if text[index..].starts_with("\"\"\"") => {
                code_on_line = true;
                index = match text[index + 3..].find("\"\"\"") {
                    Some(end) => index + 3 + end + 3,
                    None => bytes.len(),
                };
            }
            b'"' => {
                code_on_line = true;
                index += 1;
                loop {
                    index = position_of_any(bytes, index, [b'"', b'\n', b'\\']);
                    if index < bytes.len() && bytes[index] == b'\\' {
                        index += if index + 1 < bytes.len() && bytes[index + 1] != b'\n' { 2 } else { 1 };
                    } else {
                        break;
                    }
                }
                if index < bytes.len() && bytes[index] == b'"' {
                    index += 1;
                }
            }
            b'/' if bytes.get(index + 1) == Some(&b'/') => {
                let end = text[index..].find('\n').map(|offset| index + offset).unwrap_or(bytes.len());
                let comment_text = text[index..end].trim_end_matches('\r').to_string();
                comments.push(Comment {
                    span: Span::new(index, index + comment_text.len()),
                    text: comment_text,
                    trailing: code_on_line,
                });
                index = end;
            }
            b' ' | b'\t' | b'\r' => index += 1,
            _ => {
                // Code: nothing changes until a line break, a string or a `/`.
                code_on_line = true;
                index = position_of_any(bytes, index + 1, [b'\n', b'"', b'/']);
            }
        }
    }
    comments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_comments_but_not_slashes_in_strings() {
        let text = "// lead\nmodel m = gguf(\"http://x\") // tail\nx = \"\"\"\n// not a comment\n\"\"\"\n";
        let comments = collect_comments(text);
        let texts: Vec<_> = comments.iter().map(|c| (c.text.as_str(), c.trailing)).collect();
        assert_eq!(texts, vec![("// lead", false), ("// tail", true)]);
    }
}
