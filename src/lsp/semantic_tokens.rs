//! Semantic tokens, full and delta: names coloured by what they refer to (a node, a
//! model, an input...), plus keywords, strings (split around template references),
//! numbers, comments, types and property keys — all from the syntax tree and the
//! symbol index, so a half-typed file still colours everything that parsed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use lsp_types::{
    SemanticToken, SemanticTokenModifier, SemanticTokenType, SemanticTokens, SemanticTokensDelta, SemanticTokensDeltaParams, SemanticTokensEdit,
    SemanticTokensFullDeltaResult, SemanticTokensLegend, SemanticTokensParams, SemanticTokensResult,
};

use super::snapshot::{RequestResult, Snapshot};
use super::symbol_index::{LexicalClass, Symbol};
use super::workspace::DocumentText;
use crate::semantic::hir::ItemKind;
use crate::syntax::span::Span;

/// The legend's token types, in the order their indices are sent.
const TOKEN_TYPES: &[SemanticTokenType] = &[
    SemanticTokenType::KEYWORD,
    SemanticTokenType::STRING,
    SemanticTokenType::NUMBER,
    SemanticTokenType::COMMENT,
    SemanticTokenType::TYPE,
    SemanticTokenType::FUNCTION,
    SemanticTokenType::PROPERTY,
    SemanticTokenType::ENUM_MEMBER,
    SemanticTokenType::PARAMETER,
    SemanticTokenType::CLASS,
    SemanticTokenType::STRUCT,
    SemanticTokenType::NAMESPACE,
    SemanticTokenType::VARIABLE,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenType {
    Keyword = 0,
    String,
    Number,
    Comment,
    Type,
    Function,
    Property,
    EnumMember,
    Parameter,
    Class,
    Struct,
    Namespace,
    Variable,
}

const DECLARATION: u32 = 1;
const DEFAULT_LIBRARY: u32 = 1 << 1;

pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: TOKEN_TYPES.to_vec(),
        token_modifiers: vec![SemanticTokenModifier::DECLARATION, SemanticTokenModifier::DEFAULT_LIBRARY],
    }
}

/// The tokens last sent per document, for deltas.
#[derive(Clone, Default)]
pub struct TokenHistory {
    by_uri: Arc<Mutex<HashMap<String, (String, Vec<SemanticToken>)>>>,
    next_id: Arc<AtomicU64>,
}

impl TokenHistory {
    pub fn forget(&self, uri: &str) {
        self.by_uri.lock().expect("token history").remove(uri);
    }

    fn remember(&self, uri: &str, tokens: &[SemanticToken]) -> String {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst).to_string();
        self.by_uri.lock().expect("token history").insert(uri.to_string(), (id.clone(), tokens.to_vec()));
        id
    }

    fn previous(&self, uri: &str, result_id: &str) -> Option<Vec<SemanticToken>> {
        let table = self.by_uri.lock().expect("token history");
        table.get(uri).filter(|(id, _)| id == result_id).map(|(_, tokens)| tokens.clone())
    }
}

pub fn full(snapshot: &Snapshot, params: SemanticTokensParams, history: &TokenHistory) -> RequestResult<Option<SemanticTokensResult>> {
    let uri = params.text_document.uri;
    let tokens = document_tokens(snapshot, &uri)?;
    let result_id = history.remember(uri.as_str(), &tokens);
    Ok(Some(SemanticTokensResult::Tokens(SemanticTokens { result_id: Some(result_id), data: tokens })))
}

pub fn delta(snapshot: &Snapshot, params: SemanticTokensDeltaParams, history: &TokenHistory) -> RequestResult<Option<SemanticTokensFullDeltaResult>> {
    let uri = params.text_document.uri;
    let tokens = document_tokens(snapshot, &uri)?;
    let previous = history.previous(uri.as_str(), &params.previous_result_id);
    let result_id = history.remember(uri.as_str(), &tokens);
    Ok(Some(match previous {
        Some(previous) => SemanticTokensFullDeltaResult::TokensDelta(SemanticTokensDelta { result_id: Some(result_id), edits: token_edits(&previous, &tokens) }),
        None => SemanticTokensFullDeltaResult::Tokens(SemanticTokens { result_id: Some(result_id), data: tokens }),
    }))
}

