//! One diagnostic: a code, a message, labelled locations and a help line.
//!
//! Generic over where a label points: the syntax layer labels [`Span`]s, the semantic
//! layer labels span-free anchors (so its cached results survive edits that only move
//! text), and [`Diagnostic::map_locations`] turns one into the other at the edge.
//!
//! [`Span`]: crate::syntax::span::Span

use super::codes::DiagnosticCode;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label<Location> {
    pub location: Location,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic<Location> {
    pub code: &'static DiagnosticCode,
    pub message: String,
    pub primary: Label<Location>,
    pub secondary: Vec<Label<Location>>,
    pub help: Option<String>,
}

impl<Location> Diagnostic<Location> {
    pub fn new(
        code: &'static DiagnosticCode,
        message: impl Into<String>,
        location: Location,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            primary: Label { location, message: label.into() },
            secondary: Vec::new(),
            help: None,
        }
    }

    pub fn with_secondary(mut self, location: Location, message: impl Into<String>) -> Self {
        self.secondary.push(Label { location, message: message.into() });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn severity(&self) -> Severity {
        self.code.severity
    }

    /// Re-point every label; labels whose location cannot be mapped are dropped
    /// (a primary that cannot be mapped falls back to `fallback`).
    pub fn map_locations<Other>(
        self,
        mut map: impl FnMut(&Location) -> Option<Other>,
        fallback: Other,
    ) -> Diagnostic<Other> {
        let primary_location = map(&self.primary.location).unwrap_or(fallback);
        let secondary = self
            .secondary
            .iter()
            .filter_map(|label| {
                map(&label.location).map(|location| Label { location, message: label.message.clone() })
            })
            .collect();
        Diagnostic {
            code: self.code,
            message: self.message,
            primary: Label { location: primary_location, message: self.primary.message },
            secondary,
            help: self.help,
        }
    }
}
