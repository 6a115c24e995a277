; Highlights of `.flow` files. Capture names follow the common tree-sitter set
; (nvim-treesitter, `tree-sitter highlight`). No two patterns capture the same node
; (editors disagree on which of two matches wins), hence the `#not-any-of?` below.

(comment) @comment

; ------------------------------------------------------------------ keywords

"import" @keyword.import

[
  "model"
  "dataset"
  "metric"
  "workflow"
  "node"
] @keyword.type

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
  key: (identifier) @property)

(json_field
  name: (identifier) @property)

; ------------------------------------------------------------------- values

((call
  function: (identifier) @function.builtin)
  (#any-of? @function.builtin "gguf" "openai" "anthropic" "jsonl" "env"))

((call
  function: (identifier) @function.call)
  (#not-any-of? @function.call "gguf" "openai" "anthropic" "jsonl" "env"))

(argument
  name: (identifier) @variable.parameter)

; `extract.quantities`: a node (or input), then fields of its output.
(path
  .
  (identifier) @variable)

(path
  (identifier)
  .
  (identifier) @variable.member)

; `.input` in a dataset: a field of each JSON line.
(field_path
  (identifier) @variable.member)

(number) @number

(boolean) @boolean

[
  (string)
  (multiline_string)
] @string

[
  (escape_sequence)
  (brace_escape)
] @string.escape

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
