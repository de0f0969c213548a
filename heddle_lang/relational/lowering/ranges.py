"""Aggregates over `range` frames with bounds (`window range:-2..2`): the rows of the current row's
partition whose sort key lies within `start..end` of its own.

The window's frame is sorted into runs (`segments.py`), each partition's rows by the key (nulls last), so the
frame of each row is a run of consecutive positions `lo .. hi-1`, computed in place (no sort of its own, none
back): its ends are found once for all the aggregates of the window, by binary searches of `key + start` (the
first row at or above) and `key + end` (the last row at or below) among the rows' (run, key) pairs, each
packed in one 128-bit number for integer and float keys. `count`, `sum` and `average` are differences of
prefix sums over the sorted rows (numpy; exact for integers: 64-bit where the magnitudes add up to less than
2^63, else 128). `min` and `max` (and `all`/`any`, the minimum
and maximum of 0/1) read a running extreme through the partition where every frame is open at one end
(`range:..n`, `range:n..`), else a sparse table; `stddev` is a running one (Polars' rolling standard deviation,
Welford's) in the same frames, else merges the disjoint blocks of rows that make the frame (`blocks.py`):
O(n log w) for frames of up to w rows. Rows with a null key are peers of each other: a
bounded end of their frame is an end of the partition's null-key rows; an unbounded end is the partition's end
for every row (null keys included, as DuckDB does). An integer key whose bound leaves its type fails, as SQL
does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import polars as pl

from heddle_lang.relational import rq
from heddle_lang.relational.lowering.blocks import extreme_positions, sample_stddev
from heddle_lang.relational.lowering.packing import ordered, packable
from heddle_lang.relational.lowering.sliding import framed_aggregate

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Index = npt.NDArray[np.int64] | slice

_SPAN = 2**31  # rows: the longest run an open-ended frame's running extreme reads


def offset(key: pl.Expr, by: int, dtype: pl.DataType) -> pl.Expr:
    """`key + by`, failing (as SQL does) when an integer key's bound leaves its type."""
    if dtype.is_integer():
        return (key.cast(pl.Int128) + by).cast(dtype, strict=True)
    return key + by


class _Positions:
    """The frame `lo .. hi-1` of each row, as positions in the rows sorted by (partition, key); sums and
    counts over it by `_frame_sums`."""

    whole = False
    sliding = True

    def __init__(self, lo: pl.Expr, hi: pl.Expr, *, floats: bool, numbered: pl.Expr | None = None,
                 opens: Literal["first", "end"] | None = None) -> None:
        self.lo, self.hi, self.floats = lo, hi, floats
        self.numbered, self.opens = numbered, opens

    def _running(self, value: pl.Expr, how: str) -> pl.Expr | None:
        """The minimum, maximum or sample standard deviation (`how`: min, max, std) of an open-ended frame,
        which starts at its run's first row (`opens` "first") or ends at its run's end ("end"): a running one
        through the run, read at the frame's other end; O(n). The window of a running one only grows through
        a run and starts afresh at the next (Polars then recomputes it), so a standard deviation is Welford's
        over the frame's values, as DuckDB's. None for other frames and values Polars' rolling functions do
        not take."""
        if self.opens is None or self.numbered is None:
            return None
        window = f"{_SPAN}i"  # reaches back to the run's first row (runs numbered 2^31 apart)
        if self.opens == "first":
            running = _rolling(value, how, self.numbered, window)
            return pl.when(self.hi > self.lo).then(running.gather((self.hi - 1).clip(0)))
        by = (pl.lit(0, pl.Int64) - self.numbered).reverse()
        running = _rolling(value.reverse(), how, by, window).reverse()
        return pl.when(self.hi > self.lo).then(running.gather(self.lo.clip(0, pl.len() - 1)))

    def rows(self) -> pl.Expr:
        return pl.max_horizontal(self.hi - self.lo, pl.lit(0, pl.Int64))

    def _total(self, value: pl.Expr, dtype: pl.DataType | pl.DataTypeExpr) -> pl.Expr:
        """The sum of `value` over the frame (`_frame_sums`), of type `dtype`."""
        return pl.map_batches([value, self.lo, self.hi], _frame_sums, return_dtype=dtype)

    def reduce(self, value: pl.Expr, how: str, *, exact: bool = False) -> pl.Expr:
        del exact  # differences of prefix sums whatever the type (floats: see the class)
        if how in ("min", "max"):
            running = self._running(value, how)
            if running is not None:
                return running
            return value.gather(extreme_positions(value, self.lo, self.hi, lowest=how == "min"))
        if how == "std":
            running = self._running(value, how)
            return sample_stddev(value, self.lo, self.hi) if running is None else running
        if how == "count":
            return self._total(value.is_not_null().cast(pl.Int64), pl.Int64())
        if not self.floats:
            return self._total(value.fill_null(0), pl.dtype_of(value))
        return self._total(value.cast(pl.Float64), pl.Float64())


