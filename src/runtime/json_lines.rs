//! JSON-lines files of objects (inputs, datasets, training sets): one object a line,
//! blank lines skipped, every error naming the file and line. Below the CLI, the
//! server and the optimiser, which all read them.

use std::path::Path;

/// The JSON objects of a JSON-lines file (blank lines skipped), each error naming
/// its line.
pub fn read_json_lines(path: &Path) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    parse_json_lines(&text, path)
}

/// [`read_json_lines`] through the database's file layer (`crate::vfs`), so that a
/// build reads a dataset as an input a watcher keeps current.
pub fn read_json_lines_through(db: &dyn crate::semantic::database::Db, path: &Path) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, String> {
    let file = db.load_file(path).ok_or_else(|| format!("cannot read {}: no such file", path.display()))?;
    parse_json_lines(file.text(db), path)
}

fn parse_json_lines(text: &str, path: &Path) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| parse_json_object(line, &format!("{}:{}", path.display(), number + 1)))
        .collect()
}

pub fn parse_json_object(text: &str, place: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(object)) => Ok(object),
        Ok(other) => Err(format!("{place}: expected a JSON object, not {other}")),
        Err(error) => Err(format!("{place}: not JSON: {error}")),
    }
}
