//! Rename a node, input, output, model, dataset, metric or workflow across its
//! references; a name that would collide is refused with a message.

use std::collections::HashMap;

use lsp_types::{PrepareRenameResponse, RenameParams, TextDocumentPositionParams, TextEdit, WorkspaceEdit};

use super::references::occurrences_everywhere;
use super::snapshot::{RequestFailure, RequestResult, Snapshot};
use super::symbol_index::{Occurrence, Symbol};
use super::syntax_lookup::workflow_named;
use crate::semantic::database::{file_scope, parse_file};
use crate::stdlib;
use crate::syntax::ast::WorkflowMember;

/// Words the grammar reads as keywords or literals: never a name.
const RESERVED: &[&str] = &["import", "model", "dataset", "metric", "workflow", "optimize", "node", "true", "false", "json", "enum", "output"];

pub fn prepare_rename(snapshot: &Snapshot, params: TextDocumentPositionParams) -> RequestResult<Option<PrepareRenameResponse>> {
    let view = snapshot.file_of_uri(&params.text_document.uri)?;
    let offset = view.contents.offset(params.position);
    let Some(occurrence) = snapshot.index(&view).occurrence_at(offset).cloned() else { return Ok(None) };
    refuse_read_only(&occurrence)?;
    Ok(Some(PrepareRenameResponse::RangeWithPlaceholder { range: view.contents.range(occurrence.span), placeholder: occurrence.symbol.name().to_string() }))
}

pub fn rename(snapshot: &Snapshot, params: RenameParams) -> RequestResult<Option<WorkspaceEdit>> {
    let position = params.text_document_position;
    let view = snapshot.file_of_uri(&position.text_document.uri)?;
    let offset = view.contents.offset(position.position);
    let Some(occurrence) = snapshot.index(&view).occurrence_at(offset).cloned() else {
        return Err(RequestFailure::Refused("there is no name here to rename".into()));
    };
    refuse_read_only(&occurrence)?;
    let new_name = params.new_name.trim();
    if !is_identifier(new_name) {
        return Err(RequestFailure::Refused(format!("`{new_name}` is not a name: names start with a letter or `_` and go on with letters, digits and `_`")));
    }
    if RESERVED.contains(&new_name) {
        return Err(RequestFailure::Refused(format!("`{new_name}` is a keyword of the language")));
    }
    if new_name == occurrence.symbol.name() {
        return Ok(Some(WorkspaceEdit::default()));
    }
    let found = occurrences_everywhere(snapshot, &occurrence.symbol);
    refuse_collision(snapshot, &occurrence.symbol, new_name, &found)?;
    let mut changes: HashMap<lsp_types::Uri, Vec<TextEdit>> = HashMap::new();
    for (path, found) in found {
        let (Some(view), Some(uri)) = (snapshot.file_at(&path), snapshot.uri_of(&path)) else { continue };
        changes.entry(uri).or_default().push(TextEdit { range: view.contents.range(found.span), new_text: new_name.to_string() });
    }
    Ok(Some(WorkspaceEdit { changes: Some(changes), ..Default::default() }))
}

fn refuse_read_only(occurrence: &Occurrence) -> RequestResult<()> {
    if stdlib::standard_module_name(occurrence.symbol.file()).is_some() {
        return Err(RequestFailure::Refused(format!("`{}` is declared in the standard library, which cannot be renamed", occurrence.symbol.name())));
    }
    Ok(())
}

fn is_identifier(name: &str) -> bool {
    let mut characters = name.chars();
    characters.next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_') && characters.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn refuse_collision(snapshot: &Snapshot, symbol: &Symbol, new_name: &str, found: &[(std::path::PathBuf, Occurrence)]) -> RequestResult<()> {
    match symbol {
        Symbol::Item { .. } => {
            // Every file where the name is visible: the declaring file and its importers.
            let mut files: Vec<&std::path::PathBuf> = found.iter().map(|(path, _)| path).collect();
            files.dedup();
            for path in files {
                let Some(view) = snapshot.file_at(path) else { continue };
                if let Some(existing) = file_scope(snapshot.db(), view.file).entries.get(new_name) {
                    return Err(RequestFailure::Refused(format!(
                        "`{new_name}` is already {} in {}: renaming would make the two collide",
                        existing.kind.describe(),
                        path.display()
                    )));
                }
            }
            Ok(())
        }
        Symbol::Node { file, workflow, .. } | Symbol::WorkflowInput { file, workflow, .. } | Symbol::WorkflowOutput { file, workflow, .. } => {
            let Some(view) = snapshot.file_at(file) else { return Ok(()) };
            let items = &parse_file(snapshot.db(), view.file).items;
            let Some(decl) = workflow_named(items, workflow) else { return Ok(()) };
            let is_output = matches!(symbol, Symbol::WorkflowOutput { .. });
            let taken = if is_output {
                decl.outputs.iter().any(|output| output.name.text == new_name)
            } else {
                decl.inputs.iter().any(|input| input.name.text == new_name)
                    || decl.members.iter().any(|member| matches!(member, WorkflowMember::Node(node) if node.name.text == new_name))
            };
            if taken {
                let what = if is_output { "an output" } else { "an input or a node" };
                return Err(RequestFailure::Refused(format!("workflow `{workflow}` already has {what} named `{new_name}`")));
            }
            Ok(())
        }
    }
}
