"""Window functions and aggregates over window frames, as prqlc's SQL computes them.

prqlc writes a frame into the SQL only for the aggregate functions (`sum`, `min`, `max`, `average`,
`stddev`, `all`, `any`, `concat_array`, `count`, `count_distinct`) and only when it differs from SQL's
default; `first`, `last`, `lag`, `lead`, `rank`, `rank_dense` and `row_number` always get the default. The
default frame is the whole partition without `sort`, and with `sort` every row up to the current one and
its peers (rows with the same sort keys). So `last x` in a sorted window is the last value among the
current row's peers, and `sum x` in a `window rows:-2..0` sums the two rows before and the current one.

Before a windowed compute the frame is sorted by the window's keys (nulls last, as DuckDB orders), and
when a function reads its partition in order, by the partition first: each partition is then a run of
rows (`segments.py`) and every function below is computed on the whole frame.
Aggregates skip nulls and give null over a frame without values (no COALESCE in windows); `count` counts
the frame's rows. Range frames with bounds (`range:-2..2`) pair each row with the rows whose key lies in
the range (`ranges.py`), found once for all the aggregates of the window; rows with a null key are each
other's frame (up to an unbounded end, which is the partition's).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from heddle_lang.relational import rq
from heddle_lang.relational.lowering.aggregates import AGGREGATES
from heddle_lang.relational.lowering.errors import UnsupportedError
from heddle_lang.relational.lowering.expressions import Expressions, literal_int
from heddle_lang.relational.lowering.ranges import RangeStage
from heddle_lang.relational.lowering.scope import Scope
from heddle_lang.relational.lowering.segments import Segments, sorts_fast
from heddle_lang.relational.lowering.sliding import Frame, framed_aggregate

Stage = Callable[[pl.LazyFrame], pl.LazyFrame]

WINDOW_ONLY = frozenset({"std.lag", "std.lead", "std.first", "std.last", "std.rank", "std.rank_dense",
                         "std.row_number"})


def _bound(expr: rq.Expr | None, span: rq.Span) -> int | None:
    if expr is None:
        return None
    value = literal_int(expr)
    if value is None:
        raise UnsupportedError("a window frame bound that is not a number", span)
    return value


class WindowFunctions:
    """The function hook of one windowed compute: each window or aggregate function becomes a temporary
    column made by a stage that runs before the compute (`stages`)."""

    def __init__(self, scope: Scope, window: rq.Window, prefix: str, ends: tuple[str, str, str] | None = None,
                 ) -> None:
        self.scope = scope
        self.ends = ends  # the columns of this window's range frame ends, found by an earlier compute
        self.window = window
        self.prefix = prefix
        self.stages: list[Stage] = []
        self.partition = [scope.col(c) for c in window.partition]
        self.keys = [scope.col(s.cid) for s in window.sort]
        self.segments = Segments(self.partition, f"{prefix}.run")
        self.count = 0
        self.ranged: RangeStage | None = None  # the aggregates over the window's range frame, found once

    # --- plumbing --------------------------------------------------------------------------------

    def _temp(self) -> str:
        self.count += 1
        return f"{self.prefix}.{self.count}"

    def _column(self, expr: pl.Expr) -> pl.Expr:
        name = self._temp()
        self.stages.append(lambda frame: frame.with_columns(expr.alias(name)))
        return pl.col(name)

    def __call__(self, op: rq.Operator) -> pl.Expr | None:
        if op.name not in WINDOW_ONLY and op.name not in AGGREGATES:
            return None
        exprs = Expressions(self.scope)
        if op.name == "std.first":
            return self._first(exprs.lower(op.args[-1]))
        if op.name in WINDOW_ONLY:
            return self._column(self.window_only(op, exprs))
        return self.framed(op, exprs)

    # --- lag, lead, first, last, ranks -----------------------------------------------------------

    def window_only(self, op: rq.Operator, exprs: Expressions) -> pl.Expr:
        name, segments = op.name, self.segments
        if name == "std.row_number":
            return segments.position() + 1
        if name == "std.rank":
            return pl.when(segments.new_peer(self.keys)).then(segments.position() + 1).forward_fill()
        if name == "std.rank_dense":
            peers = segments.new_peer(self.keys).cast(pl.Int64).cum_sum()
            return peers - segments.first(peers) + 1
        if name in ("std.lag", "std.lead"):
            offset = literal_int(op.args[0])
            if offset is None:
                raise UnsupportedError(f"`{name.removeprefix('std.')}` with a computed offset", op.span)
            value = exprs.lower(op.args[1])
            return segments.shift(value, offset if name == "std.lag" else -offset)
        # `last` (`first`: `_first`): the default frame ends with the current row's last peer, read in the
        # runs (a group-by of partition and keys would hold about a group per row)
        return exprs.lower(op.args[-1]).gather(segments.peers_end(self.keys))

    def _first(self, value: pl.Expr) -> pl.Expr:
        """`first`: the value at the first row of the run when the partition keys sort fast (one sort into
        runs; a group-by of millions of partitions costs more, and a later window over the same partition
        and keys, as prqlc makes for `last`, finds the rows in its order) or another function of the window
        sorted the frame into runs (decided once every function is lowered, when the stages run), else an
        aggregation spread over the partition (no runs needed: the frame is in the window's order)."""
        segments = self.segments
        if self.partition and all(sorts_fast(self.scope.dtype(p)) for p in self.partition):
            return self._column(segments.first(value))
        name = self._temp()

        def stage(frame: pl.LazyFrame) -> pl.LazyFrame:
            first = segments.first(value) if segments.used else segments.over(value.first())
            return frame.with_columns(first.alias(name))

        self.stages.append(stage)
        return pl.col(name)

    # --- aggregates over a frame -----------------------------------------------------------------

    def framed(self, op: rq.Operator, exprs: Expressions) -> pl.Expr:
        # prqlc leaves out a frame equal to SQL's default, which then applies: the same frame.
        frame = self.window.frame
        kind, start, end = frame.kind, _bound(frame.start, op.span), _bound(frame.end, op.span)
        name = op.name
        value = pl.lit(None) if name == "std.count" else exprs.lower(op.args[-1])
        dtype = exprs.dtype(value)
        if name in ("std.concat_array", "std.count_distinct") and value is not None and (start, end) != (None, None):
            raise UnsupportedError(f"`{name.removeprefix('std.')}` over a running or sliding window frame", op.span,
                              "use it over a whole partition (`window` without `rows`/`range`, or `group`)")
        if kind == "range" and (start, end) != (None, None):
            if start is None and end == 0 and self.keys:
                # up to the current row's last peer: the running value at the last peer
                running = self._column(framed_aggregate(name, value, dtype, Frame(None, 0, self.segments), op))
                return self._column(running.gather(self.segments.peers_end(self.keys)))
            return self._range(name, value, dtype, (start, end), op)
        return self._column(framed_aggregate(name, value, dtype, Frame(start, end, self.segments), op))

    def _range(self, name: str, value: pl.Expr, dtype: pl.DataType, bounds: tuple[int | None, int | None],
               op: rq.Operator) -> pl.Expr:
        """A frame of the rows whose sort key lies within `start..end` of the current row's, in its
        partition (`ranges.py`). Rows with a null key are peers of each other: their frame is the
        partition's null-key rows."""
        if len(self.keys) != 1:
            raise UnsupportedError("a `range` frame over several sort keys", op.span, "sort the window by one number")
        key = self.keys[0]
        key_type = self.scope.dtype(key)
        if not (key_type.is_numeric() or key_type == pl.Null):
            raise UnsupportedError(f"a `range` frame over a sort key of type {key_type}", op.span,
                              "sort the window by a number")
        start, end = bounds
        descending = self.window.sort[0].descending
        if descending:  # `range:-2..0` descending looks at greater keys
            start, end = (None if end is None else -end), (None if start is None else -start)
        if self.ranged is None:
            first, stop = self.segments.ends()  # the frame sorted into runs: the stage reads them in place
            run = pl.col(self.segments.run) if self.partition else None
            self.ranged = RangeStage(self.ends or (self._temp(), self._temp(), self._temp()), key=key,
                                     key_type=key_type, descending=descending, bounds=(start, end), run=run,
                                     first=first, stop=stop, found=self.ends is not None)
            self.stages.append(self.ranged)
        result = self._temp()
        self.ranged.add(result, name=name, value=value, dtype=dtype, op=op)
        return pl.col(result)
