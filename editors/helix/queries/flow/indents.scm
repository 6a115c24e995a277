; Indentation in Helix's capture names (nvim-treesitter's are in
; editors/tree-sitter-flow/queries/indents.scm): the inside of every bracketed
; construct is indented one level; a line that starts with the closing bracket is not.
[
  (block)
  (object)
  (workflow_body)
  (import_list)
  (json_type)
  (list)
  (parameter_list)
  (argument_list)
  (node_models)
  (enum_type)
] @indent

[
  "}"
  "]"
  ")"
] @outdent
