"""Aggregate functions computed from partial values: which ones combine exactly, their partial values over
a part of a group's rows, and the value the partials of every part combine into.

An aggregation in two phases (`phases.py`: a partial per partition) and an aggregation begun before a join
(`eager.py`: a partial per group of the left rows) use the same rules. *Exactly* means the same value, bit
for bit, as one aggregation over every row:

    count                       partial row counts, summed
    sum of integers             partial sums in an exact type (`wide`: 128-bit integers, or Decimal(38, 0)
                                where the partials cross Arrow, which carries no 128-bit integer), summed;
                                the total must fit Int64 as one aggregation's sum must (else the same refusal)
    sum of booleans, decimals   partial sums, summed
    average of integers         exact partial sums and counts of values: one aggregation's formula on their
                                totals
    min, max (not of floats)    partial extremes, their extreme
    all, any                    partial answers, combined (nulls are skipped by both, no rows -> true/false)

Everything else does not combine exactly: sums, averages, min and max of floats (floating additions in another
order change the last bits; between 0.0 and -0.0 the minimum is whichever comes first), stddev,
count_distinct (a value may be in several parts), concat_array (an order).
"""

from __future__ import annotations

import polars as pl

from heddle_lang.relational import rq
from heddle_lang.relational.lowering.aggregates import contains_aggregate
from heddle_lang.relational.lowering.expressions import Expressions


def inexact(op: rq.Operator, plain: Expressions) -> str | None:
    """Why aggregate function `op` (over the columns `plain` lowers) does not combine exactly, or None."""
    name = op.name.removeprefix("std.")
    if name == "count":
        return None
    if name in ("count_distinct", "concat_array", "stddev"):
        return f"`{name}` does not combine exactly from partial results"
    if any(contains_aggregate(a) for a in op.args):
        return "an aggregate function inside another"
    dtype = plain.dtype(plain.lower(op.args[-1]))
    if name in ("all", "any"):
        return None
    if dtype.is_float():
        return f"`{name}` of floats changes with the order of the rows (not exact in two phases)"
    if name == "sum" and (dtype.is_integer() or dtype.is_decimal() or dtype == pl.Boolean):
        return None
    if name == "average" and dtype.is_integer():
        return None
    if name in ("min", "max"):
        return None
    return f"`{name}` of {dtype} is not combined in two phases"


def partial_values(op: rq.Operator, plain: Expressions, wide: pl.DataType) -> list[pl.Expr]:
    """The partial values of an aggregate function `inexact` accepts, over a part of a group's rows; integer
    sums in `wide` (Int128 or Decimal(38, 0))."""
    name = op.name
    if name == "std.count":
        return [pl.len().cast(pl.Int64)]
    value = plain.lower(op.args[-1])
    dtype = plain.dtype(value)
    if name in ("std.sum", "std.average") and dtype.is_integer():
        exact = value.cast(wide).sum()
        return [exact, value.count().cast(pl.Int64)] if name == "std.average" else [exact]
    if name == "std.sum":
        return [value.cast(pl.Int64).sum() if dtype == pl.Boolean else value.sum()]
    return [{"std.min": value.min, "std.max": value.max, "std.all": value.all, "std.any": value.any}[name]()]


def combined_value(op: rq.Operator, plain: Expressions, columns: list[pl.Expr]) -> pl.Expr:
    """The value of an aggregate function from its partial values (`columns`, of every part) in a group."""
    name = op.name
    if name == "std.count":
        return columns[0].sum()
    if name == "std.average":
        total, count = columns[0].sum().cast(pl.Int128), columns[1].sum()
        return pl.when(count > 0).then(total.cast(pl.Float64) / count)
    if name == "std.sum":
        if plain.dtype(plain.lower(op.args[-1])).is_integer():
            return columns[0].sum().cast(pl.Int128).cast(pl.Int64, strict=True)
        return columns[0].sum()
    return {"std.min": columns[0].min, "std.max": columns[0].max, "std.all": columns[0].all,
            "std.any": columns[0].any}[name]()
