"""Aggregates over a frame of rows (`window rows:a..b`, `rolling:n`, `expanding:true`), per partition.

Everything is built from a few reductions over the frame of each row (`Frame.reduce`): the sum (nulls
count as 0), the number of non-null values, and the minimum and maximum of the non-null values. The
aggregate functions are composed from them with SQL's rules: a sum, average, minimum or maximum over a
frame without values is null; `count` counts the frame's rows. Integer sums are exact (128-bit prefix
sums) and fail if they do not fit. Floating point minimum and maximum treat NaN as the greatest value,
as DuckDB does (Polars' running maximum skips NaN).

Frames, for the row at position i of n (bounds relative to i, None unbounded):
  (None, None)  the whole partition          (None, b)  rows 0 .. i+b (a running reduction, shifted)
  (a, None)     rows i+a .. n-1 (reversed)    (a, b)     rows i+a .. i+b (rolling windows of b-a+1 rows)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import polars as pl

from heddle_lang.relational import rq
from heddle_lang.relational.lowering.aggregates import mean_of, sum_of
from heddle_lang.relational.lowering.errors import UnsupportedError

Reduce = Callable[[pl.Expr, str], pl.Expr]


def position() -> pl.Expr:
    return pl.int_range(pl.len(), dtype=pl.Int64)


def _empty(how: str) -> pl.Expr:
    return pl.lit(0, pl.Int64) if how == "count" else pl.lit(None)


def _whole(value: pl.Expr, how: str) -> pl.Expr:
    if how == "std":
        return value.std(ddof=1)
    if how == "sum":
        return value.fill_null(0).sum()
    if how == "count":
        return value.count().cast(pl.Int64)
    return value.min() if how == "min" else value.max()


def _running(value: pl.Expr, how: str) -> pl.Expr:
    """The reduction of the rows up to this one."""
    if how == "sum":
        return value.fill_null(0).cum_sum()
    if how == "count":
        return value.is_not_null().cast(pl.Int64).cum_sum()
    running = value.cum_min() if how == "min" else value.cum_max()
    return running.forward_fill()


def _at(series: pl.Expr, offset: int, before: pl.Expr, after: pl.Expr) -> pl.Expr:
    """`series` at this row + `offset`: `before` when that is before the first row, `after` past the last."""
    target = position() + offset
    return pl.when(target < 0).then(before).when(target > pl.len() - 1).then(after).otherwise(series.shift(-offset))


def _rolling(value: pl.Expr, how: str, width: int) -> pl.Expr:
    if how == "std":
        return value.rolling_std(width, min_samples=2)
    if how == "min":
        return value.rolling_min(width, min_samples=1)
    if how == "max":
        return value.rolling_max(width, min_samples=1)
    if how == "count":
        return value.is_not_null().cast(pl.Int64).rolling_sum(width, min_samples=1)
    return value.fill_null(0).rolling_sum(width, min_samples=1)


class Reducer(Protocol):
    """The frame of each row: how many rows it holds, and reductions of a value over it."""

    whole: bool  # every row of the partition

    def rows(self) -> pl.Expr: ...

    def reduce(self, value: pl.Expr, how: str) -> pl.Expr: ...


class Frame:
    """The frame `start..end` of each row (see the module's table)."""

    def __init__(self, start: int | None, end: int | None) -> None:
        self.start, self.end = start, end
        self.whole = start is None and end is None

    def rows(self) -> pl.Expr:
        """How many rows the frame holds."""
        n = pl.len().cast(pl.Int64)
        lo = pl.lit(0, pl.Int64) if self.start is None else pl.max_horizontal(position() + self.start, pl.lit(0))
        hi = n - 1 if self.end is None else pl.min_horizontal(position() + self.end, n - 1)
        return pl.max_horizontal(hi - lo + 1, pl.lit(0, pl.Int64))

    def reduce(self, value: pl.Expr, how: str) -> pl.Expr:
        start, end = self.start, self.end
        if start is None and end is None:
            return _whole(value, how)
        if start is None:
            assert end is not None
            running = _running(value, how)
            return _at(running, end, _empty(how), running.last())
        if end is None:
            suffix = _running(value.reverse(), how).reverse()
            return _at(suffix, start, suffix.first(), _empty(how))
        if start > end:
            return _empty(how)
        if how in ("sum", "count"):  # exact: differences of prefix sums
            prefix = _running(value, how)
            zero = pl.lit(0, pl.Int64) if how == "count" else pl.lit(0)
            last = prefix.last()
            return _at(prefix, end, zero, last) - _at(prefix, start - 1, zero, last)
        width = end - start + 1
        trailing = _rolling(value, how, width)
        leading = _rolling(value.reverse(), how, width).reverse()
        return (
            pl.when(self.rows() <= 0).then(pl.lit(None))
            .when(position() + end <= pl.len() - 1).then(trailing.shift(-end))
            .when(position() + start >= 0).then(leading.shift(-start))
            .otherwise(_whole(value, how))
        )


def _extreme(value: pl.Expr, dtype: pl.DataType, how: str, frame: Reducer) -> pl.Expr:
    if not dtype.is_float():
        return frame.reduce(value, how)
    nans = frame.reduce(value.is_nan().cast(pl.Int64), "sum")
    clean = frame.reduce(value.fill_nan(None), how)
    if how == "max":
        return pl.when(nans > 0).then(pl.lit(float("nan"))).otherwise(clean)
    values = frame.reduce(value, "count")
    return pl.when((values > 0) & (nans == values)).then(pl.lit(float("nan"))).otherwise(clean)


def framed_aggregate(name: str, value: pl.Expr, dtype: pl.DataType, frame: Reducer, op: rq.Operator) -> pl.Expr:
    """Aggregate function `name` of `value` over `frame` (no COALESCE: no values give null)."""
    if name == "std.count":
        return frame.rows()
    if frame.whole:
        return _whole_aggregate(name, value, dtype)
    values = frame.reduce(value, "count")
    if name == "std.sum":
        if dtype.is_integer():
            total = frame.reduce(value.cast(pl.Int128), "sum").cast(pl.Int64, strict=True)
        elif dtype == pl.Boolean:
            total = frame.reduce(value.cast(pl.Int64), "sum")
        else:
            total = frame.reduce(value, "sum")
        return pl.when(values > 0).then(total)
    if name == "std.average":
        exact = value.cast(pl.Int128) if dtype.is_integer() else value.cast(pl.Float64)
        return pl.when(values > 0).then(frame.reduce(exact, "sum").cast(pl.Float64) / values)
    if name in ("std.min", "std.max"):
        return _extreme(value, dtype, "min" if name == "std.min" else "max", frame)
    if name in ("std.all", "std.any"):
        reduced = frame.reduce(value.cast(pl.Int8), "min" if name == "std.all" else "max")
        return pl.when(values > 0).then(reduced.cast(pl.Boolean))
    if name == "std.stddev" and isinstance(frame, Frame) and frame.start is not None and frame.end is not None:
        return frame.reduce(value.cast(pl.Float64), "std")
    raise UnsupportedError(f"`{name.removeprefix('std.')}` over a running or sliding window frame", op.span,
                      "use it over a whole partition (`window` without `rows`/`range`, or `group`)")


def _whole_aggregate(name: str, value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Over every row of the partition."""
    if name == "std.sum":
        return pl.when(value.is_not_null().any()).then(sum_of(value, dtype))
    if name == "std.min":
        return value.min()
    if name == "std.max":
        return value.nan_max() if dtype.is_float() else value.max()
    if name == "std.average":
        return mean_of(value, dtype)
    if name == "std.stddev":
        return value.cast(pl.Float64).std(ddof=1)
    if name in ("std.all", "std.any"):
        return pl.when(value.is_not_null().any()).then(value.all() if name == "std.all" else value.any())
    if name == "std.concat_array":
        return pl.when(value.is_not_null().any()).then(value.str.join(""))
    return value.drop_nulls().n_unique().cast(pl.Int64)  # count_distinct
