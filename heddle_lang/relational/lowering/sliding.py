"""Aggregates over a frame of rows (`window rows:a..b`, `rolling:n`, `expanding:true`), per partition.

Everything is built from a few reductions over the frame of each row (`Frame.reduce`): the sum (nulls
count as 0), the number of non-null values, and the minimum and maximum of the non-null values. The
aggregate functions are composed from them with SQL's rules: a sum, average, minimum or maximum over a
frame without values is null; `count` counts the frame's rows. Integer sums are exact (128-bit prefix
sums) and fail if they do not fit. Floating point minimum and maximum treat NaN as the greatest value,
as DuckDB does (Polars' running maximum skips NaN).

The rows of a partition are a run of the frame (`segments.py`). Frames, for the row at position i of
the n of its run (bounds relative to i, None unbounded):
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
from heddle_lang.relational.lowering.segments import Segments

Reduce = Callable[[pl.Expr, str], pl.Expr]


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


_SHIFTED = 16  # min/max/sum/count over a frame of at most this many rows: across shifted columns


class Reducer(Protocol):
    """The frame of each row: how many rows it holds, and reductions of a value over it."""

    sliding: bool  # `reduce` computes "std" (a frame with both ends bounded, not running to a partition's end)

    def rows(self) -> pl.Expr: ...

    def reduce(self, value: pl.Expr, how: str, *, exact: bool = False) -> pl.Expr:
        """`how` (sum, count, min, max, std) of `value` over the frame; `exact`: `value` is an integer."""
        ...


class Frame:
    """The frame `start..end` of each row (see the module's table), in the runs of `segments`."""

    def __init__(self, start: int | None, end: int | None, segments: Segments) -> None:
        self.start, self.end, self.segments = start, end, segments
        self.whole = start is None and end is None
        self.sliding = start is not None and end is not None

    def _running(self, value: pl.Expr, how: str, *, reverse: bool = False, exact: bool = False) -> pl.Expr:
        """The reduction of the rows up to this one (from this one to the last, `reverse`). Integer
        sums (`exact`) and counts are differences of the frame's running sums; other reductions run per
        partition (Polars: group by group)."""
        counted = self.segments.running_sum(value.is_not_null().cast(pl.Int64), reverse=reverse)
        if how == "count":
            return counted
        if how == "sum":
            return self.segments.running_sum(value.fill_null(0), reverse=reverse, exact=exact)
        over = self.segments.over
        running = over(value.cum_min(reverse=reverse) if how == "min" else value.cum_max(reverse=reverse))
        # a null row holds the reduction so far: filled from the row before (after), within the run
        return pl.when(counted > 0).then(running.backward_fill() if reverse else running.forward_fill())

    def _at(self, series: pl.Expr, offset: int, before: pl.Expr, after: pl.Expr) -> pl.Expr:
        """`series` at this row + `offset`: `before` when that is before the run's first row, `after` past
        its last."""
        if offset == 0:
            return series
        return pl.when(self.segments.inside(-offset)).then(series.shift(-offset)).otherwise(
            before if offset < 0 else after)

    def rows(self) -> pl.Expr:
        """How many rows the frame holds."""
        n, position = self.segments.length(), self.segments.position()
        lo = pl.lit(0, pl.Int64) if self.start is None else pl.max_horizontal(position + self.start, pl.lit(0))
        hi = n - 1 if self.end is None else pl.min_horizontal(position + self.end, n - 1)
        return pl.max_horizontal(hi - lo + 1, pl.lit(0, pl.Int64))

    def reduce(self, value: pl.Expr, how: str, *, exact: bool = False) -> pl.Expr:
        start, end, segments = self.start, self.end, self.segments
        if start is None and end is None:
            return segments.over(_whole(value, how))
        if start is None:
            assert end is not None
            running = self._running(value, how, exact=exact)
            return self._at(running, end, _empty(how), segments.last(running))
        if end is None:
            suffix = self._running(value, how, reverse=True, exact=exact)
            return self._at(suffix, start, segments.first(suffix), _empty(how))
        if start > end:
            return _empty(how)
        width = end - start + 1
        if how in ("min", "max", "sum", "count") and width <= _SHIFTED:  # the frame's rows side by side
            shifted = [segments.shift(value, -offset) for offset in range(start, end + 1)]
            if how == "count":
                return pl.sum_horizontal([column.is_not_null().cast(pl.Int64) for column in shifted])
            if how == "sum":
                return pl.sum_horizontal(shifted)
            return pl.min_horizontal(shifted) if how == "min" else pl.max_horizontal(shifted)
        if how in ("sum", "count"):  # exact: differences of prefix sums
            prefix = self._running(value, how, exact=exact)
            zero = pl.lit(0, pl.Int64) if how == "count" else pl.lit(0)
            last = segments.last(prefix)
            return self._at(prefix, end, zero, last) - self._at(prefix, start - 1, zero, last)
        trailing = segments.over(_rolling(value, how, width))
        # where the frame is cut by the run's end: the rows from its start to the end (a suffix)
        leading = (segments.over(_rolling(value.reverse(), how, width).reverse()) if how == "std"
                   else self._running(value, how, reverse=True))
        position, n = segments.position(), segments.length()
        return (
            pl.when(self.rows() <= 0).then(pl.lit(None))
            .when(position + end <= n - 1).then(trailing.shift(-end))
            .when(position + start >= 0).then(leading.shift(-start))
            .otherwise(segments.over(_whole(value, how)))
        )


def _extreme(value: pl.Expr, dtype: pl.DataType, how: str, frame: Reducer) -> pl.Expr:
    if not dtype.is_float():
        return frame.reduce(value, how)
    nans = frame.reduce(value.is_nan().cast(pl.Int64), "sum", exact=True)
    clean = frame.reduce(value.fill_nan(None), how)
    if how == "max":
        return pl.when(nans > 0).then(pl.lit(float("nan"))).otherwise(clean)
    values = frame.reduce(value, "count")
    return pl.when((values > 0) & (nans == values)).then(pl.lit(float("nan"))).otherwise(clean)


def framed_aggregate(name: str, value: pl.Expr, dtype: pl.DataType, frame: Reducer, op: rq.Operator) -> pl.Expr:
    """Aggregate function `name` of `value` over `frame` (no COALESCE: no values give null)."""
    if name == "std.count":
        return frame.rows()
    if isinstance(frame, Frame) and frame.whole:
        return _whole_aggregate(name, value, dtype, frame.segments.over)
    values = frame.reduce(value, "count")
    if name == "std.sum":
        if dtype.is_integer():
            total = frame.reduce(value.cast(pl.Int128), "sum", exact=True).cast(pl.Int64, strict=True)
        elif dtype == pl.Boolean:
            total = frame.reduce(value.cast(pl.Int64), "sum", exact=True)
        else:
            total = frame.reduce(value, "sum")
        return pl.when(values > 0).then(total)
    if name == "std.average":
        exact = value.cast(pl.Int128) if dtype.is_integer() else value.cast(pl.Float64)
        total = frame.reduce(exact, "sum", exact=dtype.is_integer())
        return pl.when(values > 0).then(total.cast(pl.Float64) / values)
    if name in ("std.min", "std.max"):
        return _extreme(value, dtype, "min" if name == "std.min" else "max", frame)
    if name in ("std.all", "std.any"):
        reduced = frame.reduce(value.cast(pl.Int8), "min" if name == "std.all" else "max")
        return pl.when(values > 0).then(reduced.cast(pl.Boolean))
    if name == "std.stddev" and frame.sliding:
        return frame.reduce(value.cast(pl.Float64), "std")
    raise UnsupportedError(f"`{name.removeprefix('std.')}` over a running or sliding window frame", op.span,
                      "use it over a whole partition (`window` without `rows`/`range`, or `group`)")


def _whole_aggregate(name: str, value: pl.Expr, dtype: pl.DataType, over: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """Over every row of the partition; `over` spreads an aggregation over its rows. Each aggregation is
    spread apart and combined after (Polars runs a condition over aggregations partition by partition)."""
    if name in ("std.sum", "std.all", "std.any", "std.concat_array"):
        if name == "std.sum":
            total = sum_of(value, dtype)
        elif name == "std.concat_array":
            total = value.str.join("")
        else:  # the least (greatest) value as 0/1: null without values (Polars' all/any run partition by partition)
            number = value.cast(pl.Int8)
            return over(number.min() if name == "std.all" else number.max()).cast(pl.Boolean)
        return pl.when(over(value.count()) > 0).then(over(total))
    if name == "std.min":
        return over(value.min())
    if name == "std.max":
        return over(value.nan_max() if dtype.is_float() else value.max())
    if name == "std.average":
        return over(mean_of(value, dtype))
    if name == "std.stddev":
        return over(value.cast(pl.Float64).std(ddof=1))
    return over(value.drop_nulls().n_unique().cast(pl.Int64))  # count_distinct
