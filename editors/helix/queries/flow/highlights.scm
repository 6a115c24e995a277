; Highlights of `.flow` files in Helix's scope names: the patterns of
; editors/tree-sitter-flow/queries/highlights.scm with the captures renamed
; (tests/editors_tree_sitter.rs keeps the two in step).

(comment) @comment.line

; ------------------------------------------------------------------ keywords

"import" @keyword.control.import

[
  "model"
  "dataset"
  "metric"
  "workflow"
  "node"
] @keyword.storage.type

"optimize" @keyword

[
  "json"
  "enum"
] @type.builtin

; ------------------------------------------------------------- declarations

(model_declaration
  name: (identifier) @constant)

(dataset_declaration
  name: (identifier) @constant)

(metric_declaration
  name: (identifier) @function)

(workflow_declaration
  name: (identifier) @function)

(node_declaration
  name: (identifier) @function)

; llm, consensus, code
(node_declaration
  kind: (identifier) @function.builtin)

(node_models
  model: (identifier) @constant)

(optimize_declaration
  workflow: (identifier) @function)

(import_list
  name: (identifier) @variable)

(parameter
  name: (identifier) @variable.parameter)

(output_binding
  output: (identifier) @variable)

(property
  key: (identifier) @variable.other.member)

(json_field
  name: (identifier) @variable.other.member)

; ------------------------------------------------------------------- values

((call
  function: (identifier) @function.builtin)
  (#any-of? @function.builtin "gguf" "openai" "anthropic" "jsonl" "env"))

((call
  function: (identifier) @function)
  (#not-any-of? @function "gguf" "openai" "anthropic" "jsonl" "env"))

(argument
  name: (identifier) @variable.parameter)

; `extract.quantities`: a node (or input), then fields of its output.
(path
  .
  (identifier) @variable)

(path
  (identifier)
  .
  (identifier) @variable.other.member)

; `.input` in a dataset: a field of each JSON line.
(field_path
  (identifier) @variable.other.member)

(number) @constant.numeric

(boolean) @constant.builtin.boolean

[
  (string)
  (multiline_string)
] @string

[
  (escape_sequence)
  (brace_escape)
] @constant.character.escape

; `{question}`, `{extract.quantities}` in prompts and system messages.
(template_reference) @string.special

; -------------------------------------------------------------------- types

((type_identifier) @type.builtin
  (#any-of? @type.builtin "text" "number" "int" "bool"))

((type_identifier) @type
  (#not-any-of? @type "text" "number" "int" "bool"))

; -------------------------------------------------------------- punctuation

[
  "="
  "->"
] @operator

[
  ","
  ":"
  "."
] @punctuation.delimiter

[
  "{"
  "}"
  "("
  ")"
  "["
  "]"
] @punctuation.bracket
