"""The `heddle` command line: `check`, `fmt` (and, as they arrive, `plan`, `run`, `lsp`)."""