def _rolling(value: pl.Expr, how: str, by: pl.Expr, window: str) -> pl.Expr:
    """`how` (min, max, std: sample, of at least two values) of `value`'s non-null values over each row's
    window of `by` (sorted)."""
    if how == "std":
        return value.rolling_std_by(by, window_size=window)
    return (value.rolling_min_by if how == "min" else value.rolling_max_by)(by, window_size=window)


def _small(value: pl.Series) -> bool:
    """The integers' magnitudes add up to less than 2^63, told from their least and greatest (counts and
    flags of 0 and 1 always are) without adding them in 128 bits."""
    low, high = value.min(), value.max()
    if low is None or high is None:
        return True
    return isinstance(low, int) and isinstance(high, int) and max(abs(low), abs(high)) * len(value) < 2**63


def _frame_sums(columns: list[pl.Series]) -> pl.Series:
    """For each row, the sum of `value` (nulls as 0) over its frame `lo .. hi-1` (0 when it holds no row): a
    difference of prefix sums, made by numpy. Integers exactly: in 64 bits where the values' magnitudes add up
    to less than 2^63, else in 128 (Polars). Floats: the finite values added, a frame that holds NaN, or +inf and
    -inf, NaN, else one that holds an infinity that infinity (a difference of prefix sums past one would be NaN),
    counted only where the column holds one."""
    import numpy as np

    value, lo, hi = columns
    first = lo.fill_null(0).cast(pl.Int64).to_numpy()
    after = hi.fill_null(0).cast(pl.Int64).to_numpy()
    held = after > first

    def differences(number: np.ndarray) -> np.ndarray:
        before = np.zeros(len(number) + 1, dtype=number.dtype)
        with np.errstate(all="ignore"):  # floats past the largest: infinities, as Polars adds them
            np.cumsum(number, out=before[1:])
            summed = before[after]  # in place from here: a new array of 10M rows costs more than the pass
            summed -= before[first]
        if not held.all():
            summed[~held] = 0
        return summed

    if not value.dtype.is_float():
        if _small(value) or (value.cast(pl.Int128).abs().sum() or 0) < 2**63:
            summed = differences(value.fill_null(0).cast(pl.Int64).to_numpy())
            return pl.Series(summed, dtype=pl.Int64).cast(value.dtype)
        before = pl.Series([0], dtype=value.dtype).append(value.fill_null(0).cum_sum())
        return pl.select(pl.when(pl.lit(pl.Series(held))).then(pl.lit(before.gather(after) - before.gather(first)))
                         .otherwise(pl.lit(0, value.dtype))).to_series()
    number = value.fill_null(0.0).to_numpy()
    finite = np.isfinite(number)
    total = differences(np.where(finite, number, 0.0))
    if finite.all():
        return pl.Series(total, dtype=pl.Float64)
    up = differences((np.isnan(number) | (number == np.inf)).astype(np.int64)) > 0
    down = differences((np.isnan(number) | (number == -np.inf)).astype(np.int64)) > 0
    total = np.where(up & down, np.nan, np.where(up, np.inf, np.where(down, -np.inf, total)))
    return pl.Series(total, dtype=pl.Float64)


def _directed(key: pl.Expr, dtype: pl.DataType, *, descending: bool) -> pl.Expr:
    """A number that orders keys as the window does (ascending, or descending), so that the rows of a run
    are sorted by it: a number-like key as Polars sorts it (`packing.ordered`: floats by their bits, as
    negating a float would put NaN first either way), its bits flipped when descending; decimals negated."""
    if packable(dtype):
        number = ordered(key, dtype)
        return ~number if descending else number
    return -key if descending else key


