//! The typed DAG of a workflow: span-free, the product of analysis that later stages
//! (graph rendering, the lock, the runtime) consume.

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use super::types::Type;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Llm,
    Code,
    Consensus,
}

impl NodeKind {
    pub fn from_name(name: &str) -> Option<NodeKind> {
        Some(match name {
            "llm" => NodeKind::Llm,
            "code" => NodeKind::Code,
            "consensus" => NodeKind::Consensus,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Llm => "llm",
            NodeKind::Code => "code",
            NodeKind::Consensus => "consensus",
        }
    }
}

pub const NODE_KINDS: [&str; 3] = ["llm", "code", "consensus"];

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GraphNode {
    pub name: String,
    /// `None` when the written kind is unknown (already reported).
    pub kind: Option<NodeKind>,
    pub model: Option<String>,
    pub output: Type,
}

/// Where a value comes from: a workflow input or a node's output.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    Input(String),
    Node(String),
}

impl Endpoint {
    pub fn name(&self) -> &str {
        match self {
            Endpoint::Input(name) | Endpoint::Node(name) => name,
        }
    }
}

/// One use of a value by a node: `to` reads `path` (e.g. `extract.quantities`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GraphEdge {
    pub from: Endpoint,
    pub to: String,
    pub path: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct WorkflowGraph {
    pub name: String,
    pub inputs: Vec<(String, Type)>,
    pub outputs: Vec<(String, Type)>,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// `(output, source, path)` for each bound output.
    pub bindings: Vec<(String, Endpoint, String)>,
    /// Node names in an order where each node comes after all it reads; `None` if the
    /// graph has a cycle.
    pub topological_order: Option<Vec<String>>,
}

/// The node-to-node dependency graph, built with petgraph.
pub struct DependencyGraph {
    pub graph: DiGraph<usize, usize>,
    pub indices: Vec<NodeIndex>,
}

impl DependencyGraph {
    /// `edges` are `(from node, to node, edge id)` by node position.
    pub fn new(node_count: usize, edges: impl IntoIterator<Item = (usize, usize, usize)>) -> DependencyGraph {
        let mut graph = DiGraph::with_capacity(node_count, node_count * 2);
        let indices: Vec<NodeIndex> = (0..node_count).map(|position| graph.add_node(position)).collect();
        for (from, to, edge) in edges {
            graph.add_edge(indices[from], indices[to], edge);
        }
        DependencyGraph { graph, indices }
    }

    pub fn topological_order(&self) -> Option<Vec<usize>> {
        toposort(&self.graph, None).ok().map(|order| order.into_iter().map(|index| self.graph[index]).collect())
    }

    /// Each cycle as the list of edge ids that go around it, in order.
    pub fn cycles(&self) -> Vec<Vec<usize>> {
        let mut cycles = Vec::new();
        for component in tarjan_scc(&self.graph) {
            let is_cycle = component.len() > 1 || self.graph.find_edge(component[0], component[0]).is_some();
            if !is_cycle {
                continue;
            }
            let start = *component.iter().min_by_key(|index| self.graph[**index]).expect("non-empty component");
            if let Some(path) = self.cycle_through(start, &component) {
                cycles.push(path);
            }
        }
        cycles.sort();
        cycles
    }

    /// A shortest path of edges from `start` back to itself, within `component`.
    fn cycle_through(&self, start: NodeIndex, component: &[NodeIndex]) -> Option<Vec<usize>> {
        use petgraph::visit::EdgeRef;
        use std::collections::{HashMap, VecDeque};
        let mut came_by: HashMap<NodeIndex, (NodeIndex, usize)> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(current) = queue.pop_front() {
            let mut outgoing: Vec<_> = self.graph.edges(current).filter(|edge| component.contains(&edge.target())).collect();
            outgoing.sort_by_key(|edge| *edge.weight());
            for edge in outgoing {
                let target = edge.target();
                if target == start {
                    let mut path = vec![*edge.weight()];
                    let mut node = current;
                    while node != start {
                        let (previous, weight) = came_by[&node];
                        path.push(weight);
                        node = previous;
                    }
                    path.reverse();
                    return Some(path);
                }
                if let std::collections::hash_map::Entry::Vacant(entry) = came_by.entry(target) {
                    entry.insert((current, *edge.weight()));
                    queue.push_back(target);
                }
            }
        }
        None
    }

    /// Nodes from which any of `sinks` can be reached (the sinks included).
    pub fn ancestors_of(&self, sinks: &[usize]) -> Vec<bool> {
        let mut reached = vec![false; self.indices.len()];
        let mut stack: Vec<NodeIndex> = sinks.iter().map(|sink| self.indices[*sink]).collect();
        while let Some(index) = stack.pop() {
            let position = self.graph[index];
            if reached[position] {
                continue;
            }
            reached[position] = true;
            stack.extend(self.graph.neighbors_directed(index, petgraph::Direction::Incoming));
        }
        reached
    }
}
