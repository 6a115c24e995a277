//! Checks of `metric` declarations: parameters and the `score` function's signature.

use super::analysis::Checker;
use super::hir::*;
use crate::diagnostics::codes;
use crate::semantic::anchor::SemanticDiagnostic;

pub fn check_metric(checker: &mut Checker, metric: &MetricHir) {
    let mut names: Vec<&Name> = Vec::new();
    for param in &metric.params {
        if let Some(first) = names.iter().find(|name| name.text == param.name.text) {
            let diagnostic = SemanticDiagnostic::new(&codes::DUPLICATE_MEMBER, format!("the parameter `{}` is declared twice", param.name.text), checker.at(param.name.anchor), "declared again")
                .with_secondary(checker.at(first.anchor), "first declared here")
                .with_help("give each parameter its own name");
            checker.report(diagnostic);
        }
        names.push(&param.name);
        let ty = checker.resolve_type(&param.ty);
        if let Some(default) = &param.default {
            checker.check_literal_against(default, &ty, &format!("the default of `{}`", param.name.text));
        }
    }
    let present = checker.check_keys(&metric.properties, &["source", "description"], "a metric");
    checker.require(&present, "source", "a metric", metric.name.anchor, "source = \"\"\"def score(expected, actual): ...\"\"\"");
    if let Some(description) = present.get("description") {
        checker.string_property(description);
    }
    let Some(source_property) = present.get("source") else { return };
    let Some(source) = checker.string_property(source_property) else { return };
    let expected: Vec<String> = ["expected", "actual"].iter().map(|s| s.to_string()).chain(metric.params.iter().map(|p| p.name.text.clone())).collect();
    let anchor = source_property.value.as_value().map(|value| value.anchor).unwrap_or(source_property.anchor);
    match score_parameters(&source.value) {
        None => checker.error(
            &codes::INVALID_METRIC,
            format!("the metric `{}` defines no `score` function", metric.name.text),
            anchor,
            "no `def score(...)` here",
            format!("define `def score({}):` returning a bool or a number in [0, 1]", expected.join(", ")),
        ),
        Some(parameters) if parameters != expected => checker.error(
            &codes::INVALID_METRIC,
            format!("`score` takes ({}), but the metric passes ({})", parameters.join(", "), expected.join(", ")),
            anchor,
            "parameters do not match",
            format!("declare `def score({}):`: the expected value, the output, then the metric's parameters in order", expected.join(", ")),
        ),
        Some(_) => {}
    }
}

/// The parameter names of `def score(...)`, if the source defines it at top level
/// (read by starlark's parser: see `sandbox::signature`).
pub fn score_parameters(source: &str) -> Option<Vec<String>> {
    match crate::sandbox::signature::top_level_function(source, "score") {
        crate::sandbox::signature::FunctionSignature::Defined(parameters) => Some(parameters),
        _ => None,
    }
}
