//! The editor's view of the files: open buffers, line indexes (LSP positions count
//! UTF-16 code units), URIs ↔ paths, and the one adapter between the language server
//! and the database's file layer.
//!
//! The server touches the file layer of `semantic::database` only through
//! [`FileLayer`]: an open buffer shadows the file on disk, closing it puts the disk
//! contents back. Keeping it in one place means a change of that layer (a virtual
//! file system with a watcher) changes these few functions and nothing else.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use lsp_types::{Position, Range, TextDocumentContentChangeEvent, Uri};

use crate::semantic::database::{normalize_path, Db, FlowDatabase, SourceFile};
use crate::stdlib;
use crate::syntax::span::{clamp_to_char_boundary, Span};

/// Where lines start in a text, for converting byte offsets to LSP positions and back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        line_starts.extend(text.bytes().enumerate().filter(|(_, byte)| *byte == b'\n').map(|(index, _)| index + 1));
        LineIndex { line_starts }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The byte offset where `line` (0-based) starts; the end of the text past the last.
    pub fn line_start(&self, line: usize, text: &str) -> usize {
        self.line_starts.get(line).copied().unwrap_or(text.len())
    }

    /// The LSP position of a byte offset (the column in UTF-16 code units).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let offset = clamp_to_char_boundary(text, offset);
        let line = self.line_starts.partition_point(|start| *start <= offset) - 1;
        let start = self.line_starts[line];
        let character: usize = text[start..offset].chars().map(char::len_utf16).sum();
        Position { line: line as u32, character: character as u32 }
    }

    /// The byte offset of an LSP position; positions past a line's end or past the
    /// text clamp to the end (as the protocol asks).
    pub fn offset(&self, text: &str, position: Position) -> usize {
        let line = position.line as usize;
        if line >= self.line_starts.len() {
            return text.len();
        }
        let start = self.line_starts[line];
        let end = self.line_starts.get(line + 1).map(|next| next - 1).unwrap_or(text.len());
        let mut units = 0usize;
        for (index, character) in text[start..end].char_indices() {
            if units >= position.character as usize {
                return start + index;
            }
            units += character.len_utf16();
        }
        end
    }

    pub fn range(&self, text: &str, span: Span) -> Range {
        Range { start: self.position(text, span.start), end: self.position(text, span.end) }
    }

    pub fn span(&self, text: &str, range: Range) -> Span {
        Span::new(self.offset(text, range.start), self.offset(text, range.end))
    }
}

/// A text and its line index, shared between the main loop and request workers.
#[derive(Debug, Clone)]
pub struct DocumentText {
    pub text: Arc<String>,
    pub line_index: Arc<LineIndex>,
}

impl DocumentText {
    pub fn new(text: String) -> DocumentText {
        let line_index = Arc::new(LineIndex::new(&text));
        DocumentText { text: Arc::new(text), line_index }
    }

    pub fn range(&self, span: Span) -> Range {
        self.line_index.range(&self.text, span)
    }

    pub fn offset(&self, position: Position) -> usize {
        self.line_index.offset(&self.text, position)
    }
}

/// One buffer the editor has open.
#[derive(Debug, Clone)]
pub struct OpenDocument {
    pub uri: Uri,
    pub path: PathBuf,
    pub version: i32,
    pub contents: DocumentText,
}

/// The open buffers, by normalised path.
#[derive(Debug, Default, Clone)]
pub struct OpenDocuments {
    pub by_path: HashMap<PathBuf, OpenDocument>,
}

impl OpenDocuments {
    pub fn get(&self, path: &Path) -> Option<&OpenDocument> {
        self.by_path.get(path)
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self.by_path.keys().cloned().collect();
        paths.sort();
        paths
    }
}

/// Apply LSP content changes, in order, to a text. Ranges are clamped, so a confused
/// client cannot make the server slice out of bounds.
pub fn apply_changes(text: &mut String, changes: &[TextDocumentContentChangeEvent]) {
    for change in changes {
        match change.range {
            None => *text = change.text.clone(),
            Some(range) => {
                let index = LineIndex::new(text);
                let span = index.span(text, range);
                text.replace_range(span.start..span.end, &change.text);
            }
        }
    }
}

/// Paths ↔ URIs, and the standard library materialised as read-only files so that
/// every client can open a definition inside `std/…`.
#[derive(Debug, Clone)]
pub struct PathMapping {
    standard_library_folder: PathBuf,
}

impl PathMapping {
    pub fn new() -> PathMapping {
        let folder = std::env::temp_dir().join(format!("flowc-std-{}", env!("CARGO_PKG_VERSION")));
        PathMapping { standard_library_folder: folder }
    }

