//! Lowering: syntax tree → span-free HIR plus a source map per item.
//!
//! Lowering is total: every syntax tree lowers. Duplicate top-level names and
//! malformed templates are reported here, with spans, because this step re-runs on
//! every edit anyway; everything that must survive edits lives in the HIR.

use std::collections::HashMap;

use super::hir::*;
use super::source_map::SourceMap;
use crate::diagnostics::codes;
use crate::syntax::ast;
use crate::syntax::parse::SyntaxDiagnostic;
use crate::syntax::relocate::Relocate;
use crate::syntax::span::Span;
use crate::syntax::strings::{decode_escapes, Dedent};
use crate::syntax::template::{parse_template, TemplatePart};

/// The key of an item within its file: its name for declarations, `optimize:NAME` for
/// optimize blocks, `import#N` for imports; a repeated key gets `#2`, `#3`, ...
pub type ItemKey = String;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoweredItem {
    pub key: ItemKey,
    pub hir: std::sync::Arc<ItemHir>,
    pub source_map: SourceMap,
    pub span: Span,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoweredFile {
    pub items: Vec<LoweredItem>,
    pub diagnostics: Vec<SyntaxDiagnostic>,
}

impl LoweredFile {
    pub fn item(&self, key: &str) -> Option<&LoweredItem> {
        self.items.iter().find(|item| item.key == key)
    }
}

pub fn lower_items(items: &[ast::Item]) -> LoweredFile {
    let mut file = FileLowering::default();
    for item in items {
        file.add_item(lower_item(item), 0);
    }
    file.finish()
}

/// How an item's key starts: imports are numbered in file order, so their number is
/// given when the file is put together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyBase {
    Import,
    Named(String),
}

/// One item lowered on its own: what the file adds to it (its key, the duplicate
/// names) comes when it takes its place in the file (`FileLowering`). Spans are from
/// wherever the item's tree counts them (a chunk's start, when read in chunks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemLowering {
    pub key_base: KeyBase,
    /// The names it declares (an import: the names it imports), with their spans.
    pub declared: Vec<(String, Span)>,
    pub hir: std::sync::Arc<ItemHir>,
    pub source_map: SourceMap,
    pub span: Span,
    pub diagnostics: Vec<SyntaxDiagnostic>,
}

pub fn lower_item(item: &ast::Item) -> ItemLowering {
    let mut lowerer = Lowerer::new(0);
    let (key_base, hir) = match item {
        ast::Item::Import(import) => (KeyBase::Import, ItemHir::Import(lowerer.import(import))),
        ast::Item::Model(model) => (
            KeyBase::Named(model.name.text.clone()),
            ItemHir::Model(lowerer.sourced(&model.name, &model.source, model.properties.as_ref(), model.span)),
        ),
        ast::Item::Dataset(dataset) => (
            KeyBase::Named(dataset.name.text.clone()),
            ItemHir::Dataset(lowerer.sourced(&dataset.name, &dataset.source, dataset.properties.as_ref(), dataset.span)),
        ),
        ast::Item::Metric(metric) => (KeyBase::Named(metric.name.text.clone()), ItemHir::Metric(lowerer.metric(metric))),
        ast::Item::Workflow(workflow) => (KeyBase::Named(workflow.name.text.clone()), ItemHir::Workflow(lowerer.workflow(workflow))),
        ast::Item::Optimize(optimize) => {
            (KeyBase::Named(format!("optimize:{}", optimize.target.text)), ItemHir::Optimize(lowerer.optimize(optimize)))
        }
    };
    // Names declared by items and by imports share one namespace per file.
    let mut declared: Vec<(String, Span)> = item.declared_name().map(|name| (name.text.clone(), name.span)).into_iter().collect();
    if let ast::Item::Import(import) = item {
        declared.extend(import.names.iter().map(|name| (name.text.clone(), name.span)));
    }
    ItemLowering {
        key_base,
        declared,
        hir: std::sync::Arc::new(hir),
        source_map: lowerer.map,
        span: item.span(),
        diagnostics: lowerer.diagnostics,
    }
}

/// A file's items taking their places: keys, and the names declared twice.
#[derive(Default)]
pub struct FileLowering {
    lowered: LoweredFile,
    first_declaration: HashMap<String, Span>,
    key_counts: HashMap<String, usize>,
    import_index: usize,
}

