//! `flowc graph`: a workflow's DAG as Graphviz DOT, Mermaid, or an SVG picture (the
//! one `flowc serve`'s plan page shows, drawn by `crate::diagram`).

use std::fmt::Write as _;
use std::path::Path;

use super::terminal::print_file_diagnostics;
use super::{GraphFormat, Outcome};
use crate::diagnostics::Severity;
use crate::semantic::database::{analyze_item, item_keys, ItemId};
use crate::semantic::hir::ItemKind;
use crate::semantic::workflow_graph::{Endpoint, WorkflowGraph};
use crate::semantic::{file_diagnostics, FlowDatabase};

pub fn run(path: &Path, workflow: Option<&str>, format: GraphFormat) -> Outcome {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: cannot read {}: {error}", path.display());
            return Outcome::UsageError;
        }
    };
    let mut database = FlowDatabase::default();
    let file = database.set_file_text(path, text.clone());
    let errors: Vec<_> = file_diagnostics(&database, file).into_iter().filter(|d| d.severity() == Severity::Error).collect();
    if !errors.is_empty() {
        print_file_diagnostics(path, &text, &errors);
        eprintln!("error: {} has errors; fix them to draw its graph", path.display());
        return Outcome::Failure;
    }
    let workflows: Vec<String> =
        item_keys(&database, file).iter().filter(|(_, kind)| *kind == ItemKind::Workflow).map(|(key, _)| key.clone()).collect();
    let chosen = match (workflow, workflows.as_slice()) {
        (Some(name), _) if workflows.iter().any(|known| known == name) => name.to_string(),
        (Some(name), _) => {
            eprintln!("error: {} has no workflow `{name}` (it has: {})", path.display(), workflows.join(", "));
            return Outcome::UsageError;
        }
        (None, [only]) => only.clone(),
        (None, []) => {
            eprintln!("error: {} declares no workflow", path.display());
            return Outcome::UsageError;
        }
        (None, _) => {
            eprintln!("error: {} has several workflows; choose one with --workflow ({})", path.display(), workflows.join(", "));
            return Outcome::UsageError;
        }
    };
    let analysis = analyze_item(&database, ItemId::new(&database, file, chosen));
    let Some(graph) = &analysis.graph else {
        eprintln!("error: no graph was built");
        return Outcome::Failure;
    };
    print!("{}", match format {
        GraphFormat::Dot => to_dot(graph),
        GraphFormat::Mermaid => to_mermaid(graph),
        GraphFormat::Svg => crate::diagram::svg::diagram_to_svg(&crate::diagram::from_source::diagram_of_workflow_graph(graph)),
    });
    Outcome::Success
}

fn endpoint_id(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Input(name) => format!("input_{name}"),
        Endpoint::Node(name) => format!("node_{name}"),
    }
}

fn node_label(graph: &WorkflowGraph, index: usize) -> String {
    let node = &graph.nodes[index];
    let kind = node.kind.map(|kind| kind.name()).unwrap_or("?");
    match &node.model {
        Some(model) => format!("{}\\n{kind}({model}) -> {}", node.name, node.output),
        None => format!("{}\\n{kind} -> {}", node.name, node.output),
    }
}

fn escape_dot(text: &str) -> String {
    text.replace('"', "\\\"")
}

pub fn to_dot(graph: &WorkflowGraph) -> String {
    let mut dot = String::new();
    let _ = writeln!(dot, "digraph \"{}\" {{", escape_dot(&graph.name));
    let _ = writeln!(dot, "  rankdir=LR;");
    let _ = writeln!(dot, "  node [fontname=\"Helvetica\"];");
    for (name, ty) in &graph.inputs {
        let _ = writeln!(dot, "  input_{name} [shape=ellipse, label=\"{name}: {}\"];", escape_dot(&ty.to_string()));
    }
    for (index, node) in graph.nodes.iter().enumerate() {
        let shape = match node.kind.map(|kind| kind.name()) {
            Some("code") => "box, style=rounded",
            Some("consensus") => "box3d",
            _ => "box",
        };
        let _ = writeln!(dot, "  node_{} [shape={shape}, label=\"{}\"];", node.name, escape_dot(&node_label(graph, index)));
    }
    for (name, ty) in &graph.outputs {
        let _ = writeln!(dot, "  output_{name} [shape=doublecircle, label=\"{name}: {}\"];", escape_dot(&ty.to_string()));
    }
    for edge in &graph.edges {
        let _ = writeln!(dot, "  {} -> node_{} [label=\"{}\"];", endpoint_id(&edge.from), edge.to, escape_dot(&edge.path));
    }
    for (output, from, path) in &graph.bindings {
        let _ = writeln!(dot, "  {} -> output_{output} [label=\"{}\", style=bold];", endpoint_id(from), escape_dot(path));
    }
    dot.push_str("}\n");
    dot
}

pub fn to_mermaid(graph: &WorkflowGraph) -> String {
    let mut mermaid = String::from("flowchart LR\n");
    let quote = |text: &str| text.replace('"', "#quot;").replace("\\n", "<br/>");
    for (name, ty) in &graph.inputs {
        let _ = writeln!(mermaid, "  input_{name}([\"{}\"])", quote(&format!("{name}: {ty}")));
    }
    for (index, node) in graph.nodes.iter().enumerate() {
        let _ = writeln!(mermaid, "  node_{}[\"{}\"]", node.name, quote(&node_label(graph, index)));
    }
    for (name, ty) in &graph.outputs {
        let _ = writeln!(mermaid, "  output_{name}((\"{}\"))", quote(&format!("{name}: {ty}")));
    }
    for edge in &graph.edges {
        let _ = writeln!(mermaid, "  {} -->|\"{}\"| node_{}", endpoint_id(&edge.from), quote(&edge.path), edge.to);
    }
    for (output, from, path) in &graph.bindings {
        let _ = writeln!(mermaid, "  {} ==>|\"{}\"| output_{output}", endpoint_id(from), quote(path));
    }
    mermaid
}
