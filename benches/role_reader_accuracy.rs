//! How well the plan's context reader reads the roles of phrasings it was not
//! fitted to, with the reader's own error alone: for every paraphrased family under
//! `bench/data/paraphrased*/`, the table is learned from the TRUE roles of its first
//! m training texts (the quantities the generator drew, where each value is one
//! number of the text), then every held-out text is read and counted right when
//! every role is. No formula search, no teacher: a figure for the reader, so a
//! change to it can be judged on many families in seconds, apart from what the
//! search does with the labels it finds (`bench/paraphrased_families.sh` measures
//! the two together).
//!
//! The reader runs as a plan runs it: `number_contexts` in the sandbox (the
//! starlark of `context_readers`), `learn_context_table` and `assign_roles` as the
//! optimiser uses them. Prints one row per family, then last:
//!
//! ```text
//! families=<n> m=<m> all_roles_read=<mean over families> families_at_0.9=<count>
//! ```
//!
//! Environment: `BENCH_M` (default 3), `BENCH_FAMILY_SETS` (space-separated folder
//! names under `bench/data`, default every `paraphrased*`). Run with
//! `bench/role_reader_accuracy.sh`.

#[path = "support/paraphrased_family_folders.rs"]
mod paraphrased_family_folders;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use flowc::optimize::context_readers::{assign_roles, learn_context_table, number_contexts, same_number, NumberContext};
use flowc::sandbox::{Sandbox, SandboxConfig};
use paraphrased_family_folders::{family_folders, family_label, records, FamilyBenchSettings};

struct Instance {
    text: String,
    quantities: BTreeMap<String, f64>,
}

fn instances(path: &Path) -> Vec<Instance> {
    records(path)
        .into_iter()
        .map(|value| {
            let quantities = value["quantities"].as_object().map(|quantities| quantities.iter().filter_map(|(name, value)| Some((name.clone(), value.as_f64()?))).collect()).unwrap_or_default();
            Instance { text: value["input"].as_str().unwrap_or_default().to_string(), quantities }
        })
        .collect()
}

/// The true roles of a text that the reader can be held to: the quantities whose
/// value is exactly one of the text's numbers.
fn true_roles(contexts: &[NumberContext], quantities: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    quantities.iter().filter(|(_, value)| contexts.iter().filter(|context| same_number(context.value, **value)).count() == 1).map(|(name, value)| (name.clone(), *value)).collect()
}

async fn contexts_of(sandbox: &Sandbox, text: &str) -> Vec<NumberContext> {
    number_contexts(sandbox, text).await.unwrap_or_else(|error| panic!("the reader failed on {text:?}: {error}"))
}

fn main() {
    let FamilyBenchSettings { m, sets, data } = FamilyBenchSettings::from_environment();
    let sandbox = Sandbox::new(SandboxConfig::for_worker_program(env!("CARGO_BIN_EXE_flowc"))).expect("the sandbox starts");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let mut figures: Vec<f64> = Vec::new();
    println!("{:<45} {:>5} {:>9}", "family", "read", "held-out");
    for folder in family_folders(&data, &sets) {
        let family = family_label(&folder);
        let training: Vec<Instance> = instances(&folder.join("train.jsonl")).into_iter().take(m).collect();
        let heldout = instances(&folder.join("heldout.jsonl"));
        let (right, counted) = runtime.block_on(async {
            let mut contexts = Vec::new();
            let mut labels = Vec::new();
            for instance in &training {
                let read = contexts_of(&sandbox, &instance.text).await;
                labels.push(true_roles(&read, &instance.quantities));
                contexts.push(read);
            }
            // The roles every training text states once.
            let roles: Vec<String> = labels.iter().map(|label| label.keys().cloned().collect::<BTreeSet<String>>()).reduce(|a, b| a.intersection(&b).cloned().collect()).unwrap_or_default().into_iter().collect();
            if roles.is_empty() {
                return (0, 0);
            }
            let table = learn_context_table(&contexts, &labels, &roles);
            let (mut right, mut counted) = (0usize, 0usize);
            for instance in &heldout {
                let read = contexts_of(&sandbox, &instance.text).await;
                let truth = true_roles(&read, &instance.quantities);
                if !roles.iter().all(|role| truth.contains_key(role)) {
                    continue;
                }
                counted += 1;
                let assigned = assign_roles(&read, &table);
                if roles.iter().all(|role| assigned.get(role).is_some_and(|value| same_number(*value, truth[role]))) {
                    right += 1;
                }
            }
            (right, counted)
        });
        if counted == 0 {
            println!("{family:<45} {:>5} {:>9}", "-", "no roles");
            continue;
        }
        let figure = right as f64 / counted as f64;
        figures.push(figure);
        println!("{family:<45} {figure:>5.2} {counted:>9}");
    }
    let mean = figures.iter().sum::<f64>() / figures.len().max(1) as f64;
    let at_ninety = figures.iter().filter(|figure| **figure >= 0.9).count();
    println!("families={} m={m} all_roles_read={mean:.3} families_at_0.9={at_ninety}", figures.len());
}
