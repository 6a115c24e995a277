//! Checks of `workflow` declarations, and the typed graph they produce: node kinds and
//! properties, references (the edges), types along edges, bindings, cycles, unused
//! nodes and inputs.

use std::collections::HashMap;

use super::analysis::{list_names, Checker};
use super::database::{analyze_node, code_run_signature, workflow_context, CodeText, ItemId, NodeId};
use super::anchor::SemanticDiagnostic;
use super::check_model::{check_decoding_parameter, DECODING_PARAMETERS};
use super::hir::*;
use super::suggest::did_you_mean;
use super::types::Type;
use super::workflow_graph::{DependencyGraph, Endpoint, GraphEdge, GraphNode, NodeKind, WorkflowGraph, NODE_KINDS};
use crate::diagnostics::codes;

pub const LLM_PROPERTIES: [&str; 3] = ["system", "prompt", "output"];
pub const CONSENSUS_PROPERTIES: [&str; 2] = ["samples", "vote"];
pub const CODE_PROPERTIES: [&str; 3] = ["inputs", "source", "output"];
pub const VOTES: [&str; 2] = ["majority", "median"];

/// One use of a value, found in a template, a code input or a binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    from: Endpoint,
    /// Position of the node read, `None` for inputs.
    from_position: Option<usize>,
    /// Position of the reading node, `None` for bindings.
    to: Option<usize>,
    path: String,
    anchor: AnchorId,
}

/// What each node of a workflow is checked against: the signature and the declared
/// nodes (names, positions, declared output types). It is a query of its own
/// ([`workflow_context`]): an edit inside one node leaves it equal, so salsa re-checks
/// that node alone ([`analyze_node`]) and reuses the checks of the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkflowContext {
    name: String,
    inputs: Vec<(Name, Type)>,
    outputs: Vec<(Name, Type, AnchorId)>,
    node_names: Vec<String>,
    /// Node name → position, first declaration wins.
    node_positions: HashMap<String, usize>,
    node_outputs: Vec<(Type, Option<AnchorId>)>,
    /// Duplicate members, bad signature types and defaults, bad output types.
    diagnostics: Vec<SemanticDiagnostic>,
}

/// The per-node firewall's product: everything the workflow needs from one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeCheck {
    diagnostics: Vec<SemanticDiagnostic>,
    references: Vec<Reference>,
    /// A reference named nothing: which nodes and inputs are used is then unknown.
    unresolved_references: bool,
    graph_node: GraphNode,
}

