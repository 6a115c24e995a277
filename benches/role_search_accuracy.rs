//! What roles by search alone makes of every paraphrased family: the formula and the
//! training texts' labels found together (`role_search`), the plan's reader learned
//! from those labels, and the node's code run on every held-out text. No teacher and
//! no student: the first move `flowc build` tries on a paraphrased family's compute
//! node, isolated, so that a change to the search can be judged on every family
//! drawn so far in minutes (`bench/paraphrased_families.sh` runs the whole build,
//! which also tries the teacher's labelled programs and code where the search finds
//! nothing, and takes an hour per set).
//!
//! It runs as the move runs: the texts pass the same gate
//! (`labelled_programs::texts_read_by_role`), the constants are the texts' implied
//! ones (`implied_constants`), the node's source is `context_program_source` over
//! the found table and expression, run in the sandbox on each held-out question and
//! scored as the family's flow scores (`numeric_match(rel_tol = 1e-6)`). Prints one
//! row per family (held-out share, training texts read back, the expression), then
//! last:
//!
//! ```text
//! families=<n> m=<m> fitted=<families with a fit> heldout=<mean over families> families_at_0.9=<count>
//! ```
//!
//! A family without a fit counts 0 in the mean (the build would go on to the
//! teacher, which this does not measure).
//!
//! Environment: `BENCH_M` (default 3), `BENCH_FAMILY_SETS` (space-separated folder
//! names under `bench/data`, default every `paraphrased*`). Run with
//! `bench/role_search_accuracy.sh`.

#[path = "support/paraphrased_family_folders.rs"]
mod paraphrased_family_folders;

use std::path::Path;

use flowc::optimize::context_readers::{context_program_source, AnswerSign};
use flowc::optimize::implied_constants::implied_constants;
use flowc::optimize::labelled_programs::texts_read_by_role;
use flowc::optimize::role_search::search_roles;
use flowc::sandbox::{Sandbox, SandboxConfig};
use paraphrased_family_folders::{family_folders, family_label, records, FamilyBenchSettings};
use serde_json::{Map, Value};

struct Instance {
    text: String,
    target: f64,
}

fn instances(path: &Path) -> Vec<Instance> {
    records(path)
        .into_iter()
        .map(|value| Instance { text: value["input"].as_str().unwrap_or_default().to_string(), target: value["target"].as_f64().unwrap_or(f64::NAN) })
        .collect()
}

/// The family flow's metric: `numeric_match(rel_tol = 1e-6)`.
fn numeric_match(expected: f64, actual: &Value) -> bool {
    let actual = match actual {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().replace(',', "").parse().ok(),
        _ => None,
    };
    actual.is_some_and(|actual| (expected - actual).abs() <= 1e-6 * expected.abs().max(actual.abs()))
}

/// One family's row: held-out share (None without a fit), training texts read back,
/// and the expression or why there is none.
struct Row {
    heldout: Option<f64>,
    read_back: usize,
    what: String,
}

async fn family_row(sandbox: &Sandbox, training: &[Instance], heldout: &[Instance]) -> Row {
    let none = |what: String| Row { heldout: None, read_back: 0, what };
    let texts: Vec<String> = training.iter().map(|instance| instance.text.clone()).collect();
    let targets: Vec<f64> = training.iter().map(|instance| instance.target).collect();
    let contexts = match texts_read_by_role(sandbox, &texts).await {
        Ok(contexts) => contexts,
        Err(why) => return none(format!("not read by role: {why}")),
    };
    let constants = implied_constants(&texts.iter().map(String::as_str).collect::<Vec<_>>());
    let search = search_roles(&contexts, &targets, &constants);
    let Some(found) = search.found else {
        return none(search.skipped.unwrap_or_else(|| format!("no fit ({} considered)", search.considered)));
    };
    let source = context_program_source("question", &found.table, &[], &[format!("answer = {}", found.expression)], AnswerSign::of(&targets));
    let mut right = 0usize;
    for instance in heldout {
        let arguments = Map::from_iter([("question".to_string(), Value::String(instance.text.clone()))]);
        if let Ok(value) = sandbox.call(&source, "run", arguments).await {
            right += usize::from(numeric_match(instance.target, &value));
        }
    }
    Row { heldout: Some(right as f64 / heldout.len().max(1) as f64), read_back: found.read_back, what: found.expression }
}

fn main() {
    let FamilyBenchSettings { m, sets, data } = FamilyBenchSettings::from_environment();
    let sandbox = Sandbox::new(SandboxConfig::for_worker_program(env!("CARGO_BIN_EXE_flowc"))).expect("the sandbox starts");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let (mut figures, mut fitted) = (Vec::new(), 0usize);
    println!("{:<45} {:>8} {:>9}  expression", "family", "held-out", "read back");
    for folder in family_folders(&data, &sets) {
        let family = family_label(&folder);
        let training: Vec<Instance> = instances(&folder.join("train.jsonl")).into_iter().take(m).collect();
        let heldout = instances(&folder.join("heldout.jsonl"));
        let row = runtime.block_on(family_row(&sandbox, &training, &heldout));
        match row.heldout {
            Some(share) => {
                fitted += 1;
                figures.push(share);
                println!("{family:<45} {share:>8.2} {:>7}/{m}  {}", row.read_back, row.what);
            }
            None => {
                figures.push(0.0);
                println!("{family:<45} {:>8} {:>9}  {}", "-", "-", row.what);
            }
        }
    }
    let mean = figures.iter().sum::<f64>() / figures.len().max(1) as f64;
    let at_ninety = figures.iter().filter(|figure| **figure >= 0.9).count();
    println!("families={} m={m} fitted={fitted} heldout={mean:.3} families_at_0.9={at_ninety}", figures.len());
}
