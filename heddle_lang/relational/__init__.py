"""Relational blocks: PRQL inside Heddle pipelines, typed by compiling with prqlc and planning on Polars.

    referenced_tables(query)                         the `from`/`join` names, cheaply (no prqlc)
    analyze_block(query, schemas, is_source=...)     output schema, SQL, diagnostics (cached)

Positions are character offsets into the block's text (between its parentheses);
`BlockDiagnostic.to_diagnostic` converts to a document `Diagnostic` with UTF-8 byte spans. The SQL reads
each Heddle table `name` of `BlockAnalysis.tables` from a frame registered as `sql_table_name(name)`.
Pure: no I/O.
"""

from heddle_lang.relational.analyze import analyze_block, cache_clear, cache_info
from heddle_lang.relational.cache import CacheInfo
from heddle_lang.relational.edits import apply as apply_edits
from heddle_lang.relational.model import (
    BlockAnalysis,
    BlockDiagnostic,
    BlockFix,
    TableRef,
    sql_table_name,
)
from heddle_lang.relational.tables import referenced_tables

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
