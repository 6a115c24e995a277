//! The parameters of a top-level function of sandbox code, read by starlark's own
//! parser (the same dialect the sandbox runs), so the checker agrees with the
//! interpreter about what the code defines: a `def run(` inside a string, a comment
//! or a nested block is not a definition, and a definition split over several lines
//! still is.

use starlark::syntax::ast::{ParameterP, StmtP};
use starlark::syntax::AstModule;

use super::interpreter::sandbox_dialect;

/// What the source says about `function`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FunctionSignature {
    /// Defined at top level with these parameter names, in order (`*args` and
    /// `**kwargs` by their names; the `*` and `/` markers are left out).
    Defined(Vec<String>),
    /// The source parses but defines no such top-level function.
    Missing,
    /// The source does not parse: the parser's message (the sandbox reports the
    /// same error when the code runs).
    Unparseable(String),
}

pub fn top_level_function(source: &str, function: &str) -> FunctionSignature {
    let module = match AstModule::parse("code", source.to_owned(), &sandbox_dialect()) {
        Ok(module) => module,
        Err(error) => return FunctionSignature::Unparseable(error.to_string().lines().next().unwrap_or_default().to_string()),
    };
    let statements: Vec<&StmtP<_>> = match &module.statement().node {
        StmtP::Statements(statements) => statements.iter().map(|statement| &statement.node).collect(),
        single => vec![single],
    };
    for statement in statements {
        if let StmtP::Def(definition) = statement {
            if definition.name.node.ident == function {
                let parameters = definition
                    .params
                    .iter()
                    .filter_map(|parameter| match &parameter.node {
                        ParameterP::Normal(name, _, _) | ParameterP::Args(name, _) | ParameterP::KwArgs(name, _) => Some(name.node.ident.clone()),
                        ParameterP::NoArgs | ParameterP::Slash => None,
                    })
                    .collect();
                return FunctionSignature::Defined(parameters);
            }
        }
    }
    FunctionSignature::Missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_parameters_with_types_defaults_and_line_breaks() {
        let source = "RATE = 2\n\ndef run(\n    numbers: list,\n    factor = 2,\n):\n    return numbers\n";
        assert_eq!(top_level_function(source, "run"), FunctionSignature::Defined(vec!["numbers".into(), "factor".into()]));
    }

    #[test]
    fn a_definition_in_a_string_or_nested_is_not_one() {
        let source = "TEXT = \"\"\"\ndef run(x):\n\"\"\"\n\ndef outer():\n    def run(y):\n        return y\n    return run\n";
        assert_eq!(top_level_function(source, "run"), FunctionSignature::Missing);
    }

    #[test]
    fn syntax_errors_are_reported_not_guessed_around() {
        assert!(matches!(top_level_function("def run(x:\n", "run"), FunctionSignature::Unparseable(_)));
    }
}
