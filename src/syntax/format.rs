//! The formatter: one canonical layout, idempotent, keeping every comment.
//!
//! It prints the syntax tree and interleaves the comments collected beside it by
//! position: a comment before an element is printed on its own lines before it; a
//! comment after an element on the same line stays there. A comment in a spot the
//! layout has no room for (inside a one-line header, say) moves to the next line
//! that has room, and is never dropped.
//!
//! Safety: a file with syntax errors is not formatted, and the result is re-parsed
//! and compared (span-free) with the input before it is returned, so formatting can
//! never change what a file means.

use std::fmt::Write as _;

use super::ast::*;
use super::comments::Comment;
use super::parse::parse_source;
use super::strings::Dedent;

const INDENT: &str = "  ";
const MAXIMUM_WIDTH: usize = 100;

#[derive(Debug, PartialEq, Eq)]
pub enum FormatError {
    /// The file does not parse cleanly; formatting it could lose text.
    SyntaxErrors(usize),
}

pub fn format_source(text: &str) -> Result<String, FormatError> {
    let parsed = parse_source(text);
    if !parsed.diagnostics.is_empty() {
        return Err(FormatError::SyntaxErrors(parsed.diagnostics.len()));
    }
    let mut printer = Printer { text, comments: &parsed.comments, next_comment: 0, output: String::new() };
    printer.file(&parsed.items);
    let formatted = printer.output;
    debug_assert!(same_meaning(text, &formatted), "formatting changed the meaning of:\n{text}\n---\n{formatted}");
    if !same_meaning(text, &formatted) {
        // Unreachable by construction; if it ever happens, keep the user's text.
        return Ok(text.to_string());
    }
    Ok(formatted)
}

/// Both texts parse cleanly to the same span-free declarations and the same comments.
fn same_meaning(original: &str, formatted: &str) -> bool {
    let before = parse_source(original);
    let after = parse_source(formatted);
    if !after.diagnostics.is_empty() {
        return false;
    }
    let comments = |parsed: &super::ParsedFile| parsed.comments.iter().map(|comment| comment.text.trim_end().to_string()).collect::<Vec<_>>();
    let hir = |parsed: &super::ParsedFile| {
        crate::semantic::lower::lower_items(&parsed.items).items.into_iter().map(|item| item.hir).collect::<Vec<_>>()
    };
    comments(&before) == comments(&after) && hir(&before) == hir(&after)
}

struct Printer<'a> {
    text: &'a str,
    comments: &'a [Comment],
    next_comment: usize,
    output: String,
}

