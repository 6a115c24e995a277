//! The syntax tree of a `.flow` file: what was written, with a span on everything.
//!
//! The tree is lossy only in trivia: comments are kept beside it (see
//! [`crate::syntax::comments`]) and whitespace is the formatter's business.

use super::span::Span;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Import(ImportDecl),
    Model(ModelDecl),
    Dataset(DatasetDecl),
    Metric(MetricDecl),
    Workflow(WorkflowDecl),
    Optimize(OptimizeDecl),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Import(item) => item.span,
            Item::Model(item) => item.span,
            Item::Dataset(item) => item.span,
            Item::Metric(item) => item.span,
            Item::Workflow(item) => item.span,
            Item::Optimize(item) => item.span,
        }
    }

    /// The name an item declares (imports and optimize blocks declare none).
    pub fn declared_name(&self) -> Option<&Ident> {
        match self {
            Item::Model(item) => Some(&item.name),
            Item::Dataset(item) => Some(&item.name),
            Item::Metric(item) => Some(&item.name),
            Item::Workflow(item) => Some(&item.name),
            Item::Import(_) | Item::Optimize(_) => None,
        }
    }
}

/// `import "std/metrics" { numeric_match, exact_match }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportDecl {
    pub path: StringLiteral,
    pub names: Vec<Ident>,
    pub span: Span,
}

/// `model student = gguf("model.gguf") { temperature = 0 }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelDecl {
    pub name: Ident,
    pub source: Call,
    pub properties: Option<PropertyBlock>,
    pub span: Span,
}

/// `dataset train = jsonl("train.jsonl") { question = .input }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetDecl {
    pub name: Ident,
    pub source: Call,
    pub properties: Option<PropertyBlock>,
    pub span: Span,
}

/// `metric numeric_match(rel_tol: number = 1e-6) { code = """...""" }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricDecl {
    pub name: Ident,
    pub params: Vec<Param>,
    pub properties: PropertyBlock,
    pub span: Span,
}

/// `optimize solve { teacher = teacher ... }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptimizeDecl {
    pub target: Ident,
    pub properties: PropertyBlock,
    pub span: Span,
}

/// `workflow solve(question: text) -> (answer: number) { ... }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkflowDecl {
    pub name: Ident,
    pub inputs: Vec<Param>,
    pub outputs: Vec<Param>,
    pub members: Vec<WorkflowMember>,
    /// Span of the `{ ... }` body.
    pub body_span: Span,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkflowMember {
    Node(NodeDecl),
    Binding(Binding),
}

impl WorkflowMember {
    pub fn span(&self) -> Span {
        match self {
            WorkflowMember::Node(node) => node.span,
            WorkflowMember::Binding(binding) => binding.span,
        }
    }
}

/// `node extract = llm(student) { ... }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeDecl {
    pub name: Ident,
    /// `llm`, `code`, `consensus`, ...
    pub kind: Ident,
    /// The parenthesised arguments of the kind, `None` when there are no parentheses.
    pub kind_arguments: Option<Vec<Ident>>,
    pub properties: PropertyBlock,
    pub span: Span,
}

/// `answer = compute.value` binds a workflow output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub output: Ident,
    pub target: PathExpr,
    pub span: Span,
}

/// `name: type` or `name: type = default`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Value>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyBlock {
    pub properties: Vec<Property>,
    pub span: Span,
}

impl PropertyBlock {
    pub fn get(&self, key: &str) -> Option<&Property> {
        self.properties.iter().find(|property| property.key.text == key)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    pub key: Ident,
    pub value: PropertyValue,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropertyValue {
    /// `output = json { ... }`
    Type(TypeExpr),
    /// `numbers: [number] = extract.quantities` (code node inputs)
    Typed { ty: TypeExpr, value: Value },
    /// `budget { iterations = 5 }`
    Block(PropertyBlock),
    /// `prompt = "..."`
    Value(Value),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueKind {
    String(StringLiteral),
    Number(NumberLiteral),
    Bool(bool),
    List(Vec<Value>),
    Object(PropertyBlock),
    Call(Call),
    /// `.input.text`: a field of each record of a dataset.
    FieldPath(Vec<Ident>),
    Path(PathExpr),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringLiteral {
    /// The text between the quotes, exactly as written.
    pub raw: String,
    /// Byte offset of `raw` in the file (just after the opening quotes).
    pub content_start: usize,
    /// `"""..."""` (raw and dedented) rather than `"..."` (with escapes).
    pub multiline: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberLiteral {
    pub text: String,
    pub span: Span,
}

/// `gguf("file.gguf")`, `env("KEY")`, `numeric_match(rel_tol = 1e-6)`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub callee: Ident,
    pub arguments: Vec<Argument>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Argument {
    pub name: Option<Ident>,
    pub value: Value,
    pub span: Span,
}

/// `extract.quantities`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathExpr {
    pub segments: Vec<Ident>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeExprKind {
    /// `text`, `number`, `int`, `bool` (checked by the semantic layer)
    Named(Ident),
    List(Box<TypeExpr>),
    Json(Vec<JsonField>),
    Enum(Vec<StringLiteral>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonField {
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}
