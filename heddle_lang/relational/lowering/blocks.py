"""Reductions over arbitrary frames `lo .. hi-1` of a column (positions, one frame per row) in
O(n log w), w the longest frame: blocks of 2^j rows from every position, one level at a time.

Only the blocks some frame reads are made (a block ends at or before the furthest end of the frames that
start at or before its first row): where frames are short, as in a partition of a few rows, the levels
above the first hold few blocks.

- `extreme_positions`: the position of the minimum (maximum) non-null value of each frame (the first
  of equal ones). Level j holds, for every position, the extreme of its 2^j rows; a frame of
  `width .. 2*width-1` rows is covered by two blocks of that level (from its first row, and ending at its
  last), so overlapping blocks are read; a frame of one row is that row, read for every such frame at once.
- `sample_stddev`: the sample standard deviation of each frame's non-null values. A block holds the count,
  the mean and the sum of squared deviations of its rows (Chan's pairwise update merges two); a frame is
  the disjoint blocks its length spells in binary, merged from its first row on (a frame of one row has none:
  null).

Each is computed on the whole column (`pl.map_batches`) by a loop over the levels of numpy array operations
(each intermediate made once; a frame's blocks read only for the frames of that level): no quadratic
pairing of rows with their frames, no Python per row. numpy is imported where they run: a query without
such a frame loads none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from heddle_lang.relational.lowering.packing import ordered

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Ints = npt.NDArray[np.int64]
    Floats = npt.NDArray[np.float64]


def _ends(lo: pl.Series, hi: pl.Series) -> tuple[Ints, Ints, Ints, int, Ints]:
    """The frames' first rows, the rows after their last, their lengths (none negative), the longest, and for
    each position the furthest end of a frame that starts at or before it (a block of rows from a position
    is read only when it ends there or before)."""
    import numpy as np

    first = lo.cast(pl.Int64).to_numpy()
    after = hi.cast(pl.Int64).to_numpy()
    width = after - first  # in place from here: a new array of 10M rows costs more than the pass
    np.maximum(width, 0, out=width)
    reach = np.full(len(width), -1, dtype=np.int64)
    some = width > 0
    if some.all():  # no empty frame (most often): none left out
        np.maximum.at(reach, first, after)
    else:
        np.maximum.at(reach, first[some], after[some])
    return first, after, width, int(width.max()) if len(width) else 0, np.maximum.accumulate(reach, out=reach)


def _read(reach: Ints, size: int) -> Ints:
    """The positions whose block of `size` rows some frame reads (the blocks of the next level to make)."""
    import numpy as np

    return np.flatnonzero(np.arange(len(reach)) + size <= reach)


def _missing_where(values: pl.Series, missing: npt.NDArray[np.bool_]) -> pl.Series:
    """`values`, null where `missing`."""
    return pl.select(pl.when(pl.lit(pl.Series(missing)).not_()).then(pl.lit(values))).to_series()


def _comparable(value: pl.Series) -> pl.Series:
    """Numbers (64-bit, no nulls) that compare as Polars compares `value`'s non-null values: number-like
    ones as Polars orders them (floats: NaN above every number, -0.0 equal to 0.0), others by dense rank."""
    dtype = value.dtype
    fits = dtype.is_float() or dtype.is_temporal() or dtype == pl.Boolean or (
        dtype.is_integer() and dtype not in (pl.Int128, pl.UInt128))
    number = pl.select(ordered(pl.lit(value), dtype)).to_series() if fits else value.rank("dense")
    return number.fill_null(0)


def _extreme_batch(columns: list[pl.Series], *, lowest: bool) -> pl.Series:
    import numpy as np

    value, lo, hi = columns
    first, after, width, longest, reach = _ends(lo, hi)
    number = _comparable(value).to_numpy(writable=True)
    position = np.arange(len(value), dtype=np.int64)
    if value.null_count():
        position[value.is_null().to_numpy()] = -1
    out = np.full(len(value), -1, dtype=np.int64)

    def better(av: np.ndarray, ap: Ints, bv: np.ndarray, bp: Ints) -> npt.NDArray[np.bool_]:
        """Where (bv, bp) is the better pair: a value (position >= 0) lower (higher) than a's, or a has none."""
        return (bp >= 0) & ((ap < 0) | ((bv < av) if lowest else (bv > av)))

    if longest >= 1:  # frames of one row: its position (most frames, in partitions of a row or two)
        one = width == 1
        starts = first if int(first.max()) < len(value) else np.minimum(first, len(value) - 1)
        np.copyto(out, position[starts], where=one)
    size = 1
    while size <= longest:
        rows = np.flatnonzero((width >= max(size, 2)) & (width < 2 * size))
        if len(rows):
            start, end = first[rows], after[rows] - size
            left, right = position[start], position[end]
            out[rows] = np.where(better(number[start], left, number[end], right), right, left)
        if 2 * size <= longest:  # the next level where it is read: two blocks of this one side by side
            at = _read(reach, 2 * size)
            following = at + size
            takes = better(number[at], position[at], number[following], position[following])
            number[at] = np.where(takes, number[following], number[at])
            position[at] = np.where(takes, position[following], position[at])
        size *= 2
    return _missing_where(pl.Series(out, dtype=pl.Int64), out < 0)


