//! Code actions for diagnostics with an obvious fix: a "did you mean `x`?" name,
//! and a workflow output that is never bound.

use std::collections::HashMap;

use lsp_types::{CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse, TextEdit, WorkspaceEdit};

use super::diagnostics::to_lsp;
use super::snapshot::{RequestResult, Snapshot};
use super::syntax_lookup::{text_of, workflow_graph};
use crate::diagnostics::codes;
use crate::semantic::database::parse_file;
use crate::semantic::file_diagnostics;
use crate::syntax::ast::*;
use crate::syntax::span::Span;

pub fn code_actions(snapshot: &Snapshot, params: CodeActionParams) -> RequestResult<Option<CodeActionResponse>> {
    let uri = params.text_document.uri;
    let view = snapshot.file_of_uri(&uri)?;
    let text = view.contents.text.as_str();
    let wanted = view.contents.line_index.span(text, params.range);
    let mut actions = Vec::new();
    for diagnostic in file_diagnostics(snapshot.db(), view.file) {
        let span = diagnostic.primary.location;
        if span.end < wanted.start || span.start > wanted.end {
            continue;
        }
        let fix = if let Some(suggestion) = diagnostic.help.as_deref().and_then(suggested_name) {
            replacement_for(text, span, &suggestion).map(|(target, title)| (vec![(target, suggestion.clone())], title))
        } else if diagnostic.code == &codes::UNBOUND_OUTPUT {
            bind_output_fix(snapshot, &view, span)
        } else {
            None
        };
        let Some((edits, title)) = fix else { continue };
        let edits: Vec<TextEdit> = edits.into_iter().map(|(span, new_text)| TextEdit { range: view.contents.range(span), new_text }).collect();
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title,
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![to_lsp(&diagnostic, &view.contents, &uri)]),
            edit: Some(WorkspaceEdit { changes: Some(HashMap::from([(uri.clone(), edits)])), ..Default::default() }),
            is_preferred: Some(true),
            ..Default::default()
        }));
    }
    Ok(Some(actions))
}

/// `did you mean `x`?` in a help line: `x`.
fn suggested_name(help: &str) -> Option<String> {
    let rest = &help[help.find("did you mean ")? + "did you mean ".len()..];
    let (quote, rest) = match rest.chars().next()? {
        '`' => ('`', &rest[1..]),
        '"' => ('"', &rest[1..]),
        _ => return None,
    };
    let suggestion = &rest[..rest.find(quote)?];
    (!suggestion.is_empty()).then(|| suggestion.to_string())
}

/// What to replace: the labelled text when it is one name, else its last `.field`
/// segment (a diagnostic on `extract.quantites` suggests the field alone).
fn replacement_for(text: &str, span: Span, suggestion: &str) -> Option<(Span, String)> {
    let written = text_of(text, span);
    let is_word = |word: &str| !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/');
    let quoted = written.len() >= 2 && written.starts_with('"') && written.ends_with('"');
    if quoted {
        return Some((Span::new(span.start + 1, span.end - 1), format!("replace with \"{suggestion}\"")));
    }
    if is_word(written) || suggestion.contains('.') {
        return Some((span, format!("replace `{written}` with `{suggestion}`")));
    }
    let (_, last) = written.rsplit_once('.')?;
    is_word(last).then(|| (Span::new(span.end - last.len(), span.end), format!("replace `{last}` with `{suggestion}`")))
}

/// `answer = <node>` before the workflow's closing brace: the last node whose output
/// type is the output's, else the last node.
fn bind_output_fix(snapshot: &Snapshot, view: &super::snapshot::FileView, span: Span) -> Option<(Vec<(Span, String)>, String)> {
    let items = &parse_file(snapshot.db(), view.file).items;
    let workflow = items.iter().find_map(|item| match item {
        Item::Workflow(workflow) if workflow.span.start <= span.start && span.end <= workflow.span.end => Some(workflow),
        _ => None,
    })?;
    let bound: Vec<&str> = workflow
        .members
        .iter()
        .filter_map(|member| match member {
            WorkflowMember::Binding(binding) => Some(binding.output.text.as_str()),
            WorkflowMember::Node(_) => None,
        })
        .collect();
    let output = workflow.outputs.iter().find(|output| !bound.contains(&output.name.text.as_str()))?;
    let graph = workflow_graph(snapshot.db(), view.file, &workflow.name.text)?;
    let output_type = graph.outputs.iter().find(|(name, _)| *name == output.name.text).map(|(_, ty)| ty.clone());
    let node = graph.nodes.iter().rev().find(|node| Some(&node.output) == output_type.as_ref()).or(graph.nodes.last())?;
    let closing = workflow.body_span.end.checked_sub(1)?;
    let line_start = view.contents.text[..closing].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let at = if view.contents.text[line_start..closing].trim().is_empty() { line_start } else { closing };
    let edit = format!("  {} = {}\n", output.name.text, node.name);
    Some((vec![(Span::empty_at(at), edit)], format!("bind `{}` to `{}`", output.name.text, node.name)))
}
