"""An aggregation after a join, begun before it: the left table's rows grouped per join key first.

`from tracks | join genres (==genre_id) | group genres.name (aggregate {n = count this})` joins every track
to its genre, then groups the joined rows. Grouping the tracks by `genre_id` first (a count per key), joining
those groups, then summing their counts per name gives the same table while joining one row per key:

    partial   the left rows grouped by the columns the join keys read (and the aggregation's keys that are
              left columns), each group with its row count `n` and each aggregate function's partial values
    joined    the groups joined as the rows would be: a group stands for its `n` rows, each joined to the
              same right rows (a right row matched by several left rows is still counted once per left row)
    combined  the aggregation's groups, each value from the partials of its joined groups

Exact (the same table as the join of every row, then the aggregation; a right key that matches several left
rows or a left key that matches several right rows included) for an inner or left join whose condition is
equalities of a left and a right expression, with only filters on the right columns or on the left key
columns between the join and the aggregation, and aggregate functions over one side each:

    count                               the groups' counts, summed
    of left columns                     the functions `partials.py` combines exactly (integer sums, min and
                                        max but of floats, all, any, ...): partial values per group (integer
                                        sums in 128 bits), combined
    of right columns: min, max, all,    over the joined groups as over the joined rows (the same right values)
                      any, count_distinct
                      sum, average of   each right value times the count of its left group
                      integers (or
                      booleans)

Keys of floating types (left keys are grouped, and -0.0 and NaN group as Polars groups them) and anything else
(floating sums, stddev, concat_array, a value read outside an aggregate function, other transforms between the
join and the aggregation) keep the plain join.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from heddle_lang.relational import rq
from heddle_lang.relational.lowering.aggregates import AGGREGATES, aggregate, contains_aggregate
from heddle_lang.relational.lowering.expressions import Expressions
from heddle_lang.relational.lowering.joins import columns_of, conjuncts, key_pair
from heddle_lang.relational.lowering.partials import combined_value, inexact, partial_values
from heddle_lang.relational.lowering.scope import Scope

COUNT = "#eager.n"  # the partial groups' row counts


class _PlainJoinError(Exception):
    """The aggregation cannot begin before the join: the plain join is kept."""


@dataclass
class Eager:
    """A join whose left side is grouped first: `partial` is the grouped left frame (its keys under their
    frame names), `combine(op)` the value of the next aggregation's function `op` over the joined groups,
    called in the order the aggregation lowers its functions."""

    partial: pl.LazyFrame
    keys: list[int]
    combiners: list[Callable[[], pl.Expr]] = field(default_factory=list)
    used: int = 0

    def combine(self, op: rq.Operator) -> pl.Expr | None:
        if op.name not in AGGREGATES:
            return None
        made = self.combiners[self.used]
        self.used += 1
        return made()


def eager_join(join: rq.Join, ahead: Sequence[rq.Transform] | None, left: pl.LazyFrame, left_scope: Scope,
               right_scope: Scope) -> Eager | None:
    """The grouped left side of `join` when the aggregation that follows it (in `ahead`) can begin before the
    join exactly, else None. `left_scope` and `right_scope` see the two sides' columns (their definitions:
    the pipeline's, before the join)."""
    if join.side not in ("inner", "left") or ahead is None:
        return None
    definitions = dict(left_scope.definitions)
    filters: list[rq.Expr] = []
    aggregation: rq.Aggregate | None = None
    for transform in ahead:
        if isinstance(transform, rq.Select):
            continue
        if isinstance(transform, rq.Filter):
            filters.append(transform.expr)
            continue
        if isinstance(transform, rq.Compute) and transform.window is None and (
                transform.is_aggregation or contains_aggregate(transform.expr)):
            definitions[transform.cid] = transform.expr
            continue
        if isinstance(transform, rq.Aggregate):
            aggregation = transform
        break
    if aggregation is None:
        return None
    left_cids, right_cids = set(left_scope.columns), set(right_scope.columns)
    keys: set[int] = set()
    for term in conjuncts(join.condition):
        pair = key_pair(term, left_cids, right_cids)
        if pair is not None:
            keys |= columns_of(pair[0])
        elif not (isinstance(term, rq.Lit) and term.kind == "Boolean" and term.value is True):
            return None
    if not keys:
        return None
    for cid in aggregation.partition:
        if cid in left_cids:
            keys.add(cid)
        elif cid not in right_cids:
            return None
    if any(left_scope.dtype(left_scope.col(cid)).is_float() for cid in keys):
        return None
    seen = right_cids | keys
    if not all(columns_of(f) <= seen for f in filters if not _true(f)):
        return None
    if not all(_in_functions(definitions.get(cid, rq.ColumnRef(cid)), definitions, left_cids | right_cids)
               for cid in aggregation.compute):
        return None
    both = Scope({**left_scope.columns, **right_scope.columns}, {**left_scope.schema, **right_scope.schema},
                 definitions)
    plan = _Plan(Expressions(left_scope), Expressions(right_scope), left_cids, right_cids)
    functions = Expressions(both, functions=plan.function)
    try:
        for cid in aggregation.compute:
            functions.lower(definitions.get(cid, rq.ColumnRef(cid)))
    except _PlainJoinError:
        return None
    order = sorted(keys)
    counted = pl.len().cast(pl.Int64).alias(COUNT)
    partial = left.group_by([left_scope.col(c) for c in order]).agg([counted, *plan.partials])
    return Eager(partial, order, plan.combiners)


