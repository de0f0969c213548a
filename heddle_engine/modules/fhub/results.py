"""A query's rows as the `Table` a connector returns: cast to the types wanted, and not copied when no cast is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import polars as pl

from heddle.core.table import Table

if TYPE_CHECKING:
    import pyarrow as pa


def cast_to(data: pa.Table, wanted: Mapping[str, pl.DataType | None]) -> Table:
    """The rows as a `Table`, columns cast to the types wanted where they differ (the Arrow passed on untouched
    when none does: no copy)."""
    import pyarrow as pa

    current = pl.from_arrow(pa.Table.from_batches([], pa.schema(data.schema))).schema  # type: ignore[union-attr]
    casts = [pl.col(name).cast(dtype) for name, dtype in wanted.items()
             if dtype is not None and name in current and current[name] != dtype]
    if not casts:
        return Table.from_arrow(data)
    frame = pl.from_arrow(data, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return Table.from_polars(frame.with_columns(casts))