def _search(columns: list[pl.Series], sides: tuple[Literal["left", "right"], ...]) -> pl.Series:
    """The position of each target (run, directed target) among the rows' (run, key missing, directed key),
    sorted: the first row at or above it (its side "left"), or above it ("right"); one target column per side,
    the positions as the fields of a struct, in order. Each pair is packed in one 64-bit number, its run
    `span` places apart: a key at its distance from the least key (a target below or above every key one
    place before or after them: the same position), a missing key after every key; where the runs' spans do
    not fit, a key at its rank among the distinct keys (a target at the count of keys below it, or at or
    below it for "right"), 128-bit past 2^63. The rows' packed numbers are made once for every target. A
    search among numbers is several times faster than among structs, and among 64-bit ones than 128-bit
    ones."""
    count = len(columns) - 2 - len(sides)
    runs, (missing, key), targets = columns[:count], columns[count:count + 2], columns[count + 2:]
    fields = [f"{at}" for at in range(len(sides))]
    nearby = _nearby(runs[0] if runs else None, missing, key, targets, sides)
    if nearby is not None:
        return pl.DataFrame(dict(zip(fields, nearby, strict=True))).to_struct()
    low, high = key.min(), key.max()
    if low is None or high is None:  # no key: every row's frame is found from its run's ends
        return pl.DataFrame({field: pl.zeros(len(key), pl.Int64, eager=True) for field in fields}).to_struct()
    assert isinstance(low, int) and isinstance(high, int)
    runs_count = int(runs[0].max() or 0) + 1 if runs else 1
    span = high - low + 4
    probes: list[tuple[pl.Expr, Literal["left", "right"]]] = []
    if runs_count * span < 2**63:
        wide: pl.DataType = pl.Int64()
        kind = key.dtype  # distances below 2^63 in the key's own type (wrapping)
        places = (pl.lit(key) - pl.lit(low, kind) + 1).cast(wide)
        for target, side in zip(targets, sides, strict=True):
            probe = pl.lit(target)
            probes.append((pl.when(probe < pl.lit(low, kind)).then(pl.lit(0, wide))
                           .when(probe > pl.lit(high, kind)).then(pl.lit(span - 2, wide))
                           .otherwise((probe - pl.lit(low, kind) + 1).cast(wide)), side))
    else:
        distinct = key.drop_nulls().unique().sort()
        span = len(distinct) + 2
        wide = pl.Int64() if runs_count * span < 2**63 else pl.Int128()
        places = pl.lit(distinct.search_sorted(key, side="left")).cast(wide)
        probes = [(pl.lit(distinct.search_sorted(target, side=side)).cast(wide), "left")
                  for target, side in zip(targets, sides, strict=True)]
    run = pl.lit(runs[0]).cast(wide) * pl.lit(span, wide) if runs else pl.lit(0, wide)
    rows = pl.select(run + pl.when(pl.lit(missing)).then(pl.lit(span - 1, wide)).otherwise(places)).to_series()
    found = {}
    for field, (probe, side) in zip(fields, probes, strict=True):
        target = pl.select(run + probe.fill_null(pl.lit(0, wide))).to_series()
        if wide == pl.Int64:  # numpy: faster than Polars' binary search
            found[field] = pl.Series(_near(rows.to_numpy(), target.to_numpy(), side), dtype=pl.Int64)
        else:
            found[field] = rows.search_sorted(target, side=side).cast(pl.Int64)
    return pl.DataFrame(found).to_struct()


def _near(rows: npt.NDArray[np.int64], targets: npt.NDArray[np.int64], side: Literal["left", "right"],
          ) -> npt.NDArray[np.int64]:
    """`np.searchsorted(rows, targets, side)` where `targets[i]` is row i's (the rows sorted): the position of
    most targets is row i's or the next, where a frame holds the row and ends next to it (a partition of a
    row or two): found by comparing each target with its row and the row's neighbours (a few passes over the
    rows, in order); only the others are searched for (a binary search for each of 10M targets among 10M
    rows: about 0.5 s)."""
    import numpy as np  # only range frames need it: a run without one loads no numpy

    count = len(rows)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    before = np.less if side == "left" else np.less_equal  # a row before the target's position
    own = before(rows, targets)  # the position is after the row (else at or before it)
    found = np.arange(count, dtype=np.int64)
    found += own
    # the position is further: past the next row as well, or at or before the row before
    past = np.zeros(count, dtype=np.bool_)
    np.logical_and(own[:-1], before(rows[1:], targets[:-1]), out=past[:-1])
    short = np.zeros(count, dtype=np.bool_)
    np.logical_and(~own[1:], ~before(rows[:-1], targets[1:]), out=short[1:])
    further = np.flatnonzero(past | short)
    found[further] = np.searchsorted(rows, targets[further], side=side)
    return found


_STEPS = 32  # rows a frame's end is looked for on either side of its row before the packed search
_FURTHER = 4  # at most one target in this many is looked for further than next to its row, ...
_STEPPED = 2  # ... and the steps of all of them at most the rows over this


