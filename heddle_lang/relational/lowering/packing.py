"""A sort by several number-like keys as one sort of one integer column.

Each key becomes a count of the places its value stands from the key's least (greatest, descending) value,
nulls after every value; the keys' counts are packed in one number in mixed radix (the first key the
most significant), so that the number orders as the keys do and is equal only where every key is. One
stable sort of that number, 64-bit when the keys' ranges multiply to less than 2^63 (else 128-bit, or,
past 2^127, Polars' sort by several columns), gives the rows' order, ties in input order. Where the ranges
multiply past 2^63, a key whose range is wider than the rows are many (a float's bits always are) and whose
distinct values are few (estimated from a sample) counts places among its distinct values instead (its dense
rank: a hash of its values and a search among the few distinct ones), which often brings the number back to
64 bits, sorted about twice as fast as 128. A key of many distinct values keeps its range (128 bits): a search
among millions of values misses the cache at every step (10M floats, 10M distinct: 15-20 s, where the
128-bit sort takes about 5), and it is ranked (by Polars' dense rank) only when the number would need more
than 128 bits. At 10M rows and three integer keys, one sort instead of three, each of which also gathers its
key in the order the sorts before left the rows.

Keys: integers, dates and times (their physical integers), booleans, floats (their bits, ordered as
Polars sorts: NaN above every number, -0.0 as 0.0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl


def packable(dtype: pl.DataType) -> bool:
    """A key type whose values `positions` packs."""
    return dtype.is_integer() or dtype.is_float() or dtype.is_temporal() or dtype == pl.Boolean


def ordered(key: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The key (`packable`) as 64-bit integers (UInt64 as it is) that order as Polars sorts its values: floats
    by their bits, NaN above every number, -0.0 as 0.0. Its bits flipped (`~`) order them descending."""
    if dtype.is_float():
        value = key.cast(pl.Float64)
        canonical = pl.when(value.is_nan()).then(pl.lit(float("nan"))).when(value == 0.0).then(pl.lit(0.0)
                                                                                           ).otherwise(value)
        bits = canonical.reinterpret(dtype=pl.Int64)
        return pl.when(bits < 0).then(bits ^ 0x7FFF_FFFF_FFFF_FFFF).otherwise(bits)
    if dtype == pl.Boolean:
        return key.cast(pl.Int64)
    if dtype.is_temporal():
        return key.to_physical().cast(pl.Int64)
    return key if dtype == pl.UInt64 else key.cast(pl.Int64)


def _digits(ordered: pl.Series, descending: bool, wide: pl.DataType) -> pl.Expr:
    """The key's place counts (`wide`: Int64 when they fit, else Int128), nulls after every value."""
    low, high = ordered.min(), ordered.max()
    if low is None or high is None:  # every value null (or no rows): one place
        return pl.lit(0, wide)
    own = ordered.dtype  # differences below 2^63 in the key's own 64-bit type (wrapping), else in 128 bits
    value, kind = (pl.lit(ordered), own) if wide == pl.Int64 else (pl.lit(ordered).cast(wide), wide)
    counts = (pl.lit(high, kind) - value) if descending else (value - pl.lit(low, kind))
    return counts.cast(wide).fill_null(pl.lit(high - low + 1, wide))


def _places(ordered: pl.Series) -> int:
    """How many places a key's values take: its range, and one after it for nulls."""
    low, high = ordered.min(), ordered.max()
    if low is None or high is None:
        return 1
    assert isinstance(low, int) and isinstance(high, int)
    return high - low + 1 + (1 if ordered.null_count() else 0)


CACHED_DISTINCT = 1 << 16  # distinct values a binary search among stays in the processor's cache (64-bit: 512 KB)
SAMPLE = 1 << 16  # rows of the evenly spaced sample that tells whether a key has few distinct values


def _few_distinct(number: pl.Series) -> bool:
    """Whether the key's distinct values are likely few enough for `_ranked`'s search among them: all of a frame of
    at most `SAMPLE` rows (cheap at any count), else at most a quarter of an evenly spaced sample's rows distinct."""
    if len(number) <= SAMPLE:
        return True
    sample = number.gather_every(len(number) // SAMPLE)
    return sample.n_unique() * 4 <= len(sample)


def _ranked(number: pl.Series) -> pl.Series:
    """The key's dense rank from 0 (nulls kept): the same order and equalities, its range the count of its
    distinct values. A search among the distinct values when they are few, else Polars' dense rank (a sort)."""
    distinct = number.drop_nulls().unique().sort()
    if len(distinct) > CACHED_DISTINCT:
        return (number.rank("dense") - 1).cast(pl.Int64)
    ranks = distinct.search_sorted(number.fill_null(distinct.min() if len(distinct) else 0), side="left")
    return pl.select(pl.when(pl.lit(number).is_not_null()).then(pl.lit(ranks).cast(pl.Int64))).to_series()


def _sorted_positions(keys: list[pl.Series], descending: Sequence[bool]) -> pl.Series:
    """The positions of the rows in the order a stable sort by `keys` (nulls last) puts them."""
    numbers = [pl.select(ordered(pl.lit(key), key.dtype)).to_series() for key in keys]
    places = [_places(key) for key in numbers]
    rows = len(keys[0])
    if math.prod(places) >= 2**63:  # the wide keys of few distinct values ranked; the others too past 128 bits
        numbers = [_ranked(key) if count > rows + 1 and _few_distinct(key) else key
                   for key, count in zip(numbers, places, strict=True)]
        places = [_places(key) for key in numbers]
        if math.prod(places) >= 2**127:
            numbers = [_ranked(key) if count > rows + 1 else key for key, count in zip(numbers, places, strict=True)]
            places = [_places(key) for key in numbers]
    total = math.prod(places)
    if total == 1:  # every key null throughout: the input order
        return pl.int_range(rows, dtype=pl.get_index_type(), eager=True)
    if total < 2**127:
        wide = pl.Int64() if total < 2**63 else pl.Int128()
        packed = pl.lit(0, wide)
        for key, down, count in zip(numbers, descending, places, strict=True):
            packed = packed * pl.lit(count, wide) + _digits(key, down, wide)
        return pl.select(pl.int_range(rows, dtype=pl.get_index_type()).sort_by(packed, maintain_order=True)
                         ).to_series()
    frame = pl.DataFrame({str(at): key for at, key in enumerate(keys)})
    return frame.select(pl.int_range(rows, dtype=pl.get_index_type()).sort_by(
        list(frame.columns), descending=list(descending), nulls_last=True, maintain_order=True)).to_series()


def positions(by: Sequence[pl.Expr], descending: Sequence[bool]) -> pl.Expr:
    """The positions of the frame's rows in the order a stable sort by `by` (each key `packable`, nulls last)
    puts them."""
    return pl.map_batches(list(by), lambda keys: _sorted_positions(keys, descending),
                          return_dtype=pl.get_index_type())
