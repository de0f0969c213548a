"""Schemas of recorded tables, in the plan's terms (columns of Polars dtypes), and how they compare."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from heddle_lang.types import Column, Schema, assignable, dtype_name

if TYPE_CHECKING:
    import pyarrow as pa


def schema_of(schema: pa.Schema) -> Schema:
    """The columns of an Arrow schema with the Polars dtypes they load as (`None` where Polars has none)."""
    import pyarrow as pa

    try:
        # `Table.from_batches`, not `schema.empty_table()`, which imports pandas (a second, on the writer thread,
        # before the first output is written)
        loaded = pl.from_arrow(pa.Table.from_batches([], schema))
    except Exception:  # a type Polars cannot load: compare by name only
        return Schema(tuple(Column(name) for name in schema.names))
    assert isinstance(loaded, pl.DataFrame)
    return Schema(tuple(Column(name, dtype) for name, dtype in loaded.schema.items()))


def frame_schema(schema: Mapping[str, pl.DataType]) -> Schema:
    """The columns of a Polars schema (a frame's, a scan's)."""
    return Schema(tuple(Column(name, dtype) for name, dtype in schema.items()))


def schema_json(schema: Schema) -> list[dict[str, Any]]:
    return [{"name": c.name, "type": dtype_name(c.dtype)} for c in schema.columns]


def differences(recorded: Schema, expected: Schema) -> list[str]:
    """Why data of schema `recorded` cannot stand for a stage whose output is now `expected` (empty: it can)."""
    found: list[str] = []
    for column in expected.columns:
        actual = recorded.get(column.name)
        if actual is None:
            found.append(f"column `{column.name}` ({dtype_name(column.dtype)}) was not recorded")
        elif not assignable(actual.dtype, column.dtype):
            found.append(f"column `{column.name}` was recorded as {dtype_name(actual.dtype)}, "
                         f"the plan now expects {dtype_name(column.dtype)}")
    if not expected.open:
        extra = [c.name for c in recorded.columns if c.name not in expected]
        if extra:
            found.append("recorded column" + ("s " if len(extra) > 1 else " ")
                         + ", ".join(f"`{name}`" for name in extra) + " no longer in the plan")
    return found