def _nearby(run: pl.Series | None, missing: pl.Series, key: pl.Series, targets: list[pl.Series],
            sides: tuple[Literal["left", "right"], ...]) -> list[pl.Series] | None:
    """`_search`'s positions found without packing (run, key) pairs, where every target lands within `_STEPS`
    rows of its own row (in partitions of a few rows): each target compared with its row and the next (or the
    one before), then the few that land further stepped toward their position one row at a time. None where
    more than one target in `_FURTHER` lands further than next to its row, one further than `_STEPS` rows, or
    the steps of all of them add up to more than the rows over `_STEPPED` (the packed search is then
    cheaper)."""
    import numpy as np

    rows = len(key)
    if any(target.dtype != key.dtype for target in targets) or not rows:
        return None
    runs = np.zeros(rows, dtype=np.int64) if run is None else run.to_numpy()
    keyed = missing.not_().to_numpy()
    keys = key.fill_null(0).to_numpy()
    found = []
    for target, side in zip(targets, sides, strict=True):
        wanted = target.fill_null(0).to_numpy()
        before = np.less if side == "left" else np.less_equal

        def below(at: Index, of: Index, wanted: np.ndarray = wanted, before: np.ufunc = before,
                  ) -> npt.NDArray[np.bool_]:
            """Row `at` is before the position of row `of`'s target: an earlier run, or its run with a key
            before the target."""
            return (runs[at] < runs[of]) | ((runs[at] == runs[of]) & keyed[at] & before(keys[at], wanted[of]))

        own = keyed & before(keys, wanted)  # the position is after the row (else at or before it)
        position = np.arange(rows, dtype=np.int64)
        position += own
        past = np.zeros(rows, dtype=np.bool_)  # after the next row as well
        same = runs[1:] == runs[:-1]  # the row and the one before are of one run (runs ascend)
        past[:-1] = own[:-1] & same & keyed[1:] & before(keys[1:], wanted[:-1])
        short = np.zeros(rows, dtype=np.bool_)  # at or before the row before
        short[1:] = ~own[1:] & same & ~(keyed[:-1] & before(keys[:-1], wanted[1:]))
        if target.null_count():  # a missing key's frame is its run's rows without one: found apart
            known = target.is_not_null().to_numpy()
            past &= known
            short &= known
        ahead, behind = np.flatnonzero(past), np.flatnonzero(short)
        if (len(ahead) + len(behind)) * _FURTHER > rows:
            return None
        at_ahead, at_behind = ahead + 2, behind - 1  # the position is at or past (at or before) these
        budget = rows // _STEPPED
        for _ in range(_STEPS):
            budget -= len(ahead) + len(behind)
            if (not len(ahead) and not len(behind)) or budget < 0:
                break
            going = at_ahead < rows
            going[going] = below(at_ahead[going], ahead[going])
            position[ahead[~going]] = at_ahead[~going]
            ahead, at_ahead = ahead[going], at_ahead[going] + 1
            back = at_behind > 0
            back[back] = ~below(at_behind[back] - 1, behind[back])
            position[behind[~back]] = at_behind[~back]
            behind, at_behind = behind[back], at_behind[back] - 1
        if len(ahead) or len(behind):
            return None
        found.append(pl.Series(position, dtype=pl.Int64))
    return found


