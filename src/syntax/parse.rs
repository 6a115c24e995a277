//! From text to syntax tree. Never fails: returns the tree it could build and every
//! problem it found.
//!
//! pest reads the file with the catch-all `recover_*` rules of the grammar, so a broken
//! item, workflow member or property becomes one "recovered" region and the rest of
//! the file still parses. For each region, the parser asks pest once more, starting
//! at that region with the rule that should have matched, which gives the precise
//! position and the expected tokens for the diagnostic.

use std::num::NonZeroUsize;

use pest::iterators::Pair;
use pest::Parser;

use super::ast::*;
use super::comments::{collect_comments, Comment};
use super::grammar::{FlowGrammar, Rule};
use super::scan::position_of_any;
use super::span::{clamp_to_char_boundary, Span};
use super::strings::decode_escapes;
use crate::diagnostics::codes;
use crate::diagnostics::Diagnostic;

pub type SyntaxDiagnostic = Diagnostic<Span>;

/// Everything the syntax layer knows about one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedFile {
    pub items: Vec<Item>,
    pub comments: Vec<Comment>,
    pub diagnostics: Vec<SyntaxDiagnostic>,
}

/// Nesting deeper than this is refused up front: pest and the tree builder recurse,
/// and no real workflow nests a tenth as deep.
const MAXIMUM_NESTING: usize = 128;

/// Bounds pest's backtracking on adversarial input (a parse of a 10,000-node file
/// makes a few million calls).
const PEST_CALL_LIMIT: usize = 500_000_000;

pub fn parse_source(text: &str) -> ParsedFile {
    limit_pest_calls();
    let comments = collect_comments(text);
    let readable = match readable_text(text) {
        Ok(readable) => readable,
        Err(too_deep) => return ParsedFile { items: Vec::new(), comments, diagnostics: vec![too_deep] },
    };
    let mut builder = TreeBuilder::new(text);
    let items = builder.parse_with_pest(&text[..readable.end]);
    let diagnostics = finish_diagnostics(builder.diagnostics, &readable);
    ParsedFile { items, comments, diagnostics }
}

/// The part of a text that pest reads, decided before parsing (the whole file at
/// once, or in chunks: `syntax::chunk_parse`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadableText {
    /// Pest reads `text[..end]`.
    pub end: usize,
    /// Where an unclosed `"""` starts (then `end` is there).
    pub unclosed_triple_quote: Option<usize>,
}

/// What pest may read of `text`, or the one diagnostic of a text nested too deep to
/// read at all.
pub fn readable_text(text: &str) -> Result<ReadableText, SyntaxDiagnostic> {
    if let Some(offset) = nesting_too_deep(text) {
        return Err(SyntaxDiagnostic::new(
            &codes::SYNTAX_ERROR,
            format!("brackets nest more than {MAXIMUM_NESTING} levels deep"),
            Span::new(offset, offset + 1),
            "too deep here",
        )
        .with_help("flatten the structure; no workflow needs this much nesting"));
    }
    // An unclosed `"""` makes the rest of the file one string: report that once and
    // parse what comes before it, instead of a cascade of errors about its contents.
    let unclosed_triple_quote = unclosed_triple_quote(text);
    Ok(ReadableText { end: unclosed_triple_quote.unwrap_or(text.len()), unclosed_triple_quote })
}

/// The file's syntax diagnostics from what the tree builder reported, in the order
/// they are kept (by position).
pub fn finish_diagnostics(mut diagnostics: Vec<SyntaxDiagnostic>, readable: &ReadableText) -> Vec<SyntaxDiagnostic> {
    if let Some(start) = readable.unclosed_triple_quote {
        // What the parser said about the cut-off end is a consequence, not news.
        diagnostics.retain(|diagnostic| diagnostic.primary.location.start < start);
        diagnostics.push(unterminated(start, start + 3, true));
    }
    diagnostics.sort_by_key(|diagnostic| diagnostic.primary.location.start);
    diagnostics
}

/// Sets pest's call limit for the parses of this thread.
pub(super) fn limit_pest_calls() {
    pest::set_call_limit(NonZeroUsize::new(PEST_CALL_LIMIT));
}

