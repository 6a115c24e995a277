//! The standard library: `.flow` modules shipped inside the binary and imported as
//! `import "std/NAME" { ... }`. The sources live in the repository's `stdlib/` folder.

use std::path::{Path, PathBuf};

/// `(module name, source text)` of every standard module.
pub const STANDARD_MODULES: &[(&str, &str)] = &[("metrics", include_str!("../stdlib/metrics.flow"))];

/// The prefix under which standard modules appear as file paths in diagnostics.
pub const STANDARD_PATH_PREFIX: &str = "<std>";

pub fn standard_module(name: &str) -> Option<&'static str> {
    STANDARD_MODULES.iter().find(|(module, _)| *module == name).map(|(_, text)| *text)
}

/// The path a standard module is known by: `<std>/metrics.flow`.
pub fn standard_module_path(name: &str) -> PathBuf {
    Path::new(STANDARD_PATH_PREFIX).join(format!("{name}.flow"))
}

/// If `path` names a standard module, its module name.
pub fn standard_module_name(path: &Path) -> Option<&str> {
    let rest = path.strip_prefix(STANDARD_PATH_PREFIX).ok()?;
    rest.to_str()?.strip_suffix(".flow")
}
