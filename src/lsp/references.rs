//! Find references: every occurrence of the symbol under the cursor in the open
//! documents and the files they import.

use lsp_types::{Location, ReferenceParams};

use super::snapshot::{RequestResult, Snapshot};
use super::symbol_index::{Occurrence, Symbol};

pub fn references(snapshot: &Snapshot, params: ReferenceParams) -> RequestResult<Option<Vec<Location>>> {
    let position = params.text_document_position;
    let view = snapshot.file_of_uri(&position.text_document.uri)?;
    let offset = view.contents.offset(position.position);
    let Some(occurrence) = snapshot.index(&view).occurrence_at(offset).cloned() else { return Ok(None) };
    let include_declaration = params.context.include_declaration;
    let locations = occurrences_everywhere(snapshot, &occurrence.symbol)
        .into_iter()
        .filter(|(_, found)| include_declaration || !found.is_definition)
        .filter_map(|(path, found)| {
            let view = snapshot.file_at(&path)?;
            Some(Location { uri: snapshot.uri_of(&path)?, range: view.contents.range(found.span) })
        })
        .collect();
    Ok(Some(locations))
}

/// Every occurrence of `symbol`, by file: the file that declares it, every open
/// document and what they import.
pub fn occurrences_everywhere(snapshot: &Snapshot, symbol: &Symbol) -> Vec<(std::path::PathBuf, Occurrence)> {
    let mut files = snapshot.workspace_files();
    if !files.iter().any(|path| path == symbol.file()) {
        files.push(symbol.file().to_path_buf());
    }
    let mut found = Vec::new();
    for path in files {
        let Some(view) = snapshot.file_at(&path) else { continue };
        for occurrence in snapshot.index(&view).occurrences_of(symbol) {
            found.push((path.clone(), occurrence.clone()));
        }
    }
    found
}