pub(super) fn nesting_too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut offset = position_of_any(bytes, 0, BRACKETS);
    while offset < bytes.len() {
        match bytes[offset] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAXIMUM_NESTING {
                    return Some(offset);
                }
            }
            _ => depth = depth.saturating_sub(1),
        }
        offset = position_of_any(bytes, offset + 1, BRACKETS);
    }
    None
}

const BRACKETS: [u8; 6] = [b'{', b'[', b'(', b'}', b']', b')'];

fn error_offset(error: &pest::error::Error<Rule>) -> usize {
    match error.location {
        pest::error::InputLocation::Pos(position) => position,
        pest::error::InputLocation::Span((start, _)) => start,
    }
}

pub(super) struct TreeBuilder<'text> {
    text: &'text str,
    pub(super) diagnostics: Vec<SyntaxDiagnostic>,
    /// How many regions a catch-all rule swallowed (blank ones included): a chunk
    /// read with any is not trusted (`syntax::chunk_parse`).
    pub(super) recovered_regions: usize,
}

/// Where a recovered region sat, which decides the rule pest is asked to retry.
#[derive(Clone, Copy)]
enum RecoveryContext {
    Item,
    WorkflowMember,
    Property,
}

impl<'text> TreeBuilder<'text> {
    pub(super) fn new(text: &'text str) -> TreeBuilder<'text> {
        TreeBuilder { text, diagnostics: Vec::new(), recovered_regions: 0 }
    }

    /// The items pest reads in `text`, recovered regions reported.
    fn parse_with_pest(&mut self, text: &'text str) -> Vec<Item> {
        match FlowGrammar::parse(Rule::file, text) {
            Ok(mut pairs) => {
                let file = pairs.next().expect("the file rule yields one pair");
                self.file(file)
            }
            Err(error) => {
                // Only reachable through the call limit: the catch-all rules accept any text.
                let offset = error_offset(&error);
                self.diagnostics.push(
                    SyntaxDiagnostic::new(
                        &codes::SYNTAX_ERROR,
                        "the parser gave up on this file",
                        Span::empty_at(offset),
                        "parsing stopped here",
                    )
                    .with_help("the file is too irregular to parse in reasonable time; check it around this point"),
                );
                Vec::new()
            }
        }
    }

    fn file(&mut self, file: Pair<'text, Rule>) -> Vec<Item> {
        let mut items = Vec::new();
        for pair in file.into_inner() {
            match pair.as_rule() {
                Rule::recover_item => self.recovered(pair, RecoveryContext::Item),
                Rule::EOI => {}
                _ => items.push(self.item(pair)),
            }
        }
        items
    }

    pub(super) fn item(&mut self, pair: Pair<'text, Rule>) -> Item {
        match pair.as_rule() {
            Rule::import_decl => Item::Import(self.import(pair)),
            Rule::model_decl => {
                let (name, source, properties, span) = self.named_call(pair);
                Item::Model(ModelDecl { name, source, properties, span })
            }
            Rule::dataset_decl => {
                let (name, source, properties, span) = self.named_call(pair);
                Item::Dataset(DatasetDecl { name, source, properties, span })
            }
            Rule::metric_decl => Item::Metric(self.metric(pair)),
            Rule::workflow_decl => Item::Workflow(self.workflow(pair)),
            Rule::optimize_decl => {
                let span = pair.as_span().into();
                let mut inner = pair.into_inner();
                let target = ident(inner.next().expect("optimize target"));
                let properties = self.property_block(inner.next().expect("optimize block"));
                Item::Optimize(OptimizeDecl { target, properties, span })
            }
            rule => unreachable!("not an item rule: {rule:?}"),
        }
    }

    fn import(&mut self, pair: Pair<'text, Rule>) -> ImportDecl {
        let span = pair.as_span().into();
        let mut inner = pair.into_inner();
        let path = self.string(inner.next().expect("import path"));
        let names = inner.next().map(|names| names.into_inner().map(ident).collect()).unwrap_or_default();
        ImportDecl { path, names, span }
    }

    fn named_call(&mut self, pair: Pair<'text, Rule>) -> (Ident, Call, Option<PropertyBlock>, Span) {
        let span = pair.as_span().into();
        let mut inner = pair.into_inner();
        let name = ident(inner.next().expect("name"));
        let source = self.call(inner.next().expect("call"));
        let properties = inner.next().map(|block| self.property_block(block));
        (name, source, properties, span)
    }

    fn metric(&mut self, pair: Pair<'text, Rule>) -> MetricDecl {
        let span = pair.as_span().into();
        let mut inner = pair.into_inner();
        let name = ident(inner.next().expect("metric name"));
        let params = self.params(inner.next().expect("metric params"));
        let properties = self.property_block(inner.next().expect("metric block"));
        MetricDecl { name, params, properties, span }
    }

    fn workflow(&mut self, pair: Pair<'text, Rule>) -> WorkflowDecl {
        let span = pair.as_span().into();
        let mut inner = pair.into_inner();
        let name = ident(inner.next().expect("workflow name"));
        let inputs = self.params(inner.next().expect("workflow inputs"));
        let outputs = self.params(inner.next().expect("workflow outputs"));
        let body = inner.next().expect("workflow body");
        let body_span = body.as_span().into();
        let body = body.into_inner();
        let mut members = Vec::with_capacity(body.len());
        for member in body {
            match member.as_rule() {
                Rule::recover_line => self.recovered(member, RecoveryContext::WorkflowMember),
                Rule::workflow_member => members.push(self.workflow_member(member)),
                rule => unreachable!("not a workflow member: {rule:?}"),
            }
        }
        WorkflowDecl { name, inputs, outputs, members, body_span, span }
    }

    pub(super) fn workflow_member(&mut self, pair: Pair<'text, Rule>) -> WorkflowMember {
        let member = pair.into_inner().next().expect("member");
        match member.as_rule() {
            Rule::node_decl => WorkflowMember::Node(self.node(member)),
            _ => WorkflowMember::Binding(self.binding(member)),
        }
    }

    fn node(&mut self, pair: Pair<'text, Rule>) -> NodeDecl {
        let span = pair.as_span().into();
        let mut inner = pair.into_inner();
        let name = ident(inner.next().expect("node name"));
        // The kind's name, then the names in its parentheses, then the block.
        let kind = ident(inner.next().expect("kind name"));
        let mut arguments = Vec::new();
        let block = loop {
            let next = inner.next().expect("node block");
            if next.as_rule() == Rule::property_block {
                break next;
            }
            arguments.push(ident(next));
        };
        // `llm()` has arguments (none), `code` has none at all: look for the parenthesis
        // between the kind and the block.
        let has_parentheses = self.text[kind.span.start..block.as_span().start()].contains('(');
        let kind_arguments = has_parentheses.then_some(arguments);
        let properties = self.property_block(block);
        NodeDecl { name, kind, kind_arguments, properties, span }
    }

    fn binding(&mut self, pair: Pair<'text, Rule>) -> Binding {
        let span: Span = pair.as_span().into();
        let mut inner = pair.into_inner();
        let output = ident(inner.next().expect("binding output"));
        let target = path(inner.next().expect("binding target"));
        // The lookahead after the path may have skipped trivia; it is not the binding's.
        let span = Span::new(span.start, target.span.end);
        Binding { output, target, span }
    }

    pub(super) fn params(&mut self, pair: Pair<'text, Rule>) -> Vec<Param> {
        pair.into_inner()
            .map(|param| {
                let span = param.as_span().into();
                let mut inner = param.into_inner();
                let name = ident(inner.next().expect("param name"));
                let ty = self.type_expr(inner.next().expect("param type"));
                let default = inner.next().map(|value| self.value(value));
                Param { name, ty, default, span }
            })
            .collect()
    }

    fn property_block(&mut self, pair: Pair<'text, Rule>) -> PropertyBlock {
        let span = pair.as_span().into();
        let inner = pair.into_inner();
        let mut properties = Vec::with_capacity(inner.len());
        for property in inner {
            match property.as_rule() {
                Rule::recover_line => self.recovered(property, RecoveryContext::Property),
                Rule::property => properties.push(self.property(property)),
                rule => unreachable!("not a property: {rule:?}"),
            }
        }
        PropertyBlock { properties, span }
    }

    fn property(&mut self, pair: Pair<'text, Rule>) -> Property {
        let span: Span = pair.as_span().into();
        let mut inner = pair.into_inner();
        let first = inner.next().expect("property form");
        // `output = <type>` is the `output` keyword and a type; the other forms are a key
        // followed by a type and a value (`key: type = value`), a block, or a value.
        let (key, value) = if first.as_rule() == Rule::output_keyword {
            let key = ident_like(first);
            (key, PropertyValue::Type(self.type_expr(inner.next().expect("type"))))
        } else {
            let key = ident_like(first);
            let next = inner.next().expect("property value");
            let value = match next.as_rule() {
                Rule::type_expr => {
                    let ty = self.type_expr(next);
                    let value = self.value(inner.next().expect("value"));
                    PropertyValue::Typed { ty, value }
                }
                Rule::property_block => PropertyValue::Block(self.property_block(next)),
                _ => PropertyValue::Value(self.value(next)),
            };
            (key, value)
        };
        // The pair's text may run on over a trailing comma and comments; the property
        // ends where its value (or type, or block) ends.
        let end = match &value {
            PropertyValue::Type(ty) => ty.span.end,
            PropertyValue::Typed { value, .. } | PropertyValue::Value(value) => value.span.end,
            PropertyValue::Block(block) => block.span.end,
        };
        Property { key, value, span: Span::new(span.start, end) }
    }

    fn value(&mut self, pair: Pair<'text, Rule>) -> Value {
        let span = pair.as_span().into();
        let inner = pair.into_inner().next().expect("value form");
        let kind = match inner.as_rule() {
            Rule::string | Rule::multiline_string => ValueKind::String(self.string(inner)),
            Rule::number => ValueKind::Number(self.number(inner)),
            Rule::boolean => ValueKind::Bool(inner.as_str() == "true"),
            Rule::list => ValueKind::List(inner.into_inner().map(|value| self.value(value)).collect()),
            Rule::object => ValueKind::Object(self.property_block(inner.into_inner().next().expect("block"))),
            Rule::call => ValueKind::Call(self.call(inner)),
            Rule::field_path => ValueKind::FieldPath(inner.into_inner().map(ident).collect()),
            Rule::path => ValueKind::Path(path(inner)),
            rule => unreachable!("not a value: {rule:?}"),
        };
        Value { kind, span }
    }

    fn call(&mut self, pair: Pair<'text, Rule>) -> Call {
        let span = pair.as_span().into();
        let mut inner = pair.into_inner();
        let callee = ident(inner.next().expect("callee"));
        let arguments = inner
            .map(|argument| {
                let span = argument.as_span().into();
                let parts: Vec<_> = argument.into_inner().collect();
                let (name, value) = match parts.len() {
                    2 => (Some(ident(parts[0].clone())), parts[1].clone()),
                    _ => (None, parts[0].clone()),
                };
                Argument { name, value: self.value(value), span }
            })
            .collect();
        Call { callee, arguments, span }
    }

    fn string(&mut self, pair: Pair<'text, Rule>) -> StringLiteral {
        let multiline = pair.as_rule() == Rule::multiline_string;
        string_literal(self.text, pair.as_span().into(), multiline, &mut self.diagnostics)
    }

    fn number(&mut self, pair: Pair<'text, Rule>) -> NumberLiteral {
        number_literal(self.text, pair.as_span().into(), &mut self.diagnostics)
    }

    fn type_expr(&mut self, pair: Pair<'text, Rule>) -> TypeExpr {
        let span = pair.as_span().into();
        let inner = pair.into_inner().next().expect("type form");
        let kind = match inner.as_rule() {
            Rule::ident => TypeExprKind::Named(ident(inner)),
            Rule::list_type => TypeExprKind::List(Box::new(self.type_expr(inner.into_inner().next().expect("element")))),
            Rule::json_type => {
                // After the keyword, each field is a name followed by its type.
                let mut parts = inner.into_inner().filter(|part| part.as_rule() != Rule::json_keyword);
                let mut fields = Vec::new();
                while let Some(name) = parts.next() {
                    let name = ident(name);
                    let ty = self.type_expr(parts.next().expect("field type"));
                    fields.push(JsonField { span: Span::new(name.span.start, ty.span.end), name, ty });
                }
                TypeExprKind::Json(fields)
            }
            Rule::enum_type => TypeExprKind::Enum(
                inner
                    .into_inner()
                    .filter(|variant| variant.as_rule() == Rule::string)
                    .map(|variant| self.string(variant))
                    .collect(),
            ),
            rule => unreachable!("not a type: {rule:?}"),
        };
        TypeExpr { kind, span }
    }

    /// Turn one recovered region into one diagnostic.
    fn recovered(&mut self, pair: Pair<'text, Rule>, context: RecoveryContext) {
        let region: Span = pair.as_span().into();
        self.recovered_regions += 1;
        // A region of only blank text would be an empty complaint; the grammar never
        // produces one, but the check keeps the promise "one region, one real error".
        if self.text[region.range()].trim().is_empty() {
            return;
        }
        self.diagnostics.push(explain_recovered_region(self.text, region, context));
    }
}

fn ident(pair: Pair<'_, Rule>) -> Ident {
    Ident { text: pair.as_str().to_string(), span: pair.as_span().into() }
}

/// Keys are idents, except `output`, which the grammar reads with a keyword rule.
fn ident_like(pair: Pair<'_, Rule>) -> Ident {
    ident(pair)
}

fn path(pair: Pair<'_, Rule>) -> PathExpr {
    let span = pair.as_span().into();
    PathExpr { segments: pair.into_inner().map(ident).collect(), span }
}

/// The string literal at `span` (quotes included), reporting its bad escapes.
pub(super) fn string_literal(text: &str, span: Span, multiline: bool, diagnostics: &mut Vec<SyntaxDiagnostic>) -> StringLiteral {
    // The content is what lies between the quotes.
    let quotes = if multiline { 3 } else { 1 };
    let content_start = span.start + quotes;
    let literal = StringLiteral { raw: text[content_start..span.end - quotes].to_string(), content_start, multiline, span };
    // Only a backslash can start a bad escape.
    if !multiline && literal.raw.contains('\\') {
        for escape in decode_escapes(&literal.raw, literal.content_start).1 {
            diagnostics.push(
                SyntaxDiagnostic::new(
                    &codes::INVALID_ESCAPE,
                    format!("unknown escape sequence `{}`", escape.sequence),
                    escape.span,
                    "not an escape flowc knows",
                )
                .with_help(r#"use one of \n \t \r \\ \" \0, or a """multi-line string""" where backslashes are plain text"#),
            );
        }
    }
    literal
}

/// The number literal at `span`, reporting it when it is out of range.
pub(super) fn number_literal(text: &str, span: Span, diagnostics: &mut Vec<SyntaxDiagnostic>) -> NumberLiteral {
    let literal = NumberLiteral { text: text[span.range()].to_string(), span };
    let is_integer = !literal.text.contains(['.', 'e', 'E']);
    let representable = if is_integer {
        literal.text.parse::<i64>().is_ok()
    } else {
        literal.text.parse::<f64>().map(f64::is_finite).unwrap_or(false)
    };
    if !representable {
        diagnostics.push(
            SyntaxDiagnostic::new(
                &codes::INVALID_NUMBER,
                format!("the number `{}` is out of range", literal.text),
                literal.span,
                if is_integer { "does not fit in a 64-bit integer" } else { "not a finite number" },
            )
            .with_help("write a smaller number, or a string if it is data rather than a setting"),
        );
    }
    literal
}

/// Held while a probe has pest's error detail switched on (see `explain_recovered_region`).
static ERROR_DETAIL_SWITCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn explain_recovered_region(text: &str, region: Span, context: RecoveryContext) -> SyntaxDiagnostic {
    if let Some(diagnostic) = unterminated_string_in(text, region) {
        return diagnostic;
    }
    if let RecoveryContext::Item = context {
        if let Some(open) = unclosed_brace_in(text, region) {
            return SyntaxDiagnostic::new(&codes::SYNTAX_ERROR, "a `{` is never closed", Span::new(open, open + 1), "this block is not closed before the next declaration")
                .with_secondary(region, "skipped from here")
                .with_help("close the block with `}`; a new declaration starts at the beginning of a line");
        }
    }
    let (probe_rule, what) = match context {
        RecoveryContext::Item => (Rule::item_probe, "a declaration"),
        RecoveryContext::WorkflowMember => (Rule::workflow_member_probe, "a node or an output binding"),
        RecoveryContext::Property => (Rule::property_probe, "a property"),
    };
    let help = match context {
        RecoveryContext::Item => {
            "a file holds `import`, `model`, `dataset`, `metric`, `workflow` and `optimize` declarations; see `docs/language.md`"
        }
        RecoveryContext::WorkflowMember => {
            "a workflow body holds nodes (`node name = llm(model) { ... }`) and output bindings (`answer = node.field`)"
        }
        RecoveryContext::Property => "properties are written `key = value`, `key: type = value` or `key { ... }`",
    };
    let probe_text = &text[region.start..];
    // Detail tracking costs time, so it is on only for these probes. The switch is one
    // for the whole process: without the lock, a probe on another thread (the
    // language server parses on several) turned it off under this one, and the same
    // text got a different message.
    let probe = {
        let _switch = ERROR_DETAIL_SWITCH.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        pest::set_error_detail(true);
        let probe = FlowGrammar::parse(probe_rule, probe_text);
        pest::set_error_detail(false);
        probe
    };
    let (offset, expected) = match probe {
        Err(error) => {
            // With attempt tracking on, pest knows a farther position than the rule
            // positions it reports: where a plain token like `=` was missing.
            let farthest = error.parse_attempts().map(|attempts| attempts.max_position).unwrap_or(0);
            if farthest > error_offset(&error) {
                let tokens = expected_from(&error).into_iter().filter(|expected| expected.starts_with('`')).collect::<Vec<_>>();
                (region.start + farthest, tokens)
            } else {
                (region.start + error_offset(&error), expected_from(&error))
            }
        }
        // The probe parsed: the region failed only because of what follows it.
        Ok(_) => (region.end, Vec::new()),
    };
    let offset = clamp_to_char_boundary(text, offset.min(region.end.max(region.start)));
    let found = token_at(text, offset);
    let found_text = if found.is_empty() {
        "end of line".to_string()
    } else {
        format!("`{}`", &text[found.range()])
    };
    let message = if expected.is_empty() {
        format!("could not read {what} here")
    } else {
        format!("expected {}, found {found_text}", join_alternatives(&expected))
    };
    let label = if expected.is_empty() { "unexpected here".to_string() } else { format!("expected {}", join_alternatives(&expected)) };
    SyntaxDiagnostic::new(&codes::SYNTAX_ERROR, message, found, label)
        .with_secondary(region, "skipped from here")
        .with_help(help)
}

/// A `"` opened in the region and not closed on its line. Scans bytes (all the
/// delimiters are ASCII), so any UTF-8 text is safe.
fn unterminated_string_in(text: &str, region: Span) -> Option<SyntaxDiagnostic> {
    let bytes = &text.as_bytes()[region.range()];
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index..].starts_with(b"//") {
            index += bytes[index..].iter().position(|byte| *byte == b'\n').unwrap_or(bytes.len() - index);
            continue;
        }
        if bytes[index..].starts_with(b"\"\"\"") {
            // Unclosed triple quotes are found before parsing (see `unclosed_triple_quote`).
            match find_bytes(&text.as_bytes()[region.start + index + 3..], b"\"\"\"") {
                Some(end) => index += 3 + end + 3,
                None => return None,
            }
            continue;
        }
        if bytes[index] == b'"' {
            let mut cursor = index + 1;
            loop {
                match bytes.get(cursor) {
                    None | Some(b'\n') => {
                        let start = region.start + index;
                        let end = clamp_to_char_boundary(text, region.start + cursor);
                        return Some(unterminated(start, end, false));
                    }
                    Some(b'"') => break,
                    Some(b'\\') => cursor += 2,
                    Some(_) => cursor += 1,
                }
            }
            index = cursor + 1;
            continue;
        }
        index += 1;
    }
    None
}

