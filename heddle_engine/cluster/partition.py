"""Data parallelism on a cluster: which units may run per partition of their input, and what the plan shows.

A unit runs per partition when its work is row-local — each output row depends on its input row alone —
and its input is large (at least `Partitioning.rows`, or already partitioned by the unit before it):
- a relational unit whose blocks only filter, derive (no window, no aggregate function), select, and join
  other tables to their first (inner or left: each row of the first finds its matches alone) — the first
  table is cut, the joined ones go whole to every partition (a broadcast: they should be the small side);
- a step its plugin declares `rowwise=True`.
Partitions stay partitions from one row-local unit to the next (no data moves between them). A block that
aggregates them runs in two phases where that is exact (`heddle_lang.relational.lowering.phases`: counts,
sums and averages of integers, min/max of other than floats, all/any): the row-local blocks before it and its
partial aggregate per partition, the partials combined in one task. A unit that is not row-local (another
aggregation, a sort, a take, a join, a lookup, any other step) reads all partitions at once, put together in
the task that runs it — never on the driver. The plan (`heddle plan --stage exec --cluster`) says which, and
why an aggregation stays in one phase.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from heddle_engine.execute.functions import Callee, Functions, LoadError
from heddle_engine.execute.lower import ExecGraph, ExecPlan
from heddle_engine.execute.relational import split_of
from heddle_lang.plan import Node
from heddle_lang.records import record
from heddle_lang.relational import rq
from heddle_lang.relational.lowering.phases import TwoPhases, local_transform, root_table

DEFAULT_ROWS = 1_000_000

@record
class Partitioning:
    count: int  # partitions of a large input (0: the cluster's processors)
    rows: int = DEFAULT_ROWS  # inputs from this many rows are cut


def row_local(nodes: Iterable[Node]) -> bool:
    """Do these relational blocks (one unit, in order) each keep the rows of their first table apart (the
    previous block's output, after the first block)? The tables they join must not be partitioned too (the
    unit's first table, or an earlier block's output)."""
    found: Node | None = None
    partitioned: set[str] = set()
    for node in nodes:
        if node.kind != "relational" or node.program is None or not node.tables:
            return False
        first, *others = node.tables.values()
        if found is not None and first != found.id:
            return False
        partitioned |= {first, node.id}
        if any(source in partitioned for source in others):
            return False
        found = node
        try:
            query = rq.parse(node.program.rq)
        except rq.RqFormatError:
            return False
        if not _local_query(query):
            return False
    return found is not None


def aggregating(nodes: Sequence[Node], local: int) -> Node | None:
    """The block after the unit's `local` row-local ones, if it reads their partitions first and no other
    partitioned table: the one that may aggregate them in two phases."""
    if local >= len(nodes) or not nodes[local].tables:
        return None
    node, head = nodes[local], nodes[:local]
    driver = next(iter(nodes[0].tables.values()))
    first, *others = node.tables.values()
    if first != (head[-1].id if head else driver) or any(s == driver or s in {n.id for n in head} for s in others):
        return None
    return node


def _local_query(query: rq.Query) -> bool:
    """The block's relation keeps the rows of the table it reads first one by one."""
    pipeline = query.relation.kind
    if not isinstance(pipeline, rq.Pipeline) or not pipeline.transforms:
        return False
    start = pipeline.transforms[0]
    driver = root_table(query, start.table.source) if isinstance(start, rq.From) else None
    return driver is not None and all(local_transform(t, query, driver) for t in pipeline.transforms[1:])


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
    if unit.parts:  # a joint unit: on a cluster its chains run one by one
        return "; ".join(f"chain {' -> '.join(part)}: {_relational_placement(graph, [graph.node(n) for n in part])}"
                         for part in unit.parts)
    if first.kind == "relational":
        return _relational_placement(graph, nodes)
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
        return ("a lookup in the run's host, given the distinct keys of each partition of its driver; its table "
                "goes once to every partition that joins it")
    if not first.inputs:
        return "one task (a source)"
    return "per partition (a rowwise step)" if callee.rowwise else "in the run's host, all partitions (a step)"


def _relational_placement(graph: ExecGraph, nodes: list[Node]) -> str:
    local = next((k for k in range(len(nodes), 0, -1) if row_local(nodes[:k])), 0)
    if local == len(nodes):
        return "per partition of a large input (row-local)"
    node = aggregating(nodes, local)
    if node is None:
        return "one task over all partitions (not row-local)"
    split = split_of(node, lambda source: graph.node(source).output.to_polars())
    if isinstance(split, TwoPhases):
        where = "per partition of a large input (row-local), then" if local else "per partition of a large input:"
        return f"{where} the aggregation in two phases (partial per partition, combined in one task)"
    if split == "it does not aggregate":
        return "one task over all partitions (not row-local)"
    return f"one task over all partitions, one aggregation: {split}"
