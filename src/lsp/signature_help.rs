//! Signature help for metric calls such as `numeric_match(rel_tol = 1e-6)`: the
//! metric's parameters, with the one being written highlighted.

use lsp_types::{ParameterInformation, ParameterLabel, SignatureHelp, SignatureHelpParams, SignatureInformation, Documentation};

use super::snapshot::{RequestResult, Snapshot};
use super::syntax_lookup::start_of_run;
use super::syntax_lookup::text_of;
use crate::semantic::database::{file_scope, parse_file};
use crate::semantic::hir::ItemKind;
use crate::stdlib;
use crate::syntax::ast::{Item, MetricDecl};
use crate::syntax::span::clamp_to_char_boundary;

/// How far back the opening parenthesis is looked for.
const LOOK_BACK: usize = 4096;

pub fn signature_help(snapshot: &Snapshot, params: SignatureHelpParams) -> RequestResult<Option<SignatureHelp>> {
    let position = params.text_document_position_params;
    let view = snapshot.file_of_uri(&position.text_document.uri)?;
    let text = view.contents.text.as_str();
    let offset = clamp_to_char_boundary(text, view.contents.offset(position.position));
    let Some(call) = open_call_before(text, offset) else { return Ok(None) };
    let db = snapshot.db();
    // The metric in scope, else one of the standard library's (not imported yet).
    let mut candidates = Vec::new();
    if let Some(item) = file_scope(db, view.file).entries.get(&call.callee).filter(|item| item.kind == ItemKind::Metric) {
        candidates.push(item.file.path(db).clone());
    }
    candidates.extend(stdlib::STANDARD_MODULES.iter().map(|(module, _)| stdlib::standard_module_path(module)));
    for path in candidates {
        let Some(declaring) = snapshot.file_at(&path) else { continue };
        let items = &parse_file(db, declaring.file).items;
        let Some(metric) = items.iter().find_map(|item| match item {
            Item::Metric(metric) if metric.name.text == call.callee => Some(metric),
            _ => None,
        }) else {
            continue;
        };
        return Ok(Some(metric_signature(metric, &declaring.contents.text, &call)));
    }
    Ok(None)
}

struct OpenCall {
    callee: String,
    /// Arguments before the cursor (commas at depth 0).
    argument_index: usize,
    /// `name =` of the argument being written, if named.
    argument_name: Option<String>,
}

fn open_call_before(text: &str, offset: usize) -> Option<OpenCall> {
    let start = clamp_to_char_boundary(text, offset.saturating_sub(LOOK_BACK));
    let before = &text[start..offset];
    let mut depth = 0i32;
    let mut argument_index = 0;
    let mut current_argument_start = before.len();
    for (index, character) in before.char_indices().rev() {
        match character {
            ')' | ']' | '}' => depth += 1,
            '(' | '[' | '{' if depth > 0 => depth -= 1,
            '(' if depth == 0 => {
                let name_end = index;
                let name_start = start_of_run(&before[..name_end], |c| c.is_ascii_alphanumeric() || c == '_');
                let callee = before[name_start..name_end].to_string();
                if callee.is_empty() {
                    return None;
                }
                let argument = &before[current_argument_start.min(before.len())..];
                let argument = if current_argument_start == before.len() { &before[index + 1..] } else { argument };
                let argument_name = argument.split_once('=').map(|(name, _)| name.trim().to_string()).filter(|name| !name.is_empty());
                return Some(OpenCall { callee, argument_index, argument_name });
            }
            '[' | '{' => return None,
            ',' if depth == 0 => {
                if argument_index == 0 {
                    current_argument_start = index + 1;
                }
                argument_index += 1;
            }
            '\n' if depth == 0 && before[..index].trim_end().ends_with('}') => return None,
            _ => {}
        }
    }
    None
}

fn metric_signature(metric: &MetricDecl, text: &str, call: &OpenCall) -> SignatureHelp {
    let mut label = format!("{}(", metric.name.text);
    let mut parameters = Vec::new();
    for (index, param) in metric.params.iter().enumerate() {
        if index > 0 {
            label.push_str(", ");
        }
        let start = label.encode_utf16().count() as u32;
        label.push_str(text_of(text, param.span));
        let end = label.encode_utf16().count() as u32;
        parameters.push(ParameterInformation { label: ParameterLabel::LabelOffsets([start, end]), documentation: None });
    }
    label.push(')');
    let active = match &call.argument_name {
        Some(name) => metric.params.iter().position(|param| param.name.text == *name),
        None => Some(call.argument_index.min(metric.params.len().saturating_sub(1))),
    };
    let documentation = Some(Documentation::String(format!(
        "metric: score(expected, actual{}) returns a bool or a number in [0, 1]",
        metric.params.iter().map(|param| format!(", {}", param.name.text)).collect::<String>()
    )));
    SignatureHelp {
        signatures: vec![SignatureInformation { label, documentation, parameters: Some(parameters), active_parameter: active.map(|index| index as u32) }],
        active_signature: Some(0),
        active_parameter: active.map(|index| index as u32),
    }
}