/// The last `{` of the region that no `}` in it closes (strings and comments skipped).
fn unclosed_brace_in(text: &str, region: Span) -> Option<usize> {
    let bytes = &text.as_bytes()[region.range()];
    let mut open: Vec<usize> = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'/' if bytes.get(index + 1) == Some(&b'/') => {
                index += bytes[index..].iter().position(|byte| *byte == b'\n').unwrap_or(bytes.len() - index);
                continue;
            }
            b'"' if bytes[index..].starts_with(b"\"\"\"") => {
                index += 3 + find_bytes(&bytes[index + 3..], b"\"\"\"").map(|end| end + 3).unwrap_or(bytes.len());
                continue;
            }
            b'"' => {
                index += 1;
                while index < bytes.len() && bytes[index] != b'"' && bytes[index] != b'\n' {
                    index += if bytes[index] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' => open.push(region.start + index),
            b'}' => {
                open.pop();
            }
            _ => {}
        }
        index += 1;
    }
    open.last().copied()
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// The offset of a `"""` that is never closed, outside comments and one-line strings.
fn unclosed_triple_quote(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    // Only a `/` or a `"` can start something; the bytes between are skipped in bulk.
    let mut index = position_of_any(bytes, 0, [b'/', b'"']);
    while index < bytes.len() {
        if bytes[index..].starts_with(b"//") {
            index += bytes[index..].iter().position(|byte| *byte == b'\n').unwrap_or(bytes.len() - index);
        } else if bytes[index..].starts_with(b"\"\"\"") {
            match find_bytes(&bytes[index + 3..], b"\"\"\"") {
                Some(end) => index += 3 + end + 3,
                None => return Some(index),
            }
        } else if bytes[index] == b'"' {
            index += 1;
            loop {
                index = position_of_any(bytes, index, [b'"', b'\n', b'\\']);
                if index < bytes.len() && bytes[index] == b'\\' {
                    index += 2;
                } else {
                    break;
                }
            }
            index += 1;
        } else {
            index += 1;
        }
        index = position_of_any(bytes, index, [b'/', b'"']);
    }
    None
}

fn unterminated(start: usize, end: usize, multiline: bool) -> SyntaxDiagnostic {
    let (label, help) = if multiline {
        ("this `\"\"\"` string is never closed: the rest of the file is inside it", "close it with `\"\"\"`")
    } else {
        (
            "this string is not closed before the end of the line",
            "close it with `\"`; for text over several lines use a `\"\"\"` string",
        )
    };
    SyntaxDiagnostic::new(&codes::UNTERMINATED_STRING, "unterminated string", Span::new(start, end), label)
        .with_help(help)
}

/// The token-ish run of text at `offset`: a word, a string start, or one character.
fn token_at(text: &str, offset: usize) -> Span {
    let rest = &text[offset..];
    let Some(first) = rest.chars().next() else {
        return Span::empty_at(offset);
    };
    if first == '\n' || first == '\r' {
        return Span::empty_at(offset);
    }
    let length = if first.is_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len())
    } else {
        first.len_utf8()
    };
    Span::new(offset, offset + length)
}

