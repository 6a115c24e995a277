//! Per-item analysis: the checks of one declaration, against the file's scope.
//!
//! Runs inside the `analyze_item` query, so it must be span-free: every diagnostic
//! points at anchors, and the result holds nothing that changes when text moves.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::anchor::{AnchorRef, SemanticDiagnostic};
use super::check_dataset::check_dataset;
use super::check_metric::check_metric;
use super::check_model::check_model;
use super::check_optimize::check_optimize;
use super::check_workflow::check_workflow;
use super::database::{file_scope, item_hir, Db, ItemId, SourceFile};
use super::hir::*;
use super::scope::{FileScope, ItemRef};
use super::suggest::did_you_mean;
use super::types::{resolve_type, Type, TypeProblem, TYPE_NAMES};
use super::workflow_graph::WorkflowGraph;
use crate::diagnostics::{codes, DiagnosticCode};
use crate::stdlib;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemAnalysis {
    pub diagnostics: Vec<SemanticDiagnostic>,
    /// The typed DAG, for workflows.
    pub graph: Option<Arc<WorkflowGraph>>,
}

pub fn analyze(db: &dyn Db, file: SourceFile, key: &str) -> ItemAnalysis {
    let item = ItemId::new(db, file, key.to_string());
    let Some(hir) = item_hir(db, item) else {
        return ItemAnalysis::default();
    };
    let mut checker = Checker::new(db, file, key);
    let graph = match &*hir {
        ItemHir::Import(_) => None,
        ItemHir::Model(model) => {
            check_model(&mut checker, model);
            None
        }
        ItemHir::Dataset(dataset) => {
            check_dataset(&mut checker, dataset);
            None
        }
        ItemHir::Metric(metric) => {
            check_metric(&mut checker, metric);
            None
        }
        ItemHir::Workflow(workflow) => Some(Arc::new(check_workflow(&mut checker, item, workflow))),
        ItemHir::Optimize(optimize) => {
            check_optimize(&mut checker, optimize);
            None
        }
    };
    ItemAnalysis { diagnostics: checker.diagnostics, graph }
}

/// What every check needs: where it is, what names it sees, where to report.
pub struct Checker<'db> {
    pub db: &'db dyn Db,
    pub file: SourceFile,
    pub key: String,
    pub scope: &'db FileScope,
    pub diagnostics: Vec<SemanticDiagnostic>,
}