    /// The database path of a URI: a file path, or `<std>/NAME.flow` for the
    /// materialised standard modules.
    pub fn path_of_uri(&self, uri: &Uri) -> Option<PathBuf> {
        let text = uri.as_str();
        let rest = text.strip_prefix("file://")?;
        // `file://host/path` is not ours to read; `file:///path` has an empty host.
        let path = rest.strip_prefix("localhost").unwrap_or(rest);
        if !path.starts_with('/') {
            return None;
        }
        let decoded = percent_decode(path)?;
        let path = normalize_path(Path::new(&decoded));
        if let Ok(relative) = path.strip_prefix(&self.standard_library_folder) {
            if let Some(module) = relative.to_str().and_then(|name| name.strip_suffix(".flow")) {
                if stdlib::standard_module(module).is_some() {
                    return Some(stdlib::standard_module_path(module));
                }
            }
        }
        Some(path)
    }

    /// The URI of a database path; standard modules are written out (read-only) first.
    pub fn uri_of_path(&self, path: &Path) -> Option<Uri> {
        let disk_path = match stdlib::standard_module_name(path) {
            Some(module) => self.materialise_standard_module(module)?,
            None => path.to_path_buf(),
        };
        let absolute = if disk_path.is_absolute() { disk_path } else { std::env::current_dir().ok()?.join(disk_path) };
        Uri::from_str(&format!("file://{}", percent_encode(absolute.to_str()?))).ok()
    }

    fn materialise_standard_module(&self, module: &str) -> Option<PathBuf> {
        let text = stdlib::standard_module(module)?;
        let target = self.standard_library_folder.join(format!("{module}.flow"));
        if std::fs::read_to_string(&target).ok().as_deref() != Some(text) {
            std::fs::create_dir_all(&self.standard_library_folder).ok()?;
            // Written beside and renamed, so a reader never sees half a file; read-only,
            // since edits to it would change nothing.
            let partial = target.with_extension(format!("flow.{}.partial", std::process::id()));
            std::fs::write(&partial, text).ok()?;
            let mut permissions = std::fs::metadata(&partial).ok()?.permissions();
            permissions.set_readonly(true);
            let _ = std::fs::set_permissions(&partial, permissions);
            std::fs::rename(&partial, &target).ok()?;
        }
        Some(target)
    }
}

impl Default for PathMapping {
    fn default() -> Self {
        PathMapping::new()
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

fn percent_encode(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => encoded.push(byte as char),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

/// The one adapter to the database's file layer (see the module comment).
pub struct FileLayer;

impl FileLayer {
    /// An open buffer's text replaces the file's.
    pub fn set_buffer_text(database: &mut FlowDatabase, path: &Path, text: String) -> SourceFile {
        database.set_file_text(path, text)
    }

    /// A closed buffer (or a file changed on disk): the database sees the disk again,
    /// through the file layer (`src/vfs/`): the overlay is dropped and the file
    /// re-read, a missing one marked missing (which re-runs what looked for it).
    pub fn restore_disk_text(database: &mut FlowDatabase, path: &Path) {
        database.remove_file_overlay(path);
        // A standard module lives in the binary, not on disk.
        if stdlib::standard_module_name(path).is_none() {
            database.apply_disk_changes(&[path.to_path_buf()]);
        }
    }

    /// The database's file at `path` (loaded from disk on first use).
    pub fn file(database: &dyn Db, path: &Path) -> Option<SourceFile> {
        database.load_file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_code_units() {
        let text = "a→b\n😀x\n";
        let index = LineIndex::new(text);
        let offset_of_x = text.find('x').unwrap();
        assert_eq!(index.position(text, offset_of_x), Position { line: 1, character: 2 });
        assert_eq!(index.offset(text, Position { line: 1, character: 2 }), offset_of_x);
        assert_eq!(index.offset(text, Position { line: 0, character: 99 }), text.find('\n').unwrap());
        assert_eq!(index.offset(text, Position { line: 9, character: 0 }), text.len());
    }

    #[test]
    fn incremental_changes_apply_in_order() {
        let mut text = String::from("node a\nnode b\n");
        let change = |sl, sc, el, ec, new: &str| TextDocumentContentChangeEvent {
            range: Some(Range { start: Position { line: sl, character: sc }, end: Position { line: el, character: ec } }),
            range_length: None,
            text: new.to_string(),
        };
        apply_changes(&mut text, &[change(0, 5, 0, 6, "x"), change(1, 0, 1, 0, "// ")]);
        assert_eq!(text, "node x\n// node b\n");
    }

    #[test]
    fn uris_round_trip_with_odd_characters() {
        let mapping = PathMapping::new();
        let path = PathBuf::from("/tmp/a b/é.flow");
        let uri = mapping.uri_of_path(&path).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/a%20b/%C3%A9.flow");
        assert_eq!(mapping.path_of_uri(&uri).unwrap(), path);
        let std_uri = mapping.uri_of_path(&stdlib::standard_module_path("metrics")).unwrap();
        assert_eq!(mapping.path_of_uri(&std_uri).unwrap(), stdlib::standard_module_path("metrics"));
    }
}