impl FileLowering {
    /// Add the next item, its spans moved by `offset`.
    pub fn add_item(&mut self, item: ItemLowering, offset: usize) {
        let base_key = match item.key_base {
            KeyBase::Import => {
                self.import_index += 1;
                format!("import#{}", self.import_index)
            }
            KeyBase::Named(name) => name,
        };
        for (name, span) in item.declared {
            let span = relocated(span, offset);
            match self.first_declaration.get(&name) {
                Some(first) => self.lowered.diagnostics.push(
                    SyntaxDiagnostic::new(&codes::DUPLICATE_ITEM, format!("`{name}` is declared more than once"), span, "declared again here")
                        .with_secondary(*first, "first declared here")
                        .with_help("rename one of them; names of models, datasets, metrics, workflows and imports share one namespace per file"),
                ),
                None => {
                    self.first_declaration.insert(name, span);
                }
            }
        }
        let count = self.key_counts.entry(base_key.clone()).or_insert(0);
        *count += 1;
        let key = if *count == 1 { base_key } else { format!("{base_key}#{count}") };
        self.lowered.diagnostics.extend(item.diagnostics.into_iter().map(|diagnostic| relocated_diagnostic(diagnostic, offset)));
        let source_map = if offset == 0 { item.source_map } else { item.source_map.relocated(offset) };
        self.lowered.items.push(LoweredItem { key, hir: item.hir, source_map, span: relocated(item.span, offset) });
    }

    pub fn finish(self) -> LoweredFile {
        self.lowered
    }
}

pub(super) fn relocated(span: Span, offset: usize) -> Span {
    Span::new(span.start + offset, span.end + offset)
}

pub(super) fn relocated_diagnostic(mut diagnostic: SyntaxDiagnostic, offset: usize) -> SyntaxDiagnostic {
    if offset != 0 {
        diagnostic.relocate(offset);
    }
    diagnostic
}

pub(super) struct Lowerer {
    pub(super) map: SourceMap,
    pub(super) diagnostics: Vec<SyntaxDiagnostic>,
    /// The id of the first anchor this lowerer adds: a workflow read in chunks numbers
    /// a chunk's anchors after those of the chunks before it, as one pass over the
    /// whole workflow would.
    anchor_base: AnchorId,
}

impl Lowerer {
    pub(super) fn new(anchor_base: AnchorId) -> Lowerer {
        Lowerer { map: SourceMap::default(), diagnostics: Vec::new(), anchor_base }
    }

    fn anchor(&mut self, span: Span) -> AnchorId {
        self.anchor_base + self.map.add(span)
    }

    pub(super) fn name(&mut self, ident: &ast::Ident) -> Name {
        Name { text: ident.text.clone(), anchor: self.anchor(ident.span) }
    }

    fn import(&mut self, import: &ast::ImportDecl) -> ImportHir {
        let (path, _) = decode_escapes(&import.path.raw, import.path.content_start);
        ImportHir {
            path,
            path_anchor: self.anchor(import.path.span),
            names: import.names.iter().map(|name| self.name(name)).collect(),
        }
    }

    fn sourced(
        &mut self,
        name: &ast::Ident,
        source: &ast::Call,
        properties: Option<&ast::PropertyBlock>,
        item_span: Span,
    ) -> SourcedItemHir {
        let name = self.name(name);
        let source = self.call(source);
        let properties = match properties {
            Some(block) => self.properties(block),
            None => PropertiesHir { entries: Vec::new(), anchor: self.anchor(Span::empty_at(item_span.end)) },
        };
        SourcedItemHir { name, source, properties }
    }

    fn metric(&mut self, metric: &ast::MetricDecl) -> MetricHir {
        MetricHir {
            name: self.name(&metric.name),
            params: metric.params.iter().map(|param| self.param(param)).collect(),
            properties: self.properties(&metric.properties),
        }
    }

    fn optimize(&mut self, optimize: &ast::OptimizeDecl) -> OptimizeHir {
        OptimizeHir { target: self.name(&optimize.target), properties: self.properties(&optimize.properties) }
    }

    fn workflow(&mut self, workflow: &ast::WorkflowDecl) -> WorkflowHir {
        let name = self.name(&workflow.name);
        let inputs = workflow.inputs.iter().map(|param| self.param(param)).collect();
        let outputs = workflow.outputs.iter().map(|param| self.param(param)).collect();
        let mut nodes = Vec::with_capacity(workflow.members.len());
        let mut bindings = Vec::new();
        self.members(&workflow.members, &mut nodes, &mut bindings);
        let body_anchor = self.anchor(workflow.body_span);
        WorkflowHir { name, inputs, outputs, nodes, bindings, body_anchor }
    }

    /// A workflow's members, in order, onto its nodes and bindings.
    pub(super) fn members(&mut self, members: &[ast::WorkflowMember], nodes: &mut Vec<std::sync::Arc<NodeHir>>, bindings: &mut Vec<BindingHir>) {
        for member in members {
            match member {
                ast::WorkflowMember::Node(node) => nodes.push(std::sync::Arc::new(NodeHir {
                    name: self.name(&node.name),
                    kind: self.name(&node.kind),
                    kind_arguments: node
                        .kind_arguments
                        .as_ref()
                        .map(|arguments| arguments.iter().map(|argument| self.name(argument)).collect()),
                    properties: self.properties(&node.properties),
                    anchor: self.anchor(node.span),
                })),
                ast::WorkflowMember::Binding(binding) => bindings.push(BindingHir {
                    output: self.name(&binding.output),
                    target: self.path(&binding.target),
                    anchor: self.anchor(binding.span),
                }),
            }
        }
    }

