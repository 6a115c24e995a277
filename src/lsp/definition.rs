//! Go to definition: nodes, workflow inputs and outputs, models, datasets, metrics,
//! workflows (across imports), and import paths (into `std/…`, served as read-only
//! files).

use lsp_types::{GotoDefinitionParams, GotoDefinitionResponse, Location, Position, Range};

use super::snapshot::{RequestResult, Snapshot};
use super::symbol_index::Symbol;

pub fn goto_definition(snapshot: &Snapshot, params: GotoDefinitionParams) -> RequestResult<Option<GotoDefinitionResponse>> {
    let position = params.text_document_position_params;
    let view = snapshot.file_of_uri(&position.text_document.uri)?;
    let offset = view.contents.offset(position.position);
    let index = snapshot.index(&view);
    if let Some(occurrence) = index.occurrence_at(offset) {
        return Ok(definition_location(snapshot, &occurrence.symbol).map(GotoDefinitionResponse::Scalar));
    }
    if let Some(link) = index.import_at(offset) {
        if snapshot.file_at(&link.target).is_some() {
            if let Some(uri) = snapshot.uri_of(&link.target) {
                let start = Range { start: Position::new(0, 0), end: Position::new(0, 0) };
                return Ok(Some(GotoDefinitionResponse::Scalar(Location { uri, range: start })));
            }
        }
    }
    Ok(None)
}

pub fn definition_location(snapshot: &Snapshot, symbol: &Symbol) -> Option<Location> {
    let view = snapshot.file_at(symbol.file())?;
    let index = snapshot.index(&view);
    let definition = index.definition_of(symbol)?;
    Some(Location { uri: snapshot.uri_of(&view.path)?, range: view.contents.range(definition.span) })
}
