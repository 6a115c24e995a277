//! Formatting: exactly `flowc fmt` (the same `format_source`), as one edit of the
//! whole text; a file with syntax errors is left as it is, as `flowc fmt` leaves it.

use lsp_types::{DocumentFormattingParams, Position, Range, TextEdit};

use super::snapshot::{RequestResult, Snapshot};
use crate::syntax::format::format_source;

pub fn formatting(snapshot: &Snapshot, params: DocumentFormattingParams) -> RequestResult<Option<Vec<TextEdit>>> {
    let view = snapshot.file_of_uri(&params.text_document.uri)?;
    let text = view.contents.text.as_str();
    let Ok(formatted) = format_source(text) else { return Ok(None) };
    if formatted == text {
        return Ok(Some(Vec::new()));
    }
    let end = view.contents.line_index.position(text, text.len());
    Ok(Some(vec![TextEdit { range: Range { start: Position::new(0, 0), end }, new_text: formatted }]))
}
