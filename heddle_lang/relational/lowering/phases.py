"""Row locality, and aggregations in two phases: a partial aggregate per partition of a block's first table,
combined once.

A transform is *row-local* when each row it keeps depends on that row alone (`local_transform`): a filter, a
derive without a window or an aggregate function, a select, an inner or left join of another table (each row
of the first finds its matches alone). Rows can then be cut into partitions and the transform run on each.

A block whose pipeline reads its first table, is row-local up to its first `aggregate`, and whose aggregate
functions combine exactly (`two_phases`) is computed on a cluster as

    partial   per partition: the row-local prefix, then per group each function's partial values
    combined  once: the partials of every partition stacked, per group the partials combined into the value
              the one-phase aggregation gives, then the rest of the pipeline (filters on the aggregates,
              sorts, takes, joins) as usual

Both phases are lowered by the same `Lowering` as the one-phase query, so keys and values keep its types.
The functions' partial values and their combination are `partials.py`'s, integer sums as Decimal(38, 0)
(exact, and Arrow, which carries the partials between the phases, has no 128-bit integer). Everything else is
left to one aggregation over all partitions, with the reason: what does not combine exactly, a value read
outside an aggregate function, windows, and what is not row-local before the aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from heddle_lang.records import record
from heddle_lang.relational import rq
from heddle_lang.relational.lowering.aggregates import AGGREGATES, aggregate, contains_aggregate
from heddle_lang.relational.lowering.expressions import Expressions
from heddle_lang.relational.lowering.frames import Lowering, State, aggregated
from heddle_lang.relational.lowering.partials import combined_value, inexact, partial_values
from heddle_lang.relational.lowering.scope import Scope, physical

_EXACT = pl.Decimal(38, 0)  # the type of integer sums' partials

# operators that read other rows than their own (aggregates, ranks, offsets)
ACROSS_ROWS = frozenset({
    *AGGREGATES, "std.median", "std.every", "std.row_number", "std.rank", "std.rank_dense", "std.rank_percent",
    "std.lag", "std.lead", "std.first", "std.last", "std.nth_value",
})


def local_expr(expr: object) -> bool:
    """Does `expr` read its own row only?"""
    if isinstance(expr, rq.Operator):
        return expr.name not in ACROSS_ROWS and all(local_expr(a) for a in expr.args)
    if isinstance(expr, rq.Case):
        return all(local_expr(c) and local_expr(v) for c, v in expr.cases)
    if isinstance(expr, rq.Array):
        return all(local_expr(item) for item in expr.items)
    if isinstance(expr, rq.SString):
        return False  # SQL text: what it reads is not known
    return isinstance(expr, rq.ColumnRef | rq.Lit | rq.Param)


def local_transform(transform: rq.Transform, query: rq.Query, driver: str) -> bool:
    """Does `transform`, in a pipeline over the rows of table `driver` (its `__heddle_` name), keep each row to
    itself? A join must bring a table that does not read `driver` (a partition would meet only its own rows)."""
    if isinstance(transform, rq.Join):
        return (transform.side in ("inner", "left") and driver not in _reads(query, transform.table.source)
                and local_expr(transform.condition))
    if isinstance(transform, rq.From | rq.Select):
        return True
    if isinstance(transform, rq.Filter):
        return local_expr(transform.expr)
    if isinstance(transform, rq.Compute):
        return transform.window is None and not transform.is_aggregation and local_expr(transform.expr)
    return False


def root_table(query: rq.Query, tid: int) -> str | None:
    """The table whose rows table declaration `tid` keeps one by one (the prelude's `let`s wrap each table in a
    pipeline): its `__heddle_` name, or None when `tid` is not a row-local pipeline over one table."""
    relation = query.table(tid)
    if isinstance(relation.kind, rq.Extern):
        return relation.kind.name
    if not isinstance(relation.kind, rq.Pipeline) or not relation.kind.transforms:
        return None
    start = relation.kind.transforms[0]
    if not isinstance(start, rq.From):
        return None
    driver = root_table(query, start.table.source)
    if driver is None or not all(local_transform(t, query, driver) for t in relation.kind.transforms[1:]):
        return None
    return driver


def _reads(query: rq.Query, tid: int) -> set[str]:
    """The tables (`__heddle_` names) that table declaration `tid` reads, directly or not."""
    relation = query.table(tid)
    if isinstance(relation.kind, rq.Extern):
        return {relation.kind.name}
    if not isinstance(relation.kind, rq.Pipeline):
        return set()
    found: set[str] = set()
    for transform in relation.kind.transforms:
        if isinstance(transform, rq.From | rq.Join | rq.Append):
            found |= _reads(query, transform.table.source)
    return found


# --- two phases ------------------------------------------------------------------------------------


@record
class TwoPhases:
    """A block that aggregates in two phases: `driver` is the table cut into partitions (its `__heddle_` name)."""

    driver: str
    at: int  # the position of the `aggregate` in the main pipeline


def two_phases(query: rq.Query, inputs: Mapping[str, pl.LazyFrame]) -> TwoPhases | str:
    """Can the block aggregate in two phases exactly? Its split, or why not. `inputs` give the tables' types
    (empty frames do)."""
    pipeline = query.relation.kind
    if not isinstance(pipeline, rq.Pipeline) or not pipeline.transforms:
        return "its result is not a pipeline"
    transforms = pipeline.transforms
    at = next((i for i, t in enumerate(transforms) if isinstance(t, rq.Aggregate)), None)
    if at is None:
        return "it does not aggregate"
    start = transforms[0]
    driver = root_table(query, start.table.source) if isinstance(start, rq.From) else None
    if driver is None:
        return "it does not read the rows of one table first"
    for transform in transforms[1:at]:
        definition = isinstance(transform, rq.Compute) and transform.window is None and (
            transform.is_aggregation or contains_aggregate(transform.expr))
        if not definition and not local_transform(transform, query, driver):
            return "it is not row-local before its aggregation"
    _, state, aggregation, plain = _up_to_aggregate(query, at, inputs)
    for cid in aggregation.compute:
        reason = _combinable(state.definitions.get(cid, rq.ColumnRef(cid)), state, plain)
        if reason is not None:
            return reason
    return TwoPhases(driver, at)


def partial_query(query: rq.Query, split: TwoPhases, inputs: Mapping[str, pl.LazyFrame]) -> pl.LazyFrame:
    """Phase one over a partition of `split.driver` (in `inputs`): per group, the keys under their cids and
    each aggregate function's partial values (`#part<i>.<j>`)."""
    _, state, aggregation, plain = _up_to_aggregate(query, split.at, inputs)
    keys = [plain.lower(rq.ColumnRef(c)).alias(physical(c)) for c in aggregation.partition]
    partials: list[pl.Expr] = []
    count = [0]

    def partial(op: rq.Operator) -> pl.Expr | None:
        local = aggregate(op, plain)
        if local is not None:
            index, count[0] = count[0], count[0] + 1
            partials.extend(e.alias(f"#part{index}.{j}") for j, e in enumerate(partial_values(op, plain, _EXACT)))
        return local

    functions = Expressions(state.scope(), functions=partial)
    for cid in aggregation.compute:
        functions.lower(state.definitions.get(cid, rq.ColumnRef(cid)))
    return state.frame.group_by(keys).agg(partials) if keys else state.frame.select(partials)