class RangeStage:
    """Adds a column per aggregate (`add`) over the range frame `bounds` (values of the window's single sort
    `key`, relative to the row's, None unbounded) of each row, in the frame's order: the rows sorted into
    runs (numbered `run` ascending; None: one run) from `first` to `stop` (the row after the run's last),
    each run by the key (descending: `descending`), nulls last. The frame's ends are found once for all the
    aggregates; `columns` names the stage's own columns (the end of the run's rows with a key, the
    frame's first row and the row after its last), which hold them already when `found` (an earlier stage
    over the same window found them, and no row has moved since)."""

    def __init__(self, columns: tuple[str, str, str], *, key: pl.Expr, key_type: pl.DataType, descending: bool,
                 bounds: tuple[int | None, int | None], run: pl.Expr | None, first: pl.Expr, stop: pl.Expr,
                 found: bool = False) -> None:
        self.columns, self.key, self.key_type, self.descending = columns, key, key_type, descending
        self.found = found
        self.start, self.end = bounds
        self.run, self.first, self.stop = run, first, stop
        self.aggregates: list[tuple[str, str, pl.Expr, pl.DataType, rq.Operator]] = []

    def add(self, result: str, *, name: str, value: pl.Expr, dtype: pl.DataType, op: rq.Operator) -> None:
        """Column `result`: aggregate `name` of `value` over the frame."""
        self.aggregates.append((result, name, value, dtype, op))

    def _find(self, frame: pl.LazyFrame, bounds: list[tuple[int, Literal["left", "right"]]], column: str,
              ) -> tuple[pl.LazyFrame, list[pl.Expr]]:
        """The position of the key + each bound's value in the row's run: binary searches of the frame's rows,
        which are sorted by (run, key missing, directed key), "left" for the first row at or above it, "right"
        for the row after the last at or below it. Integer and float keys: each row's triple packed in one
        number once for all the bounds (`_search`), whose positions `column` holds (a struct) for the frame
        returned."""
        key, dtype, descending = self.key, self.key_type, self.descending
        directed = _directed(key, dtype, descending=descending)
        targets = [_directed(offset(key, value, dtype) if value else key, dtype, descending=descending)
                   for value, _ in bounds]
        sides = tuple(side for _, side in bounds)
        if dtype.is_integer() or dtype.is_float():
            runs = [] if self.run is None else [self.run]
            fields = [pl.Field(f"{at}", pl.Int64) for at in range(len(bounds))]
            found = pl.map_batches([*runs, key.is_null(), directed, *targets],
                                   lambda columns: _search(columns, sides), return_dtype=pl.Struct(fields))
            return frame.with_columns(found.alias(column)), [pl.col(column).struct.field(f"{at}")
                                                             for at in range(len(bounds))]
        run = pl.lit(0, pl.UInt32) if self.run is None else self.run
        rows = pl.struct(run.alias("r"), key.is_null().alias("nk"), directed.alias("k"))
        return frame, [rows.search_sorted(pl.struct(run.alias("r"), pl.lit(False).alias("nk"), target.alias("k")),
                                          side=side).cast(pl.Int64)
                       for target, side in zip(targets, sides, strict=True)]

    def __call__(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        keyed_end, lo_name, hi_name = self.columns
        if self.found:
            return frame.with_columns(self._results())
        if self.key_type == pl.Null:  # every key is null: every row's frame is its run
            return frame.with_columns(self.first.alias(lo_name), self.stop.alias(hi_name)).with_columns(
                self._results())
        keyed = self.key.is_not_null().cast(pl.Int64)
        if self.run is None:
            ends = keyed.sum()
        else:  # the run's rows with a key come first: keyed_end counts them
            counted = keyed.cum_sum()
            ends = self.first + counted.gather(self.stop - 1) - (counted - keyed).gather(self.first)
        frame = frame.with_columns(ends.alias(keyed_end))
        # in key order: the first row at or above `key + start`, the one after the last at or below `key + end`
        # (a search past the run's rows with a key lands on its first null key or the next run)
        low, high = (self.end, self.start) if self.descending else (self.start, self.end)
        # (an unbounded end is the run's end: past the null keys, which come last)
        bounds: list[tuple[int, Literal["left", "right"]]] = [
            *([] if low is None else [(low, "left")]), *([] if high is None else [(high, "right")])]
        frame, ends_found = self._find(frame, bounds, lo_name) if bounds else (frame, [])
        found = iter(ends_found)
        lo = self.first if low is None else pl.when(self.key.is_null()).then(pl.col(keyed_end)).otherwise(next(found))
        hi = self.stop if high is None else pl.when(self.key.is_null()).then(self.stop).otherwise(next(found))
        frame = frame.with_columns(lo.alias(lo_name), hi.alias(hi_name))
        return frame.with_columns(self._results())

    def _results(self) -> list[pl.Expr]:
        _, lo, hi = self.columns
        low, high = (self.end, self.start) if self.descending else (self.start, self.end)
        opens: Literal["first", "end"] | None = "first" if low is None else "end" if high is None else None
        run = pl.lit(0, pl.Int64) if self.run is None else self.run.cast(pl.Int64)
        numbered = run * _SPAN + pl.int_range(pl.len(), dtype=pl.Int64)
        results = []
        for result, name, value, dtype, op in self.aggregates:
            # running extremes: numbers, dates and times, booleans (Polars' rolling functions take them)
            rolling = dtype.is_numeric() or dtype.is_temporal() or dtype == pl.Boolean
            positions = _Positions(pl.col(lo), pl.col(hi), floats=dtype.is_float(), numbered=numbered,
                                   opens=opens if rolling else None)
            results.append(framed_aggregate(name, value, dtype, positions, op).alias(result))
        return results
