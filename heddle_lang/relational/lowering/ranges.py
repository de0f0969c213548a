"""Aggregates over `range` frames with bounds (`window range:-2..2`): the rows of the current row's
partition whose sort key lies within `start..end` of its own.

The rows are sorted by (partition, key), so that the frame of each row is a run of consecutive
positions `lo .. hi-1`; its ends are found by binary searches of `key + start` (the first row at or
above) and `key + end` (the last row at or below) among the sorted (partition, key) pairs. `count`,
`sum` and `average` are differences of prefix sums over the sorted rows (exact for integers: 128-bit).
`min` and `max` (and `all`/`any`, the minimum and maximum of 0/1) read a sparse table, and `stddev`
merges the disjoint blocks of rows that make the frame (`blocks.py`): O(n log w) for frames of up to w
rows. Rows with a null key are peers of each other: their frame is the partition's null-key rows. An
integer key whose bound leaves its type fails, as SQL does.
"""

from __future__ import annotations

import functools
import operator
from typing import Literal

import polars as pl

from heddle_lang.relational import rq
from heddle_lang.relational.lowering.blocks import extreme_positions, sample_stddev
from heddle_lang.relational.lowering.sliding import framed_aggregate


def offset(key: pl.Expr, by: int, dtype: pl.DataType) -> pl.Expr:
    """`key + by`, failing (as SQL does) when an integer key's bound leaves its type."""
    if dtype.is_integer():
        return (key.cast(pl.Int128) + by).cast(dtype, strict=True)
    return key + by


class _Positions:
    """The frame `lo .. hi-1` of each row, as positions in the rows sorted by (partition, key).

    Floating point sums add the finite values by prefix sums and say apart whether the frame holds
    NaN or infinities (a difference of prefix sums past one would be NaN)."""

    whole = False
    sliding = True

    def __init__(self, lo: pl.Expr, hi: pl.Expr, *, floats: bool) -> None:
        self.lo, self.hi, self.floats = lo, hi, floats

    def rows(self) -> pl.Expr:
        return pl.max_horizontal(self.hi - self.lo, pl.lit(0, pl.Int64))

    def _total(self, value: pl.Expr, zero: pl.Expr) -> pl.Expr:
        """The sum of `value` (no nulls) over the frame: a difference of prefix sums."""
        prefix = value.cum_sum()

        def before(at: pl.Expr) -> pl.Expr:  # the sum of the rows before position `at`
            return pl.when(at > 0).then(prefix.gather((at - 1).clip(0))).otherwise(zero)

        return pl.when(self.hi > self.lo).then(before(self.hi) - before(self.lo)).otherwise(zero)

    def reduce(self, value: pl.Expr, how: str, *, exact: bool = False) -> pl.Expr:
        del exact  # differences of prefix sums whatever the type (floats: see the class)
        if how in ("min", "max"):
            return value.gather(extreme_positions(value, self.lo, self.hi, lowest=how == "min"))
        if how == "std":
            return sample_stddev(value, self.lo, self.hi)
        if how == "count":
            return self._total(value.is_not_null().cast(pl.Int64), pl.lit(0, pl.Int64))
        if not self.floats:
            return self._total(value.fill_null(0), pl.lit(0))
        value = value.cast(pl.Float64)
        finite = self._total(pl.when(value.is_finite()).then(value).otherwise(0.0), pl.lit(0.0))
        ints = pl.lit(0, pl.Int64)
        nan = self._total(value.is_nan().fill_null(False).cast(pl.Int64), ints) > 0
        up = self._total((value == float("inf")).fill_null(False).cast(pl.Int64), ints) > 0
        down = self._total((value == float("-inf")).fill_null(False).cast(pl.Int64), ints) > 0
        return (pl.when(nan | (up & down)).then(pl.lit(float("nan"))).when(up).then(pl.lit(float("inf")))
                .when(down).then(pl.lit(float("-inf"))).otherwise(finite))


