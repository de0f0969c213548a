"""A node's output held in Ray's object store: object refs, one per partition, and what the driver knows
of them without fetching them (rows and schema).

The executor treats it as any `Data`: row counts and contracts read the schema, and only what needs the
rows themselves on the driver (a handler's payload, an observer that records outputs, the run's final
outputs) fetches them — on the head node that is a zero-copy read of the shared-memory store. Every fetch
is counted (`Traffic`), so a test or a benchmark can see the bytes that went through the driver.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Collection, Sequence
from typing import Any, cast

import polars as pl
import pyarrow as pa

from heddle_engine.execute.data import Data, polars_type
from heddle_engine.execute.needles import Needles


class Frame:
    """A table as it travels through Ray's object store: one Arrow IPC stream, handed to Ray as an out-of-band
    buffer and read back without a copy (a slice travels as its own rows only; every Arrow type travels,
    Polars' string views included)."""

    __slots__ = ("table",)

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, self.table.schema) as writer:
            writer.write_table(self.table)
        return _frame, (pickle.PickleBuffer(sink.getvalue()),)


def _frame(buffer: object) -> Frame:
    return Frame(pa.ipc.open_stream(pa.py_buffer(buffer)).read_all())


class Traffic:
    """Bytes the driver fetched from the object store, and bytes it put there."""

    def __init__(self) -> None:
        self.fetched = 0
        self.put = 0
        self._lock = threading.Lock()

    def count(self, *, fetched: int = 0, put: int = 0) -> None:
        with self._lock:
            self.fetched += fetched
            self.put += put


class PlacedData(Data):
    __slots__ = ("_fetch", "counts", "parts", "schema")

    def __init__(self, parts: Sequence[Any], counts: Sequence[int], schema: pa.Schema, fetch: Any) -> None:
        self._arrow = None
        self._polars = None
        self._lazy = None
        self.parquet = None
        self._rows = None
        self._columns = None
        self._lock = threading.Lock()
        self.parts = tuple(parts)  # ObjectRefs of the partitions, in order
        self.counts = tuple(counts)  # rows of each
        self.schema = schema
        self._fetch = fetch  # refs -> their tables (counted)

    @property
    def deferred(self) -> bool:
        return False

    def scan(self) -> None:
        return None

    @property
    def partitioned(self) -> bool:
        return len(self.parts) > 1

    def arrow(self) -> pa.Table:
        if self._arrow is None:
            tables = self._fetch(list(self.parts))
            self._arrow = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        return self._arrow

    def polars(self) -> pl.DataFrame:
        if self._polars is None:
            self._polars = cast(pl.DataFrame, pl.from_arrow(self.arrow(), rechunk=False))
        return self._polars

    def lazy(self, columns: Collection[str] | None = None, needles: Needles = ()) -> pl.LazyFrame:
        self.arrow()
        return super().lazy(columns, needles)

    def holds(self, table: pa.Table) -> bool:
        return False

    @property
    def num_rows(self) -> int:
        return sum(self.counts)

    def columns(self) -> dict[str, pl.DataType]:
        if self._columns is None:
            self._columns = {field.name: polars_type(field.type) for field in self.schema}
        return self._columns