fn expected_from(error: &pest::error::Error<Rule>) -> Vec<String> {
    let mut rules: Vec<String> = Vec::new();
    if let pest::error::ErrorVariant::ParsingError { positives, .. } = &error.variant {
        for rule in positives {
            if let Some(name) = describe_rule(*rule) {
                if !rules.iter().any(|known| known == name) {
                    rules.push(name.to_string());
                }
            }
        }
    }
    // Plain tokens (`=`, `}`, `->`) are only known when pest tracked its attempts.
    // Only structural ones are worth showing: the first characters of strings,
    // numbers or comments would be noise. Brackets that merely open a value are
    // covered by "a value".
    let value_expected = rules.iter().any(|rule| rule == "a value" || rule == "a type");
    let mut tokens: Vec<String> = Vec::new();
    if let Some(attempts) = error.parse_attempts() {
        for token in attempts.expected_tokens() {
            // `ParsingToken` is not exported; its Display is the token text.
            let token = token.to_string();
            let structural = matches!(token.as_str(), "=" | "->" | ":" | "(" | ")" | "}" | "," | "]")
                || (!value_expected && matches!(token.as_str(), "{" | "["));
            let shown = format!("`{token}`");
            if structural && !tokens.contains(&shown) && !rules.contains(&shown) {
                tokens.push(shown);
            }
        }
    }
    tokens.extend(rules);
    tokens
}