impl Printer<'_> {
    fn file(&mut self, items: &[Item]) {
        let mut previous: Option<&Item> = None;
        for item in items {
            if let Some(previous) = previous {
                let both_imports = matches!((previous, item), (Item::Import(_), Item::Import(_)));
                if !both_imports || self.blank_line_between(previous.span().end, item.span().start) {
                    self.output.push('\n');
                }
            }
            self.leading_comments(item.span().start, 0, true);
            self.item(item);
            self.trailing_comment(item.span().end);
            self.output.push('\n');
            previous = Some(item);
        }
        if self.next_comment < self.comments.len() && !items.is_empty() {
            self.output.push('\n');
        }
        self.leading_comments(usize::MAX, 0, false);
    }

    /// Whether the source has a blank line between two offsets (ignoring comments).
    fn blank_line_between(&self, from: usize, to: usize) -> bool {
        let between = &self.text[from.min(self.text.len())..to.min(self.text.len())];
        let mut lines = between.split('\n');
        lines.next();
        let mut remaining: Vec<&str> = lines.collect();
        remaining.pop();
        remaining.iter().any(|line| line.trim().is_empty())
    }

    /// Print the comments that start before `before`, each on its own line.
    fn leading_comments(&mut self, before: usize, depth: usize, keep_blank_lines: bool) {
        let mut previous_end: Option<usize> = None;
        while let Some(comment) = self.comments.get(self.next_comment) {
            if comment.span.start >= before {
                break;
            }
            if let Some(previous_end) = previous_end {
                if keep_blank_lines && self.blank_line_between(previous_end, comment.span.start) {
                    self.output.push('\n');
                }
            }
            self.indent(depth);
            self.output.push_str(comment.text.trim_end());
            self.output.push('\n');
            previous_end = Some(comment.span.end);
            self.next_comment += 1;
        }
        // Keep a blank line between a comment block and the element it does not touch.
        if let Some(previous_end) = previous_end {
            if keep_blank_lines && before != usize::MAX && self.blank_line_between(previous_end, before) {
                self.output.push('\n');
            }
        }
    }

    /// A comment on the same line, right after `end`, stays there.
    fn trailing_comment(&mut self, end: usize) {
        let Some(comment) = self.comments.get(self.next_comment) else { return };
        if !comment.trailing || comment.span.start < end {
            return;
        }
        let between = &self.text[end.min(self.text.len())..comment.span.start];
        if between.contains('\n') || !between.chars().all(|c| c.is_whitespace() || c == ',') {
            return;
        }
        self.output.push(' ');
        self.output.push_str(comment.text.trim_end());
        self.next_comment += 1;
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.output.push_str(INDENT);
        }
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Import(import) => {
                let _ = write!(self.output, "import {}", self.string(&import.path, 0));
                if !import.names.is_empty() {
                    let names: Vec<&str> = import.names.iter().map(|name| name.text.as_str()).collect();
                    let _ = write!(self.output, " {{ {} }}", names.join(", "));
                }
            }
            Item::Model(model) => {
                let source = self.call(&model.source, 0);
                let _ = write!(self.output, "model {} = {source}", model.name.text);
                if let Some(block) = &model.properties {
                    self.output.push(' ');
                    self.block(block, 0);
                }
            }
            Item::Dataset(dataset) => {
                let source = self.call(&dataset.source, 0);
                let _ = write!(self.output, "dataset {} = {source}", dataset.name.text);
                if let Some(block) = &dataset.properties {
                    self.output.push(' ');
                    self.block(block, 0);
                }
            }
            Item::Metric(metric) => {
                let params = self.params(&metric.params, 0);
                let _ = write!(self.output, "metric {}{params} ", metric.name.text);
                self.block(&metric.properties, 0);
            }
            Item::Optimize(optimize) => {
                let _ = write!(self.output, "optimize {} ", optimize.target.text);
                self.block(&optimize.properties, 0);
            }
            Item::Workflow(workflow) => self.workflow(workflow),
        }
    }

    fn workflow(&mut self, workflow: &WorkflowDecl) {
        let (inputs, outputs) = (self.params(&workflow.inputs, 0), self.params(&workflow.outputs, 0));
        let _ = write!(self.output, "workflow {}{inputs} -> {outputs} {{", workflow.name.text);
        self.trailing_comment(workflow.body_span.start + 1);
        self.output.push('\n');
        let mut previous_end: Option<usize> = None;
        for member in &workflow.members {
            if let Some(previous_end) = previous_end {
                if self.blank_line_between(previous_end, member.span().start) {
                    self.output.push('\n');
                }
            }
            self.leading_comments(member.span().start, 1, true);
            self.indent(1);
            match member {
                WorkflowMember::Node(node) => {
                    let arguments = node
                        .kind_arguments
                        .as_ref()
                        .map(|arguments| format!("({})", arguments.iter().map(|argument| argument.text.as_str()).collect::<Vec<_>>().join(", ")))
                        .unwrap_or_default();
                    let _ = write!(self.output, "node {} = {}{} ", node.name.text, node.kind.text, arguments);
                    self.block(&node.properties, 1);
                }
                WorkflowMember::Binding(binding) => {
                    let _ = write!(self.output, "{} = {}", binding.output.text, path_text(&binding.target));
                }
            }
            self.trailing_comment(member.span().end);
            self.output.push('\n');
            previous_end = Some(member.span().end);
        }
        self.leading_comments(workflow.body_span.end, 1, true);
        self.output.push('}');
    }

    /// A property block, always one property per line; `{}` when empty.
    fn block(&mut self, block: &PropertyBlock, depth: usize) {
        let has_comments = self.comments.get(self.next_comment).is_some_and(|comment| comment.span.start < block.span.end);
        if block.properties.is_empty() && !has_comments {
            self.output.push_str("{}");
            return;
        }
        self.output.push('{');
        self.trailing_comment(block.span.start + 1);
        self.output.push('\n');
        let mut previous_end: Option<usize> = None;
        for property in &block.properties {
            if let Some(previous_end) = previous_end {
                if self.blank_line_between(previous_end, property.span.start) {
                    self.output.push('\n');
                }
            }
            self.leading_comments(property.span.start, depth + 1, true);
            self.indent(depth + 1);
            self.property(property, depth + 1);
            self.trailing_comment(property.span.end);
            self.output.push('\n');
            previous_end = Some(property.span.end);
        }
        self.leading_comments(block.span.end, depth + 1, true);
        self.indent(depth);
        self.output.push('}');
    }

    fn property(&mut self, property: &Property, depth: usize) {
        let key = &property.key.text;
        match &property.value {
            PropertyValue::Type(ty) => {
                let _ = write!(self.output, "{key} = {}", type_text(ty));
            }
            PropertyValue::Typed { ty, value } => {
                let value = self.value(value, depth);
                let _ = write!(self.output, "{key}: {} = {value}", type_text(ty));
            }
            PropertyValue::Block(block) => {
                let _ = write!(self.output, "{key} ");
                self.block(block, depth);
            }
            PropertyValue::Value(value) => {
                let value = self.value(value, depth);
                let _ = write!(self.output, "{key} = {value}");
            }
        }
    }

    fn value(&mut self, value: &Value, depth: usize) -> String {
        match &value.kind {
            ValueKind::String(literal) => self.string(literal, depth),
            ValueKind::Number(number) => number.text.clone(),
            ValueKind::Bool(boolean) => boolean.to_string(),
            ValueKind::List(values) => {
                let items: Vec<String> = values.iter().map(|value| self.value(value, depth + 1)).collect();
                let one_line = format!("[{}]", items.join(", "));
                if one_line.len() + depth * INDENT.len() <= MAXIMUM_WIDTH && !one_line.contains('\n') {
                    one_line
                } else {
                    let inner = INDENT.repeat(depth + 1);
                    format!("[\n{}\n{}]", items.iter().map(|item| format!("{inner}{item},")).collect::<Vec<_>>().join("\n"), INDENT.repeat(depth))
                }
            }
            ValueKind::Object(block) => {
                let start = self.output.len();
                self.block(block, depth);
                self.output.split_off(start)
            }
            ValueKind::Call(call) => self.call(call, depth),
            ValueKind::FieldPath(segments) => segments.iter().map(|segment| format!(".{}", segment.text)).collect(),
            ValueKind::Path(path) => path_text(path),
        }
    }

    fn call(&mut self, call: &Call, depth: usize) -> String {
        let arguments: Vec<String> = call
            .arguments
            .iter()
            .map(|argument| {
                let value = self.value(&argument.value, depth);
                match &argument.name {
                    Some(name) => format!("{} = {value}", name.text),
                    None => value,
                }
            })
            .collect();
        format!("{}({})", call.callee.text, arguments.join(", "))
    }

    fn params(&mut self, params: &[Param], depth: usize) -> String {
        let rendered: Vec<String> = params
            .iter()
            .map(|param| match &param.default {
                Some(default) => {
                    let value = self.value(default, depth + 1);
                    format!("{}: {} = {value}", param.name.text, type_text(&param.ty))
                }
                None => format!("{}: {}", param.name.text, type_text(&param.ty)),
            })
            .collect();
        let one_line = format!("({})", rendered.join(", "));
        if one_line.len() <= MAXIMUM_WIDTH / 2 || rendered.len() <= 1 {
            one_line
        } else {
            let inner = INDENT.repeat(depth + 1);
            format!("(\n{}\n{})", rendered.iter().map(|param| format!("{inner}{param},")).collect::<Vec<_>>().join("\n"), INDENT.repeat(depth))
        }
    }

    /// One-line strings are kept as written; multi-line strings are re-indented one
    /// level deeper than their property, which leaves their (dedented) value as is.
    fn string(&self, literal: &StringLiteral, depth: usize) -> String {
        if !literal.multiline {
            return format!("\"{}\"", literal.raw);
        }
        let value = Dedent::of(&literal.raw).apply(&literal.raw);
        let inner = INDENT.repeat(depth + 1);
        let mut raw = String::from("\n");
        for line in value.split('\n') {
            if !line.is_empty() {
                raw.push_str(&inner);
                raw.push_str(line);
            }
            raw.push('\n');
        }
        raw.push_str(&inner);
        if Dedent::of(&raw).apply(&raw) == value && !value.trim().is_empty() {
            format!("\"\"\"{raw}\"\"\"")
        } else {
            format!("\"\"\"{}\"\"\"", literal.raw)
        }
    }
}

