; Syntax highlighting for Heddle.
;
; Every node gets at most one capture, so the result does not depend on whether an editor lets the
; first (tree-sitter CLI, GitHub) or the last (Neovim) matching pattern win.
; The PRQL inside relational blocks is highlighted by injection (injections.scm).

; Keywords
; --------

[
  "import"
  "resource"
  "step"
  "handler"
  "workflow"
] @keyword

; Declarations
; ------------

(import_declaration
  path: (string) @string)

(import_declaration
  alias: (identifier) @module)

(resource_declaration
  name: (identifier) @constant)

(step_declaration
  name: (identifier) @function)

(handler_declaration
  name: (identifier) @label)

(workflow_declaration
  name: (identifier) @type)

; Calls and resource injection
; ----------------------------

(function
  module: (identifier) @module)

(function
  name: (identifier) @function.call)

(binding
  key: (identifier) @variable.parameter)

(binding
  value: (identifier) @constant)

; A library's resource: `<connection=platform.pg_db>` (`value` is then the library's alias).
(binding
  member: (identifier) @constant)

; Pipelines
; ---------

; A step or an assigned name used as a source or a stage.
(reference
  (identifier) @variable)

(assignment
  name: (identifier) @variable)

; `? handler` on a workflow, a source or a stage.
(trap
  handler: (identifier) @label)

; A library's handler: `? platform.on_fail` (`handler` is then the library's alias).
(trap
  member: (identifier) @label)

; `*` in a handler: the error context.
(error_context) @variable.builtin

; Config values
; -------------

(pair
  key: (identifier) @property)

(pair
  key: (string) @property)

(pair
  value: (string) @string)

(list
  (string) @string)

(dataframe
  row: (string) @string)

(multiline_string) @string

(escape_sequence) @string.escape

(number) @number

[
  (true)
  (false)
] @boolean

(null) @constant.builtin

; Comments
; --------

(comment) @comment

; Operators and punctuation
; -------------------------

(stage
  "|" @operator)

(assignment
  ">" @operator)

(trap
  "?" @operator)

(resource_declaration
  "=" @operator)

(step_declaration
  "=" @operator)

(binding
  "=" @operator)

[
  "{"
  "}"
  "["
  "]"
  "("
  ")"
] @punctuation.bracket

(injection
  [
    "<"
    ">"
  ] @punctuation.bracket)

[
  "."
  ","
  ":"
] @punctuation.delimiter
