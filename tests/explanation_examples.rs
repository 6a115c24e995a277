//! Every explanation shown by `flowc explain` is accurate: the first example in it
//! (the erroneous one) produces exactly its own code, and nothing else.

use std::collections::BTreeSet;
use std::path::PathBuf;

use flowc::diagnostics::codes::ALL_CODES;
use flowc::semantic::{file_diagnostics, FlowDatabase};

fn first_flow_block(explanation: &str) -> Option<&str> {
    let start = explanation.find("```flow\n")? + "```flow\n".len();
    let length = explanation[start..].find("```")?;
    Some(&explanation[start..start + length])
}

#[test]
fn each_erroneous_example_produces_exactly_its_code() {
    let root: PathBuf = std::env::temp_dir().join(format!("flowc-explanations-{}", std::process::id()));
    std::fs::create_dir_all(root.join("data")).unwrap();
    // Examples that declare a dataset read this file.
    std::fs::write(root.join("data/train.jsonl"), "{\"input\": \"x\", \"target\": 1}\n").unwrap();
    let mut failures = Vec::new();
    for code in ALL_CODES {
        let Some(example) = first_flow_block(code.explanation) else {
            failures.push(format!("{}: no ```flow example", code.id));
            continue;
        };
        let mut database = FlowDatabase::default();
        let file = database.set_file_text(&root.join(format!("{}.flow", code.id)), example.to_string());
        let found: BTreeSet<&str> = file_diagnostics(&database, file).iter().map(|diagnostic| diagnostic.code.id).collect();
        if found != BTreeSet::from([code.id]) {
            failures.push(format!("{}: example produces {found:?}", code.id));
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "explanations whose example is wrong:\n{}", failures.join("\n"));
}
