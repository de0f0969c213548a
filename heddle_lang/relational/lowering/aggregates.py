"""Aggregate functions (`aggregate`, `group … (aggregate …)`) as prqlc's SQL computes them.

prqlc 0.13 wraps four of them so that no rows (or only nulls) give a value rather than null:
`sum` → `COALESCE(SUM(x), 0)`, `all` → `COALESCE(BOOL_AND(x), TRUE)`, `any` → `COALESCE(BOOL_OR(x), FALSE)`,
`concat_array` → `COALESCE(STRING_AGG(x, ''), '')`, which is also what Polars' own aggregations give.
`min`, `max`, `average` and `stddev` (the sample standard deviation) of no values are null. `count` counts
rows (`COUNT(*)`, whatever its argument), `count_distinct` the distinct non-null values. A sum of
integers is computed in 128 bits and fails if it does not fit the column's type, instead of wrapping.
"""

from __future__ import annotations

import polars as pl

from heddle_lang.relational import rq
from heddle_lang.relational.lowering.expressions import Expressions

AGGREGATES = frozenset({
    "std.min", "std.max", "std.sum", "std.average", "std.stddev", "std.all", "std.any", "std.concat_array",
    "std.count", "std.count_distinct",
})


def contains_aggregate(expr: rq.Expr) -> bool:
    if isinstance(expr, rq.Operator):
        return expr.name in AGGREGATES or any(contains_aggregate(a) for a in expr.args)
    if isinstance(expr, rq.Case):
        return any(contains_aggregate(c) or contains_aggregate(v) for c, v in expr.cases)
    return False


def sum_of(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_integer():
        return value.cast(pl.Int128).sum().cast(pl.Int64, strict=True)
    if dtype == pl.Boolean:
        return value.cast(pl.Int64).sum()
    return value.sum()


def mean_of(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """AVG: of integers from their exact sum (Polars would add them as doubles and lose the units)."""
    if dtype.is_integer():
        count = value.count()
        return pl.when(count > 0).then(value.cast(pl.Int128).sum().cast(pl.Float64) / count)
    return value.cast(pl.Float64).mean()


def aggregate(op: rq.Operator, exprs: Expressions) -> pl.Expr | None:
    """`op` as an aggregation over the rows of a group; None when `op` is not an aggregate function."""
    name = op.name
    if name not in AGGREGATES:
        return None
    if name == "std.count":
        return pl.len().cast(pl.Int64)
    value = exprs.lower(op.args[-1])
    if name == "std.sum":
        return sum_of(value, exprs.dtype(value))
    if name == "std.min":
        return value.min()
    if name == "std.max":
        return value.nan_max() if exprs.dtype(value).is_float() else value.max()  # NaN is the greatest
    if name == "std.average":
        return mean_of(value, exprs.dtype(value))
    if name == "std.stddev":
        return value.cast(pl.Float64).std(ddof=1)
    if name == "std.all":
        return value.all()
    if name == "std.any":
        return value.any()
    if name == "std.concat_array":
        return value.str.join("")
    return value.drop_nulls().n_unique().cast(pl.Int64)  # std.count_distinct
