"""Aggregates over `range` frames with bounds (`window range:-2..2`): the rows of the current row's
partition whose sort key lies within `start..end` of its own.

`count`, `sum` and `average` are computed in O(n log n): the rows are sorted by (partition, key), so
that the frame of each row is a run of consecutive positions `lo .. hi-1`; its ends are found by an
as-of join of `key + start` (the first row at or above) and `key + end` (the last row at or below), and
the reductions are differences of prefix sums over the sorted rows (exact for integers: 128-bit). The
other aggregates (`min`, `max`, `stddev`, `all`, `any`) pair each row with the rows of its frame (a
join), which is quadratic in the frame's size. Rows with a null key are peers of each other: their
frame is the partition's null-key rows. An integer key whose bound leaves its type fails, as SQL does.
"""

from __future__ import annotations

import polars as pl

from heddle_lang.relational import rq
from heddle_lang.relational.lowering.segments import Segments
from heddle_lang.relational.lowering.sliding import Frame, framed_aggregate

SEARCHED = frozenset({"std.count", "std.sum", "std.average"})


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
    ascending) of each row, by the window's single sort `key`, per `partition`."""

    def __init__(self, result: str, *, name: str, value: pl.Expr, dtype: pl.DataType, key: pl.Expr,
                 key_type: pl.DataType, partition: list[pl.Expr], bounds: tuple[int | None, int | None],
                 op: rq.Operator) -> None:
        self.result, self.name, self.value, self.dtype = result, name, value, dtype
        self.key, self.key_type, self.partition = key, key_type, partition
        self.start, self.end = bounds
        self.op = op

    def __call__(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        index, group = f"{self.result}.i", f"{self.result}.g"
        frame = frame.with_row_index(index).with_columns(
            (pl.col(index).first().over(self.partition) if self.partition else pl.lit(0, pl.UInt32)).alias(group)
        ).cache()  # one execution: the aggregates join back by row number
        aggregated = self._searched(frame, index, group) if self.name in SEARCHED else self._paired(frame, index, group)
        return frame.join(aggregated, on=index, how="left", maintain_order="left").drop(index, group)

    def _searched(self, frame: pl.LazyFrame, index: str, group: str) -> pl.LazyFrame:
        by = ["g"] if self.partition else []
        rows = (frame.select(pl.col(index), pl.col(group).alias("g"), self.key.alias("k"), self.value.alias("v"))
                .sort([*(["g"] if by else []), "k"], nulls_last=True).with_row_index("p")
                .with_columns(pl.col("p").cast(pl.Int64)))
        ends = [pl.col("p").min().over("g"), pl.col("p").max().over("g") + 1] if by else \
            [pl.lit(0, pl.Int64), pl.len().cast(pl.Int64)]
        # one execution of the rows for both sides of the as-of joins: another could number the groups
        # (by the first row of each) and the positions (ties) otherwise
        rows = rows.with_columns(ends[0].alias("first"), ends[1].alias("stop"),
                                 (pl.col("k").is_null().sum().over("g") if by else pl.col("k").is_null().sum())
                                 .cast(pl.Int64).alias("nulls")).cache()
        keyed = rows.filter(pl.col("k").is_not_null()).select(*(["g"] if by else []), "k", "p")
        keyed_end = pl.col("stop") - pl.col("nulls")
        # each as-of join is sorted back by position: the next one and the prefix sums read the rows in order
        if self.start is None:
            lo = pl.col("first")
        else:
            rows = rows.with_columns(offset(pl.col("k"), self.start, self.key_type).alias("lo.t")).join_asof(
                keyed.rename({"k": "lo.k", "p": "lo.p"}), left_on="lo.t", right_on="lo.k", by=by or None,
                strategy="forward", check_sortedness=False).sort("p")
            lo = pl.col("lo.p").fill_null(keyed_end)
        if self.end is None:
            hi = keyed_end
        else:
            rows = rows.with_columns(offset(pl.col("k"), self.end, self.key_type).alias("hi.t")).join_asof(
                keyed.rename({"k": "hi.k", "p": "hi.p"}), left_on="hi.t", right_on="hi.k", by=by or None,
                strategy="backward", check_sortedness=False).sort("p")
            hi = (pl.col("hi.p") + 1).fill_null(pl.col("first"))
        null_key = pl.col("k").is_null()
        positions = _Positions(pl.when(null_key).then(keyed_end).otherwise(lo),
                               pl.when(null_key).then(pl.col("stop")).otherwise(hi), floats=self.dtype.is_float())
        return rows.select(pl.col(index), framed_aggregate(self.name, pl.col("v"), self.dtype, positions, self.op)
                           .alias(self.result))

    def _paired(self, frame: pl.LazyFrame, index: str, group: str) -> pl.LazyFrame:
        left = frame.select(pl.col(index), pl.col(group), self.key.alias("k"))
        right = frame.select(pl.col(group).alias("g2"), self.key.alias("k2"), self.value.alias("v"))
        conditions = [pl.col(group) == pl.col("g2")]
        if self.start is not None:
            conditions.append(pl.col("k2") >= offset(pl.col("k"), self.start, self.key_type))
        if self.end is not None:
            conditions.append(pl.col("k2") <= offset(pl.col("k"), self.end, self.key_type))
        keyed = left.filter(pl.col("k").is_not_null()).join_where(
            right.filter(pl.col("k2").is_not_null()), *conditions)
        nulls = left.filter(pl.col("k").is_null()).join(
            right.filter(pl.col("k2").is_null()), left_on=group, right_on="g2", how="inner", coalesce=False)
        pairs = pl.concat([keyed.select(index, "v"), nulls.select(index, "v")])
        whole = Frame(None, None, Segments([], ""))
        return pairs.group_by(index).agg(
            framed_aggregate(self.name, pl.col("v"), self.dtype, whole, self.op).alias(self.result))
