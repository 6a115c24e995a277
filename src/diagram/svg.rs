//! Drawing a [`WorkflowDiagram`] as SVG with `layout-rs`: left to right, one
//! colour per kind of box, arrows from what a node reads to the node.
//!
//! Deterministic: the diagram's order is fixed and a single font size is used (the
//! SVG writer keeps font classes in a hash map, so several sizes would come out in
//! any order).

use std::collections::HashMap;

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::StyleAttr;
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;

use super::{DiagramNodeKind, WorkflowDiagram};

const FONT_SIZE: usize = 15;

/// Fill and line colours (web colours) of each kind of box, chosen to read well on
/// white and to tell model calls (blue) from deterministic code (green) at a glance.
fn colours(kind: DiagramNodeKind) -> (&'static str, &'static str) {
    match kind {
        DiagramNodeKind::Input => ("#f1f3f5", "#495057"),
        DiagramNodeKind::Llm => ("#dbe9ff", "#1c5fc4"),
        DiagramNodeKind::Code => ("#dcf5e3", "#1f7a3f"),
        DiagramNodeKind::Consensus => ("#fff0d6", "#b26a00"),
        DiagramNodeKind::Output => ("#f3e8ff", "#6f3cc2"),
    }
}

/// The SVG document of `diagram` (with its XML declaration).
pub fn diagram_to_svg(diagram: &WorkflowDiagram) -> String {
    let mut graph = VisualGraph::new(Orientation::LeftToRight);
    let mut handles = HashMap::new();
    for diagram_box in &diagram.boxes {
        let (fill, line) = colours(diagram_box.kind);
        let rounded = match diagram_box.kind {
            DiagramNodeKind::Input | DiagramNodeKind::Output => 18,
            DiagramNodeKind::Code => 8,
            DiagramNodeKind::Llm | DiagramNodeKind::Consensus => 2,
        };
        let look = StyleAttr::new(Color::fast(line), 2, Some(Color::fast(fill)), rounded, FONT_SIZE);
        let shape = ShapeKind::new_box(&diagram_box.lines.join("\n"));
        let size = get_shape_size(Orientation::LeftToRight, &shape, FONT_SIZE, false);
        let handle = graph.add_node(Element::create(shape, look, Orientation::LeftToRight, size));
        handles.insert(diagram_box.id.as_str(), handle);
    }
    for (from, to) in &diagram.arrows {
        if let (Some(&from), Some(&to)) = (handles.get(from.as_str()), handles.get(to.as_str())) {
            let mut arrow = Arrow::simple("");
            arrow.look = StyleAttr::new(Color::fast("#5c6570"), 2, None, 0, FONT_SIZE);
            graph.add_edge(arrow, from, to);
        }
    }
    let mut writer = SVGWriter::new();
    graph.do_it(false, false, false, &mut writer);
    // The writer grows its canvas by ten pixels of height per character of every
    // label, so a wide workflow came out as a thin strip above a tall blank area;
    // the canvas is set to the laid-out boxes instead.
    let (mut width, mut height) = (0.0f64, 0.0f64);
    for handle in graph.iter_nodes() {
        let (_, bottom_right) = graph.pos(handle).bbox(true);
        width = width.max(bottom_right.x);
        height = height.max(bottom_right.y);
    }
    fit_canvas(&writer.finalize(), width + CANVAS_MARGIN, height + CANVAS_MARGIN)
}

const CANVAS_MARGIN: f64 = 12.0;

/// `document` with its `<svg>` element's size and view box set to `width` ×
/// `height`.
fn fit_canvas(document: &str, width: f64, height: f64) -> String {
    let Some(start) = document.find("<svg ") else { return document.to_string() };
    let Some(length) = document[start..].find('>') else { return document.to_string() };
    let (width, height) = (width.ceil(), height.ceil());
    let element = format!("<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">");
    format!("{}{element}{}", &document[..start], &document[start + length + 1..])
}

/// The SVG element alone (no XML declaration), for embedding in an HTML page.
pub fn diagram_to_inline_svg(diagram: &WorkflowDiagram) -> String {
    let document = diagram_to_svg(diagram);
    match document.find("<svg") {
        Some(start) => document[start..].to_string(),
        None => document,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_box_and_the_same_bytes_twice() {
        let mut diagram = WorkflowDiagram { name: "solve".into(), ..WorkflowDiagram::default() };
        diagram.add_box("input:question".into(), DiagramNodeKind::Input, vec!["question: text".into()]);
        diagram.add_box("node:extract".into(), DiagramNodeKind::Llm, vec!["extract".into(), "llm(student)".into(), "→ [number]".into()]);
        diagram.add_box("output:answer".into(), DiagramNodeKind::Output, vec!["answer: number".into()]);
        diagram.add_arrow("input:question".into(), "node:extract".into());
        diagram.add_arrow("node:extract".into(), "output:answer".into());
        let svg = diagram_to_svg(&diagram);
        assert!(svg.contains("<svg"), "{svg}");
        for text in ["question: text", "extract", "llm(student)", "→ [number]", "answer: number"] {
            assert!(svg.contains(text), "{text} missing from {svg}");
        }
        assert_eq!(svg, diagram_to_svg(&diagram));
        assert!(diagram_to_inline_svg(&diagram).starts_with("<svg"));
    }
}
