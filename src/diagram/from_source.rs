//! The diagram of a checked workflow (what `flowc graph --format svg` draws). Same
//! order and labels as [`super::from_plan`]: a plan written by `flowc lock` draws
//! exactly like its source.

use super::{input_id, node_id, node_lines, output_id, DiagramNodeKind, WorkflowDiagram};
use crate::semantic::workflow_graph::{Endpoint, WorkflowGraph};

pub fn diagram_of_workflow_graph(graph: &WorkflowGraph) -> WorkflowDiagram {
    let mut diagram = WorkflowDiagram { name: graph.name.clone(), ..WorkflowDiagram::default() };
    let endpoint = |endpoint: &Endpoint| match endpoint {
        Endpoint::Input(name) => input_id(name),
        Endpoint::Node(name) => node_id(name),
    };
    for (name, ty) in &graph.inputs {
        diagram.add_box(input_id(name), DiagramNodeKind::Input, vec![format!("{name}: {ty}")]);
    }
    // The plan's order: topological (declaration order for a graph with a cycle,
    // which has no plan).
    let order: Vec<usize> = match &graph.topological_order {
        Some(order) => order.iter().filter_map(|name| graph.nodes.iter().position(|node| node.name == *name)).collect(),
        None => (0..graph.nodes.len()).collect(),
    };
    for &index in &order {
        let node = &graph.nodes[index];
        let kind_name = node.kind.map(|kind| kind.name()).unwrap_or("?");
        let kind = DiagramNodeKind::from_node_kind(kind_name).unwrap_or(DiagramNodeKind::Code);
        diagram.add_box(node_id(&node.name), kind, node_lines(&node.name, kind_name, node.model.as_deref(), &node.output.to_string()));
    }
    for (name, ty) in &graph.outputs {
        diagram.add_box(output_id(name), DiagramNodeKind::Output, vec![format!("{name}: {ty}")]);
    }
    // Arrows as the plan lists them: per node in order, its reads sorted by name.
    for &index in &order {
        let node = &graph.nodes[index];
        let mut reads: Vec<&Endpoint> = graph.edges.iter().filter(|edge| edge.to == node.name).map(|edge| &edge.from).collect();
        reads.sort_by(|left, right| left.name().cmp(right.name()));
        for read in reads {
            diagram.add_arrow(endpoint(read), node_id(&node.name));
        }
    }
    for (name, _) in &graph.outputs {
        if let Some((_, from, _)) = graph.bindings.iter().find(|(output, _, _)| output == name) {
            diagram.add_arrow(endpoint(from), output_id(name));
        }
    }
    diagram
}
