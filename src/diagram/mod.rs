//! A workflow's DAG as a picture: one neutral description of what to draw
//! ([`WorkflowDiagram`]), built from checked source (`flowc graph --format svg`) or
//! from a plan (`flowc serve`'s plan page), and one renderer ([`svg`]), so that the
//! command and the page draw the same picture of the same workflow.
//!
//! Layout (ranks, crossing reduction, coordinates) is the `layout-rs` crate's
//! Sugiyama-style placer; this module decides shapes, colours and labels.

pub mod from_plan;
pub mod from_source;
pub mod svg;

/// What a box in the picture stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagramNodeKind {
    Input,
    Llm,
    Code,
    Consensus,
    Output,
}

impl DiagramNodeKind {
    /// The node kind as the language and the lock spell it.
    pub fn from_node_kind(kind: &str) -> Option<DiagramNodeKind> {
        match kind {
            // A likelihood choice is the student reading: drawn as a model call.
            "llm" | "likelihood_choice" => Some(DiagramNodeKind::Llm),
            "code" => Some(DiagramNodeKind::Code),
            "consensus" => Some(DiagramNodeKind::Consensus),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DiagramNodeKind::Input => "input",
            DiagramNodeKind::Llm => "llm",
            DiagramNodeKind::Code => "code",
            DiagramNodeKind::Consensus => "consensus",
            DiagramNodeKind::Output => "output",
        }
    }
}

/// One box: a workflow input, a node or a workflow output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagramBox {
    /// Unique within the diagram: `input:question`, `node:extract`, `output:answer`.
    pub id: String,
    pub kind: DiagramNodeKind,
    /// The lines written in the box.
    pub lines: Vec<String>,
}

/// A workflow as boxes and arrows, in a deterministic order (inputs as declared,
/// nodes in the plan's topological order, outputs as declared), so the same
/// workflow always gives the same bytes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct WorkflowDiagram {
    pub name: String,
    pub boxes: Vec<DiagramBox>,
    /// `(from id, to id)`, each pair once.
    pub arrows: Vec<(String, String)>,
}

impl WorkflowDiagram {
    pub(crate) fn add_box(&mut self, id: String, kind: DiagramNodeKind, lines: Vec<String>) {
        self.boxes.push(DiagramBox { id, kind, lines });
    }

    pub(crate) fn add_arrow(&mut self, from: String, to: String) {
        if !self.arrows.iter().any(|(known_from, known_to)| *known_from == from && *known_to == to) {
            self.arrows.push((from, to));
        }
    }
}

pub(crate) fn input_id(name: &str) -> String {
    format!("input:{name}")
}

pub(crate) fn node_id(name: &str) -> String {
    format!("node:{name}")
}

pub(crate) fn output_id(name: &str) -> String {
    format!("output:{name}")
}

/// The text of a node's box: its name, what it is, and what it gives (three short
/// lines rather than one long one keep boxes narrow, so the picture needs less
/// scaling down and stays readable).
pub(crate) fn node_lines(name: &str, kind: &str, model: Option<&str>, output_type: &str) -> Vec<String> {
    let what = match model {
        Some(model) => format!("{kind}({model})"),
        None => kind.to_string(),
    };
    vec![name.to_string(), what, format!("→ {output_type}")]
}
