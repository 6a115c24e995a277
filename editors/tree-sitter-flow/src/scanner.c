// External scanner of tree-sitter-flow: closes a block that a half-typed file left
// open, so that the declarations after it still parse (and highlight) as written.
//
// pest's grammar (grammar/flow.pest) recovers the same way: a broken region ends at
// the next line that starts with a declaration keyword (`recover_item`). Here:
// - before a line that starts (at column 0) with `import "`, or with `model`,
//   `dataset`, `metric`, `workflow` or `optimize` and a name, every open block ends;
// - before `node NAME` inside a property block (a node's or deeper), that block ends.
// Property keys never look like either (`metric = ...` has no name after the key), so
// a well-formed file never produces these tokens. Each is a zero-width
// `missing_close` node in the tree.

#include "tree_sitter/parser.h"

#include <stdbool.h>
#include <string.h>

enum TokenType {
  BLOCK_END_BEFORE_ITEM,
  BLOCK_END_BEFORE_NODE,
  ERROR_SENTINEL,
};

void *tree_sitter_flow_external_scanner_create(void) { return NULL; }
void tree_sitter_flow_external_scanner_destroy(void *payload) { (void)payload; }
unsigned tree_sitter_flow_external_scanner_serialize(void *payload, char *buffer) {
  (void)payload;
  (void)buffer;
  return 0;
}
void tree_sitter_flow_external_scanner_deserialize(void *payload, const char *buffer, unsigned length) {
  (void)payload;
  (void)buffer;
  (void)length;
}

static bool is_blank(int32_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
static bool is_name_start(int32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_name_char(int32_t c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool tree_sitter_flow_external_scanner_scan(void *payload, TSLexer *lexer, const bool *valid_symbols) {
  (void)payload;
  // In error recovery every symbol is valid: then only a declaration at the start of
  // a line ends what is open (as pest's `recover_item` does), never a `node`.
  bool recovering = valid_symbols[ERROR_SENTINEL];
  if (!valid_symbols[BLOCK_END_BEFORE_ITEM] && !valid_symbols[BLOCK_END_BEFORE_NODE]) return false;

  while (is_blank(lexer->lookahead)) lexer->advance(lexer, true);
  bool at_line_start = lexer->get_column(lexer) == 0;
  // The token is empty: it ends where the keyword starts.
  lexer->mark_end(lexer);

  char word[10];
  unsigned length = 0;
  while (is_name_char(lexer->lookahead)) {
    if (length == sizeof(word) - 1) return false;
    word[length++] = (char)lexer->lookahead;
    lexer->advance(lexer, false);
  }
  word[length] = '\0';
  if (length == 0) return false;

  bool blank_after = false;
  while (lexer->lookahead == ' ' || lexer->lookahead == '\t') {
    blank_after = true;
    lexer->advance(lexer, false);
  }
  if (!blank_after) return false;

  if (!recovering && valid_symbols[BLOCK_END_BEFORE_NODE] && strcmp(word, "node") == 0 && is_name_start(lexer->lookahead)) {
    lexer->result_symbol = BLOCK_END_BEFORE_NODE;
    return true;
  }
  if (valid_symbols[BLOCK_END_BEFORE_ITEM] && at_line_start) {
    bool item = strcmp(word, "import") == 0 ? lexer->lookahead == '"'
              : (strcmp(word, "model") == 0 || strcmp(word, "dataset") == 0 || strcmp(word, "metric") == 0 ||
                 strcmp(word, "workflow") == 0 || strcmp(word, "optimize") == 0) && is_name_start(lexer->lookahead);
    if (item) {
      lexer->result_symbol = BLOCK_END_BEFORE_ITEM;
      return true;
    }
  }
  return false;
}
