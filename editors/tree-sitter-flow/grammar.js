/**
 * @file The `.flow` language of flowc (LLM workflows compiled into locked plans).
 *
 * This grammar follows `grammar/flow.pest` (the compiler's own parser) rule for rule;
 * the meaning of each construct is in `docs/language.md`. The test
 * `tests/editors_tree_sitter.rs` parses every example with both parsers and compares
 * what they found, so a change to one grammar without the other fails CI.
 *
 * Differences that are on purpose (they only change what a broken file reads as):
 * - pest swallows a broken member into a `recover_*` rule. Here, a half-typed
 *   declaration, node or property ends where the next line starts a declaration
 *   (or, inside a workflow, at the next `node NAME`): src/scanner.c finds those
 *   places, the tree marks them `missing_close` / `missing_rest`, and everything after
 *   keeps its highlighting. Everywhere else tree-sitter's own error recovery applies.
 * - Strings are split into content, escapes and template references (`{node.field}`)
 *   so that editors can highlight the references; pest reads a string as one token
 *   and `syntax::template` splits it later.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/;

/**
 * A closing bracket, or (in a half-typed file) the place where it belonged: before
 * the next declaration and, inside a node, before the next `node` (src/scanner.c).
 */
function closing($, bracket, {beforeNode}) {
  const alternatives = [bracket, alias($._block_end_before_item, $.missing_close)];
  if (beforeNode) alternatives.push(alias($._block_end_before_node, $.missing_close));
  return choice(...alternatives);
}

/**
 * The required parts of a declaration, each of which may be the last one typed so
 * far: before the next declaration (src/scanner.c) a half-typed declaration ends
 * with a `missing_rest` node instead of swallowing what follows. (Never after the
 * last required part: a complete declaration followed by another is well-formed.)
 */
function declaration($, requiredParts, optionalTail, {beforeNode} = {beforeNode: false}) {
  const missingRest = beforeNode
    ? choice(alias($._block_end_before_item, $.missing_rest), alias($._block_end_before_node, $.missing_rest))
    : alias($._block_end_before_item, $.missing_rest);
  let rule = optionalTail === undefined
    ? requiredParts[requiredParts.length - 1]
    : seq(requiredParts[requiredParts.length - 1], optionalTail);
  for (let index = requiredParts.length - 2; index >= 0; index--) {
    rule = seq(requiredParts[index], choice(rule, missingRest));
  }
  return rule;
}

/** `a, b, c` with an optional trailing comma after at least one element (as pest). */
function commaSeparated(rule) {
  return optional(seq(rule, repeat(seq(',', rule)), optional(',')));
}

