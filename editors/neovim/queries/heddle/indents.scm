; Indentation (nvim-treesitter conventions).

; Braces and brackets indent their contents one level; the line of the closer goes back.
[
  (block)
  (dict)
  (list)
  (dataframe)
  (relational_block)
] @indent.begin

[
  "}"
  "]"
  ")"
] @indent.branch @indent.end

; `| stage` lines sit one level deeper than the source of their pipeline; `> name` lines are
; aligned with the source.
(pipeline) @indent.begin

(assignment) @indent.branch

; Multi-line strings, block comments and PRQL text keep the author's indentation.
[
  (multiline_string)
  (comment)
  (prql)
] @indent.auto
