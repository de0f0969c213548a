; Folding ranges. Editors fold only the nodes that span several lines.
[
  (block)
  (dict)
  (list)
  (dataframe)
  (relational_block)
  (multiline_string)
  (pipeline)
  (comment)
] @fold
