"""Rows that a query keeps only if they come first in an order, found before the order is made.

A numbering or a take that keeps the first `k` rows of an order (per partition or overall) never keeps a row
whose first sort key comes after the `k`-th row's. Those rows are dropped before the rows are sorted, which
then sorts a handful of rows per partition instead of all of them:

    group g (sort {-x, id} | derive {r = row_number this}) | filter r == 1
    group g (sort {-x} | derive {r = rank x}) | filter r <= 3
    group g (sort {-x, id} | take 2)
    group g (sort {x} | derive {r = rank x}) | sort {g, id} | take 40      (whole partitions: g's first 40 rows)

The rows kept are every row whose first key is at or before the `k`-th row's first key (`k` counting rows
with the same key; nulls last in either direction; all rows where fewer than `k` have a key). Every row that
comes before a kept row in the order is kept, so a row number, a rank or a row's place in the order is the same
as among all the rows, and the rows that the query's own filter or take keeps are among them. The last form
keeps whole partitions (those whose key is at or before the `k`-th row's), so any window over partitions that
hold that key is computed on all of its rows.

Only keys whose order Polars' comparisons give as its sort does: integers, text, booleans, dates and times
(not floats: NaN and -0.0 sort where comparisons do not place them).

A sorted take of the first rows overall (`sort {x, id} | take 5..10`) finds its bound in a sample: the
`k`-th first key among the frame's first and last rows (`sampled_first`). At least `k` rows of the frame
come at or before it, so the rows the take keeps are among those kept, and Polars' top-k sorts those few
instead of reading every row's keys (at 10M integers: about 8 ms instead of 110). Floats too: Polars'
comparisons order NaN above every number and -0.0 as 0.0, as its sort does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from heddle_lang.relational import rq
from heddle_lang.relational.lowering.expressions import literal_int
from heddle_lang.relational.lowering.joins import conjuncts
from heddle_lang.relational.lowering.scope import Scope

NUMBERS = frozenset({"std.row_number", "std.rank"})
_BOUNDS = {"std.lte": 0, "std.lt": -1, "std.eq": 0}  # `r <= k`, `r < k`, `r == k`: rows numbered up to k (+0/-1)
_FLIPPED = {"std.gte": "std.lte", "std.gt": "std.lt", "std.eq": "std.eq"}  # `k >= r` is `r <= k`


def _comparable(dtype: pl.DataType) -> bool:
    return (dtype.is_integer() or dtype in (pl.String, pl.Boolean, pl.Date, pl.Time)
            or isinstance(dtype, pl.Datetime))


Keep = Callable[[pl.LazyFrame], pl.LazyFrame]
_LAST = "#firsts.last"


def among_first(key: pl.Expr, descending: bool, count: int, partition: Sequence[pl.Expr] = ()) -> Keep:
    """Keeps the rows whose `key` is at or before the `count`-th row's in the order by `key` (nulls last), per
    `partition` (or overall); every row where fewer than `count` rows have a key."""
    if count == 1:  # min and max skip nulls (a null in `over` when there is no value)
        last = key.max() if descending else key.min()
    else:  # top_k and bottom_k take values before nulls: with `count` values, the `count`-th value
        last = (key.top_k(count).min() if descending else key.bottom_k(count).max())
        last = pl.when(key.count() >= count).then(last)
    if partition:
        last = last.over(partition)
    bound = pl.col(_LAST)
    kept = bound.is_null() | (key >= bound if descending else key <= bound)
    return lambda frame: frame.with_columns(last.alias(_LAST)).filter(kept).drop(_LAST)


_SAMPLE = 32_768  # rows read from each end of the frame for a take's bound


def sampled_first(scope: Scope, keys: Sequence[rq.SortKey], count: int | None) -> Keep | None:
    """A filter that keeps the rows whose first key in the order by `keys` (nulls last) is at or before the
    `count`-th such key of a sample of the rows (the first and the last `_SAMPLE`; all rows when the sample
    holds fewer than `count` keys): a superset of the first `count` rows; None when it cannot drop any."""
    if count is None or not keys or not 0 < count <= _SAMPLE or keys[0].cid not in scope.columns:
        return None
    key = scope.col(keys[0].cid)
    dtype = scope.dtype(key)
    if not (_comparable(dtype) or dtype.is_float() or isinstance(dtype, pl.Duration)):
        return None
    sample = key.head(_SAMPLE).append(key.slice(_SAMPLE).tail(_SAMPLE))
    descending = keys[0].descending
    last = pl.when(sample.count() >= count).then(
        sample.top_k(count).min() if descending else sample.bottom_k(count).max())
    kept = last.is_null() | (key >= last if descending else key <= last)
    return lambda frame: frame.filter(kept)


def numbered_up_to(compute: rq.Compute, ahead: Sequence[rq.Transform] | None) -> int | None:
    """The last number a filter after `compute` (a row number or rank of a window) keeps: `r == 1`, `r <= k`,
    `r < k` in the first filter that follows (only selects and row-local computes between), else None."""
    op = compute.expr
    if not (isinstance(op, rq.Operator) and op.name in NUMBERS and compute.window is not None
            and compute.window.sort):
        return None
    for transform in ahead or ():
        if isinstance(transform, rq.Select) or (isinstance(transform, rq.Compute) and transform.window is None
                                                 and not transform.is_aggregation):
            continue
        if not isinstance(transform, rq.Filter):
            return None
        bounds = [b for b in (_bound(term, compute.cid) for term in conjuncts(transform.expr)) if b is not None]
        return min(bounds) if bounds else None
    return None


def _bound(term: rq.Expr, cid: int) -> int | None:
    if not (isinstance(term, rq.Operator) and len(term.args) == 2):
        return None
    name, (a, b) = term.name, term.args
    if isinstance(b, rq.ColumnRef) and b.cid == cid and name in _FLIPPED:
        name, a, b = _FLIPPED[name], b, a
    if name not in _BOUNDS or not (isinstance(a, rq.ColumnRef) and a.cid == cid):
        return None
    value = literal_int(b)
    if value is None:
        return None
    return value + _BOUNDS[name]


def first_rows(scope: Scope, keys: Sequence[rq.SortKey], count: int | None,
               partition: Sequence[int] = ()) -> Keep | None:
    """A filter that keeps, of the rows in each partition, those at or before the `count`-th in the order by
    `keys` (a superset of the first `count`); None when no row can be dropped that way."""
    if count is None or not keys:
        return None
    if count < 1:
        return lambda frame: frame.clear()
    if any(cid not in scope.columns for cid in (keys[0].cid, *partition)):
        return None
    key = scope.col(keys[0].cid)
    dtype = scope.dtype(key)
    if not _comparable(dtype):
        return None
    if dtype.is_temporal():  # their numbers, in the same order: Polars' `over` of a date's min is 8x slower
        key = key.to_physical()
    return among_first(key, keys[0].descending, count, [scope.col(c) for c in partition])


def whole_partitions(compute: rq.Compute, ahead: Sequence[rq.Transform] | None, scope: Scope) -> Keep | None:
    """After a window computed per partition, a `sort` whose first key is one of the partition's and a `take`
    of the first rows: the filter that keeps the partitions whose key is at or before the last taken row's
    (only selects, row-local computes and windows over partitions that hold that key between), else None."""
    window = compute.window
    if window is None or not window.partition:
        return None
    partitions = [window.partition]
    sort: tuple[rq.SortKey, ...] = ()
    for transform in ahead or ():
        if isinstance(transform, rq.Select):
            continue
        if isinstance(transform, rq.Compute) and not transform.is_aggregation:
            if transform.window is not None:
                if sort:
                    return None
                partitions.append(transform.window.partition)
            continue
        if isinstance(transform, rq.Sort) and not sort and transform.keys:
            sort = transform.keys
            continue
        if not isinstance(transform, rq.Take) or transform.partition:
            return None
        order = transform.sort or sort
        start = 1 if transform.start is None else literal_int(transform.start)
        end = None if transform.end is None else literal_int(transform.end)
        if not order or start is None or end is None or not all(order[0].cid in p for p in partitions):
            return None
        return first_rows(scope, order[:1], end)
    return None
