//! Every name written in one file, with its span and what it refers to: what
//! hover, go-to-definition, references, rename, highlighting and completion read.
//!
//! Built from the syntax tree (spans) and the file's scope (what an imported name
//! refers to), both salsa queries of the snapshot, so it is always of the text the
//! request was made against.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::semantic::database::{file_scope, normalize_path, parse_file, Db, SourceFile};
use crate::semantic::hir::ItemKind;
use crate::semantic::scope::FileScope;
use crate::stdlib;
use crate::syntax::ast::*;
use crate::syntax::span::Span;
use crate::syntax::template::{parse_template, TemplatePart};

/// What a name refers to, independent of where it is written.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Symbol {
    /// A top-level declaration, by the file that declares it.
    Item { file: PathBuf, name: String, kind: ItemKind },
    Node { file: PathBuf, workflow: String, name: String },
    WorkflowInput { file: PathBuf, workflow: String, name: String },
    WorkflowOutput { file: PathBuf, workflow: String, name: String },
}

impl Symbol {
    pub fn name(&self) -> &str {
        match self {
            Symbol::Item { name, .. }
            | Symbol::Node { name, .. }
            | Symbol::WorkflowInput { name, .. }
            | Symbol::WorkflowOutput { name, .. } => name,
        }
    }

    pub fn file(&self) -> &Path {
        match self {
            Symbol::Item { file, .. }
            | Symbol::Node { file, .. }
            | Symbol::WorkflowInput { file, .. }
            | Symbol::WorkflowOutput { file, .. } => file,
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Symbol::Item { kind, .. } => kind.describe(),
            Symbol::Node { .. } => "a node",
            Symbol::WorkflowInput { .. } => "a workflow input",
            Symbol::WorkflowOutput { .. } => "a workflow output",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub span: Span,
    pub symbol: Symbol,
    pub is_definition: bool,
    /// Written inside a prompt template (`{extract.field}`).
    pub in_template: bool,
}

/// What a piece of text is, for highlighting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LexicalClass {
    Keyword,
    String,
    Number,
    Comment,
    Type,
    Function,
    Property,
    EnumMember,
    Parameter,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportLink {
    /// The string literal of the path.
    pub path_span: Span,
    pub target: PathBuf,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileIndex {
    pub occurrences: Vec<Occurrence>,
    /// Everything else worth a colour, including the strings that templates split.
    pub lexical: Vec<(Span, LexicalClass)>,
    pub imports: Vec<ImportLink>,
}

impl FileIndex {
    /// The name at `offset` (a cursor just after a name still counts).
    pub fn occurrence_at(&self, offset: usize) -> Option<&Occurrence> {
        self.occurrences
            .iter()
            .filter(|occurrence| occurrence.span.start <= offset && offset <= occurrence.span.end)
            .min_by_key(|occurrence| occurrence.span.len())
    }

    pub fn import_at(&self, offset: usize) -> Option<&ImportLink> {
        self.imports.iter().find(|link| link.path_span.start <= offset && offset <= link.path_span.end)
    }

    pub fn definition_of(&self, symbol: &Symbol) -> Option<&Occurrence> {
        self.occurrences.iter().find(|occurrence| occurrence.is_definition && occurrence.symbol == *symbol)
    }

    pub fn occurrences_of<'a>(&'a self, symbol: &'a Symbol) -> impl Iterator<Item = &'a Occurrence> + 'a {
        self.occurrences.iter().filter(move |occurrence| occurrence.symbol == *symbol)
    }
}

/// The file an import path names, as the scope resolves it.
pub fn import_target(importing_file: &Path, path: &str) -> PathBuf {
    match path.strip_prefix("std/") {
        Some(module) => stdlib::standard_module_path(module),
        None => normalize_path(&importing_file.parent().unwrap_or(Path::new("")).join(path)),
    }
}

/// The index of a file, once per revision of the database: every request of a
/// snapshot (hover, completion, highlighting...) shares it. It holds spans, like the
/// syntax tree it is built from, so it re-runs on every edit of its file (and of the
/// files whose scope it reads); the span-free analyses below it do not.
#[salsa::tracked(returns(ref))]
pub fn file_index(db: &dyn Db, file: SourceFile) -> FileIndex {
    index_file(db, file)
}

pub fn index_file(db: &dyn Db, file: SourceFile) -> FileIndex {
    let parsed = parse_file(db, file);
    let mut indexer = Indexer { db, path: file.path(db).clone(), scope: file_scope(db, file), index: FileIndex::default() };
    for comment in &parsed.comments {
        indexer.lexical(comment.span, LexicalClass::Comment);
    }
    for item in &parsed.items {
        indexer.item(item);
    }
    indexer.index.occurrences.sort_by_key(|occurrence| (occurrence.span.start, occurrence.span.end));
    indexer.index.lexical.sort_by_key(|(span, _)| (span.start, span.end));
    indexer.index
}

/// The names a workflow's body can refer to.
struct WorkflowNames {
    workflow: String,
    nodes: BTreeSet<String>,
    inputs: BTreeSet<String>,
}

struct Indexer<'db> {
    db: &'db dyn Db,
    path: PathBuf,
    scope: &'db FileScope,
    index: FileIndex,
}

/// What kind of property block is being walked: templates are read only in nodes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BlockOwner {
    Node,
    Other,
}