impl<'db> Checker<'db> {
    pub fn new(db: &'db dyn Db, file: SourceFile, key: &str) -> Checker<'db> {
        Checker { db, file, key: key.to_string(), scope: file_scope(db, file), diagnostics: Vec::new() }
    }

    pub fn at(&self, anchor: AnchorId) -> AnchorRef {
        AnchorRef { file: self.file, item: self.key.clone(), anchor }
    }

    pub fn report(&mut self, diagnostic: SemanticDiagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn error(&mut self, code: &'static DiagnosticCode, message: impl Into<String>, anchor: AnchorId, label: impl Into<String>, help: impl Into<String>) {
        let diagnostic = SemanticDiagnostic::new(code, message, self.at(anchor), label).with_help(help);
        self.report(diagnostic);
    }

    pub fn item_hir(&self, item: &ItemRef) -> Option<Arc<ItemHir>> {
        item_hir(self.db, ItemId::new(self.db, item.file, item.key.clone()))
    }

    /// Resolve `name` as a declaration of `kind`, reporting unknown names (with a
    /// suggestion) and names of the wrong kind (pointing at what they are).
    pub fn resolve_item(&mut self, name: &Name, kind: ItemKind) -> Option<(ItemRef, Arc<ItemHir>)> {
        match self.scope.entries.get(&name.text) {
            Some(item) if item.kind == kind => {
                let item = item.clone();
                self.item_hir(&item).map(|hir| (item, hir))
            }
            Some(item) => {
                let item = item.clone();
                let mut diagnostic = SemanticDiagnostic::new(
                    &codes::WRONG_ITEM_KIND,
                    format!("`{}` is {}, not {}", name.text, item.kind.describe(), kind.describe()),
                    self.at(name.anchor),
                    format!("expected {}", kind.describe()),
                )
                .with_help(match did_you_mean(&name.text, self.scope.names_of_kind(kind), &plural(kind)) {
                    Some(help) => help,
                    None => format!("use the name of {} here", kind.describe()),
                });
                if let Some(hir) = self.item_hir(&item) {
                    diagnostic = diagnostic.with_secondary(
                        AnchorRef { file: item.file, item: item.key.clone(), anchor: hir.name_anchor() },
                        format!("`{}` is declared here as {}", name.text, item.kind.describe()),
                    );
                }
                self.report(diagnostic);
                None
            }
            None if self.scope.failed_imports.contains(&name.text) => None,
            None => {
                let code = match kind {
                    ItemKind::Model => &codes::UNKNOWN_MODEL,
                    ItemKind::Dataset => &codes::UNKNOWN_DATASET,
                    ItemKind::Metric => &codes::UNKNOWN_METRIC,
                    _ => &codes::UNKNOWN_WORKFLOW,
                };
                let help = did_you_mean(&name.text, self.scope.names_of_kind(kind), &plural(kind))
                    .or_else(|| standard_import_hint(&name.text, kind))
                    .unwrap_or_else(|| format!("declare it in this file or import it; see `flowc explain {}`", code.id));
                let what = kind.describe().trim_start_matches("an ").trim_start_matches("a ").to_string();
                self.error(code, format!("unknown {what} `{}`", name.text), name.anchor, format!("no {what} of this name"), help);
                None
            }
        }
    }

    /// Report each property key that is not in `known`, and repeated keys. Returns the
    /// first occurrence of each key.
    pub fn check_keys<'h>(&mut self, properties: &'h PropertiesHir, known: &[&str], owner: &str) -> BTreeMap<&'h str, &'h PropertyHir> {
        let mut seen: BTreeMap<&'h str, &'h PropertyHir> = BTreeMap::new();
        for property in &properties.entries {
            let key = property.key.text.as_str();
            if let Some(first) = seen.get(key) {
                let diagnostic = SemanticDiagnostic::new(
                    &codes::DUPLICATE_PROPERTY,
                    format!("`{key}` is set twice"),
                    self.at(property.key.anchor),
                    "set again here",
                )
                .with_secondary(self.at(first.key.anchor), "first set here")
                .with_help("remove one of them");
                self.report(diagnostic);
                continue;
            }
            if !known.contains(&key) {
                let help = did_you_mean(key, known.iter().copied(), "properties")
                    .unwrap_or_else(|| format!("{owner} accepts {}", list_names(known)));
                self.error(&codes::UNKNOWN_PROPERTY, format!("{owner} has no property `{key}`"), property.key.anchor, "unknown property", help);
                continue;
            }
            seen.insert(key, property);
        }
        seen
    }

    pub fn require(&mut self, present: &BTreeMap<&str, &PropertyHir>, key: &str, owner: &str, anchor: AnchorId, example: &str) {
        if !present.contains_key(key) {
            self.error(
                &codes::MISSING_PROPERTY,
                format!("{owner} needs `{key}`"),
                anchor,
                format!("`{key}` is missing"),
                format!("add it, for example `{example}`"),
            );
        }
    }

    pub fn wrong_form(&mut self, property: &PropertyHir, expected: &str, help: impl Into<String>) {
        let found = match &property.value {
            PropertyValueHir::Type(_) => "a type",
            PropertyValueHir::Typed { .. } => "a typed value",
            PropertyValueHir::Block(_) => "a block",
            PropertyValueHir::Value(value) => value.kind.describe(),
        };
        let anchor = match &property.value {
            PropertyValueHir::Value(value) | PropertyValueHir::Typed { value, .. } => value.anchor,
            PropertyValueHir::Type(ty) => ty.anchor,
            PropertyValueHir::Block(block) => block.anchor,
        };
        self.error(
            &codes::INVALID_PROPERTY_VALUE,
            format!("`{}` expects {expected}, found {found}", property.key.text),
            anchor,
            format!("expected {expected}"),
            help,
        );
    }

    pub fn string_property<'h>(&mut self, property: &'h PropertyHir) -> Option<&'h StringHir> {
        match property.value.as_value().map(|value| &value.kind) {
            Some(ValueKindHir::String(string)) if matches!(property.value, PropertyValueHir::Value(_)) => Some(string),
            _ => {
                self.wrong_form(property, "a string", format!("write `{} = \"...\"`", property.key.text));
                None
            }
        }
    }

    pub fn number_property(&mut self, property: &PropertyHir) -> Option<(f64, bool)> {
        match property.value.as_value().map(|value| &value.kind) {
            Some(ValueKindHir::Number(number)) if matches!(property.value, PropertyValueHir::Value(_)) => {
                number.as_f64().map(|value| (value, number.is_integer()))
            }
            _ => {
                self.wrong_form(property, "a number", format!("write `{} = 0.5`", property.key.text));
                None
            }
        }
    }

    pub fn type_property<'h>(&mut self, property: &'h PropertyHir) -> Option<&'h TypeHir> {
        match &property.value {
            PropertyValueHir::Type(ty) => Some(ty),
            _ => {
                self.wrong_form(property, "a type", "write a type such as `text`, `number`, `[int]` or `json { answer: number }`");
                None
            }
        }
    }

    /// Resolve a written type, reporting unknown names and malformed json/enum types.
    pub fn resolve_type(&mut self, ty: &TypeHir) -> Type {
        let mut problems = Vec::new();
        let resolved = resolve_type(ty, &mut problems);
        for problem in problems {
            match problem {
                TypeProblem::UnknownName { name, anchor } => {
                    let help = did_you_mean(&name, TYPE_NAMES, "types").unwrap_or_else(|| {
                        "the types are text, number, int, bool, [T], json { field: T } and enum(\"a\", \"b\")".into()
                    });
                    self.error(&codes::UNKNOWN_TYPE, format!("unknown type `{name}`"), anchor, "not a type", help);
                }
                TypeProblem::EmptyJson { anchor } => self.error(
                    &codes::INVALID_TYPE,
                    "a json type needs at least one field",
                    anchor,
                    "no fields",
                    "list the fields: `json { answer: number }`",
                ),
                TypeProblem::EmptyEnum { anchor } => self.error(
                    &codes::INVALID_TYPE,
                    "an enum type needs at least one value",
                    anchor,
                    "no values",
                    "list the values: `enum(\"yes\", \"no\")`",
                ),
                TypeProblem::DuplicateField { name, anchor, first } => {
                    let diagnostic = SemanticDiagnostic::new(&codes::INVALID_TYPE, format!("the field `{name}` appears twice"), self.at(anchor), "repeated field")
                        .with_secondary(self.at(first), "first here")
                        .with_help("give each field its own name");
                    self.report(diagnostic);
                }
                TypeProblem::DuplicateVariant { name, anchor, first } => {
                    let diagnostic = SemanticDiagnostic::new(&codes::INVALID_TYPE, format!("the value \"{name}\" appears twice"), self.at(anchor), "repeated value")
                        .with_secondary(self.at(first), "first here")
                        .with_help("list each enum value once");
                    self.report(diagnostic);
                }
            }
        }
        resolved
    }

    /// The type of a literal value, if it has one (`None` for names, calls, ...).
    pub fn literal_type(&self, value: &ValueHir) -> Option<Type> {
        literal_type(value)
    }

    /// Check a literal default or argument against the type it must have.
    pub fn check_literal_against(&mut self, value: &ValueHir, expected: &Type, what: &str) {
        let Some(found) = literal_type(value) else {
            self.error(
                &codes::INVALID_PROPERTY_VALUE,
                format!("{what} must be a literal value"),
                value.anchor,
                format!("found {}", value.kind.describe()),
                "write a string, number, boolean or list here",
            );
            return;
        };
        let matches_enum = match (expected, &value.kind) {
            (Type::Enum(variants), ValueKindHir::String(string)) => variants.contains(&string.value),
            _ => false,
        };
        if !matches_enum && !found.is_assignable_to(expected) {
            self.error(
                &codes::TYPE_MISMATCH,
                format!("{what} has type `{found}`, but `{expected}` is expected"),
                value.anchor,
                format!("this is `{found}`"),
                format!("give a value of type `{expected}`"),
            );
        }
    }
}