/// One edit replacing what differs between the common prefix and suffix. Indices
/// count integers (five per token), as the protocol says.
pub fn token_edits(previous: &[SemanticToken], current: &[SemanticToken]) -> Vec<SemanticTokensEdit> {
    let prefix = previous.iter().zip(current).take_while(|(a, b)| a == b).count();
    let suffix = previous[prefix..].iter().rev().zip(current[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let deleted = previous.len() - prefix - suffix;
    let inserted = &current[prefix..current.len() - suffix];
    if deleted == 0 && inserted.is_empty() {
        return Vec::new();
    }
    vec![SemanticTokensEdit { start: (prefix * 5) as u32, delete_count: (deleted * 5) as u32, data: Some(inserted.to_vec()) }]
}

fn document_tokens(snapshot: &Snapshot, uri: &lsp_types::Uri) -> RequestResult<Vec<SemanticToken>> {
    let view = snapshot.file_of_uri(uri)?;
    let index = snapshot.index(&view);
    let mut classified: Vec<(Span, TokenType, u32)> = Vec::new();
    for occurrence in &index.occurrences {
        let modifiers = (if occurrence.is_definition { DECLARATION } else { 0 })
            | (if crate::stdlib::standard_module_name(occurrence.symbol.file()).is_some() { DEFAULT_LIBRARY } else { 0 });
        let token_type = match &occurrence.symbol {
            Symbol::Item { kind: ItemKind::Model, .. } => TokenType::Class,
            Symbol::Item { kind: ItemKind::Dataset, .. } => TokenType::Struct,
            Symbol::Item { kind: ItemKind::Metric, .. } => TokenType::Function,
            Symbol::Item { .. } => TokenType::Namespace,
            Symbol::Node { .. } => TokenType::Variable,
            Symbol::WorkflowInput { .. } | Symbol::WorkflowOutput { .. } => TokenType::Parameter,
        };
        classified.push((occurrence.span, token_type, modifiers));
    }
    for (span, class) in &index.lexical {
        let token_type = match class {
            LexicalClass::Keyword => TokenType::Keyword,
            LexicalClass::String => TokenType::String,
            LexicalClass::Number => TokenType::Number,
            LexicalClass::Comment => TokenType::Comment,
            LexicalClass::Type => TokenType::Type,
            LexicalClass::Function => TokenType::Function,
            LexicalClass::Property => TokenType::Property,
            LexicalClass::EnumMember => TokenType::EnumMember,
            LexicalClass::Parameter => TokenType::Parameter,
        };
        classified.push((*span, token_type, 0));
    }
    // Names first at equal starts, so a name inside a string wins; overlaps dropped.
    classified.sort_by_key(|(span, token_type, _)| (span.start, *token_type == TokenType::String, span.end));
    Ok(encode(&view.contents, &classified))
}

fn encode(contents: &DocumentText, classified: &[(Span, TokenType, u32)]) -> Vec<SemanticToken> {
    let text = contents.text.as_str();
    let mut tokens = Vec::with_capacity(classified.len());
    let (mut previous_line, mut previous_start) = (0u32, 0u32);
    let mut covered_until = 0usize;
    for &(span, token_type, modifiers) in classified {
        if span.start < covered_until || span.is_empty() || span.end > text.len() {
            continue;
        }
        covered_until = span.end;
        // Tokens may not span lines (most clients cannot take it): one per line.
        let mut line_start = span.start;
        for piece in text[span.start..span.end].split_inclusive('\n') {
            let piece_text = piece.strip_suffix('\n').unwrap_or(piece);
            let piece_text = piece_text.strip_suffix('\r').unwrap_or(piece_text);
            let length: usize = piece_text.chars().map(char::len_utf16).sum();
            if length > 0 {
                let position = contents.line_index.position(text, line_start);
                let delta_line = position.line - previous_line;
                let delta_start = if delta_line == 0 { position.character - previous_start } else { position.character };
                tokens.push(SemanticToken { delta_line, delta_start, length: length as u32, token_type: token_type as u32, token_modifiers_bitset: modifiers });
                previous_line = position.line;
                previous_start = position.character;
            }
            line_start += piece.len();
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(delta_line: u32) -> SemanticToken {
        SemanticToken { delta_line, delta_start: 0, length: 1, token_type: 0, token_modifiers_bitset: 0 }
    }

    #[test]
    fn a_delta_replaces_only_what_changed() {
        let before = vec![token(0), token(1), token(2), token(3)];
        let after = vec![token(0), token(1), token(9), token(9), token(3)];
        let edits = token_edits(&before, &after);
        assert_eq!(edits.len(), 1);
        assert_eq!((edits[0].start, edits[0].delete_count), (10, 5));
        assert_eq!(edits[0].data.as_ref().unwrap(), &vec![token(9), token(9)]);
        assert!(token_edits(&after, &after).is_empty());
    }
}
