//! The diagram of a locked workflow (what `flowc serve` shows on its plan page).

use super::{input_id, node_id, node_lines, output_id, DiagramNodeKind, WorkflowDiagram};
use crate::plan::lock_file::LockedWorkflow;

pub fn diagram_of_locked_workflow(workflow: &LockedWorkflow) -> WorkflowDiagram {
    let mut diagram = WorkflowDiagram { name: workflow.name.clone(), ..WorkflowDiagram::default() };
    let is_node = |name: &str| workflow.nodes.iter().any(|node| node.name == name);
    let endpoint = |name: &str| if is_node(name) { node_id(name) } else { input_id(name) };
    for port in &workflow.inputs {
        diagram.add_box(input_id(&port.name), DiagramNodeKind::Input, vec![format!("{}: {}", port.name, port.ty)]);
    }
    for node in &workflow.nodes {
        let kind = DiagramNodeKind::from_node_kind(node.kind.as_str()).unwrap_or(DiagramNodeKind::Code);
        diagram.add_box(node_id(&node.name), kind, node_lines(&node.name, node.kind.as_str(), node.model.as_deref(), &node.output_type));
    }
    for output in &workflow.outputs {
        diagram.add_box(output_id(&output.name), DiagramNodeKind::Output, vec![format!("{}: {}", output.name, output.ty)]);
    }
    for node in &workflow.nodes {
        for read in &node.reads {
            diagram.add_arrow(endpoint(read), node_id(&node.name));
        }
    }
    for output in &workflow.outputs {
        let source = output.from.split('.').next().unwrap_or_default();
        diagram.add_arrow(endpoint(source), output_id(&output.name));
    }
    diagram
}
