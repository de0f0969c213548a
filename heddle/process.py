"""Process-wide settings the `heddle` and `heddle-lsp` entry points apply before doing any work."""

from __future__ import annotations

import gc

# Analysis allocates many small, long-lived objects (AST nodes, schemas, diagnostics) and few cycles:
# with CPython's default first-generation threshold (700) the collector runs thousands of times per
# 10,000-line file for nothing. A larger threshold keeps collections rare without turning them off.
GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
