//! Checks of `optimize` blocks: what to optimise, with which teacher, data, metric,
//! moves and budget.

use super::analysis::{list_names, Checker};
use super::anchor::{AnchorRef, SemanticDiagnostic};
use super::check_dataset::dataset_mapped_names;
use super::hir::*;
use super::suggest::did_you_mean;
use super::types::Type;
use crate::diagnostics::codes;

pub const OPTIMIZE_SETTINGS: [&str; 8] = ["teacher", "train", "validation", "metric", "moves", "budget", "delta", "target_epsilon"];
pub const MOVES: [&str; 4] = ["prompt", "offload", "consensus", "topology"];
pub const BUDGET_LIMITS: [&str; 3] = ["iterations", "teacher_calls", "tokens"];

pub fn check_optimize(checker: &mut Checker, optimize: &OptimizeHir) {
    if let Some((first_key, _)) = checker.key.split_once('#') {
        let first_key = first_key.to_string();
        let mut diagnostic = SemanticDiagnostic::new(
            &codes::DUPLICATE_OPTIMIZE,
            format!("`{}` is optimised twice", optimize.target.text),
            checker.at(optimize.target.anchor),
            "second optimize block",
        )
        .with_help("merge the two blocks: a workflow compiles to one plan");
        let first_item = super::scope::ItemRef { file: checker.file, key: first_key.clone(), kind: ItemKind::Optimize };
        if let Some(hir) = checker.item_hir(&first_item) {
            diagnostic = diagnostic.with_secondary(AnchorRef { file: checker.file, item: first_key, anchor: hir.name_anchor() }, "first optimize block");
        }
        checker.report(diagnostic);
    }

    let workflow = checker.resolve_item(&optimize.target, ItemKind::Workflow).and_then(|(_, hir)| match &*hir {
        ItemHir::Workflow(workflow) => Some(workflow.clone()),
        _ => None,
    });
    let present = checker.check_keys(&optimize.properties, &OPTIMIZE_SETTINGS, "an optimize block");
    let owner_anchor = optimize.target.anchor;
    checker.require(&present, "teacher", "an optimize block", owner_anchor, "teacher = teacher_model");
    checker.require(&present, "train", "an optimize block", owner_anchor, "train = train_set");
    checker.require(&present, "metric", "an optimize block", owner_anchor, "metric = exact_match");

    for (key, property) in &present {
        match *key {
            "teacher" => {
                if let Some(name) = single_name(checker, property) {
                    checker.resolve_item(&name, ItemKind::Model);
                }
            }
            "train" | "validation" => {
                let Some(name) = single_name(checker, property) else { continue };
                let Some((_, hir)) = checker.resolve_item(&name, ItemKind::Dataset) else { continue };
                if let (ItemHir::Dataset(dataset), Some(workflow)) = (&*hir, &workflow) {
                    check_dataset_covers_workflow(checker, &name, dataset, workflow);
                }
            }
            "metric" => check_metric_use(checker, property),
            "moves" => check_moves(checker, property),
            "budget" => check_budget(checker, property),
            "delta" | "target_epsilon" => {
                if let Some((value, _)) = checker.number_property(property) {
                    if !(value > 0.0 && value < 1.0) {
                        let anchor = property.value.as_value().map(|value| value.anchor).unwrap_or(property.anchor);
                        checker.error(
                            &codes::INVALID_OPTIMIZE_SETTING,
                            format!("`{key}` must lie strictly between 0 and 1"),
                            anchor,
                            "out of range",
                            if *key == "delta" { "`delta = 0.05` asks for a bound that holds with 95% confidence" } else { "`target_epsilon = 0.1` asks how many examples a 10% error bound needs" },
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

fn single_name(checker: &mut Checker, property: &PropertyHir) -> Option<Name> {
    match property.value.as_value().map(|value| &value.kind) {
        Some(ValueKindHir::Path(path)) if path.segments.len() == 1 => Some(path.segments[0].clone()),
        _ => {
            checker.wrong_form(property, "a name", format!("write `{} = name`", property.key.text));
            None
        }
    }
}

fn check_dataset_covers_workflow(checker: &mut Checker, name: &Name, dataset: &SourcedItemHir, workflow: &WorkflowHir) {
    let mapped = dataset_mapped_names(dataset);
    let missing: Vec<&str> = workflow
        .inputs
        .iter()
        .chain(&workflow.outputs)
        .map(|param| param.name.text.as_str())
        .filter(|needed| !mapped.contains(needed))
        .collect();
    if missing.is_empty() {
        return;
    }
    checker.error(
        &codes::DATASET_MISMATCH,
        format!("the dataset `{}` does not provide {} for `{}`", name.text, list_names(&missing), workflow.name.text),
        name.anchor,
        format!("does not map {}", list_names(&missing)),
        format!("map each workflow input and output to a field of the records, e.g. `{} = .{}`", missing[0], missing[0]),
    );
}

fn check_metric_use(checker: &mut Checker, property: &PropertyHir) {
    let (name, arguments): (Name, &[ArgumentHir]) = match property.value.as_value().map(|value| &value.kind) {
        Some(ValueKindHir::Path(path)) if path.segments.len() == 1 => (path.segments[0].clone(), &[]),
        Some(ValueKindHir::Call(call)) => (call.callee.clone(), &call.arguments),
        _ => {
            checker.wrong_form(property, "a metric", "write `metric = exact_match` or `metric = numeric_match(rel_tol = 1e-6)`");
            return;
        }
    };
    let Some((_, hir)) = checker.resolve_item(&name, ItemKind::Metric) else { return };
    let ItemHir::Metric(metric) = &*hir else { return };
    let parameter_names: Vec<&str> = metric.params.iter().map(|param| param.name.text.as_str()).collect();
    let mut given: Vec<&str> = Vec::new();
    for argument in arguments {
        let Some(argument_name) = &argument.name else {
            checker.error(
                &codes::INVALID_METRIC_ARGUMENTS,
                "metric arguments are passed by name",
                argument.value.anchor,
                "unnamed argument",
                match parameter_names.first() {
                    Some(first) => format!("write `{}({first} = ...)`", name.text),
                    None => format!("`{}` takes no arguments", name.text),
                },
            );
            continue;
        };
        let Some(param) = metric.params.iter().find(|param| param.name.text == argument_name.text) else {
            let help = did_you_mean(&argument_name.text, parameter_names.iter().copied(), "parameters")
                .unwrap_or_else(|| if parameter_names.is_empty() { format!("`{}` takes no arguments", name.text) } else { format!("`{}` takes {}", name.text, list_names(&parameter_names)) });
            checker.error(&codes::INVALID_METRIC_ARGUMENTS, format!("`{}` has no parameter `{}`", name.text, argument_name.text), argument_name.anchor, "unknown parameter", help);
            continue;
        };
        given.push(&param.name.text);
        let mut problems = Vec::new();
        let ty = super::types::resolve_type(&param.ty, &mut problems);
        if ty != Type::Error {
            checker.check_literal_against(&argument.value, &ty, &format!("the argument `{}`", argument_name.text));
        }
    }
    let missing: Vec<&str> = metric.params.iter().filter(|param| param.default.is_none() && !given.contains(&param.name.text.as_str())).map(|param| param.name.text.as_str()).collect();
    if !missing.is_empty() {
        checker.error(
            &codes::INVALID_METRIC_ARGUMENTS,
            format!("`{}` needs {}", name.text, list_names(&missing)),
            name.anchor,
            "missing arguments",
            format!("write `{}({} = ...)`", name.text, missing[0]),
        );
    }
}

fn check_moves(checker: &mut Checker, property: &PropertyHir) {
    let Some(ValueKindHir::List(values)) = property.value.as_value().map(|value| &value.kind) else {
        checker.wrong_form(property, "a list of moves", "write `moves = [prompt, offload, consensus, topology]`");
        return;
    };
    for value in values {
        match &value.kind {
            ValueKindHir::Path(path) if path.segments.len() == 1 && MOVES.contains(&path.segments[0].text.as_str()) => {}
            _ => {
                let written = match &value.kind {
                    ValueKindHir::Path(path) => path.dotted(),
                    other => other.describe().to_string(),
                };
                let help = did_you_mean(&written, MOVES, "moves").unwrap_or_else(|| format!("the moves are {}", list_names(&MOVES)));
                checker.error(&codes::UNKNOWN_MOVE, format!("`{written}` is not a move"), value.anchor, "unknown move", help);
            }
        }
    }
}

fn check_budget(checker: &mut Checker, property: &PropertyHir) {
    let block = match &property.value {
        PropertyValueHir::Block(block) => block,
        PropertyValueHir::Value(ValueHir { kind: ValueKindHir::Object(block), .. }) => block,
        _ => {
            checker.wrong_form(property, "a block", "write `budget { iterations = 5, teacher_calls = 60 }`");
            return;
        }
    };
    let present = checker.check_keys(block, &BUDGET_LIMITS, "a budget");
    for property in present.values() {
        let Some((value, is_integer)) = checker.number_property(property) else { continue };
        if !is_integer || value < 1.0 {
            let anchor = property.value.as_value().map(|value| value.anchor).unwrap_or(property.anchor);
            checker.error(
                &codes::INVALID_BUDGET,
                format!("`{}` must be a whole number ≥ 1", property.key.text),
                anchor,
                "not a positive whole number",
                "budgets count calls, iterations and tokens; leave a limit out to use the default",
            );
        }
    }
}
