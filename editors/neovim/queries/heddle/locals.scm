; Scopes, definitions and references.
;
; Declarations and import aliases are visible in the whole file; names assigned with `> name`
; are visible in the rest of the workflow or handler body that assigns them.

; Scopes
; ------

(source_file) @local.scope

(workflow_declaration
  body: (block) @local.scope)

(handler_declaration
  body: (block) @local.scope)

; Definitions
; -----------

(import_declaration
  alias: (identifier) @local.definition)

(resource_declaration
  name: (identifier) @local.definition)

(step_declaration
  name: (identifier) @local.definition)

(handler_declaration
  name: (identifier) @local.definition)

(workflow_declaration
  name: (identifier) @local.definition)

(assignment
  name: (identifier) @local.definition)

; References
; ----------

; A step or an assigned name used in a pipeline.
(reference
  (identifier) @local.reference)

; The resource given to a step: `<connection=pg_db>`.
(binding
  value: (identifier) @local.reference)

; The handler of a trap: `? on_fail`.
(trap
  handler: (identifier) @local.reference)

; The import alias in `alias.function`.
(function
  module: (identifier) @local.reference)
