//! Colour decisions: colours only on a terminal, and never with `NO_COLOR` set.

use std::io::IsTerminal;

use std::path::Path;

use crate::diagnostics::render::{render_human, RenderOptions};
use crate::diagnostics::Diagnostic;
use crate::syntax::span::Span;

pub fn stderr_render_options() -> RenderOptions {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let width = std::env::var("COLUMNS").ok().and_then(|columns| columns.parse().ok()).unwrap_or(100);
    RenderOptions { color, width }
}

/// Prints a file's diagnostics on stderr, for people (the commands that refuse a
/// file with errors: `graph`, `lock`, `build`).
pub fn print_file_diagnostics(path: &Path, text: &str, diagnostics: &[Diagnostic<Span>]) {
    let options = stderr_render_options();
    for diagnostic in diagnostics {
        eprint!("{}", render_human(diagnostic, &path.display().to_string(), text, options));
    }
}
