//! The span-free form of each declaration (HIR), the input of every cached analysis.
//!
//! Where the syntax tree holds a [`Span`], the HIR holds an [`AnchorId`]: a small
//! number, stable under edits that only move text (comments, whitespace, edits to
//! other items), that the item's [`SourceMap`] turns back into a span when a
//! diagnostic is shown. Two HIRs compare equal exactly when the declarations mean the
//! same thing, which is what lets salsa cut off re-analysis early.
//!
//! [`Span`]: crate::syntax::span::Span
//! [`SourceMap`]: super::source_map::SourceMap

/// Index of a span in the owning item's source map.
pub type AnchorId = u32;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Name {
    pub text: String,
    pub anchor: AnchorId,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ItemHir {
    Import(ImportHir),
    Model(SourcedItemHir),
    Dataset(SourcedItemHir),
    Metric(MetricHir),
    Workflow(WorkflowHir),
    Optimize(OptimizeHir),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKind {
    Import,
    Model,
    Dataset,
    Metric,
    Workflow,
    Optimize,
}

impl ItemKind {
    pub fn describe(self) -> &'static str {
        match self {
            ItemKind::Import => "an import",
            ItemKind::Model => "a model",
            ItemKind::Dataset => "a dataset",
            ItemKind::Metric => "a metric",
            ItemKind::Workflow => "a workflow",
            ItemKind::Optimize => "an optimize block",
        }
    }
}

impl ItemHir {
    pub fn kind(&self) -> ItemKind {
        match self {
            ItemHir::Import(_) => ItemKind::Import,
            ItemHir::Model(_) => ItemKind::Model,
            ItemHir::Dataset(_) => ItemKind::Dataset,
            ItemHir::Metric(_) => ItemKind::Metric,
            ItemHir::Workflow(_) => ItemKind::Workflow,
            ItemHir::Optimize(_) => ItemKind::Optimize,
        }
    }

    /// The anchor of the declared name, or of the whole item.
    pub fn name_anchor(&self) -> AnchorId {
        match self {
            ItemHir::Import(import) => import.path_anchor,
            ItemHir::Model(item) | ItemHir::Dataset(item) => item.name.anchor,
            ItemHir::Metric(metric) => metric.name.anchor,
            ItemHir::Workflow(workflow) => workflow.name.anchor,
            ItemHir::Optimize(optimize) => optimize.target.anchor,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImportHir {
    pub path: String,
    pub path_anchor: AnchorId,
    pub names: Vec<Name>,
}

/// A model or dataset: `NAME = source(arguments) { properties }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SourcedItemHir {
    pub name: Name,
    pub source: CallHir,
    pub properties: PropertiesHir,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MetricHir {
    pub name: Name,
    pub params: Vec<ParamHir>,
    pub properties: PropertiesHir,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OptimizeHir {
    pub target: Name,
    pub properties: PropertiesHir,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WorkflowHir {
    pub name: Name,
    pub inputs: Vec<ParamHir>,
    pub outputs: Vec<ParamHir>,
    /// Shared: each node is also the value of its own query (`node_hir`).
    pub nodes: Vec<std::sync::Arc<NodeHir>>,
    pub bindings: Vec<BindingHir>,
    /// Anchor of the whole body, for "output never bound" labels.
    pub body_anchor: AnchorId,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeHir {
    pub name: Name,
    pub kind: Name,
    pub kind_arguments: Option<Vec<Name>>,
    pub properties: PropertiesHir,
    pub anchor: AnchorId,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BindingHir {
    pub output: Name,
    pub target: PathHir,
    pub anchor: AnchorId,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParamHir {
    pub name: Name,
    pub ty: TypeHir,
    pub default: Option<ValueHir>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PropertiesHir {
    pub entries: Vec<PropertyHir>,
    pub anchor: AnchorId,
}

impl PropertiesHir {
    pub fn get(&self, key: &str) -> Option<&PropertyHir> {
        self.entries.iter().find(|entry| entry.key.text == key)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PropertyHir {
    pub key: Name,
    pub value: PropertyValueHir,
    pub anchor: AnchorId,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PropertyValueHir {
    Type(TypeHir),
    Typed { ty: TypeHir, value: ValueHir },
    Block(PropertiesHir),
    Value(ValueHir),
}

impl PropertyValueHir {
    pub fn as_value(&self) -> Option<&ValueHir> {
        match self {
            PropertyValueHir::Value(value) | PropertyValueHir::Typed { value, .. } => Some(value),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ValueHir {
    pub kind: ValueKindHir,
    pub anchor: AnchorId,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ValueKindHir {
    String(StringHir),
    Number(NumberHir),
    Bool(bool),
    List(Vec<ValueHir>),
    Object(PropertiesHir),
    Call(CallHir),
    FieldPath(Vec<String>),
    Path(PathHir),
}

impl ValueKindHir {
    /// How a value of this form is named in "expected …, found …" messages.
    pub fn describe(&self) -> &'static str {
        match self {
            ValueKindHir::String(_) => "a string",
            ValueKindHir::Number(number) if number.is_integer() => "an integer",
            ValueKindHir::Number(_) => "a number",
            ValueKindHir::Bool(_) => "a boolean",
            ValueKindHir::List(_) => "a list",
            ValueKindHir::Object(_) => "a block",
            ValueKindHir::Call(_) => "a call",
            ValueKindHir::FieldPath(_) => "a field path",
            ValueKindHir::Path(_) => "a name",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StringHir {
    /// The value: escapes decoded, multi-line strings dedented.
    pub value: String,
    /// The same string read as a template (references resolved later).
    pub template: Vec<TemplatePartHir>,
    pub multiline: bool,
}

impl StringHir {
    pub fn references(&self) -> impl Iterator<Item = &PathHir> {
        self.template.iter().filter_map(|part| match part {
            TemplatePartHir::Reference(path) => Some(path),
            TemplatePartHir::Text(_) => None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TemplatePartHir {
    Text(String),
    Reference(PathHir),
}

/// A number as written, so that equality is exact and `0` differs from `0.0`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NumberHir {
    pub text: String,
}

impl NumberHir {
    pub fn is_integer(&self) -> bool {
        !self.text.contains(['.', 'e', 'E'])
    }

    pub fn as_f64(&self) -> Option<f64> {
        self.text.parse::<f64>().ok().filter(|number| number.is_finite())
    }

    pub fn as_i64(&self) -> Option<i64> {
        if self.is_integer() {
            self.text.parse().ok()
        } else {
            None
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CallHir {
    pub callee: Name,
    pub arguments: Vec<ArgumentHir>,
    pub anchor: AnchorId,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ArgumentHir {
    pub name: Option<Name>,
    pub value: ValueHir,
}

/// `extract.quantities`: segments with their own anchors, so that an unknown field
/// is labelled on the field, not on the whole path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PathHir {
    pub segments: Vec<Name>,
    pub anchor: AnchorId,
}

impl PathHir {
    pub fn dotted(&self) -> String {
        let mut dotted = String::new();
        for (index, segment) in self.segments.iter().enumerate() {
            if index > 0 {
                dotted.push('.');
            }
            dotted.push_str(&segment.text);
        }
        dotted
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TypeHir {
    pub kind: TypeKindHir,
    pub anchor: AnchorId,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeKindHir {
    Named(Name),
    List(Box<TypeHir>),
    Json(Vec<(Name, TypeHir)>),
    Enum(Vec<Name>),
}
