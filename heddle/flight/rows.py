"""Tables on the worker's side of the wire: what a step returned, and where its failed rows were."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from heddle.core.table import Table

_INDEX, _FAILED, _NTH = "__heddle_input_row", "__heddle_failed_row", "__heddle_occurrence"


def output_table(returned: object) -> pa.Table | None:
    """A step's result as Arrow (a `Table`, a pyarrow table or a Polars frame); None for anything else."""
    if isinstance(returned, Table):
        return returned.to_arrow()
    if isinstance(returned, pa.Table):
        return returned
    if isinstance(returned, pl.DataFrame):
        return returned.to_arrow(compat_level=pl.CompatLevel.newest())
    return None


def locate_rows(given: pa.Table, failed: pa.Table) -> list[int]:
    """The position in `given` of each row of `failed` (a step's `RowErrors` without `rows=`), matched by the
    values of the input's columns; the n-th of several equal failed rows is the n-th equal input row.
    Raises ValueError when a failed row is not among the input rows: the engine would route the wrong row."""
    columns = list(given.column_names)
    missing = [c for c in columns if c not in failed.column_names]
    if missing:
        raise ValueError(f"the failed rows lack the input columns {', '.join(f'`{c}`' for c in missing)}")
    if failed.num_rows == 0:
        return []
    if not columns:
        raise ValueError("the input has no columns to find the failed rows by: give RowErrors(rows=...)")
    left = _numbered(failed.select(columns), _FAILED, columns)
    right = _numbered(given.select(columns), _INDEX, columns)
    try:
        joined = left.join(right, on=[*columns, _NTH], how="left", nulls_equal=True).sort(_FAILED)
    except pl.exceptions.PolarsError as error:
        raise ValueError(f"the failed rows cannot be matched to the input rows ({error}): give "
                         "RowErrors(rows=...)") from None
    if joined[_INDEX].null_count():
        raise ValueError(f"{joined[_INDEX].null_count()} failed row(s) are not input rows (changed values?): give "
                         "RowErrors(rows=...) with their positions in the input")
    return [int(i) for i in joined[_INDEX].to_list()]


def _numbered(table: pa.Table, name: str, columns: list[str]) -> pl.DataFrame:
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame.with_row_index(name).with_columns(pl.int_range(pl.len()).over(columns).alias(_NTH))
