//! Colour decisions: colours only on a terminal, and never with `NO_COLOR` set.

use std::io::IsTerminal;

use crate::diagnostics::render::RenderOptions;

pub fn stderr_render_options() -> RenderOptions {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let width = std::env::var("COLUMNS").ok().and_then(|columns| columns.parse().ok()).unwrap_or(100);
    RenderOptions { color, width }
}
