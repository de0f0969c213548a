"""Reductions over arbitrary frames `lo .. hi-1` of a column (positions, one frame per row) in
O(n log w), w the longest frame: blocks of 2^j rows from every position, one level at a time.

- `extreme_positions`: the position of the minimum (maximum) non-null value of each frame. Level j holds,
  for every position, the extreme of its 2^j rows; a frame of `width .. 2*width-1` rows is covered by two
  blocks of that level (from its first row, and ending at its last), so overlapping blocks are read.
- `sample_stddev`: the sample standard deviation of each frame's non-null values. A block holds the count,
  the mean and the sum of squared deviations of its rows (Chan's pairwise update merges two); a frame is
  the disjoint blocks its length spells in binary, merged from its first row on.

Each is computed on the whole column (`pl.map_batches`) by a loop over the levels of plain column
operations: no quadratic pairing of rows with their frames, no Python per row.
"""

from __future__ import annotations

import polars as pl

_V, _P, _LO, _HI, _W, _OUT = "v", "p", "lo", "hi", "w", "out"


def _frames(columns: list[pl.Series]) -> tuple[pl.DataFrame, int]:
    """The value and its frames' ends as a frame with each frame's length `w`, and the longest one."""
    value, lo, hi = columns
    frame = pl.DataFrame({_V: value, _LO: lo.cast(pl.Int64), _HI: hi.cast(pl.Int64)})
    frame = frame.with_columns(pl.max_horizontal(pl.col(_HI) - pl.col(_LO), pl.lit(0, pl.Int64)).alias(_W))
    longest = frame[_W].max()
    return frame, int(longest) if isinstance(longest, int) else 0


def _at(column: str, position: pl.Expr) -> pl.Expr:
    """`column` at `position` (clipped into the column: read only where a frame holds rows)."""
    return pl.col(column).gather(position.clip(0, pl.len() - 1))


def _better(a: tuple[pl.Expr, pl.Expr], b: tuple[pl.Expr, pl.Expr], *, lowest: bool) -> tuple[pl.Expr, pl.Expr]:
    """Of two (value, position) pairs, the one with the lower (higher) non-null value; `a` on a tie."""
    (av, ap), (bv, bp) = a, b
    takes_b = bv.is_not_null() & (av.is_null() | (bv < av if lowest else bv > av))
    return pl.when(takes_b).then(bv).otherwise(av), pl.when(takes_b).then(bp).otherwise(ap)


def _extreme_batch(columns: list[pl.Series], *, lowest: bool) -> pl.Series:
    frame, longest = _frames(columns)
    frame = frame.with_columns(
        pl.when(pl.col(_V).is_not_null()).then(pl.int_range(pl.len(), dtype=pl.Int64)).alias(_P),
        pl.lit(None, pl.Int64).alias(_OUT))
    width = 1
    while width <= longest:
        covered = (pl.col(_W) >= width) & (pl.col(_W) < 2 * width)
        first = (_at(_V, pl.col(_LO)), _at(_P, pl.col(_LO)))
        last = (_at(_V, pl.col(_HI) - width), _at(_P, pl.col(_HI) - width))
        frame = frame.with_columns(
            pl.when(covered).then(_better(first, last, lowest=lowest)[1]).otherwise(pl.col(_OUT)).alias(_OUT))
        if 2 * width <= longest:  # the next level: two blocks of this one side by side
            value, position = _better((pl.col(_V), pl.col(_P)), (pl.col(_V).shift(-width), pl.col(_P).shift(-width)),
                                      lowest=lowest)
            frame = frame.with_columns(value.alias(_V), position.alias(_P))
        width *= 2
    return frame[_OUT]


def extreme_positions(value: pl.Expr, lo: pl.Expr, hi: pl.Expr, *, lowest: bool) -> pl.Expr:
    """The position of the lowest (`lowest`, else highest) non-null `value` in the rows `lo .. hi-1` of each
    row's frame; null when the frame holds none."""
    return pl.map_batches([value, lo, hi], lambda columns: _extreme_batch(columns, lowest=lowest),
                          return_dtype=pl.Int64)


_N, _MEAN, _M2 = "n", "mean", "m2"
_AN, _AMEAN, _AM2, _AT = "acc.n", "acc.mean", "acc.m2", "acc.at"


def _merged(a: tuple[pl.Expr, pl.Expr, pl.Expr], b: tuple[pl.Expr, pl.Expr, pl.Expr]) -> list[pl.Expr]:
    """(count, mean, squared deviations) of two disjoint sets of values, from each one's."""
    (na, ma, sa), (nb, mb, sb) = a, b
    n = na + nb
    delta = mb - ma
    both = (na > 0) & (nb > 0)
    mean = pl.when(na == 0).then(mb).when(nb == 0).then(ma).otherwise(ma + delta * nb / n)
    m2 = pl.when(both).then(sa + sb + delta * delta * na * nb / n).otherwise(sa + sb)
    return [n, mean, m2]


def _stddev_batch(columns: list[pl.Series]) -> pl.Series:
    frame, longest = _frames(columns)
    value = pl.col(_V).cast(pl.Float64)
    frame = frame.with_columns(
        value.is_not_null().cast(pl.Float64).alias(_N), value.fill_null(0.0).alias(_MEAN),
        pl.lit(0.0).alias(_M2), pl.lit(0.0).alias(_AN), pl.lit(0.0).alias(_AMEAN), pl.lit(0.0).alias(_AM2),
        pl.col(_LO).alias(_AT))
    width = 1
    while width <= longest:
        holds = (pl.col(_W) // width) % 2 == 1  # the frame's length has this level's bit: one block of it
        block = (_at(_N, pl.col(_AT)), _at(_MEAN, pl.col(_AT)), _at(_M2, pl.col(_AT)))
        merged = _merged((pl.col(_AN), pl.col(_AMEAN), pl.col(_AM2)), block)
        frame = frame.with_columns(
            *[pl.when(holds).then(m).otherwise(pl.col(name)).alias(name)
              for m, name in zip(merged, (_AN, _AMEAN, _AM2), strict=True)],
            pl.when(holds).then(pl.col(_AT) + width).otherwise(pl.col(_AT)).alias(_AT))
        if 2 * width <= longest:
            following = (pl.col(_N).shift(-width, fill_value=0.0), pl.col(_MEAN).shift(-width, fill_value=0.0),
                         pl.col(_M2).shift(-width, fill_value=0.0))
            frame = frame.with_columns(
                *[m.alias(name) for m, name in zip(_merged((pl.col(_N), pl.col(_MEAN), pl.col(_M2)), following),
                                                   (_N, _MEAN, _M2), strict=True)])
        width *= 2
    return frame.select(pl.when(pl.col(_AN) >= 2).then((pl.col(_AM2) / (pl.col(_AN) - 1)).sqrt())).to_series()


def sample_stddev(value: pl.Expr, lo: pl.Expr, hi: pl.Expr) -> pl.Expr:
    """The sample standard deviation of the non-null `value`s in the rows `lo .. hi-1` of each row's frame;
    null when the frame holds fewer than two."""
    return pl.map_batches([value, lo, hi], _stddev_batch, return_dtype=pl.Float64)
