; The `source` of a code node or a metric is code in flowc's Python dialect.
; (Only `"""` strings: one-line sources do not occur, and the content node is the
; exact text between the quotes.)
((property
  key: (identifier) @_key
  value: (multiline_string
    (string_content) @injection.content))
  (#eq? @_key "source")
  (#set! injection.language "python")
  (#set! injection.include-children))
