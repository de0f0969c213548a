"""A window's partitions as runs of consecutive rows, so that its functions are computed on the whole
frame rather than group by group.

A partitioned window sorts the frame by a group number first (the first row number of each partition,
`group`), then by the window's keys: every partition is a run of rows. The position of a row in its run,
the run's first and last row, and shifts that stay inside the run are then plain column operations; a
simple aggregation or running reduction is `expr.over(group)` (which Polars computes in one pass over
the groups). Polars evaluates an arbitrary expression `over` a partition group by group, which costs
per group: with millions of small partitions, seconds instead of milliseconds. Without a partition the
frame is one run.
"""

from __future__ import annotations

import functools
import operator

import polars as pl

from heddle_lang.relational.lowering.errors import checked

_SPAN = 2**31  # rows: the longest frame a floating point running sum per partition handles


def sorts_fast(dtype: pl.DataType) -> bool:
    """A partition key Polars sorts by fast, whose equal values are the values it groups together."""
    return dtype.is_integer() or dtype.is_temporal() or dtype == pl.Boolean


class Segments:
    """The partitions of a window (none: one run over the whole frame). `run` names the group number
    column the frame is sorted by first when a function reads the runs (`used`)."""

    def __init__(self, partition: list[pl.Expr], run: str) -> None:
        self.partition, self.run = partition, run
        self.used = False
        self.index = pl.int_range(pl.len(), dtype=pl.Int64)

    def _bounds(self) -> tuple[pl.Expr, pl.Expr]:
        """The first row of the row's run, and the row after its last."""
        self.used = True
        if not self.partition:
            return pl.lit(0, pl.Int64), pl.len().cast(pl.Int64)
        column = pl.col(self.run)
        first = column.ne_missing(column.shift(1)) | (self.index == 0)
        last = column.ne_missing(column.shift(-1)) | (self.index == pl.len() - 1)
        return pl.when(first).then(self.index).forward_fill(), pl.when(last).then(self.index + 1).backward_fill()

    def ends(self) -> tuple[pl.Expr, pl.Expr]:
        """The first row of the row's run, and the row after its last; the frame is sorted into runs."""
        return self._bounds()

    def over(self, expr: pl.Expr) -> pl.Expr:
        """`expr` (an aggregation, or an operation Polars runs per group in one pass) per partition."""
        return expr.over(self.partition) if self.partition else expr

    def running_sum(self, value: pl.Expr, *, reverse: bool = False, exact: bool = True) -> pl.Expr:
        """The running sum of `value` (no nulls) in the run, up to this row (from it, `reverse`). For
        integers (`exact`): the frame's running sum less its value before the run. For floats, where
        that difference would round: a sum over a sliding window that reaches back to the run's first
        row (rows numbered `run * 2^31 + row`, the window 2^31 long: frames of up to 2^31 rows)."""
        total = value.cum_sum(reverse=reverse)
        if not self.partition:
            return total
        start, end = self._bounds()
        if exact:
            return total - (total - value).gather(end - 1 if reverse else start)
        if reverse:
            return self.over(total)
        numbered = pl.col(self.run).cast(pl.Int64) * _SPAN + self.index
        summed = value.rolling_sum_by(numbered, window_size=f"{_SPAN}i", closed="right")
        return checked(summed, pl.len() > _SPAN, f"a running sum over more than {_SPAN} rows", pl.Float64())

    def position(self) -> pl.Expr:
        """The row's position in its run, from 0."""
        start, _ = self._bounds()
        return self.index - start if self.partition else self.index

    def length(self) -> pl.Expr:
        """The number of rows of the row's run."""
        start, end = self._bounds()
        return end - start

    def first(self, expr: pl.Expr) -> pl.Expr:
        """`expr` at the first row of the run."""
        start, _ = self._bounds()
        return expr.gather(start) if self.partition else expr.first()

    def last(self, expr: pl.Expr) -> pl.Expr:
        """`expr` at the last row of the run."""
        _, end = self._bounds()
        return expr.gather(end - 1) if self.partition else expr.last()

    def inside(self, by: int) -> pl.Expr:
        """The row `by` rows before this one (after, when negative) is in this row's run: it has its run
        number (runs are numbered apart), or, without a partition, it is in the frame."""
        self.used = True
        if by == 0:
            return pl.lit(True)
        if not self.partition:
            return self.index.shift(by).is_not_null()
        column = pl.col(self.run)
        return column.shift(by).eq(column).fill_null(False)

    def shift(self, expr: pl.Expr, by: int) -> pl.Expr:
        """`expr` `by` rows before (after, when negative) in the run; null outside it."""
        return expr if by == 0 else pl.when(self.inside(by)).then(expr.shift(by))

    def peers_end(self, keys: list[pl.Expr]) -> pl.Expr:
        """The position (in the frame) of the last row of the row's peers: its run's rows with its keys."""
        self.used = True
        following = pl.lit(False) if not keys else functools.reduce(
            operator.or_, [k.ne_missing(k.shift(-1)) for k in keys])
        if self.partition:
            following = following | pl.col(self.run).ne_missing(pl.col(self.run).shift(-1))
        last = following | (self.index == pl.len() - 1)
        return pl.when(last).then(self.index).backward_fill()

    def new_peer(self, keys: list[pl.Expr]) -> pl.Expr:
        """The row is the first of its peers."""
        first = self.position() == 0
        return functools.reduce(operator.or_, [k.ne_missing(k.shift(1)) for k in keys], first)
