"""Relational blocks: PRQL inside Heddle pipelines, typed by compiling with prqlc and planning on Polars.

    referenced_tables(query)                         the `from`/`join` names, cheaply (no prqlc)
    analyze_block(query, schemas, is_source=...)     output schema, SQL, diagnostics (cached)

Positions are character offsets into the block's text (between its parentheses);
`BlockDiagnostic.to_diagnostic` converts to a document `Diagnostic` with UTF-8 byte spans. The SQL reads
each Heddle table `name` of `BlockAnalysis.tables` from a frame registered as `sql_table_name(name)`.
Pure: no I/O.

The names below load their modules on first use: a process that only compiles PRQL (the contained
compiler's worker imports `relational.compile`) does not import Polars.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from heddle_lang.relational.analyze import analyze_block, cache_clear, cache_info
    from heddle_lang.relational.cache import CacheInfo
    from heddle_lang.relational.edits import apply as apply_edits
    from heddle_lang.relational.model import BlockAnalysis, BlockDiagnostic, BlockFix, TableRef, sql_table_name
    from heddle_lang.relational.tables import referenced_tables

_WHERE = {
    "analyze_block": ("analyze", "analyze_block"),
    "cache_clear": ("analyze", "cache_clear"),
    "cache_info": ("analyze", "cache_info"),
    "CacheInfo": ("cache", "CacheInfo"),
    "apply_edits": ("edits", "apply"),
    "BlockAnalysis": ("model", "BlockAnalysis"),
    "BlockDiagnostic": ("model", "BlockDiagnostic"),
    "BlockFix": ("model", "BlockFix"),
    "TableRef": ("model", "TableRef"),
    "sql_table_name": ("model", "sql_table_name"),
    "referenced_tables": ("tables", "referenced_tables"),
}

__all__ = [
    "BlockAnalysis",
    "BlockDiagnostic",
    "BlockFix",
    "CacheInfo",
    "TableRef",
    "analyze_block",
    "apply_edits",
    "cache_clear",
    "cache_info",
    "referenced_tables",
    "sql_table_name",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _WHERE[name]
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value
    return value