pub fn literal_type(value: &ValueHir) -> Option<Type> {
    Some(match &value.kind {
        ValueKindHir::String(_) => Type::Text,
        ValueKindHir::Number(number) if number.is_integer() => Type::Int,
        ValueKindHir::Number(_) => Type::Number,
        ValueKindHir::Bool(_) => Type::Bool,
        ValueKindHir::List(values) => {
            let element = values.iter().filter_map(literal_type).fold(None::<Type>, |acc, ty| match acc {
                None => Some(ty),
                Some(Type::Int) if ty == Type::Number => Some(Type::Number),
                Some(acc) => Some(acc),
            });
            Type::List(Box::new(element.unwrap_or(Type::Error)))
        }
        _ => return None,
    })
}

fn plural(kind: ItemKind) -> String {
    format!("{}s", kind.describe().trim_start_matches("an ").trim_start_matches("a "))
}

pub fn list_names(names: &[&str]) -> String {
    names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
}

/// "import it from std/metrics" when a standard module declares the name.
fn standard_import_hint(name: &str, kind: ItemKind) -> Option<String> {
    if kind != ItemKind::Metric {
        return None;
    }
    stdlib::STANDARD_MODULES.iter().find_map(|(module, text)| {
        text.contains(&format!("metric {name}(")).then(|| format!("import it: `import \"std/{module}\" {{ {name} }}`"))
    })
}
