"""A node's output as it travels between nodes: Arrow or Polars, converted (zero-copy) only when asked.

Python steps take and give Arrow (`heddle.core.Table`); relational blocks and the I/O steps work in
Polars. A `Data` keeps whichever form it was made in and builds the other on first use, sharing the
buffers (Polars' strings are Arrow `string_view`), so a chain of Python steps never converts at all.

A reader may give a *deferred* table: a lazy Polars scan of its file. The relational block that reads it
makes it part of its own lazy query, so the block's projection and filters reach the file; anything else
asked of it (a Python step's input, a recorded output) collects it once.

Contract checks compare column names and types without touching values.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, cast

import polars as pl

from heddle_engine.events import Scan
from heddle_engine.execute.needles import LEAST_ROWS, Needles, taken
from heddle_lang.types import Schema, assignable, dtype_name

if TYPE_CHECKING:
    import pyarrow as pa

    from heddle.core.table import Table

NEWEST = pl.CompatLevel.newest()


class Data:
    __slots__ = ("_arrow", "_columns", "_lazy", "_lock", "_polars", "_rows", "parquet")

    def __init__(self, *, arrow: pa.Table | None = None, polars: pl.DataFrame | None = None,
                 lazy: pl.LazyFrame | None = None, parquet: str | None = None) -> None:
        if arrow is None and polars is None and lazy is None:
            raise ValueError("Data needs an Arrow table, a Polars frame or a lazy frame")
        self._arrow = arrow
        self._polars = polars
        self._lazy = lazy
        self.parquet = parquet  # a deferred table's Parquet file, when the scan reads it whole and unchanged
        self._rows: int | None = None
        self._columns: dict[str, pl.DataType] | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, value: pa.Table | pl.DataFrame | pl.LazyFrame) -> Data:
        if isinstance(value, pl.LazyFrame):
            return cls(lazy=value)
        return cls(polars=value) if isinstance(value, pl.DataFrame) else cls(arrow=value)

    @property
    def deferred(self) -> bool:
        """Is this a lazy scan not collected yet?"""
        return self._polars is None and self._arrow is None

    @property
    def rows_in_memory(self) -> int | None:
        """The rows of data held in memory (None: a lazy scan not collected yet, whose rows are not counted here)."""
        if self._polars is not None:
            return self._polars.height
        return int(self._arrow.num_rows) if self._arrow is not None else None

    def scan(self) -> Scan | None:
        """A deferred table as a `Scan` for observers (None once collected)."""
        lazy = self._lazy
        return Scan(lazy, self.num_rows, self.parquet) if lazy is not None else None

    def frame(self) -> pl.DataFrame | None:
        """The Polars frame, when the data is one not converted to Arrow yet (None otherwise)."""
        return self._polars if self._arrow is None else None

    def materialise(self) -> Data:
        """Collect a deferred table now (a reader's errors are then its own); the data itself."""
        self.polars()
        return self

    def arrow(self) -> pa.Table:
        if self._arrow is None:
            self._arrow = self.polars().to_arrow(compat_level=NEWEST)
        return self._arrow

    def polars(self) -> pl.DataFrame:
        if self._polars is None:
            if self._arrow is not None:
                self._polars = cast(pl.DataFrame, pl.from_arrow(self._arrow, rechunk=False))
            else:
                with self._lock:  # two readers of a deferred table collect it once
                    if self._polars is None:
                        assert self._lazy is not None
                        self._polars = self._lazy.collect()
                        self._lazy = None
        return self._polars

    def holds(self, value: object) -> bool:
        """Is `value` this data's own Arrow table or Polars frame (a step returned its input unchanged)?"""
        return value is self._arrow or value is self._polars

    def table(self, kind: type[Table]) -> Table:
        """The data as a step's input `Table` (of the class it declares): of the Polars frame when there is
        one and no Arrow table yet (the step converts only if it asks for Arrow), else of the Arrow table; a
        deferred table as a table not read yet (`Table.scan`: a writer given it streams it to its file)."""
        lazy = self._lazy
        if lazy is not None and self.deferred:
            return kind.scan(lazy, parquet=self.parquet)
        if self._arrow is None:
            return kind.from_polars(self.polars())
        return kind(self._arrow)

    def lazy(self, columns: Collection[str] | None = None, needles: Needles = ()) -> pl.LazyFrame:
        """The data as a lazy frame. With `columns` (those a reader uses), Arrow data not yet converted
        converts only those, the others standing as typed nulls the reader never reads (converting text
        columns to Polars costs time in proportion to their size). With `needles` (a reader that keeps only
        rows whose column holds a text, `pushdown.text_needles`), such data may give only the rows that can hold
        them (`needles.taken`: found in the Arrow text, the other rows never converted)."""
        lazy = self._lazy
        if lazy is not None:
            return lazy
        if self._polars is not None or (columns is None and not needles):
            return self.polars().lazy()
        assert self._arrow is not None
        schema = self.columns()
        keep = [name for name in schema if columns is None or name in columns]
        table = self._arrow.select(keep) if len(keep) < len(schema) else self._arrow
        found = taken(table, needles) if needles and table.num_rows > LEAST_ROWS else None
        if found is None and table is self._arrow:
            return self.polars().lazy()
        frame = cast(pl.DataFrame, pl.from_arrow(found if found is not None else table, rechunk=False)).lazy()
        if table is self._arrow:
            return frame
        absent = [pl.lit(None, dtype).alias(name) for name, dtype in schema.items() if name not in keep]
        return frame.with_columns(absent).select(list(schema))

    @property
    def num_rows(self) -> int:
        if self._polars is not None:
            return self._polars.height
        if self._arrow is not None:
            return int(self._arrow.num_rows)
        with self._lock:
            if self._polars is not None:
                return self._polars.height
            if self._rows is None:  # a deferred scan counts its rows alone (Parquet: from its metadata)
                assert self._lazy is not None
                self._rows = int(self._lazy.select(pl.len()).collect().item())
            return self._rows

    def columns(self) -> dict[str, pl.DataType]:
        """Column names and their Polars types (from the schema only)."""
        if self._columns is None:
            if self._polars is not None:
                self._columns = dict(self._polars.schema)
            elif self._lazy is not None:
                self._columns = dict(self._lazy.collect_schema())
            else:
                assert self._arrow is not None
                self._columns = {field.name: polars_type(field.type) for field in self._arrow.schema}
        return self._columns


_TYPES: dict[pa.DataType, pl.DataType] = {}
_TYPES_LOCK = threading.Lock()


class ArrowTables(Mapping[str, "pa.Table"]):
    """Node outputs by node id, each converted to Arrow when first looked up (a run's result: a caller that
    never looks them up, like `heddle run`, converts nothing)."""

    def __init__(self, data: Mapping[str, Data]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> pa.Table:
        return self._data[key].arrow()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def is_arrow_table(value: object) -> bool:
    """Is `value` a pyarrow table? (Without importing pyarrow: a process that never did holds none; a run
    whose data never leaves Polars starts without pyarrow and its 0.1-0.3 s of imports.)"""
    pa = sys.modules.get("pyarrow")
    return pa is not None and isinstance(value, pa.Table)


def polars_type(arrow_type: pa.DataType) -> pl.DataType:
    """The Polars type of an Arrow column type (memoised: an empty column converted once per type)."""
    import pyarrow as pa

    with _TYPES_LOCK:
        found = _TYPES.get(arrow_type)
    if found is None:
        # An empty table of the schema, not an empty array: Arrow builds no empty array of some types
        # (a dictionary of string views, what Polars' Categorical is).
        empty = pl.from_arrow(pa.Table.from_batches([], pa.schema([pa.field("c", arrow_type)])))
        found = cast(pl.DataFrame, empty).schema["c"]
        with _TYPES_LOCK:
            _TYPES[arrow_type] = found
    return found


# --- contracts --------------------------------------------------------------------------------------


def missing_or_mistyped(actual: dict[str, pl.DataType], required: Schema) -> list[str]:
    """What `required`'s columns lack in `actual`: "`id` is missing", "`id` is String, not Int64"."""
    problems: list[str] = []
    for column in required.columns:
        if column.name not in actual:
            problems.append(f"`{column.name}` is missing")
        elif not assignable(actual[column.name], column.dtype):
            problems.append(f"`{column.name}` is {dtype_name(actual[column.name])}, not {dtype_name(column.dtype)}")
    return problems


def extra_columns(actual: Iterable[str], expected: Schema) -> list[str]:
    """Columns of `actual` that a closed `expected` schema does not have."""
    if expected.open:
        return []
    known = set(expected.names)
    return [name for name in actual if name not in known]
