"""IDE features as pure queries on an `Analysis`: one module per feature, positions as byte offsets.

Only `heddle_lsp` turns these results into LSP types (`heddle_lsp/convert.py`).
"""