fn path_text(path: &PathExpr) -> String {
    path.segments.iter().map(|segment| segment.text.as_str()).collect::<Vec<_>>().join(".")
}

fn type_text(ty: &TypeExpr) -> String {
    match &ty.kind {
        TypeExprKind::Named(name) => name.text.clone(),
        TypeExprKind::List(element) => format!("[{}]", type_text(element)),
        TypeExprKind::Json(fields) => {
            let fields: Vec<String> = fields.iter().map(|field| format!("{}: {}", field.name.text, type_text(&field.ty))).collect();
            format!("json {{ {} }}", fields.join(", "))
        }
        TypeExprKind::Enum(variants) => {
            let variants: Vec<String> = variants.iter().map(|variant| format!("\"{}\"", variant.raw)).collect();
            format!("enum({})", variants.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSY: &str = r#"// header comment
import "std/metrics" {numeric_match}
model student=gguf("m.gguf"){temperature=0 seed = 0 // greedy
}
workflow solve(question:text)->(answer:number){
    // extraction first
    node extract=llm(student){prompt="{question}"
      output=json{quantities:[number]}}


    node compute = code {
        inputs { numbers: [number] = extract.quantities }
        source = """
            def run(numbers):
                return numbers[0]
            """
        output = number
    }
    answer=compute // bound
}
// trailing file comment
"#;

    #[test]
    fn formats_canonically_and_idempotently() {
        let formatted = format_source(MESSY).expect("formats");
        let again = format_source(&formatted).expect("formats again");
        assert_eq!(formatted, again, "not idempotent");
        for comment in ["// header comment", "// greedy", "// extraction first", "// bound", "// trailing file comment"] {
            assert!(formatted.contains(comment), "lost {comment}:\n{formatted}");
        }
        assert!(formatted.contains("  node extract = llm(student) {\n    prompt = \"{question}\"\n"), "{formatted}");
        assert!(formatted.contains("    source = \"\"\"\n      def run(numbers):\n          return numbers[0]\n      \"\"\"\n"), "{formatted}");
        assert!(same_meaning(MESSY, &formatted));
    }

    #[test]
    fn refuses_files_with_syntax_errors() {
        assert_eq!(format_source("model m = gguf(\"x\") { temperature = = 0 }"), Err(FormatError::SyntaxErrors(1)));
    }
}