    pub(super) fn param(&mut self, param: &ast::Param) -> ParamHir {
        ParamHir {
            name: self.name(&param.name),
            ty: self.type_expr(&param.ty),
            default: param.default.as_ref().map(|value| self.value(value)),
        }
    }

    fn properties(&mut self, block: &ast::PropertyBlock) -> PropertiesHir {
        let anchor = self.anchor(block.span);
        let entries = block
            .properties
            .iter()
            .map(|property| {
                let key = self.name(&property.key);
                let value = match &property.value {
                    ast::PropertyValue::Type(ty) => PropertyValueHir::Type(self.type_expr(ty)),
                    ast::PropertyValue::Typed { ty, value } => {
                        PropertyValueHir::Typed { ty: self.type_expr(ty), value: self.value(value) }
                    }
                    ast::PropertyValue::Block(block) => PropertyValueHir::Block(self.properties(block)),
                    ast::PropertyValue::Value(value) => PropertyValueHir::Value(self.value(value)),
                };
                PropertyHir { key, value, anchor: self.anchor(property.span) }
            })
            .collect();
        PropertiesHir { entries, anchor }
    }

    fn value(&mut self, value: &ast::Value) -> ValueHir {
        let kind = match &value.kind {
            ast::ValueKind::String(literal) => ValueKindHir::String(self.string(literal)),
            ast::ValueKind::Number(number) => ValueKindHir::Number(NumberHir { text: number.text.clone() }),
            ast::ValueKind::Bool(boolean) => ValueKindHir::Bool(*boolean),
            ast::ValueKind::List(values) => ValueKindHir::List(values.iter().map(|value| self.value(value)).collect()),
            ast::ValueKind::Object(block) => ValueKindHir::Object(self.properties(block)),
            ast::ValueKind::Call(call) => ValueKindHir::Call(self.call(call)),
            ast::ValueKind::FieldPath(segments) => {
                ValueKindHir::FieldPath(segments.iter().map(|segment| segment.text.clone()).collect())
            }
            ast::ValueKind::Path(path) => ValueKindHir::Path(self.path(path)),
        };
        ValueHir { kind, anchor: self.anchor(value.span) }
    }

    fn string(&mut self, literal: &ast::StringLiteral) -> StringHir {
        let value = if literal.multiline {
            Dedent::of(&literal.raw).apply(&literal.raw)
        } else {
            decode_escapes(&literal.raw, literal.content_start).0
        };
        let (parts, errors) = parse_template(literal);
        for error in errors {
            self.diagnostics.push(
                SyntaxDiagnostic::new(&codes::MALFORMED_TEMPLATE, error.message, error.span, error.label)
                    .with_help("write `{name}` or `{node.field}` to insert a value, and `{{` or `}}` for a literal brace"),
            );
        }
        let template = parts
            .into_iter()
            .map(|part| match part {
                TemplatePart::Text(text) => TemplatePartHir::Text(text),
                TemplatePart::Reference(reference) => TemplatePartHir::Reference(PathHir {
                    segments: reference
                        .segments
                        .into_iter()
                        .zip(reference.segment_spans)
                        .map(|(segment, span)| Name { text: segment, anchor: self.anchor(span) })
                        .collect(),
                    anchor: self.anchor(reference.span),
                }),
            })
            .collect();
        StringHir { value, template, multiline: literal.multiline }
    }

    fn call(&mut self, call: &ast::Call) -> CallHir {
        CallHir {
            callee: self.name(&call.callee),
            arguments: call
                .arguments
                .iter()
                .map(|argument| ArgumentHir {
                    name: argument.name.as_ref().map(|name| self.name(name)),
                    value: self.value(&argument.value),
                })
                .collect(),
            anchor: self.anchor(call.span),
        }
    }

    fn path(&mut self, path: &ast::PathExpr) -> PathHir {
        PathHir { segments: path.segments.iter().map(|segment| self.name(segment)).collect(), anchor: self.anchor(path.span) }
    }

    fn type_expr(&mut self, ty: &ast::TypeExpr) -> TypeHir {
        let kind = match &ty.kind {
            ast::TypeExprKind::Named(name) => TypeKindHir::Named(self.name(name)),
            ast::TypeExprKind::List(element) => TypeKindHir::List(Box::new(self.type_expr(element))),
            ast::TypeExprKind::Json(fields) => {
                TypeKindHir::Json(fields.iter().map(|field| (self.name(&field.name), self.type_expr(&field.ty))).collect())
            }
            ast::TypeExprKind::Enum(variants) => TypeKindHir::Enum(
                variants
                    .iter()
                    .map(|variant| Name {
                        text: decode_escapes(&variant.raw, variant.content_start).0,
                        anchor: self.anchor(variant.span),
                    })
                    .collect(),
            ),
        };
        TypeHir { kind, anchor: self.anchor(ty.span) }
    }
}
