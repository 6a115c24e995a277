; Indentation (nvim-treesitter's capture names): the inside of every bracketed
; construct is indented one level; a line that starts with the closing bracket is
; not. Multi-line strings keep the indentation typed in them: flowc dedents them.
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
] @indent.begin

[
  "}"
  "]"
  ")"
] @indent.branch

[
  "}"
  "]"
  ")"
] @indent.end

(multiline_string) @indent.ignore

(comment) @indent.auto