impl<'db> Indexer<'db> {
    fn lexical(&mut self, span: Span, class: LexicalClass) {
        if !span.is_empty() {
            self.index.lexical.push((span, class));
        }
    }

    fn occurrence(&mut self, span: Span, symbol: Symbol, is_definition: bool, in_template: bool) {
        self.index.occurrences.push(Occurrence { span, symbol, is_definition, in_template });
    }

    fn keyword_at(&mut self, start: usize, keyword: &str) {
        self.lexical(Span::new(start, start + keyword.len()), LexicalClass::Keyword);
    }

    /// The item a name of this file's scope refers to.
    fn scoped_item(&self, name: &str) -> Option<Symbol> {
        let item = self.scope.entries.get(name)?;
        Some(Symbol::Item { file: item.file.path(self.db).clone(), name: item.key.clone(), kind: item.kind })
    }

    fn declared(&mut self, name: &Ident, kind: ItemKind) {
        let symbol = Symbol::Item { file: self.path.clone(), name: name.text.clone(), kind };
        self.occurrence(name.span, symbol, true, false);
    }

    fn item(&mut self, item: &Item) {
        let start = item.span().start;
        match item {
            Item::Import(import) => {
                self.keyword_at(start, "import");
                self.lexical(import.path.span, LexicalClass::String);
                self.index.imports.push(ImportLink { path_span: import.path.span, target: import_target(&self.path, &import.path.raw) });
                for name in &import.names {
                    if let Some(symbol) = self.scoped_item(&name.text) {
                        self.occurrence(name.span, symbol, false, false);
                    }
                }
            }
            Item::Model(model) => {
                self.keyword_at(start, "model");
                self.declared(&model.name, ItemKind::Model);
                self.call(&model.source, None, BlockOwner::Other);
                if let Some(block) = &model.properties {
                    self.block(block, None, BlockOwner::Other);
                }
            }
            Item::Dataset(dataset) => {
                self.keyword_at(start, "dataset");
                self.declared(&dataset.name, ItemKind::Dataset);
                self.call(&dataset.source, None, BlockOwner::Other);
                if let Some(block) = &dataset.properties {
                    self.block(block, None, BlockOwner::Other);
                }
            }
            Item::Metric(metric) => {
                self.keyword_at(start, "metric");
                self.declared(&metric.name, ItemKind::Metric);
                for param in &metric.params {
                    self.lexical(param.name.span, LexicalClass::Parameter);
                    self.type_expr(&param.ty);
                    if let Some(default) = &param.default {
                        self.value(default, None, false);
                    }
                }
                self.block(&metric.properties, None, BlockOwner::Other);
            }
            Item::Workflow(workflow) => self.workflow(workflow),
            Item::Optimize(optimize) => {
                self.keyword_at(start, "optimize");
                if let Some(symbol) = self.scoped_item(&optimize.target.text) {
                    self.occurrence(optimize.target.span, symbol, false, false);
                }
                self.block(&optimize.properties, None, BlockOwner::Other);
            }
        }
    }

