//! `flowc explain-plan PLAN [NODE]`: what the optimiser compiled and why — per
//! node its move, step, the critique that caused it and the artefact it produced;
//! per workflow the training figures, the teacher's cost and the PAC bound.

use std::path::Path;

use super::plan_loading::read_plan;
use super::Outcome;
use crate::optimize::pac_bound::describe;
use crate::plan::lock_file::{LockedNode, LockedWorkflow};

pub fn run(plan: &Path, node: Option<&str>) -> Outcome {
    let lock = match read_plan(plan) {
        Ok(lock) => lock,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::Failure;
        }
    };
    let mut found = node.is_none();
    for workflow in &lock.workflows {
        if node.is_none() {
            print_workflow(workflow);
        }
        for locked in workflow.nodes.iter().filter(|locked| node.is_none_or(|wanted| wanted == locked.name)) {
            found = true;
            print_node(locked);
        }
    }
    if !found {
        let names: Vec<&str> = lock.workflows.iter().flat_map(|workflow| workflow.nodes.iter().map(|node| node.name.as_str())).collect();
        eprintln!("error: the plan has no node `{}` (it has: {})", node.unwrap_or_default(), names.join(", "));
        return Outcome::UsageError;
    }
    Outcome::Success
}

fn print_workflow(workflow: &LockedWorkflow) {
    println!("workflow `{}`", workflow.name);
    match &workflow.build {
        None => println!("  written by `flowc lock`: the workflow as written, not optimised"),
        Some(build) => {
            println!("  compiled by `flowc build` (optimiser v{}) with teacher {}", build.optimiser_version, build.teacher);
            println!("  metric {}: {}/{n} training examples before, {}/{n} after", build.metric, build.train_passed_before, build.train_passed_after, n = build.train_examples);
            println!("  {} step(s), {} hypotheses, {} teacher call(s), {} teacher token(s); stopped: {}", build.iterations, build.hypotheses_tried, build.teacher_calls, build.teacher_tokens, build.stopped);
            if let (Some(passed), Some(total)) = (build.validation_passed, build.validation_examples) {
                println!("  validation set: {passed}/{total} pass (run on the final plan, never used to choose)");
            }
            println!("  {}", describe(&build.pac, build.train_examples, build.hypotheses_tried));
        }
    }
    println!();
}

fn print_node(node: &LockedNode) {
    let provenance = &node.provenance;
    println!("node `{}` ({})", node.name, node.kind);
    let mut origin = format!("  origin: {}", provenance.origin);
    if let Some(step) = provenance.step {
        origin.push_str(&format!(" at step {step}"));
    }
    if let Some(owner) = &provenance.inserted_for {
        origin.push_str(&format!(", inserted for `{owner}`"));
    }
    println!("{origin}");
    if let Some(critique) = &provenance.critique {
        println!("  why: {}", wrap(critique, "       "));
    }
    if let Some(score) = &provenance.node_score {
        println!("  measured: {score}");
    }
    if let Some(model) = &node.model {
        println!("  model: {model}");
    }
    if let Some(likelihood) = &node.likelihood {
        println!("  likelihood choice: the student reads {} after each class's prompt; the most likely wins", likelihood.reply);
        for class in &likelihood.classes {
            println!("  class `{}`:\n{}\n{}", class.class, indent(&class.system), indent(&class.prompt));
        }
    }
    if let Some(consensus) = &node.consensus {
        println!("  consensus: {} samples at temperature {}, seeds {}.., {} vote", consensus.samples, consensus.temperature, consensus.first_seed, consensus.vote);
    }
    if let Some(system) = &node.system {
        println!("  system prompt:\n{}", indent(system));
    }
    if let Some(prompt) = &node.prompt {
        println!("  prompt template:\n{}", indent(prompt));
    }
    if let Some(code) = &node.code {
        let arguments: Vec<String> = node.code_inputs.iter().map(|(argument, from)| format!("{argument} = {from}")).collect();
        println!("  code (arguments: {}):\n{}", arguments.join(", "), indent(code));
    }
    println!();
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    │ {line}")).collect::<Vec<_>>().join("\n")
}

fn wrap(text: &str, continuation: &str) -> String {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if line.len() + word.len() > 90 && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.join(&format!("\n{continuation}"))
}