module.exports = grammar({
  name: 'flow',

  // Blanks and `//` comments may appear between any two tokens (pest's WHITESPACE).
  extras: $ => [/\s/, $.comment],

  // Keyword extraction: `output`, `json`, `enum`, `true` and `false` are keywords only
  // where the grammar expects them (`output` is also a code input's name, ...).
  word: $ => $.identifier,

  // src/scanner.c: closes the blocks a half-typed file left open before the next
  // declaration (see there). The sentinel tells the scanner that tree-sitter is
  // recovering from an error.
  externals: $ => [
    $._block_end_before_item,
    $._block_end_before_node,
    $._error_sentinel,
  ],

  // `_key` is inlined so that `output` stays a key of every form until the value
  // decides between a type and a plain value.
  inline: $ => [$._key],

  // After `output =`, a name (or `[name]`) is both a type and a value; the parser
  // keeps both and the type wins (dynamic precedence), as pest tries the type first.
  conflicts: $ => [
    [$._type, $.path],
  ],

  rules: {
    source_file: $ => repeat($._item),

    _item: $ => choice(
      $.import_declaration,
      $.model_declaration,
      $.dataset_declaration,
      $.metric_declaration,
      $.workflow_declaration,
      $.optimize_declaration,
    ),

    // ------------------------------------------------------------------ items

    // import "std/metrics" { numeric_match, exact_match }
    import_declaration: $ => declaration($, [
      'import',
      field('path', $.string),
    ], optional(field('names', $.import_list))),
    import_list: $ => seq('{', commaSeparated(field('name', $.identifier)), closing($, '}', {beforeNode: false})),

    // model student = gguf("model.gguf") { temperature = 0 }
    model_declaration: $ => declaration($, [
      'model',
      field('name', $.identifier),
      '=',
      field('source', $._declaration_source),
    ], optional(field('body', $.block))),

    // dataset train = jsonl("data/train.jsonl") { question = .input }
    dataset_declaration: $ => declaration($, [
      'dataset',
      field('name', $.identifier),
      '=',
      field('source', $._declaration_source),
    ], optional(field('body', $.block))),

    // `gguf("...")`, or only its name so far.
    _declaration_source: $ => choice(
      $.call,
      alias(seq(field('function', $.identifier), alias($._block_end_before_item, $.missing_rest)), $.call),
    ),

    // metric within(tolerance: number = 0.5) { source = """...""" }
    metric_declaration: $ => declaration($, [
      'metric',
      field('name', $.identifier),
      field('parameters', $.parameter_list),
      field('body', $.block),
    ]),

    // optimize solve { teacher = teacher ... }
    optimize_declaration: $ => declaration($, [
      'optimize',
      field('workflow', $.identifier),
      field('body', $.block),
    ]),

    // workflow solve(question: text) -> (answer: number) { ... }
    workflow_declaration: $ => declaration($, [
      'workflow',
      field('name', $.identifier),
      field('inputs', $.parameter_list),
      '->',
      field('outputs', $.parameter_list),
      field('body', $.workflow_body),
    ]),

    parameter_list: $ => seq('(', commaSeparated($.parameter), closing($, ')', {beforeNode: false})),
    parameter: $ => seq(
      field('name', $.identifier),
      ':',
      field('type', $._type),
      optional(seq('=', field('default', $._value))),
    ),

    workflow_body: $ => seq(
      '{',
      repeat(choice($.node_declaration, $.output_binding)),
      closing($, '}', {beforeNode: false}),
    ),

    // node extract = llm(student) { ... }   /   node compute = code { ... }
    node_declaration: $ => declaration($, [
      'node',
      field('name', $.identifier),
      '=',
      seq(field('kind', $.identifier), optional(field('models', $.node_models))),
      field('body', $.block),
    ], undefined, {beforeNode: true}),
    node_models: $ => seq('(', commaSeparated(field('model', $.identifier)), closing($, ')', {beforeNode: true})),

    // answer = compute.value  (an output may be called `node`: pest reads `node =` as a binding)
    output_binding: $ => seq(
      field('output', choice($.identifier, alias('node', $.identifier))),
      '=',
      field('value', $.path),
    ),

    // ------------------------------------------------------------- properties

    block: $ => seq('{', repeat($.property), $._block_close),

    _block_close: $ => closing($, '}', {beforeNode: true}),

    property: $ => seq(
      choice(
        // output = json { ... }. `output = number` reads as a type (pest's
        // `output_property` comes first); `output = node.field` falls through to the
        // plain form, as in pest.
        prec.dynamic(1, seq(field('key', $._output_key), '=', field('type', $._type))),
        // numbers: [number] = extract.quantities (typed code-node inputs)
        seq(field('key', $._key), ':', field('type', $._type), '=', field('value', $._value)),
        // budget { iterations = 5 }
        seq(field('key', $._key), field('block', $.block)),
        // prompt = "..."  (or, half-typed before the next declaration or node, `prompt =`)
        seq(field('key', $._key), '=', choice(
          field('value', $._value),
          alias($._block_end_before_item, $.missing_rest),
          alias($._block_end_before_node, $.missing_rest),
        )),
      ),
      optional(','),
    ),

    _output_key: $ => alias('output', $.identifier),
    _key: $ => choice($.identifier, $._output_key),

    // ----------------------------------------------------------------- values

    _value: $ => choice(
      $.multiline_string,
      $.string,
      $.number,
      $.boolean,
      $.list,
      $.object,
      $.call,
      $.field_path,
      $.path,
    ),

    // gguf("file.gguf"), env("KEY"), numeric_match(rel_tol = 1e-6)
    call: $ => seq(
      field('function', $.identifier),
      field('arguments', $.argument_list),
    ),
    argument_list: $ => seq('(', commaSeparated($.argument), closing($, ')', {beforeNode: true})),
    argument: $ => seq(
      optional(seq(field('name', $.identifier), '=')),
      field('value', $._value),
    ),

    list: $ => seq('[', commaSeparated($._value), closing($, ']', {beforeNode: true})),

    // key = { a = 1 }
    object: $ => seq('{', repeat($.property), $._block_close),

    // `.input` in a dataset mapping: a field of each JSON line (no blanks inside, as
    // pest's compound-atomic `field_path`).
    field_path: $ => seq(
      '.',
      alias(token.immediate(IDENTIFIER), $.identifier),
      repeat(seq(token.immediate('.'), alias(token.immediate(IDENTIFIER), $.identifier))),
    ),

    // extract.quantities, question, prompt (a move name)
    path: $ => seq(
      $.identifier,
      repeat(seq(token.immediate('.'), alias(token.immediate(IDENTIFIER), $.identifier))),
    ),

    boolean: _ => choice('true', 'false'),

    number: _ => token(/-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/),

    // A one-line string; the compiler checks its escapes, so any `\x` is an escape
    // here. Templates: `{name.field}` is a reference, `{{` and `}}` are literal
    // braces, and any other brace is plain text (`{"answer": 42}`).
    string: $ => seq(
      '"',
      optional(alias($._string_body, $.string_content)),
      token.immediate('"'),
    ),
    _string_body: $ => repeat1(choice(
      $._string_text,
      $.escape_sequence,
      $.template_reference,
      $.brace_escape,
      $._lone_brace,
    )),
    // (Precedence over `//` comments, so that "http://..." stays one string.)
    _string_text: _ => token.immediate(prec(1, /[^"\\\n\r{}]+/)),
    escape_sequence: _ => token.immediate(prec(1, /\\[^\n\r]/)),

    // A multi-line string is raw (no escapes) and ends at the first `"""`. Its
    // content is one node, the exact text between the quotes: what an editor
    // injects Python into for `source = """..."""`.
    multiline_string: $ => seq(
      '"""',
      optional(alias($._multiline_body, $.string_content)),
      // (Above the quotes' precedence: three quotes always close the string.)
      token.immediate(prec(2, '"""')),
    ),
    _multiline_body: $ => repeat1(choice(
      $._multiline_text,
      $._multiline_quotes,
      $.template_reference,
      $.brace_escape,
      $._lone_brace,
    )),
    _multiline_text: _ => token.immediate(prec(1, /[^"{}]+/)),
    // One or two quotes inside the string; three end it.
    _multiline_quotes: _ => token.immediate(prec(1, /""?/)),

    template_reference: _ => token.immediate(prec(1,
      /\{[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\}/)),
    brace_escape: _ => token.immediate(prec(1, choice('{{', '}}'))),
    _lone_brace: _ => token.immediate(prec(1, /[{}]/)),

    // ------------------------------------------------------------------ types

    _type: $ => choice(
      $.list_type,
      $.json_type,
      $.enum_type,
      alias($.identifier, $.type_identifier),
    ),

    list_type: $ => seq('[', field('element', $._type), closing($, ']', {beforeNode: false})),

    // json { quantities: [number], name: text } (commas between fields optional, as pest)
    json_type: $ => seq(
      'json',
      '{',
      optional(seq(
        $.json_field,
        repeat(seq(optional(','), $.json_field)),
        optional(','),
      )),
      // (Not before `node`: `json { a: node b: text }` is a well-formed, if wrong, type.)
      closing($, '}', {beforeNode: false}),
    ),
    json_field: $ => seq(field('name', $.identifier), ':', field('type', $._type)),

    enum_type: $ => seq('enum', '(', commaSeparated($.string), closing($, ')', {beforeNode: true})),

    // --------------------------------------------------------------- lexical

    identifier: _ => IDENTIFIER,

    comment: _ => token(seq('//', /[^\n]*/)),
  },
});