class RangeStage:
    """Adds column `result`: aggregate `name` of `value` over the range frame `bounds` (in key order,
    ascending) of each row, by the window's single sort `key`, per `partition` (`runs`: partition keys
    that sort fast and are sorted by directly; else partitions are numbered by their first row)."""

    def __init__(self, result: str, *, name: str, value: pl.Expr, dtype: pl.DataType, key: pl.Expr,
                 key_type: pl.DataType, partition: list[pl.Expr], runs: bool, bounds: tuple[int | None, int | None],
                 op: rq.Operator) -> None:
        self.result, self.name, self.value, self.dtype = result, name, value, dtype
        self.key, self.key_type, self.partition, self.runs = key, key_type, partition, runs
        self.start, self.end = bounds
        self.op = op

    def __call__(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        index = f"{self.result}.i"
        frame = frame.with_row_index(index).cache()  # one execution: the results go back by row number
        results = self._searched(frame, index).select(pl.col(self.result).sort_by(index))
        return pl.concat([frame.drop(index), results], how="horizontal")

    def _searched(self, frame: pl.LazyFrame, index: str) -> pl.LazyFrame:
        if not self.partition:
            groups = []
        elif self.runs:
            groups = [p.alias(f"g{i}") for i, p in enumerate(self.partition)]
        else:
            groups = [pl.col(index).first().over(self.partition).alias("g0")]
        names = [f"g{i}" for i in range(len(groups))]
        rows = (frame.select(pl.col(index), *groups, self.key.alias("k"), self.value.alias("v"))
                .sort([*names, "k"], nulls_last=True))
        position = pl.int_range(pl.len(), dtype=pl.Int64)
        if names:
            starts = functools.reduce(operator.or_, [pl.col(n).ne_missing(pl.col(n).shift(1)) for n in names])
            ends = functools.reduce(operator.or_, [pl.col(n).ne_missing(pl.col(n).shift(-1)) for n in names])
            first = pl.when(starts | (position == 0)).then(position).forward_fill()
            stop = pl.when(ends | (position == pl.len() - 1)).then(position + 1).backward_fill()
        else:
            first, stop = pl.lit(0, pl.Int64), pl.len().cast(pl.Int64)
        keyed = pl.col("k").is_not_null().cast(pl.Int64)
        counted = keyed.cum_sum()  # the partition's rows with a key come first: keyed_end counts them
        keyed_end = pl.col("first") + counted.gather(pl.col("stop") - 1) - (counted - keyed).gather(pl.col("first"))
        rows = rows.with_columns(first.alias("first"), stop.alias("stop")).with_columns(keyed_end.alias("keyed_end"))

        def searchable(key: pl.Expr, missing: pl.Expr) -> pl.Expr:
            """The row's place in the sort: its partition (nulls last), then its key (nulls last)."""
            fields = [e for i, n in enumerate(names) for e in (pl.col(n).is_null().alias(f"n{i}"), pl.col(n).alias(n))]
            return pl.struct(*fields, missing.alias("nk"), key.alias("k"))

        def find(target: pl.Expr, side: Literal["left", "right"]) -> pl.Expr:
            """The position of `target` (a key) in the row's partition: a binary search of the sorted rows."""
            found = searchable(pl.col("k"), pl.col("k").is_null()).search_sorted(
                searchable(target, pl.lit(False)), side=side)
            return found.cast(pl.Int64)

        # the first row at or above `key + start`, the one after the last at or below `key + end` (in the
        # partition's rows with a key: a search past them lands on its first null key or the next partition)
        lo = pl.col("first") if self.start is None else find(offset(pl.col("k"), self.start, self.key_type), "left")
        hi = pl.col("keyed_end") if self.end is None else find(offset(pl.col("k"), self.end, self.key_type), "right")
        null_key = pl.col("k").is_null()
        rows = rows.with_columns(pl.when(null_key).then(pl.col("keyed_end")).otherwise(lo).alias("lo"),
                                 pl.when(null_key).then(pl.col("stop")).otherwise(hi).alias("hi"))
        positions = _Positions(pl.col("lo"), pl.col("hi"), floats=self.dtype.is_float())
        return rows.select(pl.col(index), framed_aggregate(self.name, pl.col("v"), self.dtype, positions, self.op)
                           .alias(self.result))
