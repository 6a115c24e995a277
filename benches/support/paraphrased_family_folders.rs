//! The family folders of the paraphrased sets under `bench/data` and their records, shared by the
//! benches that read every family (`role_reader_accuracy`, `role_search_accuracy`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every family folder (one with a `train.jsonl`) of the chosen sets, in name
/// order: `sets` names folders under `data`, or `None` for every `paraphrased*`.
pub fn family_folders(data: &Path, sets: &Option<BTreeSet<String>>) -> Vec<PathBuf> {
    let mut folders = Vec::new();
    let mut set_folders: Vec<PathBuf> = std::fs::read_dir(data).expect("bench/data is readable").filter_map(|entry| Some(entry.ok()?.path())).collect();
    set_folders.sort();
    for set in set_folders {
        let name = set.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_string();
        let chosen = match sets {
            Some(sets) => sets.contains(&name),
            None => name.starts_with("paraphrased"),
        };
        if !chosen || !set.is_dir() {
            continue;
        }
        let mut families: Vec<PathBuf> = std::fs::read_dir(&set).expect("a set folder is readable").filter_map(|entry| Some(entry.ok()?.path())).filter(|path| path.join("train.jsonl").exists()).collect();
        families.sort();
        folders.extend(families);
    }
    folders
}

/// `set/family` of a family folder, for a row.
pub fn family_label(folder: &Path) -> String {
    let name = |path: Option<&Path>| path.and_then(|path| path.file_name()).and_then(|name| name.to_str()).unwrap_or_default().to_string();
    format!("{}/{}", name(folder.parent()), name(Some(folder)))
}

/// The records of a family's JSON-lines file (`train.jsonl`, `heldout.jsonl`).
pub fn records(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    text.lines().filter(|line| !line.trim().is_empty()).map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{}: {error}", path.display()))).collect()
}

/// What a family bench reads from its environment: `BENCH_M` (training texts per
/// family, default 3) and `BENCH_FAMILY_SETS` (folder names under `bench/data`,
/// space-separated; every `paraphrased*` set when unset), and where the sets are.
pub struct FamilyBenchSettings {
    pub m: usize,
    pub sets: Option<BTreeSet<String>>,
    pub data: PathBuf,
}

impl FamilyBenchSettings {
    pub fn from_environment() -> FamilyBenchSettings {
        FamilyBenchSettings {
            m: std::env::var("BENCH_M").ok().and_then(|value| value.parse().ok()).unwrap_or(3),
            sets: std::env::var("BENCH_FAMILY_SETS").ok().map(|value| value.split_whitespace().map(str::to_string).collect()),
            data: Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/data"),
        }
    }
}
