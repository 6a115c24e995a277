; Scopes, definitions and references of `.flow` files: top-level names (models,
; datasets, metrics, workflows, imports) are visible in the whole file; a
; workflow's inputs, outputs and nodes inside its declaration; a metric's parameters
; inside the metric.

(source_file) @local.scope

(workflow_declaration) @local.scope

(metric_declaration) @local.scope

(model_declaration
  name: (identifier) @local.definition)

(dataset_declaration
  name: (identifier) @local.definition)

(metric_declaration
  name: (identifier) @local.definition)

(workflow_declaration
  name: (identifier) @local.definition)

(import_list
  name: (identifier) @local.definition)

(parameter
  name: (identifier) @local.definition)

(node_declaration
  name: (identifier) @local.definition)

; `extract.quantities` refers to `extract`; the fields after it are not names in scope.
(path
  .
  (identifier) @local.reference)

(node_models
  model: (identifier) @local.reference)

(optimize_declaration
  workflow: (identifier) @local.reference)

(output_binding
  output: (identifier) @local.reference)
