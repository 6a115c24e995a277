//! The registry of diagnostic codes: the only place a code is defined.
//!
//! Each code has a stable id (`E0101`), a kebab-case name, a default severity, a
//! one-line summary and a long explanation (a Markdown file beside this one, shown by
//! `flowc explain`). Tests check that ids are unique and every explanation is real.

use super::diagnostic::Severity;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DiagnosticCode {
    /// `E0101` or `W0301`; printed as `flow::E0101`.
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub explanation: &'static str,
}

impl DiagnosticCode {
    /// The code as printed to users: `flow::E0101`.
    pub fn qualified(&self) -> String {
        format!("flow::{}", self.id)
    }
}

macro_rules! diagnostic_codes {
    ($( $constant:ident = $id:literal, $name:literal, $severity:ident, $summary:literal; )*) => {
        $(
            pub static $constant: DiagnosticCode = DiagnosticCode {
                id: $id,
                name: $name,
                severity: Severity::$severity,
                summary: $summary,
                explanation: include_str!(concat!("explanations/", $id, ".md")),
            };
        )*
        /// Every code, in id order.
        pub static ALL_CODES: &[&DiagnosticCode] = &[$(&$constant),*];
    };
}

diagnostic_codes! {
    // Syntax: the text could not be read as a `.flow` file.
    SYNTAX_ERROR = "E0001", "syntax-error", Error, "the parser could not read this part of the file";
    UNTERMINATED_STRING = "E0002", "unterminated-string", Error, "a string is never closed";
    INVALID_ESCAPE = "E0003", "invalid-escape", Error, "unknown escape sequence in a string";
    MALFORMED_TEMPLATE = "E0004", "malformed-template", Error, "a `{…}` reference in a template is not well formed";
    INVALID_NUMBER = "E0005", "invalid-number", Error, "a number literal cannot be represented";

    // Names.
    UNKNOWN_NAME = "E0101", "unknown-name", Error, "a reference names no input or node of the workflow";
    DUPLICATE_ITEM = "E0102", "duplicate-item", Error, "two top-level declarations share a name";
    DUPLICATE_MEMBER = "E0103", "duplicate-member", Error, "two nodes, inputs, outputs, parameters or fields share a name";
    UNKNOWN_FIELD = "E0104", "unknown-field", Error, "a reference names a field the node does not output";
    UNKNOWN_MODEL = "E0105", "unknown-model", Error, "no model of this name is declared or imported";
    UNKNOWN_DATASET = "E0106", "unknown-dataset", Error, "no dataset of this name is declared or imported";
    UNKNOWN_METRIC = "E0107", "unknown-metric", Error, "no metric of this name is declared or imported";
    UNKNOWN_WORKFLOW = "E0108", "unknown-workflow", Error, "no workflow of this name is declared";
    WRONG_ITEM_KIND = "E0109", "wrong-item-kind", Error, "a name refers to a declaration of another kind";

    // Imports.
    IMPORT_NOT_FOUND = "E0201", "import-not-found", Error, "the imported file or standard module does not exist";
    IMPORTED_NAME_NOT_FOUND = "E0202", "imported-name-not-found", Error, "the imported module does not declare this name";
    INVALID_IMPORT_PATH = "E0203", "invalid-import-path", Error, "an import path has a form flowc does not accept";

    // Types and the workflow graph.
    TYPE_MISMATCH = "E0301", "type-mismatch", Error, "a value flows into a place that expects another type";
    CYCLE = "E0302", "cycle", Error, "the nodes of a workflow depend on each other in a cycle";
    UNBOUND_OUTPUT = "E0303", "unbound-output", Error, "a workflow output is never bound";
    UNKNOWN_OUTPUT = "E0304", "unknown-output", Error, "a binding names an output the workflow does not declare";
    DUPLICATE_BINDING = "E0305", "duplicate-binding", Error, "a workflow output is bound twice";
    UNKNOWN_TYPE = "E0306", "unknown-type", Error, "a type name is not one of text, number, int, bool";
    INVALID_TYPE = "E0307", "invalid-type", Error, "a json or enum type is empty or repeats itself";
    UNUSED_NODE = "W0301", "unused-node", Warning, "a node's output never reaches a workflow output";
    UNUSED_INPUT = "W0302", "unused-input", Warning, "a workflow input is never used";

    // Nodes and property blocks.
    UNKNOWN_NODE_KIND = "E0401", "unknown-node-kind", Error, "a node kind is not llm, code or consensus";
    UNKNOWN_PROPERTY = "E0402", "unknown-property", Error, "a block has a property its kind does not accept";
    MISSING_PROPERTY = "E0403", "missing-property", Error, "a required property is missing";
    INVALID_PROPERTY_VALUE = "E0404", "invalid-property-value", Error, "a property has a value of the wrong form";
    DUPLICATE_PROPERTY = "E0405", "duplicate-property", Error, "a property is set twice in one block";
    INVALID_KIND_ARGUMENTS = "E0406", "invalid-kind-arguments", Error, "a node kind is given the wrong arguments";

    // Models.
    UNKNOWN_BACKEND = "E0501", "unknown-backend", Error, "a model backend is not gguf, openai or anthropic";
    INVALID_DECODING_PARAMETER = "E0502", "invalid-decoding-parameter", Error, "a decoding parameter is out of range";
    LITERAL_SECRET = "E0503", "literal-secret", Error, "a secret is written in the file instead of read from the environment";

    // Datasets.
    UNKNOWN_DATASET_FORMAT = "E0601", "unknown-dataset-format", Error, "a dataset format is not jsonl";
    DATASET_FILE_NOT_FOUND = "E0602", "dataset-file-not-found", Error, "a dataset file does not exist";
    DATASET_MISMATCH = "E0603", "dataset-mismatch", Error, "a dataset does not provide what the workflow needs";

    // Optimize blocks.
    UNKNOWN_MOVE = "E0701", "unknown-move", Error, "a move is not prompt, offload, consensus or topology";
    INVALID_BUDGET = "E0702", "invalid-budget", Error, "a budget limit is not a positive whole number";
    INVALID_METRIC_ARGUMENTS = "E0703", "invalid-metric-arguments", Error, "a metric is called with arguments it does not take";
    DUPLICATE_OPTIMIZE = "E0704", "duplicate-optimize", Error, "a workflow has two optimize blocks";
    INVALID_OPTIMIZE_SETTING = "E0705", "invalid-optimize-setting", Error, "an optimize setting is out of range";

    // Metrics.
    INVALID_METRIC = "E0801", "invalid-metric", Error, "a metric declaration cannot be scored";
}

/// Look a code up by `E0101`, `flow::E0101`, `e0101` or its name (`unknown-name`).
pub fn find_code(query: &str) -> Option<&'static DiagnosticCode> {
    let query = query.trim();
    let id = query.strip_prefix("flow::").unwrap_or(query);
    ALL_CODES
        .iter()
        .copied()
        .find(|code| code.id.eq_ignore_ascii_case(id) || code.name.eq_ignore_ascii_case(id))
}