    fn workflow(&mut self, workflow: &WorkflowDecl) {
        self.keyword_at(workflow.span.start, "workflow");
        self.declared(&workflow.name, ItemKind::Workflow);
        let names = WorkflowNames {
            workflow: workflow.name.text.clone(),
            nodes: workflow
                .members
                .iter()
                .filter_map(|member| match member {
                    WorkflowMember::Node(node) => Some(node.name.text.clone()),
                    WorkflowMember::Binding(_) => None,
                })
                .collect(),
            inputs: workflow.inputs.iter().map(|input| input.name.text.clone()).collect(),
        };
        for input in &workflow.inputs {
            let symbol = Symbol::WorkflowInput { file: self.path.clone(), workflow: names.workflow.clone(), name: input.name.text.clone() };
            self.occurrence(input.name.span, symbol, true, false);
            self.type_expr(&input.ty);
            if let Some(default) = &input.default {
                self.value(default, None, false);
            }
        }
        for output in &workflow.outputs {
            let symbol = Symbol::WorkflowOutput { file: self.path.clone(), workflow: names.workflow.clone(), name: output.name.text.clone() };
            self.occurrence(output.name.span, symbol, true, false);
            self.type_expr(&output.ty);
        }
        for member in &workflow.members {
            match member {
                WorkflowMember::Node(node) => {
                    self.keyword_at(node.span.start, "node");
                    let symbol = Symbol::Node { file: self.path.clone(), workflow: names.workflow.clone(), name: node.name.text.clone() };
                    self.occurrence(node.name.span, symbol, true, false);
                    self.lexical(node.kind.span, LexicalClass::Keyword);
                    for argument in node.kind_arguments.iter().flatten() {
                        if let Some(symbol) = self.scoped_item(&argument.text) {
                            self.occurrence(argument.span, symbol, false, false);
                        }
                    }
                    self.block(&node.properties, Some(&names), BlockOwner::Node);
                }
                WorkflowMember::Binding(binding) => {
                    let is_declared_output = workflow.outputs.iter().any(|output| output.name.text == binding.output.text);
                    if is_declared_output {
                        let symbol = Symbol::WorkflowOutput { file: self.path.clone(), workflow: names.workflow.clone(), name: binding.output.text.clone() };
                        self.occurrence(binding.output.span, symbol, false, false);
                    }
                    self.path_expression(&binding.target.segments, Some(&names));
                }
            }
        }
    }

    fn block(&mut self, block: &PropertyBlock, workflow: Option<&WorkflowNames>, owner: BlockOwner) {
        for property in &block.properties {
            self.lexical(property.key.span, LexicalClass::Property);
            let is_template = owner == BlockOwner::Node && matches!(property.key.text.as_str(), "prompt" | "system");
            match &property.value {
                PropertyValue::Type(ty) => self.type_expr(ty),
                PropertyValue::Typed { ty, value } => {
                    self.type_expr(ty);
                    self.value(value, workflow, false);
                }
                // Nested blocks (`inputs { ... }`, `budget { ... }`) keep the workflow's names.
                PropertyValue::Block(inner) => self.block(inner, workflow, BlockOwner::Other),
                PropertyValue::Value(value) => self.value(value, workflow, is_template),
            }
        }
    }

    fn call(&mut self, call: &Call, workflow: Option<&WorkflowNames>, _owner: BlockOwner) {
        match self.scoped_item(&call.callee.text) {
            Some(symbol) => self.occurrence(call.callee.span, symbol, false, false),
            None => self.lexical(call.callee.span, LexicalClass::Function),
        }
        for argument in &call.arguments {
            if let Some(name) = &argument.name {
                self.lexical(name.span, LexicalClass::Parameter);
            }
            self.value(&argument.value, workflow, false);
        }
    }

