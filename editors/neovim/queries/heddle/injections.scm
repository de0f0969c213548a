; The text of a relational block is PRQL.
((prql) @injection.content
  (#set! injection.language "prql"))

; Comments can carry TODO/FIXME notes and the like.
((comment) @injection.content
  (#set! injection.language "comment"))