def combined_query(query: rq.Query, split: TwoPhases, inputs: Mapping[str, pl.LazyFrame],
                   partials: pl.LazyFrame) -> tuple[Lowering, State]:
    """Phase two: the stacked `partials` of every partition combined per group, then the rest of the main
    pipeline. `inputs[split.driver]` gives the driver's types only (an empty frame). The lowering and the
    pipeline's final state (`Lowering.finish` makes the relation)."""
    lowering, state, aggregation, plain = _up_to_aggregate(query, split.at, inputs)
    schema = partials.collect_schema()
    scope = Scope(state.scope().columns, {**state.scope().schema, **dict(schema)}, state.definitions)
    count = [0]

    def combine(op: rq.Operator) -> pl.Expr | None:
        local = aggregate(op, plain)
        if local is None:
            return None
        index, count[0] = count[0], count[0] + 1
        columns = [pl.col(f"#part{index}.{j}") for j in range(len(partial_values(op, plain, _EXACT)))]
        return combined_value(op, plain, columns).cast(plain.dtype(local))

    functions = Expressions(scope, functions=combine)
    keys = [pl.col(physical(c)) for c in aggregation.partition]
    values = [functions.lower(state.definitions.get(cid, rq.ColumnRef(cid))).alias(physical(cid))
              for cid in aggregation.compute]
    state.frame = partials.group_by(keys).agg(values) if keys else partials.select(values)
    aggregated(state, aggregation)
    for transform in _transforms(query)[split.at + 1:]:
        lowering.transform(state, transform)
    return lowering, state


def _transforms(query: rq.Query) -> Sequence[rq.Transform]:
    pipeline = query.relation.kind
    assert isinstance(pipeline, rq.Pipeline)
    return pipeline.transforms


def _up_to_aggregate(query: rq.Query, at: int, inputs: Mapping[str, pl.LazyFrame],
                     ) -> tuple[Lowering, State, rq.Aggregate, Expressions]:
    """The main pipeline lowered up to its `aggregate` (at `at`): the lowering, its state, the aggregate, and
    expressions over the state's columns."""
    transforms = _transforms(query)
    lowering = Lowering(query, inputs)
    state = lowering.begin(transforms)
    for transform in transforms[1:at]:
        lowering.transform(state, transform)
    lowering.flush(state)  # as `transform` does before an aggregate
    aggregation = transforms[at]
    assert isinstance(aggregation, rq.Aggregate)
    return lowering, state, aggregation, Expressions(state.scope())


# --- the functions ---------------------------------------------------------------------------------


def _combinable(expr: rq.Expr, state: State, plain: Expressions) -> str | None:
    """Why `expr` (an aggregate's value) cannot be combined exactly, or None."""
    if isinstance(expr, rq.ColumnRef):
        definition = state.definitions.get(expr.cid)
        if definition is not None and expr.cid not in state.scope().columns:
            return _combinable(definition, state, plain)
        return "it reads a column outside an aggregate function"
    if isinstance(expr, rq.Operator):
        if expr.name in AGGREGATES:
            return inexact(expr, plain)
        items: Sequence[rq.Expr] = expr.args
    elif isinstance(expr, rq.Case):
        items = [e for pair in expr.cases for e in pair]
    elif isinstance(expr, rq.Array):
        items = expr.items
    elif isinstance(expr, rq.Lit):
        return None
    else:
        return "it holds what the engine does not combine"
    for item in items:
        reason = _combinable(item, state, plain)
        if reason is not None:
            return reason
    return None