    fn value(&mut self, value: &Value, workflow: Option<&WorkflowNames>, is_template: bool) {
        match &value.kind {
            ValueKind::String(literal) => self.string(literal, workflow, is_template),
            ValueKind::Number(_) => self.lexical(value.span, LexicalClass::Number),
            ValueKind::Bool(_) => self.lexical(value.span, LexicalClass::Keyword),
            ValueKind::List(values) => {
                for inner in values {
                    self.value(inner, workflow, false);
                }
            }
            ValueKind::Object(block) => self.block(block, workflow, BlockOwner::Other),
            ValueKind::Call(call) => self.call(call, workflow, BlockOwner::Other),
            ValueKind::FieldPath(segments) => {
                for segment in segments {
                    self.lexical(segment.span, LexicalClass::Property);
                }
            }
            ValueKind::Path(path) => self.path_expression(&path.segments, workflow),
        }
    }

    /// `node.field`, `input`, or a top-level name (`teacher = teacher`).
    fn path_expression(&mut self, segments: &[Ident], workflow: Option<&WorkflowNames>) {
        let Some(first) = segments.first() else { return };
        let local = workflow.and_then(|names| {
            let (file, workflow_name, name) = (self.path.clone(), names.workflow.clone(), first.text.clone());
            if names.nodes.contains(&first.text) {
                Some(Symbol::Node { file, workflow: workflow_name, name })
            } else if names.inputs.contains(&first.text) {
                Some(Symbol::WorkflowInput { file, workflow: workflow_name, name })
            } else {
                None
            }
        });
        match local.or_else(|| self.scoped_item(&first.text)) {
            Some(symbol) => self.occurrence(first.span, symbol, false, false),
            // Moves (`prompt`, `consensus`), votes (`majority`): words of the language.
            None => self.lexical(first.span, LexicalClass::EnumMember),
        }
        for field in &segments[1..] {
            self.lexical(field.span, LexicalClass::Property);
        }
    }

    fn string(&mut self, literal: &StringLiteral, workflow: Option<&WorkflowNames>, is_template: bool) {
        let Some(names) = workflow.filter(|_| is_template) else {
            self.lexical(literal.span, LexicalClass::String);
            return;
        };
        // The string is coloured around its references, which are names.
        let (parts, _) = parse_template(literal);
        let mut cursor = literal.span.start;
        for part in parts {
            let TemplatePart::Reference(reference) = part else { continue };
            self.lexical(Span::new(cursor, reference.span.start), LexicalClass::String);
            cursor = reference.span.end;
            let (Some(first), Some(first_span)) = (reference.segments.first(), reference.segment_spans.first()) else { continue };
            let (file, workflow_name) = (self.path.clone(), names.workflow.clone());
            let symbol = if names.nodes.contains(first) {
                Some(Symbol::Node { file, workflow: workflow_name, name: first.clone() })
            } else if names.inputs.contains(first) {
                Some(Symbol::WorkflowInput { file, workflow: workflow_name, name: first.clone() })
            } else {
                None
            };
            match symbol {
                Some(symbol) => self.occurrence(*first_span, symbol, false, true),
                None => self.lexical(*first_span, LexicalClass::Parameter),
            }
            for span in &reference.segment_spans[1..] {
                self.lexical(*span, LexicalClass::Property);
            }
        }
        self.lexical(Span::new(cursor, literal.span.end), LexicalClass::String);
    }

    fn type_expr(&mut self, ty: &TypeExpr) {
        match &ty.kind {
            TypeExprKind::Named(name) => self.lexical(name.span, LexicalClass::Type),
            TypeExprKind::List(inner) => self.type_expr(inner),
            TypeExprKind::Json(fields) => {
                self.keyword_at(ty.span.start, "json");
                for field in fields {
                    self.lexical(field.name.span, LexicalClass::Property);
                    self.type_expr(&field.ty);
                }
            }
            TypeExprKind::Enum(values) => {
                self.keyword_at(ty.span.start, "enum");
                for value in values {
                    self.lexical(value.span, LexicalClass::EnumMember);
                }
            }
        }
    }
}
