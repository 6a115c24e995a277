//! Rendering diagnostics for people (miette's graphical reports) and for machines
//! (one JSON object per diagnostic). Returns text; printing is the CLI's job.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;

use super::diagnostic::{Diagnostic, Severity};
use crate::syntax::span::{clamp_to_char_boundary, line_and_column, Span};

/// How to draw human-readable reports.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    pub color: bool,
    pub width: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { color: false, width: 100 }
    }
}

/// A diagnostic bound to its file, in the shape miette renders.
struct MietteReport<'a> {
    diagnostic: &'a Diagnostic<Span>,
    source: NamedSource<String>,
    code: String,
    labels: Vec<LabeledSpan>,
}

impl fmt::Debug for MietteReport<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for MietteReport<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for MietteReport<'_> {}

impl miette::Diagnostic for MietteReport<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic.help.as_ref().map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

fn source_span(text: &str, span: Span) -> SourceSpan {
    let start = clamp_to_char_boundary(text, span.start);
    let end = clamp_to_char_boundary(text, span.end.max(start));
    SourceSpan::new(start.into(), end - start)
}

/// The graphical report of one diagnostic in `text` (the file at `path`).
pub fn render_human(diagnostic: &Diagnostic<Span>, path: &str, text: &str, options: RenderOptions) -> String {
    let mut labels = vec![LabeledSpan::new_primary_with_span(
        Some(diagnostic.primary.message.clone()),
        source_span(text, diagnostic.primary.location),
    )];
    labels.extend(
        diagnostic
            .secondary
            .iter()
            .map(|label| LabeledSpan::new_with_span(Some(label.message.clone()), source_span(text, label.location))),
    );
    let report = MietteReport {
        diagnostic,
        source: NamedSource::new(path, text.to_string()),
        code: diagnostic.code.qualified(),
        labels,
    };
    let theme = if options.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(options.width).with_links(false);
    let mut output = String::new();
    if handler.render_report(&mut output, &report).is_err() {
        // Rendering into a String cannot fail for I/O reasons; keep a plain fallback
        // rather than lose the diagnostic.
        let (line, column) = line_and_column(text, diagnostic.primary.location.start);
        output = format!("{}[{}]: {} at {path}:{line}:{column}\n", diagnostic.severity().as_str(), diagnostic.code.qualified(), diagnostic.message);
    }
    output
}

/// The machine-readable form of one diagnostic (`--message-format json`).
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub help: Option<String>,
    pub labels: Vec<JsonLabel>,
}

#[derive(Debug, Serialize)]
pub struct JsonLabel {
    pub message: String,
    pub primary: bool,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

pub fn to_json(diagnostic: &Diagnostic<Span>, path: &str, text: &str) -> JsonDiagnostic {
    let position = |span: Span| {
        let (line, column) = line_and_column(text, span.start);
        let (end_line, end_column) = line_and_column(text, span.end);
        (line, column, end_line, end_column)
    };
    let (line, column, end_line, end_column) = position(diagnostic.primary.location);
    let labels = std::iter::once((&diagnostic.primary, true))
        .chain(diagnostic.secondary.iter().map(|label| (label, false)))
        .map(|(label, primary)| {
            let (line, column, end_line, end_column) = position(label.location);
            JsonLabel { message: label.message.clone(), primary, line, column, end_line, end_column }
        })
        .collect();
    JsonDiagnostic {
        severity: diagnostic.severity(),
        code: diagnostic.code.qualified(),
        message: diagnostic.message.clone(),
        file: path.to_string(),
        line,
        column,
        end_line,
        end_column,
        help: diagnostic.help.clone(),
        labels,
    }
}
