//! Turning the paths on the command line into the list of .flow files to work on.

use std::path::{Path, PathBuf};

/// Every `.flow` file named or found (recursively, sorted) under the given folders.
/// Errors name the paths that do not exist.
pub fn collect_flow_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(format!("{} does not exist", path.display()));
        }
    }
    files.dedup();
    Ok(files)
}

fn walk(folder: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)?.map(|entry| entry.map(|entry| entry.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        let name = entry.file_name().and_then(|name| name.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if entry.is_dir() {
            walk(&entry, files)?;
        } else if entry.extension().is_some_and(|extension| extension == "flow") {
            files.push(entry);
        }
    }
    Ok(())
}

/// Write beside the file and rename over it, so an interrupted write never leaves a
/// half-written file where the user's (or the plan's) was.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temporary_name = path.file_name().unwrap_or_default().to_os_string();
    temporary_name.push(".flowc-tmp");
    let temporary = path.with_file_name(temporary_name);
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}
