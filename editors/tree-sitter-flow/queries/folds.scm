; Foldable regions: every block, the brace lists of imports and json types, long
; lists and parameter lists, and multi-line strings (prompts, code).
[
  (block)
  (object)
  (workflow_body)
  (import_list)
  (json_type)
  (list)
  (parameter_list)
  (argument_list)
  (multiline_string)
] @fold
