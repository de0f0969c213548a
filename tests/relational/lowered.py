"""A query's lowered plan over Arrow tables, as the relational tests run it: checked, then the RQ lowered to one
lazy Polars query over the tables (named as the block names them)."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
import pyarrow as pa

from heddle_lang.relational import analyze_block, sql_table_name
from tests.differential.reference import schema_of


def lowered(query: str, tables: Mapping[str, pa.Table]) -> pl.LazyFrame:
    analysis = analyze_block(query, {name: schema_of(table) for name, table in tables.items()}, is_source=True)
    assert analysis.program is not None, [d.message for d in analysis.diagnostics]
    frames = {}
    for name, table in tables.items():
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        frames[sql_table_name(name)] = frame.lazy()
    return analysis.program.lazy(frames)
