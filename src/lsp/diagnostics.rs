//! Diagnostics: exactly `flowc check`'s (the same `file_diagnostics`), in the
//! protocol's shape. The code is the qualified code (`flow::E0101`), labels become
//! related information, the help line ends the message.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crossbeam_channel::Sender;
use lsp_server::{Message, Notification};
use lsp_types::notification::{Notification as _, PublishDiagnostics};
use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, PublishDiagnosticsParams, Uri};

use super::snapshot::Snapshot;
use super::workspace::DocumentText;
use crate::diagnostics::{Diagnostic, Severity};
use crate::semantic::file_diagnostics;
use crate::syntax::span::Span;

/// What the client was last sent, per file: other files are re-sent only on change.
#[derive(Clone, Default)]
pub struct PublishedDiagnostics {
    by_path: Arc<Mutex<HashMap<PathBuf, Vec<lsp_types::Diagnostic>>>>,
}

impl PublishedDiagnostics {
    pub fn forget(&self, path: &Path) {
        self.by_path.lock().expect("published diagnostics").remove(path);
    }
}

/// The diagnostics of one file, converted.
pub fn file_lsp_diagnostics(snapshot: &Snapshot, path: &Path) -> Option<Vec<lsp_types::Diagnostic>> {
    let view = snapshot.file_at(path)?;
    let uri = snapshot.uri_of(path)?;
    Some(file_diagnostics(snapshot.db(), view.file).iter().map(|diagnostic| to_lsp(diagnostic, &view.contents, &uri)).collect())
}

/// Check every open document of the snapshot and publish: always `changed`, the
/// others when they differ. Stops as soon as a newer edit makes the snapshot old.
pub fn publish_diagnostics(snapshot: &Snapshot, changed: Option<&Path>, published: &PublishedDiagnostics, sender: &Sender<Message>) {
    let mut paths = snapshot.documents.paths();
    if let Some(changed) = changed {
        paths.retain(|path| path != changed);
        paths.insert(0, changed.to_path_buf());
    }
    for path in paths {
        let Some(document) = snapshot.documents.get(&path) else { continue };
        let Some(diagnostics) = file_lsp_diagnostics(snapshot, &path) else { continue };
        if snapshot.is_outdated() {
            return;
        }
        let mut table = published.by_path.lock().expect("published diagnostics");
        if Some(path.as_path()) != changed && table.get(&path) == Some(&diagnostics) {
            continue;
        }
        table.insert(path.clone(), diagnostics.clone());
        drop(table);
        let params = PublishDiagnosticsParams { uri: document.uri.clone(), diagnostics, version: Some(document.version) };
        let _ = sender.send(Notification::new(PublishDiagnostics::METHOD.into(), params).into());
    }
}

pub fn to_lsp(diagnostic: &Diagnostic<Span>, contents: &DocumentText, uri: &Uri) -> lsp_types::Diagnostic {
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let label = |location: Span, text: &str| DiagnosticRelatedInformation {
        location: Location { uri: uri.clone(), range: contents.range(location) },
        message: text.to_string(),
    };
    let mut related = Vec::new();
    if !diagnostic.primary.message.is_empty() {
        related.push(label(diagnostic.primary.location, &diagnostic.primary.message));
    }
    related.extend(diagnostic.secondary.iter().map(|secondary| label(secondary.location, &secondary.message)));
    lsp_types::Diagnostic {
        range: contents.range(diagnostic.primary.location),
        severity: Some(match diagnostic.severity() {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diagnostic.code.qualified())),
        code_description: None,
        source: Some("flowc".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}