/// How an expected rule is named in messages. Silent rules (`_{ ... }`) never reach
/// pest's reports, so they need no name here.
fn describe_rule(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::import_decl => "`import`",
        Rule::model_decl => "`model`",
        Rule::dataset_decl => "`dataset`",
        Rule::metric_decl => "`metric`",
        Rule::workflow_decl => "`workflow`",
        Rule::optimize_decl => "`optimize`",
        Rule::import_names => "`{` with imported names",
        Rule::ident | Rule::path => "a name",
        Rule::output_keyword => "`output`",
        Rule::string | Rule::multiline_string => "a string",
        Rule::number => "a number",
        Rule::boolean => "`true` or `false`",
        Rule::value | Rule::list | Rule::object | Rule::call | Rule::field_path => "a value",
        Rule::type_expr | Rule::list_type | Rule::json_type | Rule::enum_type => "a type",
        Rule::json_keyword | Rule::enum_keyword => "a type",
        Rule::param => "a parameter (`name: type`)",
        Rule::param_list => "`(`",
        Rule::property_block | Rule::workflow_body => "`{`",
        Rule::property => "a property",
        Rule::node_decl => "`node`",
        Rule::binding => "an output binding",
        Rule::argument => "an argument",
        Rule::EOI => "end of file",
        _ => return None,
    })
}