/// The context of a workflow item (`None` if the item is not a workflow).
pub fn build_workflow_context(checker: &mut Checker, workflow: &WorkflowHir) -> WorkflowContext {
    let mut context = WorkflowContext {
        name: workflow.name.text.clone(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        node_names: workflow.nodes.iter().map(|node| node.name.text.clone()).collect(),
        node_positions: HashMap::with_capacity(workflow.nodes.len()),
        node_outputs: Vec::with_capacity(workflow.nodes.len()),
        diagnostics: Vec::new(),
    };
    check_signature(checker, workflow, &mut context);
    declare_nodes(checker, workflow, &mut context);
    context.diagnostics = std::mem::take(&mut checker.diagnostics);
    context
}

/// The checks of one node against its workflow's context.
pub fn check_one_node(checker: &mut Checker, context: &WorkflowContext, position: usize, node: &NodeHir) -> NodeCheck {
    let mut this = WorkflowChecker { checker, context, references: Vec::new(), unresolved_references: false };
    let graph_node = this.check_node(position, node);
    NodeCheck {
        diagnostics: std::mem::take(&mut this.checker.diagnostics),
        references: this.references,
        unresolved_references: this.unresolved_references,
        graph_node,
    }
}

struct WorkflowChecker<'c, 'db> {
    checker: &'c mut Checker<'db>,
    context: &'c WorkflowContext,
    references: Vec<Reference>,
    /// A reference named nothing: which nodes and inputs are used is then unknown.
    unresolved_references: bool,
}

/// The whole workflow: its context and each node's check come from their queries
/// (reused when unchanged); bindings and the graph-wide checks (cycles, unused
/// nodes and inputs, the order) run here, over what the nodes report.
pub fn check_workflow(checker: &mut Checker, item: ItemId<'_>, workflow: &WorkflowHir) -> WorkflowGraph {
    let db = checker.db;
    let Some(context) = workflow_context(db, item) else {
        return WorkflowGraph { name: workflow.name.text.clone(), ..WorkflowGraph::default() };
    };
    checker.diagnostics.extend(context.diagnostics.iter().cloned());
    let mut this = WorkflowChecker { checker, context, references: Vec::new(), unresolved_references: false };
    let mut graph_nodes = Vec::with_capacity(workflow.nodes.len());
    for position in 0..workflow.nodes.len() {
        let Some(node) = analyze_node(db, NodeId::new(db, item, position)) else {
            // Unreachable (the position is the workflow's): an unchecked node.
            graph_nodes.push(GraphNode { name: this.context.node_names[position].clone(), kind: None, model: None, output: Type::Error });
            continue;
        };
        this.checker.diagnostics.extend(node.diagnostics.iter().cloned());
        this.references.extend(node.references.iter().cloned());
        this.unresolved_references |= node.unresolved_references;
        graph_nodes.push(node.graph_node.clone());
    }
    let bindings = this.check_bindings(workflow);
    let topological_order = this.check_graph(workflow, &bindings);
    let node_names = &this.context.node_names;
    WorkflowGraph {
        name: this.context.name.clone(),
        inputs: this.context.inputs.iter().map(|(name, ty)| (name.text.clone(), ty.clone())).collect(),
        outputs: this.context.outputs.iter().map(|(name, ty, _)| (name.text.clone(), ty.clone())).collect(),
        nodes: graph_nodes,
        // The checks are done: the references become the edges.
        edges: std::mem::take(&mut this.references)
            .into_iter()
            .filter_map(|reference| {
                let to = reference.to?;
                Some(GraphEdge { from: reference.from, to: node_names[to].clone(), path: reference.path })
            })
            .collect(),
        bindings,
        topological_order: topological_order.map(|order| order.into_iter().map(|position| node_names[position].clone()).collect()),
    }
}

fn check_signature(checker: &mut Checker, workflow: &WorkflowHir, context: &mut WorkflowContext) {
    let mut seen: Vec<Name> = Vec::new();
    for (param, is_input) in workflow.inputs.iter().map(|p| (p, true)).chain(workflow.outputs.iter().map(|p| (p, false))) {
        if let Some(first) = seen.iter().find(|name| name.text == param.name.text) {
            let diagnostic = SemanticDiagnostic::new(
                &codes::DUPLICATE_MEMBER,
                format!("`{}` is declared twice in the signature of `{}`", param.name.text, workflow.name.text),
                checker.at(param.name.anchor),
                "declared again",
            )
            .with_secondary(checker.at(first.anchor), "first declared here")
            .with_help("inputs and outputs share one namespace; rename one of them");
            checker.report(diagnostic);
            continue;
        }
        seen.push(param.name.clone());
        let ty = checker.resolve_type(&param.ty);
        if let Some(default) = &param.default {
            if is_input {
                checker.check_literal_against(default, &ty, &format!("the default of `{}`", param.name.text));
            } else {
                checker.error(
                    &codes::INVALID_PROPERTY_VALUE,
                    format!("the output `{}` has a default", param.name.text),
                    default.anchor,
                    "outputs take no default",
                    "outputs get their value from a binding in the body: `answer = node`",
                );
            }
        }
        if is_input {
            context.inputs.push((param.name.clone(), ty));
        } else {
            context.outputs.push((param.name.clone(), ty, param.ty.anchor));
        }
    }
}

/// Register node names first: references may point forward (order in the file
/// does not matter, the graph does).
fn declare_nodes(checker: &mut Checker, workflow: &WorkflowHir, context: &mut WorkflowContext) {
    for (position, node) in workflow.nodes.iter().enumerate() {
        let clash = context.node_positions.get(&node.name.text).map(|first| workflow.nodes[*first].name.anchor).or_else(|| {
            context.inputs.iter().find(|(input, _)| input.text == node.name.text).map(|(input, _)| input.anchor)
        });
        if let Some(first) = clash {
            let diagnostic = SemanticDiagnostic::new(
                &codes::DUPLICATE_MEMBER,
                format!("`{}` is declared twice in `{}`", node.name.text, workflow.name.text),
                checker.at(node.name.anchor),
                "declared again",
            )
            .with_secondary(checker.at(first), "first declared here")
            .with_help("nodes and inputs share one namespace; rename this node");
            checker.report(diagnostic);
        } else {
            context.node_positions.insert(node.name.text.clone(), position);
        }
        // The declared output type, resolved once here so references can use it.
        let output = node.properties.get("output").and_then(|property| match &property.value {
            PropertyValueHir::Type(ty) => Some(ty),
            _ => None,
        });
        let resolved = match output {
            Some(ty) => (checker.resolve_type(ty), Some(ty.anchor)),
            None => (Type::Error, None),
        };
        context.node_outputs.push(resolved);
    }
}

impl WorkflowChecker<'_, '_> {
    fn check_node(&mut self, position: usize, node: &NodeHir) -> GraphNode {
        let kind = NodeKind::from_name(&node.kind.text);
        let mut model = None;
        match kind {
            None => {
                let help = did_you_mean(&node.kind.text, NODE_KINDS, "node kinds")
                    .unwrap_or_else(|| "the node kinds are `llm(model)`, `consensus(model)` and `code`".into());
                self.checker.error(&codes::UNKNOWN_NODE_KIND, format!("unknown node kind `{}`", node.kind.text), node.kind.anchor, "not a node kind", help);
            }
            Some(NodeKind::Llm | NodeKind::Consensus) => model = self.check_model_argument(node),
            Some(NodeKind::Code) => {
                if let Some(arguments) = node.kind_arguments.as_ref().filter(|arguments| !arguments.is_empty()) {
                    self.checker.error(
                        &codes::INVALID_KIND_ARGUMENTS,
                        "a code node takes no model",
                        arguments[0].anchor,
                        "unexpected argument",
                        "write `node name = code { ... }`: code runs in flowc's sandbox, not on a model",
                    );
                }
            }
        }
        match kind {
            Some(kind) => self.check_node_properties(position, node, kind),
            // The kind is unknown (reported above); still follow its references, so
            // that what it reads is not reported as unused.
            None => self.collect_references_loosely(position, node),
        }
        GraphNode { name: node.name.text.clone(), kind, model, output: self.context.node_outputs[position].0.clone() }
    }

    fn check_model_argument(&mut self, node: &NodeHir) -> Option<String> {
        match node.kind_arguments.as_deref() {
            Some([model]) => {
                self.checker.resolve_item(model, ItemKind::Model);
                Some(model.text.clone())
            }
            Some([_, extra, ..]) => {
                self.checker.error(
                    &codes::INVALID_KIND_ARGUMENTS,
                    format!("`{}` takes one model", node.kind.text),
                    extra.anchor,
                    "extra argument",
                    "a node runs on one model; use a consensus node to sample it several times",
                );
                None
            }
            _ => {
                self.checker.error(
                    &codes::INVALID_KIND_ARGUMENTS,
                    format!("`{}` needs the model it runs on", node.kind.text),
                    node.kind.anchor,
                    "which model?",
                    format!("write `node {} = {}(student) {{ ... }}`", node.name.text, node.kind.text),
                );
                None
            }
        }
    }

    fn check_node_properties(&mut self, position: usize, node: &NodeHir, kind: NodeKind) {
        let mut known: Vec<&str> = Vec::new();
        match kind {
            NodeKind::Llm => known.extend(LLM_PROPERTIES.iter().chain(&DECODING_PARAMETERS)),
            NodeKind::Consensus => known.extend(LLM_PROPERTIES.iter().chain(&CONSENSUS_PROPERTIES).chain(&DECODING_PARAMETERS)),
            NodeKind::Code => known.extend(CODE_PROPERTIES),
        }
        let owner = match kind {
            NodeKind::Llm => "an `llm` node",
            NodeKind::Consensus => "a `consensus` node",
            NodeKind::Code => "a `code` node",
        };
        let present = self.checker.check_keys(&node.properties, &known, owner);
        let owner_anchor = node.name.anchor;
        self.checker.require(&present, "output", owner, owner_anchor, "output = text");
        match kind {
            NodeKind::Llm | NodeKind::Consensus => self.checker.require(&present, "prompt", owner, owner_anchor, "prompt = \"{question}\""),
            NodeKind::Code => self.checker.require(&present, "source", owner, owner_anchor, "source = \"\"\"def run(): ...\"\"\""),
        }
        if kind == NodeKind::Consensus {
            self.checker.require(&present, "samples", owner, owner_anchor, "samples = 5");
        }
        let mut code_inputs: Vec<&str> = Vec::new();
        for (key, property) in &present {
            match *key {
                "output" => {
                    self.checker.type_property(property);
                }
                "system" | "prompt" => {
                    if let Some(template) = self.checker.string_property(property) {
                        for path in template.references() {
                            self.add_reference(path, Some(position), None);
                        }
                    }
                }
                "samples" => {
                    if let Some((value, is_integer)) = self.checker.number_property(property) {
                        if !is_integer || value < 2.0 {
                            let anchor = property.value.as_value().map(|value| value.anchor).unwrap_or(property.anchor);
                            self.checker.error(
                                &codes::INVALID_PROPERTY_VALUE,
                                "`samples` must be a whole number ≥ 2",
                                anchor,
                                "too few to vote",
                                "a vote needs at least two samples; an odd number avoids ties (5 is a good start)",
                            );
                        }
                    }
                }
                "vote" => self.check_vote(position, property),
                "inputs" => code_inputs = self.check_code_inputs(position, property),
                "source" => {}
                _ => check_decoding_parameter(self.checker, property),
            }
        }
        if let Some(source) = present.get("source") {
            self.check_code_source(source, &code_inputs);
        }
    }

    fn collect_references_loosely(&mut self, position: usize, node: &NodeHir) {
        for property in &node.properties.entries {
            match &property.value {
                PropertyValueHir::Value(ValueHir { kind: ValueKindHir::String(template), .. }) => {
                    for path in template.references() {
                        self.add_reference(path, Some(position), None);
                    }
                }
                PropertyValueHir::Block(block) => {
                    for entry in &block.entries {
                        if let Some(ValueHir { kind: ValueKindHir::Path(path), .. }) = entry.value.as_value() {
                            self.add_reference(path, Some(position), None);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn check_vote(&mut self, position: usize, property: &PropertyHir) {
        let vote = match property.value.as_value().map(|value| &value.kind) {
            Some(ValueKindHir::Path(path)) if path.segments.len() == 1 => path.segments[0].text.clone(),
            _ => {
                self.checker.wrong_form(property, "a vote rule", "write `vote = majority` or `vote = median`");
                return;
            }
        };
        let anchor = property.value.as_value().map(|value| value.anchor).unwrap_or(property.anchor);
        if !VOTES.contains(&vote.as_str()) {
            let help = did_you_mean(&vote, VOTES, "vote rules").unwrap_or_else(|| format!("the vote rules are {}", list_names(&VOTES)));
            self.checker.error(&codes::INVALID_PROPERTY_VALUE, format!("`{vote}` is not a vote rule"), anchor, "unknown vote rule", help);
        } else if vote == "median" {
            let output = &self.context.node_outputs[position].0;
            if !output.is_assignable_to(&Type::Number) {
                self.checker.error(
                    &codes::TYPE_MISMATCH,
                    format!("a median needs numbers, but this node outputs `{output}`"),
                    anchor,
                    "median of non-numbers",
                    "use `vote = majority`, or make the output `number` or `int`",
                );
            }
        }
    }

    /// `inputs { numbers: [number] = extract.quantities }`; returns the input names.
    fn check_code_inputs<'h>(&mut self, position: usize, property: &'h PropertyHir) -> Vec<&'h str> {
        let block = match &property.value {
            PropertyValueHir::Block(block) => block,
            _ => {
                self.checker.wrong_form(property, "a block", "write `inputs { numbers = extract.quantities }`");
                return Vec::new();
            }
        };
        let mut names: Vec<(&str, AnchorId)> = Vec::new();
        for entry in &block.entries {
            if let Some((_, first)) = names.iter().find(|(name, _)| *name == entry.key.text) {
                let diagnostic = SemanticDiagnostic::new(&codes::DUPLICATE_PROPERTY, format!("the input `{}` is set twice", entry.key.text), self.checker.at(entry.key.anchor), "set again here")
                    .with_secondary(self.checker.at(*first), "first set here")
                    .with_help("give each code input its own name");
                self.checker.report(diagnostic);
                continue;
            }
            names.push((entry.key.text.as_str(), entry.key.anchor));
            let (declared, value) = match &entry.value {
                PropertyValueHir::Typed { ty, value } => (Some(ty), value),
                PropertyValueHir::Value(value) => (None, value),
                _ => {
                    self.checker.wrong_form(entry, "a reference such as `extract.quantities`", format!("write `{} = node.field`", entry.key.text));
                    continue;
                }
            };
            let ValueKindHir::Path(path) = &value.kind else {
                self.checker.wrong_form(entry, "a reference such as `extract.quantities`", format!("write `{} = node.field`; constants belong in the code", entry.key.text));
                continue;
            };
            let expected = declared.map(|ty| (self.checker.resolve_type(ty), ty.anchor));
            self.add_reference(path, Some(position), expected);
        }
        names.into_iter().map(|(name, _)| name).collect()
    }

    fn check_code_source(&mut self, property: &PropertyHir, inputs: &[&str]) {
        let Some(source) = self.checker.string_property(property) else { return };
        let anchor = property.value.as_value().map(|value| value.anchor).unwrap_or(property.anchor);
        let signature = || format!("def run({}):", inputs.join(", "));
        // Read by starlark's parser, as the sandbox will read it.
        let code = CodeText::new(self.checker.db, source.value.clone());
        let parameters = match code_run_signature(self.checker.db, code) {
            crate::sandbox::signature::FunctionSignature::Defined(parameters) => parameters,
            crate::sandbox::signature::FunctionSignature::Missing => {
                self.checker.error(
                    &codes::INVALID_PROPERTY_VALUE,
                    "the code defines no `run` function",
                    anchor,
                    "no `def run(...)` here",
                    format!("define `{}` and return the node's output", signature()),
                );
                return;
            }
            crate::sandbox::signature::FunctionSignature::Unparseable(message) => {
                self.checker.error(
                    &codes::INVALID_PROPERTY_VALUE,
                    format!("the code does not parse: {message}"),
                    anchor,
                    "a syntax error in this code",
                    format!("fix the syntax; the code must define `{}`", signature()),
                );
                return;
            }
        };
        let mut parameters: Vec<&str> = parameters.iter().map(String::as_str).collect();
        parameters.sort_unstable();
        let mut expected: Vec<&str> = inputs.to_vec();
        expected.sort_unstable();
        if parameters != expected {
            self.checker.error(
                &codes::INVALID_PROPERTY_VALUE,
                format!("`run` takes ({}), but the node's inputs are ({})", parameters.join(", "), expected.join(", ")),
                anchor,
                "parameters do not match the inputs",
                format!("`run` receives each input by name: declare `{}`", signature()),
            );
        }
    }

    /// Resolve a reference, check the type it delivers, and record the edge. Returns
    /// whether an edge was recorded (it is the last of `references`).
    fn add_reference(&mut self, path: &PathHir, to: Option<usize>, expected: Option<(Type, AnchorId)>) -> bool {
        let Some((from, from_position)) = self.resolve_reference(path, expected.as_ref()) else { return false };
        self.references.push(Reference { from, from_position, to, path: path.dotted(), anchor: path.anchor });
        true
    }

    /// Where the last recorded reference reads from.
    fn last_source(&self) -> Endpoint {
        self.references.last().expect("a reference was just recorded").from.clone()
    }

    /// Where a reference reads from (the position is the node's, `None` for an input),
    /// once the type it delivers is checked against `expected`; `None` when the first
    /// name is unknown. An unknown field is reported, and the reference still reads
    /// from its node.
    fn resolve_reference(&mut self, path: &PathHir, expected: Option<&(Type, AnchorId)>) -> Option<(Endpoint, Option<usize>)> {
        let first = path.segments.first()?;
        // The type is walked by reference: nothing is cloned.
        let (endpoint, position, mut ty, type_anchor): (Endpoint, Option<usize>, &Type, Option<AnchorId>) =
            if let Some((_, ty)) = self.context.inputs.iter().find(|(input, _)| input.text == first.text) {
                (Endpoint::Input(first.text.clone()), None, ty, None)
            } else if let Some(position) = self.context.node_positions.get(&first.text) {
                let (ty, anchor) = &self.context.node_outputs[*position];
                (Endpoint::Node(first.text.clone()), Some(*position), ty, *anchor)
            } else {
                let candidates: Vec<&str> = self
                    .context
                    .inputs
                    .iter()
                    .map(|(input, _)| input.text.as_str())
                    .chain(self.context.node_names.iter().map(String::as_str))
                    .collect();
                let help = did_you_mean(&first.text, candidates.iter().copied(), "inputs and nodes").unwrap_or_else(|| match self.checker.scope.entries.get(&first.text) {
                    Some(item) => format!("`{}` is {}; references name an input or a node of this workflow", first.text, item.kind.describe()),
                    None => "a reference names an input of the workflow or one of its nodes".into(),
                });
                self.unresolved_references = true;
                self.checker.error(
                    &codes::UNKNOWN_NAME,
                    format!("`{}` is not an input or node of `{}`", first.text, self.context.name),
                    first.anchor,
                    "unknown name",
                    help,
                );
                return None;
            };
        for (index, segment) in path.segments.iter().enumerate().skip(1) {
            let owner = || path.segments[..index].iter().map(|segment| segment.text.as_str()).collect::<Vec<_>>().join(".");
            match ty {
                // Unknown (already reported): compatible with everything.
                Type::Error => return Some((endpoint, position)),
                Type::Json(fields) => match ty.field(&segment.text) {
                    Some(field) => ty = field,
                    None => {
                        let owner = owner();
                        let names: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
                        let help = did_you_mean(&segment.text, names.iter().copied(), "fields").unwrap_or_else(|| format!("`{owner}` has the fields {}", list_names(&names)));
                        let mut diagnostic = SemanticDiagnostic::new(
                            &codes::UNKNOWN_FIELD,
                            format!("`{owner}` has no field `{}`", segment.text),
                            self.checker.at(segment.anchor),
                            "unknown field",
                        )
                        .with_help(help);
                        if let Some(anchor) = type_anchor {
                            diagnostic = diagnostic.with_secondary(self.checker.at(anchor), format!("`{}` outputs this type", first.text));
                        }
                        self.checker.report(diagnostic);
                        return Some((endpoint, position));
                    }
                },
                other => {
                    let owner = owner();
                    let mut diagnostic = SemanticDiagnostic::new(
                        &codes::UNKNOWN_FIELD,
                        format!("`{owner}` is `{other}`, which has no fields"),
                        self.checker.at(segment.anchor),
                        "no such field",
                    )
                    .with_help(format!("use `{owner}` itself, or make its output a `json {{ {}: ... }}`", segment.text));
                    if let Some(anchor) = type_anchor {
                        diagnostic = diagnostic.with_secondary(self.checker.at(anchor), format!("`{}` outputs this type", first.text));
                    }
                    self.checker.report(diagnostic);
                    return Some((endpoint, position));
                }
            }
        }
        if let Some((expected, expected_anchor)) = expected {
            if !ty.is_assignable_to(expected) {
                let diagnostic = SemanticDiagnostic::new(
                    &codes::TYPE_MISMATCH,
                    format!("`{}` is `{ty}`, but `{expected}` is expected", path.dotted()),
                    self.checker.at(path.anchor),
                    format!("this is `{ty}`"),
                )
                .with_secondary(self.checker.at(*expected_anchor), format!("`{expected}` expected because of this"))
                .with_help(type_mismatch_help(ty, expected));
                self.checker.report(diagnostic);
            }
        }
        Some((endpoint, position))
    }

    fn check_bindings(&mut self, workflow: &WorkflowHir) -> Vec<(String, Endpoint, String)> {
        let mut bound: Vec<(String, AnchorId)> = Vec::new();
        let mut bindings = Vec::new();
        for binding in &workflow.bindings {
            let output = self.context.outputs.iter().find(|(name, _, _)| name.text == binding.output.text).cloned();
            let Some((_, output_type, type_anchor)) = output else {
                let names: Vec<&str> = self.context.outputs.iter().map(|(name, _, _)| name.text.as_str()).collect();
                let help = did_you_mean(&binding.output.text, names.iter().copied(), "outputs")
                    .unwrap_or_else(|| format!("declare it in the signature: `-> ({}: type)`", binding.output.text));
                self.checker.error(
                    &codes::UNKNOWN_OUTPUT,
                    format!("`{}` has no output `{}`", self.context.name, binding.output.text),
                    binding.output.anchor,
                    "not a declared output",
                    help,
                );
                // What it reads is still used: do not also report it as unused.
                if self.add_reference(&binding.target, None, None) {
                    bindings.push((binding.output.text.clone(), self.last_source(), binding.target.dotted()));
                }
                continue;
            };
            if let Some((_, first)) = bound.iter().find(|(name, _)| *name == binding.output.text) {
                let diagnostic = SemanticDiagnostic::new(&codes::DUPLICATE_BINDING, format!("the output `{}` is bound twice", binding.output.text), self.checker.at(binding.output.anchor), "bound again here")
                    .with_secondary(self.checker.at(*first), "first bound here")
                    .with_help("an output has exactly one source; remove one binding");
                self.checker.report(diagnostic);
                if self.add_reference(&binding.target, None, None) {
                    bindings.push((binding.output.text.clone(), self.last_source(), binding.target.dotted()));
                }
                continue;
            }
            bound.push((binding.output.text.clone(), binding.output.anchor));
            if self.add_reference(&binding.target, None, Some((output_type, type_anchor))) {
                bindings.push((binding.output.text.clone(), self.last_source(), binding.target.dotted()));
            }
        }
        let unbound: Vec<(Name, AnchorId)> = self
            .context
            .outputs
            .iter()
            .filter(|(name, _, _)| !bound.iter().any(|(bound_name, _)| *bound_name == name.text))
            .map(|(name, _, _)| (name.clone(), workflow.body_anchor))
            .collect();
        for (name, _) in unbound {
            self.checker.error(
                &codes::UNBOUND_OUTPUT,
                format!("the output `{}` of `{}` is never bound", name.text, self.context.name),
                name.anchor,
                "declared here, never given a value",
                format!("bind it in the workflow body: `{} = node` or `{} = node.field`", name.text, name.text),
            );
        }
        bindings
    }

    /// Cycles (errors), unused nodes and inputs (warnings); the topological order.
    fn check_graph(&mut self, workflow: &WorkflowHir, bindings: &[(String, Endpoint, String)]) -> Option<Vec<usize>> {
        let node_count = workflow.nodes.len();
        let node_edges: Vec<(usize, usize, usize)> = self
            .references
            .iter()
            .enumerate()
            .filter_map(|(id, reference)| match (reference.from_position, reference.to) {
                (Some(from), Some(to)) => Some((from, to, id)),
                _ => None,
            })
            .collect();
        let graph = DependencyGraph::new(node_count, node_edges);

        for cycle in graph.cycles() {
            let names: Vec<String> = cycle
                .iter()
                .map(|edge| self.references[*edge].from.name().to_string())
                .chain(cycle.first().map(|edge| self.references[*edge].from.name().to_string()))
                .collect();
            let first = &self.references[cycle[0]];
            let reader = |reference: &Reference| reference.to.map(|to| self.context.node_names[to].clone()).unwrap_or_default();
            let mut diagnostic = SemanticDiagnostic::new(
                &codes::CYCLE,
                format!("the nodes {} depend on each other in a cycle", names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(" → ")),
                self.checker.at(first.anchor),
                format!("`{}` reads `{}` here", reader(first), first.from.name()),
            )
            .with_help("a workflow is a DAG: every node runs after what it reads, so one of these references must go (split the node, or compute the value earlier)");
            for edge in &cycle[1..] {
                let reference = &self.references[*edge];
                diagnostic = diagnostic.with_secondary(self.checker.at(reference.anchor), format!("`{}` reads `{}` here", reader(reference), reference.from.name()));
            }
            self.checker.report(diagnostic);
        }

        if self.unresolved_references {
            // Unused-node and unused-input warnings would only echo the unknown name.
            return graph.topological_order();
        }
        let sinks: Vec<usize> = bindings.iter().filter_map(|(_, from, _)| match from {
            Endpoint::Node(name) => self.context.node_positions.get(name).copied(),
            Endpoint::Input(_) => None,
        }).collect();
        let used = graph.ancestors_of(&sinks);
        for (position, node) in workflow.nodes.iter().enumerate() {
            let declared_here = self.context.node_positions.get(&node.name.text) == Some(&position);
            if !used[position] && declared_here {
                self.checker.report(
                    SemanticDiagnostic::new(
                        &codes::UNUSED_NODE,
                        format!("the node `{}` is never used", node.name.text),
                        self.checker.at(node.name.anchor),
                        "its output reaches no workflow output",
                    )
                    .with_help("bind it to an output, read it from another node, or remove it (it would still cost a model call on every run)"),
                );
            }
        }
        for (input, _) in &self.context.inputs {
            let read = self.references.iter().any(|reference| reference.from == Endpoint::Input(input.text.clone()));
            if !read {
                self.checker.report(
                    SemanticDiagnostic::new(&codes::UNUSED_INPUT, format!("the input `{}` is never used", input.text), self.checker.at(input.anchor), "never read")
                        .with_help(format!("reference it in a prompt as `{{{}}}`, or remove it", input.text)),
                );
            }
        }
        graph.topological_order()
    }
}

fn type_mismatch_help(found: &Type, expected: &Type) -> String {
    match (found, expected) {
        (Type::Number, Type::Int) => "a number may have a fractional part; declare `number` here, or make the source `int`".into(),
        (Type::Text, Type::Number | Type::Int) => "text does not turn into a number by itself: give the source node a numeric `output`, or parse it in a code node".into(),
        _ => format!("make the source produce `{expected}`, or change the expected type to `{found}`"),
    }
}
