"""`Table`: the data a step receives and returns: an Apache Arrow table, or a Polars frame until something
asks for Arrow (`from_polars`, and the engine's input to a step whose data is in Polars), converted zero-copy.

A subclass declares a contract with class annotations (`id: int`, `amount: pl.Float64`, `tags: list[str]`):
as a step's input, those columns are required and others may come along; as its output, exactly those
columns. A subclass without annotations (or `Table` itself) means "not declared".

Conversions are zero-copy where Arrow and Polars allow: Polars and Arrow share buffers (strings travel as
Arrow `string_view`, Polars' own layout). pandas is optional and always copies.

A reader may return `Table.scan(lazy_frame)`: a table not read yet. When a relational block reads it, the
engine runs it as part of the block's own lazy query (the block's projection and filters reach the file);
anything else that asks for its rows collects it once.

A step that fails on some rows only raises `RowErrors`: its good rows go on, the failed ones go to the
stage's handler, each with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self, cast

import polars as pl

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class Table:
    __slots__ = ("_data", "_frame", "_parquet", "_pending")

    def __init__(self, data: pa.Table | pa.RecordBatch) -> None:
        # Imported here, not with the module: declaring steps (the language server's catalog) needs no
        # pyarrow, and it costs 26 MB resident once loaded.
        import pyarrow as pa

        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        if not isinstance(data, pa.Table):
            raise TypeError(f"{type(self).__name__} wraps a pyarrow.Table; use from_polars or from_pandas "
                            f"for a {type(data).__name__}")
        self._data: pa.Table | None = data
        self._frame: pl.DataFrame | None = None  # a table made from Polars: converted to Arrow when asked
        self._pending: pl.LazyFrame | None = None
        self._parquet: str | None = None

    # --- building ----------------------------------------------------------------------------------

    @classmethod
    def from_arrow(cls, data: pa.Table | pa.RecordBatch) -> Self:
        return cls(data)

    @classmethod
    def from_polars(cls, frame: pl.DataFrame | pl.LazyFrame) -> Self:
        """A table of a Polars frame (collected if lazy), converted to Arrow (zero-copy) only when asked: a
        chain of Polars steps never imports pyarrow."""
        if isinstance(frame, pl.LazyFrame):
            frame = frame.collect()
        if not isinstance(frame, pl.DataFrame):
            raise TypeError(f"from_polars takes a polars.DataFrame or LazyFrame, not a {type(frame).__name__}")
        table = cls.__new__(cls)
        table._data = None
        table._frame = frame
        table._pending = None
        table._parquet = None
        return table

    @classmethod
    def scan(cls, query: pl.LazyFrame, *, parquet: str | None = None) -> Self:
        """A table not read yet: `query` (a lazy scan, say) runs when its rows are first asked for, or as part
        of the lazy query of the relational block that reads it. `parquet`: the Parquet file `query` reads
        whole and unchanged (no column dropped or cast), which lineage may keep a copy of instead of the rows."""
        if not isinstance(query, pl.LazyFrame):
            raise TypeError(f"Table.scan takes a polars.LazyFrame, not a {type(query).__name__}")
        table = cls.__new__(cls)
        table._data = None
        table._frame = None
        table._pending = query
        table._parquet = parquet
        return table

    def sink(self, plan: pl.LazyFrame) -> None:
        """Run `plan`, a sink made from `pending_query()` (`query.sink_parquet(path, lazy=True)`, ...). A writer
        runs its sink so rather than with `sink_parquet(path)`: when the engine gives several writers queries that
        read one source, it runs their sinks together and the source is read once (`heddle.core.sinks`)."""
        from heddle.core.sinks import run_sink

        run_sink(plan)

    def pending_query(self) -> pl.LazyFrame | None:
        """The lazy query of a table made by `scan` and not collected yet (None once it has its rows)."""
        return self._pending if self._data is None and self._frame is None else None

    def held(self) -> pa.Table | pl.DataFrame | pl.LazyFrame:
        """What the table holds, unconverted: its Arrow table, its Polars frame, or its pending query."""
        if self._data is not None:
            return self._data
        if self._frame is not None:
            return self._frame
        assert self._pending is not None
        return self._pending

    @property
    def parquet_source(self) -> str | None:
        """The Parquet file a table made by `scan` is, whole and unchanged (when its maker said so)."""
        return self._parquet

    @classmethod
    def from_pandas(cls, frame: pd.DataFrame) -> Self:
        import pyarrow as pa

        _require_pandas("from_pandas")
        return cls(pa.Table.from_pandas(frame, preserve_index=False))

    # --- reading -----------------------------------------------------------------------------------

    def to_arrow(self) -> pa.Table:
        if self._data is None:
            self._data = self._collected().to_arrow(compat_level=pl.CompatLevel.newest())
        return self._data

    def to_polars(self) -> pl.DataFrame:
        """The table as a Polars frame of its own (sharing the buffers: changing it in place changes no one
        else's)."""
        if self._data is None:
            return self._collected().clone()
        return cast(pl.DataFrame, pl.from_arrow(self._data, rechunk=False))

    def _collected(self) -> pl.DataFrame:
        """The Polars frame of a table made from Polars, or of a pending query (run once)."""
        if self._frame is None:
            assert self._pending is not None
            self._frame = self._pending.collect()
            self._pending = None
        return self._frame

    def to_pandas(self) -> pd.DataFrame:
        _require_pandas("to_pandas")
        return self.to_arrow().to_pandas()

    @property
    def num_rows(self) -> int:
        if self._frame is not None:
            return self._frame.height
        return int(self.to_arrow().num_rows)

    @property
    def num_columns(self) -> int:
        if self._frame is not None:
            return self._frame.width
        return int(self.to_arrow().num_columns)

    @property
    def column_names(self) -> list[str]:
        if self._frame is not None:
            return list(self._frame.columns)
        return list(self.to_arrow().column_names)

    @property
    def schema(self) -> pa.Schema:
        return self.to_arrow().schema

    def equals(self, other: Table) -> bool:
        """Same columns, types and values, compared as Polars sees them (the class does not matter)."""
        return self.to_polars().equals(other.to_polars())

    def __len__(self) -> int:
        return self.num_rows

    def __repr__(self) -> str:
        columns = ", ".join(f"{f.name}: {f.type}" for f in self.to_arrow().schema)
        return f"{type(self).__name__}({self.num_rows} rows: {columns})"

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        """The Arrow PyCapsule stream interface: any Arrow-aware library can read a `Table` directly."""
        return self.to_arrow().__arrow_c_stream__(requested_schema)


class RowErrors(Exception):  # noqa: N818 - named for what a step reports: errors of rows
    """Raised by a step that processed its input but failed on some rows.

    `output` is the step's result for the rows that succeeded: it goes downstream as the stage's output.
    `failed` holds the rows that failed (the input's columns): they go to the stage's `? handler` in the
    error context, `error_msg` being each row's reason (`reasons`: one text for all, or one per row).
    `rows` (optional): the failed rows' positions in the input, which a worker sends instead of the rows
    themselves (without them it finds each failed row among the input rows by its values).

    ```python
    raise RowErrors(Checked.from_polars(good), Table.from_polars(bad), "no address to check")
    ```
    """

    def __init__(self, output: Table, failed: Table, reasons: str | Sequence[str], *,
                 rows: Sequence[int] | None = None) -> None:
        texts = [reasons] * failed.num_rows if isinstance(reasons, str) else [str(r) for r in reasons]
        if len(texts) != failed.num_rows:
            raise ValueError(f"RowErrors: {len(texts)} reasons for {failed.num_rows} failed rows (give one text, "
                             "or one per failed row)")
        if rows is not None and len(rows) != failed.num_rows:
            raise ValueError(f"RowErrors: {len(rows)} row positions for {failed.num_rows} failed rows")
        self.output = output
        self.failed = failed
        self.reasons = texts
        self.rows = [int(r) for r in rows] if rows is not None else None
        first = f": {texts[0]}" if texts else ""
        super().__init__(f"{failed.num_rows} row{'' if failed.num_rows == 1 else 's'} failed{first}")


def _require_pandas(method: str) -> None:
    try:
        import pandas  # noqa: F401
    except ImportError:
        raise ImportError(f"Table.{method}() needs pandas, which is not installed: "
                          "`pip install 'heddle-lang[pandas]'` (or use to_polars()/to_arrow(), "
                          "which need nothing more)") from None