fn join_alternatives(alternatives: &[String]) -> String {
    match alternatives {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {}", rest.join(", "), last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_independent_mistakes_give_three_diagnostics() {
        let text = r#"
model m = gguf("a.gguf") { temperature = = 0 }

workflow w(q: text) -> (a: text) {
  node x = llm(m) {
    prompt = "{q}"
    output = text
    bogus bogus
  }
  a = x
  ??? what
}

dataset d jsonl("x")
"#;
        let parsed = parse_source(text);
        let codes: Vec<_> = parsed.diagnostics.iter().map(|d| d.code.id).collect();
        assert_eq!(codes.len(), 4, "{:#?}", parsed.diagnostics);
        assert_eq!(parsed.items.len(), 2, "model and workflow survive: {:#?}", parsed.items);
    }

    #[test]
    fn many_unclosed_braces_are_one_diagnostic_not_a_parser_that_gives_up() {
        // Each unclosed brace once doubled the parse time, until pest's call limit
        // made the parser give up on the whole file.
        let mut text = String::from("workflow w(q: text) -> (a: text) {\n");
        for index in 0..40 {
            text.push_str(&format!("  node a{index} = llm(m) {{\n"));
        }
        let parsed = parse_source(&text);
        assert_eq!(parsed.diagnostics.len(), 1, "{:#?}", parsed.diagnostics);
        assert_eq!(parsed.diagnostics[0].message, "a `{` is never closed");
    }

    #[test]
    fn unterminated_string_is_its_own_code() {
        let parsed = parse_source("model m = gguf(\"a.gguf\") {\n  api_key = \"abc\n}\n");
        assert_eq!(parsed.diagnostics[0].code.id, "E0002", "{:#?}", parsed.diagnostics);
    }
}
