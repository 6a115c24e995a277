//! Checks of `dataset` declarations: format and field mapping. Whether the file
//! exists is checked at the edge (it reads the disk), not in this cached analysis.

use super::analysis::Checker;
use super::check_model::check_single_string_argument;
use super::hir::*;
use super::suggest::did_you_mean;
use crate::diagnostics::codes;

pub const DATASET_FORMATS: [&str; 1] = ["jsonl"];

pub fn check_dataset(checker: &mut Checker, dataset: &SourcedItemHir) {
    let format = dataset.source.callee.text.as_str();
    if !DATASET_FORMATS.contains(&format) {
        let help = did_you_mean(format, DATASET_FORMATS, "formats")
            .unwrap_or_else(|| "datasets are JSON lines files: `jsonl(\"train.jsonl\")`, one JSON object per line".into());
        checker.error(&codes::UNKNOWN_DATASET_FORMAT, format!("unknown dataset format `{format}`"), dataset.source.callee.anchor, "not a format", help);
        return;
    }
    check_single_string_argument(checker, &dataset.source, "the path of the file");
    let mut seen: Vec<&str> = Vec::new();
    for property in &dataset.properties.entries {
        if seen.contains(&property.key.text.as_str()) {
            checker.error(&codes::DUPLICATE_PROPERTY, format!("`{}` is mapped twice", property.key.text), property.key.anchor, "mapped again here", "map each workflow input or output once");
            continue;
        }
        seen.push(&property.key.text);
        match property.value.as_value().map(|value| &value.kind) {
            Some(ValueKindHir::FieldPath(_)) if matches!(property.value, PropertyValueHir::Value(_)) => {}
            _ => checker.wrong_form(
                property,
                "a field of each record, such as `.input`",
                format!("write `{} = .field` to read `field` from each JSON line", property.key.text),
            ),
        }
    }
}

/// The workflow inputs/outputs a dataset provides: its mapped names.
pub fn dataset_mapped_names(dataset: &SourcedItemHir) -> Vec<&str> {
    dataset.properties.entries.iter().map(|property| property.key.text.as_str()).collect()
}

/// Workflow input/output name → record field (dotted path), as the dataset maps them.
pub fn dataset_field_map(dataset: &SourcedItemHir) -> std::collections::BTreeMap<String, String> {
    dataset
        .properties
        .entries
        .iter()
        .filter_map(|property| match property.value.as_value().map(|value| &value.kind) {
            Some(ValueKindHir::FieldPath(segments)) => Some((property.key.text.clone(), segments.join("."))),
            _ => None,
        })
        .collect()
}

/// The file a dataset reads, as written, if well formed.
pub fn dataset_path(dataset: &SourcedItemHir) -> Option<(&str, AnchorId)> {
    match dataset.source.arguments.as_slice() {
        [ArgumentHir { name: None, value: ValueHir { kind: ValueKindHir::String(string), anchor } }] => Some((&string.value, *anchor)),
        _ => None,
    }
}
