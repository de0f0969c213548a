"""Data parallelism on a cluster: which units may run per partition of their input, and what the plan shows.

A unit runs per partition when its work is row-local — each output row depends on its input row alone —
and its input is large (at least `Partitioning.rows`, or already partitioned by the unit before it):
- a relational unit whose blocks only filter, derive (no window, no aggregate function), select, and join
  other tables to their first (inner or left: each row of the first finds its matches alone) — the first
  table is cut, the joined ones go whole to every partition (a broadcast: they should be the small side);
- a step its plugin declares `rowwise=True`.
Partitions stay partitions from one row-local unit to the next (no data moves between them); a unit that
is not row-local (an aggregation, a sort, a take, a join, a lookup, any other step) reads all partitions at
once, put together in the task that runs it — never on the driver. Aggregations run in one task over the
partitions (not in two phases yet: see the benchmark's notes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from heddle_engine.execute.functions import Callee, Functions, LoadError
from heddle_engine.execute.lower import ExecGraph, ExecPlan
from heddle_lang.plan import Node
from heddle_lang.relational import rq

DEFAULT_ROWS = 1_000_000

# operators that read other rows than their own (aggregates, ranks, offsets)
_ACROSS_ROWS = frozenset({
    "std.sum", "std.count", "std.count_distinct", "std.average", "std.min", "std.max", "std.stddev",
    "std.median", "std.any", "std.every", "std.concat_array", "std.row_number", "std.rank", "std.rank_dense",
    "std.rank_percent", "std.lag", "std.lead", "std.first", "std.last", "std.nth_value",
})


@dataclass(frozen=True, slots=True)
class Partitioning:
    count: int  # partitions of a large input (0: the cluster's processors)
    rows: int = DEFAULT_ROWS  # inputs from this many rows are cut


def row_local(nodes: Iterable[Node]) -> bool:
    """Do these relational blocks (one unit, in order) each keep the rows of their first table apart (the
    previous block's output, after the first block)?"""
    found: Node | None = None
    for node in nodes:
        if node.kind != "relational" or node.program is None or not node.tables:
            return False
        if found is not None and next(iter(node.tables.values())) != found.id:
            return False
        found = node
        try:
            query = rq.parse(node.program.rq)
        except rq.RqFormatError:
            return False
        if not _local_query(query):
            return False
    return found is not None


def _local_query(query: rq.Query) -> bool:
    """The block's relation and every table it declares (the prelude's `let`s) are row-local pipelines."""
    return all(isinstance(r.kind, rq.Extern) or _local_relation(r) for _, r in query.tables) and \
        _local_relation(query.relation)


def _local_relation(relation: rq.Relation) -> bool:
    pipeline = relation.kind
    if not isinstance(pipeline, rq.Pipeline) or not pipeline.transforms:
        return False
    start = pipeline.transforms[0]
    for transform in pipeline.transforms:
        if (isinstance(transform, rq.Join) and transform.side in ("inner", "left") and isinstance(start, rq.From)
                and transform.table.source != start.table.source and _local_expr(transform.condition)):
            continue
        if isinstance(transform, rq.From | rq.Select):
            continue
        if isinstance(transform, rq.Filter) and _local_expr(transform.expr):
            continue
        if (isinstance(transform, rq.Compute) and transform.window is None and not transform.is_aggregation
                and _local_expr(transform.expr)):
            continue
        return False
    return True


def _local_expr(expr: object) -> bool:
    if isinstance(expr, rq.Operator):
        return expr.name not in _ACROSS_ROWS and all(_local_expr(a) for a in expr.args)
    if isinstance(expr, rq.Case):
        return all(_local_expr(c) and _local_expr(v) for c, v in expr.cases)
    if isinstance(expr, rq.Array):
        return all(_local_expr(item) for item in expr.items)
    if isinstance(expr, rq.SString):
        return False  # SQL text: what it reads is not known
    return isinstance(expr, rq.ColumnRef | rq.Lit | rq.Param)


def placements(plan: ExecPlan, functions: Functions) -> dict[tuple[str, str], str]:
    """Where a cluster runs each unit, and whether per partition: `cluster: ...` lines of the plan."""
    return {(g.graph.name, unit.id): f"cluster: {_placement(g, unit.id, functions)}"
            for g in plan.graphs for unit in g.units}


def _placement(graph: ExecGraph, unit_id: str, functions: Functions) -> str:
    unit = graph.unit(unit_id)
    nodes = [graph.node(n) for n in unit.nodes]
    first = nodes[0]
    if unit.kind == "recorded":
        return "from the recording (on the driver)"
    if first.kind == "relational":
        return ("per partition of a large input (row-local)" if row_local(nodes)
                else "one task over all partitions (not row-local)")
    if first.kind == "dataframe":
        return "on the driver (rows written in the program)"
    if first.kind == "error_context":
        return "on the driver (the failure's rows)"
    try:
        callee = functions.step(first.module or "", first.function or "")
    except LoadError:
        return "not known (the module does not load)"
    if not isinstance(callee, Callee):
        return "in its worker (heddle.toml)"
    if callee.placement == "driver":
        return 'on the driver (placement="driver")'
    if unit.kind == "lookup":
        return "in the run's host next to the joining rows (a lookup, all partitions)"
    if not first.inputs:
        return "one task (a source)"
    return "per partition (a rowwise step)" if callee.rowwise else "in the run's host, all partitions (a step)"
