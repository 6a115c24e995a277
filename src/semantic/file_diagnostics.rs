//! All diagnostics of one file, with spans: where span-free analysis results meet
//! the source map again. Also the checks that read the disk (dataset files), which
//! must not run inside cached queries.

use std::path::Path;

use super::anchor::AnchorRef;
use super::check_dataset::dataset_path;
use super::database::{analyze_item, file_scope, item_keys, lower_file, syntax_diagnostics, Db, ItemId, SourceFile};
use super::hir::{ItemHir, ItemKind};
use crate::diagnostics::{codes, Diagnostic};
use crate::syntax::span::Span;

pub fn file_diagnostics(db: &dyn Db, file: SourceFile) -> Vec<Diagnostic<Span>> {
    let mut diagnostics: Vec<Diagnostic<Span>> = Vec::new();
    diagnostics.extend(syntax_diagnostics(db, file).iter().cloned());
    let lowered = lower_file(db, file);
    diagnostics.extend(lowered.diagnostics.iter().cloned());

    let to_span = |anchor: &AnchorRef| -> Option<Span> {
        if anchor.file != file {
            return None;
        }
        lowered.item(&anchor.item)?.source_map.span(anchor.anchor)
    };
    let fallback = Span::empty_at(0);
    for diagnostic in &file_scope(db, file).diagnostics {
        diagnostics.push(diagnostic.clone().map_locations(to_span, fallback));
    }
    for (key, kind) in item_keys(db, file) {
        let analysis = analyze_item(db, ItemId::new(db, file, key.clone()));
        for diagnostic in &analysis.diagnostics {
            diagnostics.push(diagnostic.clone().map_locations(to_span, fallback));
        }
        if *kind == ItemKind::Dataset {
            if let Some(diagnostic) = check_dataset_file(db, file, key) {
                diagnostics.push(diagnostic);
            }
        }
    }
    diagnostics.sort_by(|a, b| {
        (a.primary.location.start, a.code.id, &a.message).cmp(&(b.primary.location.start, b.code.id, &b.message))
    });
    diagnostics.dedup();
    diagnostics
}

fn check_dataset_file(db: &dyn Db, file: SourceFile, key: &str) -> Option<Diagnostic<Span>> {
    let lowered = lower_file(db, file).item(key)?;
    let ItemHir::Dataset(dataset) = &*lowered.hir else { return None };
    if dataset.source.callee.text != "jsonl" {
        return None;
    }
    let (path, anchor) = dataset_path(dataset)?;
    let resolved = file.path(db).parent().unwrap_or(Path::new("")).join(path);
    // Through the file layer, so a watcher sees the dataset appear or go.
    if db.load_file(&resolved).is_some() {
        return None;
    }
    let span = lowered.source_map.span(anchor)?;
    Some(
        Diagnostic::new(&codes::DATASET_FILE_NOT_FOUND, format!("the dataset file \"{path}\" does not exist"), span, format!("looked for {}", resolved.display()))
            .with_help("dataset paths are relative to the .flow file that declares them"),
    )
}