def extreme_positions(value: pl.Expr, lo: pl.Expr, hi: pl.Expr, *, lowest: bool) -> pl.Expr:
    """The position of the lowest (`lowest`, else highest) non-null `value` in the rows `lo .. hi-1` of each
    row's frame; null when the frame holds none."""
    return pl.map_batches([value, lo, hi], lambda columns: _extreme_batch(columns, lowest=lowest),
                          return_dtype=pl.Int64)


def _merged(a: tuple[Floats, Floats, Floats], b: tuple[Floats, Floats, Floats]) -> tuple[Floats, Floats, Floats]:
    """(count, mean, squared deviations) of two disjoint sets of values, from each one's."""
    import numpy as np

    (na, ma, sa), (nb, mb, sb) = a, b
    with np.errstate(all="ignore"):  # infinities overflow as in Polars; n == 0: no value, the result unread
        n = na + nb
        delta = mb - ma
        mean = np.where(na == 0, mb, np.where(nb == 0, ma, ma + delta * nb / n))
        m2 = np.where((na > 0) & (nb > 0), sa + sb + delta * delta * na * nb / n, sa + sb)
    return n, mean, m2


def _stddev_batch(columns: list[pl.Series]) -> pl.Series:
    import numpy as np

    value, lo, hi = columns
    first, _, width, longest, reach = _ends(lo, hi)
    number = value.cast(pl.Float64)
    count = number.is_not_null().cast(pl.Float64).to_numpy(writable=True)
    mean = number.fill_null(0.0).to_numpy(writable=True)
    m2 = np.zeros(len(value))
    acc = (np.zeros(len(value)), np.zeros(len(value)), np.zeros(len(value)))
    at = first.copy()
    size = 1
    while size <= longest:
        # the frame's length has this level's bit: one block of it (frames of one row have no deviation)
        rows = np.flatnonzero(((width & size) != 0) & (width > 1))
        if len(rows):
            # a frame's first block (no lower bit) is its sum so far: merged with nothing, it is itself
            first_block = (width[rows] & (size - 1)) == 0
            fresh, later = rows[first_block], rows[~first_block]
            for total, level in zip(acc, (count, mean, m2), strict=True):
                total[fresh] = level[at[fresh]]
            block = at[later]
            merged = _merged((acc[0][later], acc[1][later], acc[2][later]), (count[block], mean[block], m2[block]))
            for total, part in zip(acc, merged, strict=True):
                total[later] = part
            at[rows] += size
        if 2 * size <= longest:  # the next level where it is read: two blocks of this one side by side
            made = _read(reach, 2 * size)
            following = made + size
            merged = _merged((count[made], mean[made], m2[made]), (count[following], mean[following], m2[following]))
            for level, part in zip((count, mean, m2), merged, strict=True):
                level[made] = part
        size *= 2
    n, _, squares = acc
    missing = n < 2
    with np.errstate(all="ignore"):  # in place: a new array of 10M rows costs more than the pass
        n -= 1
        squares /= n
        np.sqrt(squares, out=squares)
    return _missing_where(pl.Series(squares, dtype=pl.Float64), missing)


def sample_stddev(value: pl.Expr, lo: pl.Expr, hi: pl.Expr) -> pl.Expr:
    """The sample standard deviation of the non-null `value`s in the rows `lo .. hi-1` of each row's frame;
    null when the frame holds fewer than two."""
    return pl.map_batches([value, lo, hi], _stddev_batch, return_dtype=pl.Float64)