def _true(expr: rq.Expr) -> bool:
    return isinstance(expr, rq.Lit) and expr.kind == "Boolean" and expr.value is True


def _in_functions(expr: rq.Expr, definitions: Mapping[int, rq.Expr], columns: set[int]) -> bool:
    """`expr` (an aggregation's value) reads columns only inside aggregate functions."""
    if isinstance(expr, rq.ColumnRef):
        return expr.cid not in columns and expr.cid in definitions and _in_functions(
            definitions[expr.cid], definitions, columns)
    if isinstance(expr, rq.Operator):
        return expr.name in AGGREGATES or all(_in_functions(a, definitions, columns) for a in expr.args)
    if isinstance(expr, rq.Case):
        return all(_in_functions(c, definitions, columns) and _in_functions(v, definitions, columns)
                   for c, v in expr.cases)
    return isinstance(expr, rq.Lit)


class _Plan:
    """Each aggregate function's partial values (over the left rows of a group) and how they combine."""

    def __init__(self, left: Expressions, right: Expressions, left_cids: set[int], right_cids: set[int]) -> None:
        self.left, self.right = left, right
        self.left_cids, self.right_cids = left_cids, right_cids
        self.partials: list[pl.Expr] = []
        self.combiners: list[Callable[[], pl.Expr]] = []

    def function(self, op: rq.Operator) -> pl.Expr | None:
        """`op` as one aggregation computes it (its type is the combined value's), its combination planned."""
        if op.name not in AGGREGATES:
            return None
        if op.name == "std.count":
            local = pl.len().cast(pl.Int64)
            self.combiners.append(lambda: pl.col(COUNT).sum().cast(pl.Int64))
            return local
        if any(contains_aggregate(a) for a in op.args):
            raise _PlainJoinError
        read = columns_of(op.args[-1])
        side = self.left if read <= self.left_cids else self.right if read <= self.right_cids else None
        if side is None:
            raise _PlainJoinError
        value = side.lower(op.args[-1])
        local = aggregate(op, side)
        if local is None:
            raise _PlainJoinError
        dtype = side.dtype(local)
        combined = self._left(op) if side is self.left else self._right(op.name, value, side.dtype(value), local)
        self.combiners.append(lambda: combined.cast(dtype))
        return local

    def _left(self, op: rq.Operator) -> pl.Expr:
        """Over the joined groups: the function's partial values over each group's left rows, combined."""
        if inexact(op, self.left) is not None:
            raise _PlainJoinError
        columns = []
        for value in partial_values(op, self.left, pl.Int128()):
            name = f"#eager{len(self.partials)}"
            self.partials.append(value.alias(name))
            columns.append(pl.col(name))
        return combined_value(op, self.left, columns)

    def _right(self, name: str, value: pl.Expr, dtype: pl.DataType, local: pl.Expr) -> pl.Expr:
        """Over the joined groups: a right row stands for as many joined rows as its group's count."""
        count = pl.col(COUNT)
        if name in ("std.all", "std.any", "std.count_distinct") or (
                name in ("std.min", "std.max") and not dtype.is_float()):
            return local  # the same right values, repeated or not
        if name == "std.sum" and dtype.is_integer():
            return (value.cast(pl.Int128) * count).sum().cast(pl.Int64, strict=True)
        if name == "std.sum" and dtype == pl.Boolean:
            return (value.cast(pl.Int64) * count).sum()
        if name == "std.average" and dtype.is_integer():
            total = (value.cast(pl.Int128) * count).sum()
            values = count.filter(value.is_not_null()).sum()
            return pl.when(values > 0).then(total.cast(pl.Float64) / values)
        raise _PlainJoinError
