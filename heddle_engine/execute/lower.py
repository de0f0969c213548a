"""Lowering: the typed plan → the execution DAG the executor schedules. Explicit and inspectable
(`heddle plan FILE --stage exec` prints it); nothing here runs.

A *unit* is what the executor schedules: one plan node, or several.

- **Fusion.** A relational block whose output only one other relational block reads is fused into it:
  the unit runs both SQL texts as one lazy Polars query (one `collect`), so the intermediate table is
  never materialised unless an observer asks for node outputs.
- **Lookups.** A step joined by a relational block (`from input | join fetch_user_data (==user_id)`)
  whose `@name` parameters are columns of the block's first table (its *driver*, usually `input`) is a
  lookup: it runs after the driver, once per distinct value of those columns (in batches), the values
  bound as real parameters. Its unit waits for the driver's unit.
- **Workflow parameters.** Every other `@name` a step's config refers to is a parameter of the run
  (`heddle run --param name=VALUE`).
- **Pushdown.** A database step (its function declares `pushdown=DIALECT`) read by one relational block
  only, not as a lookup, gets the block's pushable filters, projection and limit in its query
  (`heddle_lang.relational.pushdown`); the block still applies them, and reads typed null columns in
  place of the columns not fetched.
- **Streams.** A workflow with a stream source (a step declared `stream=True`) is a stream: `stream` names
  that node. The units downstream of it run once per batch, the others once per run (`stream_units`).
- **Scans.** A step whose output one relational unit alone reads (a file reader, say) may return a lazy
  table (`Table.scan`): its scan then becomes part of that unit's lazy query, so the block's projection and
  filters reach the file (`deferred`; the columns it reads are shown). Read by several relational units and
  nothing else, it stays a scan too (`shared`): each unit's query scans the file for what it reads, instead
  of the whole file being collected into memory for them. Read by anything else, it is collected once.
- **Joint scans.** A step whose lazy output several relational units alone read (`shared`: a file read by
  two blocks, say) joins those units into one *joint* unit, unless one of them reads another's output: its
  chains of blocks are one Polars plan run by one `collect_all`, which scans the file once (Polars caches
  the common scan) for the columns all of them read; a chain whose end only a writer reads streams into it
  (a sink, below: the writers hand their sink plans to that `collect_all`). Not in a stream (batches are
  scanned anew), and on a cluster its chains still run one by one.
- **Sinks.** A writer (a step declared `sink=True`, such as `io.write_parquet`) whose input is a relational
  unit's result that nothing else reads is that unit's sink (`sinks`): the unit gives the writer its lazy
  query instead of collecting it, so readers, blocks and writer are one Polars plan run by the streaming
  engine and the rows are written as they stream, never held in memory. Lineage records the last block's
  output as the file written (a copy of a Parquet file, else streamed from it), and a fused unit's earlier
  blocks stream into their lineage files within the same plan (collected only where lineage must scrub a
  secret). `heddle plan --stage exec` says so, and names for every unit what holds its rows in memory, if
  anything.
- **Replay.** Nodes that are not downstream of the node a replay starts from are `recorded` units: their
  outputs come from the recording instead of running them.

Units are listed in an order where every input comes first. Each handler is lowered the same way.
"""

from __future__ import annotations

import heapq
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import field
from typing import Any

from heddle_engine.catalog import EngineCatalog
from heddle_engine.execute.errors import SetupError
from heddle_engine.execute.functions import Callee, Functions, LoadError
from heddle_lang.plan import Graph, Node, Plan, duration_text
from heddle_lang.records import record
from heddle_lang.relational.pushdown import Pushed, columns_read, push
from heddle_lang.types import Schema

MAX_FUSED = 3  # relational blocks per fused unit (see `_groups`)


@record
class LookupSource:
    """Where a lookup step's parameter values come from."""

    consumer: str  # the relational node that joins the step
    driver: str  # the node whose rows give the values (the block's first table)
    keys: tuple[str, ...]  # parameters bound from the driver's columns of the same names


@record
class Pushdown:
    """A database step's query with what its only reader, a relational block, lets the database do."""

    step: str  # node id of the step
    consumer: str  # node id of the relational block
    table: str  # the block's name for the step
    pushed: Pushed

    def config(self, config: Mapping[str, object]) -> dict[str, object]:
        return {**config, "query": self.pushed.sql}

    def output(self, declared: Schema) -> Schema:
        """The step's output: the declared columns the query still returns."""
        return Schema(tuple(c for c in declared.columns if c.name in self.pushed.columns), declared.open)

    def missing(self, declared: Schema) -> dict[str, object]:
        """The declared columns not fetched, with their types (the block reads typed nulls)."""
        return {c.name: c.dtype for c in declared.columns if c.name not in self.pushed.columns}


@record
class Unit:
    id: str
    kind: str  # "node" | "fused" | "joint" | "lookup" | "recorded"
    nodes: tuple[str, ...]  # plan node ids, in the order they run
    inputs: tuple[str, ...] = ()  # ids of the units it waits for
    parts: tuple[tuple[str, ...], ...] = ()  # a joint unit's chains of blocks (each one unit before joining)

    @property
    def last(self) -> str:
        """The node whose output leaves the unit (a joint unit's last chain's)."""
        return self.nodes[-1]

    @property
    def outputs(self) -> tuple[str, ...]:
        """The nodes whose outputs leave the unit: the last node, or the last of each chain of a joint unit."""
        return tuple(part[-1] for part in self.parts) or (self.nodes[-1],)


@record
class ExecGraph:
    graph: Graph
    units: tuple[Unit, ...]
    lookups: Mapping[str, tuple[LookupSource, ...]] = field(default_factory=dict)  # step node id -> sources
    parameters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # node id -> workflow parameters
    unit_of: Mapping[str, str] = field(default_factory=dict)  # node id -> unit id
    consumers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # unit id -> units reading it
    placements: Mapping[str, str] = field(default_factory=dict)  # step node id -> the worker it runs in
    pushdowns: Mapping[str, Pushdown] = field(default_factory=dict)  # step node id -> its pushed query
    deferred: Mapping[str, str] = field(default_factory=dict)  # step node id -> the unit whose query scans it
    sinks: Mapping[str, str] = field(default_factory=dict)  # writer node id -> the unit whose query it writes
    shared: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # step node id -> the units that scan it
    _units: dict[str, Unit] = field(init=False, repr=False, compare=False)
    _nodes: dict[str, Node] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_units", {u.id: u for u in self.units})
        object.__setattr__(self, "_nodes", {n.id: n for n in self.graph.nodes})

    def unit(self, unit_id: str) -> Unit:
        return self._units[unit_id]

    def node(self, node_id: str) -> Node:
        return self._nodes[node_id]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.graph.name, "kind": self.graph.kind, "handler": self.graph.handler,
            "units": [{"id": u.id, "kind": u.kind, "nodes": list(u.nodes), "inputs": list(u.inputs)}
                      for u in self.units],
            "lookups": {step: [{"consumer": s.consumer, "driver": s.driver, "keys": list(s.keys)} for s in sources]
                        for step, sources in self.lookups.items()},
            "parameters": {node: list(names) for node, names in self.parameters.items()},
            "placements": dict(self.placements),
            "pushdowns": {step: {"consumer": p.consumer, "table": p.table, "query": p.pushed.sql,
                                 "columns": list(p.pushed.columns), "filters": p.pushed.filters,
                                 "limit": p.pushed.limit} for step, p in self.pushdowns.items()},
            "deferred": dict(self.deferred),
            "sinks": dict(self.sinks),
            "shared": {step: list(units) for step, units in self.shared.items()},
        }

    def is_read(self, node_id: str) -> bool:
        """Does any node read `node_id`'s output (as its input, or as a lookup's driver)?"""
        return any(node_id in n.inputs for n in self.graph.nodes) or any(
            s.driver == node_id for sources in self.lookups.values() for s in sources)

    def sink_of(self, unit_id: str) -> str | None:
        """The writer that writes the relational unit's lazy query as it streams, if it has one."""
        return next((writer for writer, unit in self.sinks.items() if unit == unit_id), None)

    def sinks_of(self, unit_id: str) -> dict[str, str]:
        """A unit's outputs that stream into a writer (a joint unit may have several): output node id -> writer."""
        return {self.node(writer).inputs[0]: writer for writer, unit in self.sinks.items() if unit == unit_id}


@record
class ExecPlan:
    workflow: ExecGraph
    handlers: Mapping[str, ExecGraph]
    errors: tuple[SetupError, ...] = ()
    stream: str | None = None  # the workflow's stream source (node id): the run goes batch by batch

    def stream_units(self) -> frozenset[str]:
        """The workflow's units that run once per batch: the stream source's and every unit downstream."""
        if self.stream is None:
            return frozenset()
        lowered = self.workflow
        found: set[str] = set()
        todo = [lowered.unit_of[self.stream]]
        while todo:
            unit = todo.pop()
            if unit not in found:
                found.add(unit)
                todo.extend(lowered.consumers.get(unit, ()))
        return frozenset(found)

    @property
    def graphs(self) -> list[ExecGraph]:
        return [self.workflow, *self.handlers.values()]

    def parameters(self) -> dict[str, list[tuple[str, str]]]:
        """Workflow parameter → the (graph, node id) that bind it, in order of first use."""
        found: dict[str, list[tuple[str, str]]] = {}
        for graph in self.graphs:
            for node_id, names in graph.parameters.items():
                for name in names:
                    found.setdefault(name, []).append((graph.graph.name, node_id))
        return found

    def explain(self, notes: Mapping[tuple[str, str], str] | None = None) -> str:
        """The DAG as text; `notes`: a line more under some units, by (graph, unit id) — where a cluster runs
        them (`heddle plan --stage exec --cluster`)."""
        lines: list[str] = []
        notes = notes or {}
        for exec_graph in self.graphs:
            graph = exec_graph.graph
            guard = f" ? {graph.handler}" if graph.handler else ""
            stream = " (a stream: batch by batch)" if graph.kind == "workflow" and self.stream else ""
            lines.append(f"{graph.kind} {graph.name}{guard}{stream}")
            for unit in exec_graph.units:
                nodes = [exec_graph.node(n) for n in unit.nodes]
                inputs = f" <- {', '.join(unit.inputs)}" if unit.inputs else ""
                if unit.kind == "joint":
                    chains = " | ".join(" -> ".join(part) for part in unit.parts)
                    lines.append(f"  {unit.id} [joint: {len(unit.parts)} chains of relational blocks sharing a scan, "
                                 f"one Polars plan]{inputs}")
                    lines.append(f"      chains: {chains} (one collect_all: the scan they share is read once)")
                elif unit.kind == "fused":
                    lines.append(f"  {unit.id} [fused: {len(nodes)} relational blocks, one lazy query]{inputs}")
                if unit.kind in ("joint", "fused"):
                    lines.extend(f"      {n.id} {n.label}  (line {n.line})" for n in nodes)
                    lines.append(f"      {_memory_text(exec_graph, unit)}")
                    if (graph.name, unit.id) in notes:
                        lines.append(f"      {notes[(graph.name, unit.id)]}")
                    continue
                node = nodes[0]
                kind = node.kind if unit.kind == "node" else f"{unit.kind} {node.kind}"
                trap = f" ? {node.handler}" if node.handler else ""
                kind = "stream source" if node.id == self.stream and exec_graph is self.workflow else kind
                lines.append(f"  {unit.id} [{kind}] {node.label}{inputs}{trap}  (line {node.line})")
                if node.id in exec_graph.placements:
                    lines.append(f"      runs in the worker {exec_graph.placements[node.id]}")
                for source in exec_graph.lookups.get(node.id, ()):
                    bound = ", ".join(f"@{k} <- {source.driver}.{k}" for k in source.keys)
                    lines.append(f"      lookup for {source.consumer}: {bound}")
                pushdown = exec_graph.pushdowns.get(node.id)
                if pushdown is not None:
                    lines.append(f"      pushdown from {pushdown.consumer}: {pushdown.pushed.describe()}")
                    lines.append(f"      query: {pushdown.pushed.sql}")
                if node.id in exec_graph.deferred:
                    lines.append(f"      {_scan_text(exec_graph, node.id)}")
                elif node.id in exec_graph.shared:
                    lines.append(f"      scanned inside the queries of {', '.join(exec_graph.shared[node.id])}, "
                                 "each reading what it needs of it (not collected into memory)")
                elif node.kind == "relational":
                    lines.append(f"      {_memory_text(exec_graph, unit)}")
                if node.id in exec_graph.sinks:
                    lines.append(f"      a sink: writes {exec_graph.sinks[node.id]}'s lazy query as it streams "
                                 "(lineage records the file written)")
                if node.id in exec_graph.parameters:
                    lines.append(f"      parameters: {', '.join('@' + p for p in exec_graph.parameters[node.id])}")
                if node.retry is not None:
                    lines.append(f"      retry: {node.retry.attempts} attempts, {node.retry.backoff} backoff")
                if node.timeout is not None:
                    lines.append(f"      timeout: {duration_text(node.timeout)} an attempt")
                if (graph.name, unit.id) in notes:
                    lines.append(f"      {notes[(graph.name, unit.id)]}")
            lines.append("")
        return "\n".join(lines)

    def to_json(self) -> str:
        data = {"graphs": [g.to_json() for g in self.graphs], "stream": self.stream,
                "parameters": {name: [f"{g}/{n}" for g, n in uses] for name, uses in self.parameters().items()},
                "errors": [{"code": e.code, "message": e.message} for e in self.errors]}
        return json.dumps(data, indent=2)


# --- lowering ---------------------------------------------------------------------------------------


def lower(plan: Plan, workflow: str, functions: Functions, *, start_from: str | None = None) -> ExecPlan:
    """The execution DAG of `workflow` and of every handler in `plan`. Problems are `errors`, not raised."""
    graph = plan.graph(workflow)
    if graph is None or graph.kind != "workflow":
        known = ", ".join(g.name for g in plan.workflows) or "none"
        raise KeyError(f"no workflow `{workflow}` (workflows: {known})")
    errors: list[SetupError] = []
    recorded: set[str] = set()
    if start_from is not None:
        if all(n.id != start_from for n in graph.nodes):
            errors.append(SetupError("HR3001", f"workflow `{workflow}` has no node `{start_from}` to replay from"))
        else:
            lookups = _lookups(graph, {n.id: n for n in graph.nodes}, functions.catalog)
            recorded = _not_downstream(graph, start_from, lookups)
    lowered = _lower_graph(graph, functions, recorded, errors)
    handlers = {g.name: _lower_graph(g, functions, set(), errors) for g in plan.handlers}
    stream = _stream_source(lowered, handlers.values(), functions.catalog, recorded, errors)
    return ExecPlan(lowered, handlers, tuple(errors), stream)


def _stream_source(workflow: ExecGraph, handlers: Iterable[ExecGraph], catalog: EngineCatalog, recorded: set[str],
                   errors: list[SetupError]) -> str | None:
    """The workflow's stream source, if it has one (a replay reads a recorded source as a table: no stream)."""
    for handler in handlers:
        for node in _stream_sources(handler.graph, catalog):
            errors.append(SetupError("HR2006", f"`{node.label}` is a stream source: it can start a workflow, not "
                                     f"run in handler `{handler.graph.name}`", node.span))
    found = [n for n in _stream_sources(workflow.graph, catalog) if n.id not in recorded]
    for node in found:
        if node.id in workflow.placements:
            errors.append(SetupError("HR2006", f"`{node.label}` is a stream source: it runs in the engine's process, "
                                     f"not in the worker {workflow.placements[node.id]}", node.span))
    if len(found) > 1:
        where = ", ".join(f"`{n.label}` (line {n.line})" for n in found)
        errors.append(SetupError("HR2006", f"workflow `{workflow.graph.name}` has several stream sources ({where}): "
                                 "a stream starts from one", found[1].span))
    return found[0].id if found else None


def _stream_sources(graph: Graph, catalog: EngineCatalog) -> list[Node]:
    """The graph's steps whose functions are stream sources."""
    found = []
    for node in graph.nodes:
        if node.kind not in ("step", "call") or node.module is None or node.function is None:
            continue
        module = catalog.module(node.module)
        spec = module.functions.get(node.function) if module is not None else None
        if spec is not None and spec.stream:
            found.append(node)
    return found


def _lower_graph(graph: Graph, functions: Functions, recorded: set[str], errors: list[SetupError]) -> ExecGraph:
    nodes = {n.id: n for n in graph.nodes}
    lookups = _lookups(graph, nodes, functions.catalog)
    readers = _readers(graph, lookups)
    for step, sources in lookups.items():
        others = [r for r in readers[step] if r not in {s.consumer for s in sources}]
        if others:
            node = nodes[step]
            readers_text = ", ".join(f"`{nodes[r].label}` (line {nodes[r].line})" for r in others)
            errors.append(SetupError(
                "HR2001", f"`{node.label}` is joined as a lookup (its @{', @'.join(sources[0].keys)} bound from "
                f"the joining rows) but also read as a whole table by {readers_text}: use two steps", node.span))
    parameters = _parameters(graph, functions, lookups, errors)
    groups = _groups(graph, nodes, readers, recorded)
    units = _units(graph, nodes, groups, lookups=lookups, recorded=recorded, errors=errors)
    unit_of = {node: unit.id for unit in units for node in unit.nodes}
    consumers: dict[str, list[str]] = defaultdict(list)
    for unit in units:
        for source in unit.inputs:
            consumers[source].append(unit.id)
    placements = _placements(graph, functions.catalog)
    deferred, shared = _deferred(nodes, units, unit_of, consumers, lookups=lookups, recorded=recorded)
    if shared and not any(n.id not in recorded for n in _stream_sources(graph, functions.catalog)):
        units = _joined(graph, nodes, units, shared, consumers, errors=errors)
        unit_of = {node: unit.id for unit in units for node in unit.nodes}
        consumers = defaultdict(list)
        for unit in units:
            for source in unit.inputs:
                consumers[source].append(unit.id)
        deferred, shared = _deferred(nodes, units, unit_of, consumers, lookups=lookups, recorded=recorded)
    return ExecGraph(graph, units, lookups, parameters, unit_of, {k: tuple(v) for k, v in consumers.items()},
                     placements,
                     _pushdowns(graph, nodes, readers, lookups=lookups, recorded=recorded, catalog=functions.catalog),
                     deferred=deferred, shared=shared,
                     sinks=_sinks(nodes, units, unit_of, consumers, functions, recorded=recorded,
                                  placements=placements, readers=readers))


def _deferred(nodes: Mapping[str, Node], units: Iterable[Unit], unit_of: Mapping[str, str],
              consumers: Mapping[str, list[str]], *, lookups: Mapping[str, tuple[LookupSource, ...]],
              recorded: set[str]) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Steps whose lazy output may become part of the query of the one relational unit that reads it, and
    those read by several relational units and nothing else (each unit's query scans it)."""
    first = {u.id: nodes[u.nodes[0]] for u in units}
    found: dict[str, str] = {}
    shared: dict[str, tuple[str, ...]] = {}
    for node in nodes.values():
        if node.kind not in ("step", "call") or node.id in recorded or node.id in lookups:
            continue
        readers = consumers.get(unit_of[node.id], [])
        if not readers or any(first[r].kind != "relational" for r in readers):
            continue
        if len(readers) == 1:
            found[node.id] = readers[0]
        else:
            shared[node.id] = tuple(readers)
    return found, shared


def _joined(graph: Graph, nodes: Mapping[str, Node], units: tuple[Unit, ...], shared: Mapping[str, tuple[str, ...]],
            consumers: Mapping[str, list[str]], *, errors: list[SetupError]) -> tuple[Unit, ...]:
    """The units with those that share a scan joined (`shared`: a step's lazy output that several relational units
    alone read): one joint unit each, whose chains run as one Polars plan, so the file is read once. Units of
    which one reads another's output (through any path) stay apart: joined, they would wait for themselves."""
    by_id = {u.id: u for u in units}
    below: dict[str, set[str]] = {}

    def downstream(unit_id: str) -> set[str]:
        if unit_id not in below:
            found: set[str] = set()
            for reader in consumers.get(unit_id, ()):
                found |= {reader, *downstream(reader)}
            below[unit_id] = found
        return below[unit_id]

    group_of: dict[str, list[str]] = {}
    for readers in shared.values():
        if any(by_id[r].kind not in ("node", "fused") for r in readers):
            continue
        candidate = sorted({m for r in readers for m in group_of.get(r, [r])}, key=[u.id for u in units].index)
        if any(b in downstream(a) for a in candidate for b in candidate if a != b):
            continue
        for member in candidate:
            group_of[member] = candidate
    if not group_of:
        return units
    order = {n.id: i for i, n in enumerate(graph.nodes)}
    joint_of: dict[str, str] = {}
    made: list[Unit] = []
    for unit in units:
        group = group_of.get(unit.id)
        if group is None:
            made.append(unit)
        elif unit.id == group[0]:
            members = [by_id[m] for m in group]
            inside = tuple(sorted((n for m in members for n in m.nodes), key=order.__getitem__))
            joint = "+".join(inside)
            joint_of.update(dict.fromkeys(group, joint))
            made.append(Unit(joint, "joint", inside,
                             tuple(dict.fromkeys(i for m in members for i in m.inputs)),
                             tuple(sorted((m.nodes for m in members), key=lambda part: order[part[0]]))))
    remapped = [Unit(u.id, u.kind, u.nodes,
                     tuple(dict.fromkeys(joint_of.get(i, i) for i in u.inputs if joint_of.get(i) != u.id)), u.parts)
                for u in made]
    return _topological(graph, nodes, remapped, errors)


def _sinks(nodes: Mapping[str, Node], units: Iterable[Unit], unit_of: Mapping[str, str],
           consumers: Mapping[str, list[str]], functions: Functions, *, recorded: set[str],
           placements: Mapping[str, str], readers: Mapping[str, list[str]]) -> dict[str, str]:
    """Writers that may write the lazy query of the relational unit before them: the unit's last node is the
    writer's input and nothing else reads it (of a joint unit: the last node of one of its chains, which nothing
    else reads); the writer runs here, once (no retry, no timeout: a query that streams into a file is not cut
    short or run again half-way)."""
    by_id = {u.id: u for u in units}
    found: dict[str, str] = {}
    for node in nodes.values():
        if (node.kind not in ("step", "call") or node.id in recorded or node.id in placements or len(node.inputs) != 1
                or node.retry is not None or node.timeout is not None or node.module is None or node.function is None):
            continue
        source = by_id[unit_of[node.inputs[0]]]
        if source.kind == "joint":
            if node.inputs[0] not in source.outputs or readers.get(node.inputs[0]) != [node.id]:
                continue
        elif (source.kind not in ("node", "fused") or nodes[source.last].kind != "relational"
                or source.last != node.inputs[0] or consumers.get(source.id) != [unit_of[node.id]]):
            continue
        try:
            callee = functions.step(node.module, node.function)
        except LoadError:
            continue  # reported when it runs
        if isinstance(callee, Callee) and callee.sink:
            found[node.id] = source.id
    return found


def _scan_text(exec_graph: ExecGraph, step: str) -> str:
    """Which unit's query scans the step's lazy output, and the columns its blocks read (what is left of the
    file after projection), when the checker can tell."""
    unit = exec_graph.unit(exec_graph.deferred[step])
    read: set[str] = set()
    for node_id in unit.nodes:
        node = exec_graph.node(node_id)
        if node.program is None:
            return f"scanned inside {unit.id}'s query"
        for table, source in node.tables.items():
            if source == step:
                columns = columns_read(node.program, table)
                if columns is None:
                    return f"scanned inside {unit.id}'s query (its projection and filters pushed into the scan)"
                read |= columns
    return f"scanned inside {unit.id}'s query, which reads {', '.join(sorted(read)) or 'no column'} of it"


def _memory_text(exec_graph: ExecGraph, unit: Unit) -> str:
    """Where a relational unit's result goes: streamed into a sink's file, or collected into memory, and
    which stage makes it so (a larger-than-memory workflow completes only along sinks)."""
    if unit.parts:
        return "; ".join(f"{part[-1]}: {_end_text(exec_graph, unit, part[-1])}" for part in unit.parts)
    writer = exec_graph.sink_of(unit.id)
    if writer is not None:
        return (f"streams into `{exec_graph.node(writer).label}` (Polars' streaming engine): its result is "
                "never all in memory")
    readers = [exec_graph.node(exec_graph.unit(r).nodes[0]) for r in exec_graph.consumers.get(unit.id, ())]
    if not readers:
        return "collected into memory: it is the workflow's result"
    named = ", ".join(f"`{r.label}` (line {r.line})" for r in readers)
    return f"collected into memory for {named}: the stage that materialises it"


def _end_text(exec_graph: ExecGraph, unit: Unit, end: str) -> str:
    """Where the output of one chain of a joint unit goes."""
    writer = exec_graph.sinks_of(unit.id).get(end)
    if writer is not None:
        return f"streams into `{exec_graph.node(writer).label}`, never all in memory"
    readers = [n for n in exec_graph.graph.nodes if end in n.inputs]
    if not readers:
        return "collected into memory: a result of the workflow"
    return f"collected into memory for {', '.join(f'`{r.label}` (line {r.line})' for r in readers)}"


def _placements(graph: Graph, catalog: EngineCatalog) -> dict[str, str]:
    """The step nodes whose module `heddle.toml` maps to a worker, and where that worker is."""
    workers = catalog.workers
    if workers is None:
        return {}
    return {n.id: workers.where(n.module) for n in graph.nodes
            if n.kind in ("step", "call") and n.module is not None and n.module in workers}


def _pushdowns(graph: Graph, nodes: Mapping[str, Node], readers: Mapping[str, list[str]], *,
               lookups: Mapping[str, tuple[LookupSource, ...]], recorded: set[str],
               catalog: EngineCatalog) -> dict[str, Pushdown]:
    found: dict[str, Pushdown] = {}
    for node in graph.nodes:
        if node.kind != "relational" or node.program is None or node.id in recorded:
            continue
        for table, source in node.tables.items():
            step = nodes[source]
            if step.kind != "step" or source in lookups or source in recorded or readers.get(source) != [node.id]:
                continue
            module = catalog.module(step.module) if step.module is not None else None
            spec = module.functions.get(step.function) if module is not None and step.function else None
            query = step.config.get("query")
            if spec is None or spec.pushdown is None or not isinstance(query, str):
                continue
            pushed = push(node.program, table, step.output, spec.pushdown, query)
            if pushed is not None:
                found[source] = Pushdown(source, node.id, table, pushed)
    return found


def _function_parameters(node: Node, catalog: EngineCatalog) -> tuple[str, ...]:
    if node.kind not in ("step", "call") or node.module is None or node.function is None:
        return ()
    module = catalog.module(node.module)
    spec = module.functions.get(node.function) if module is not None else None
    return spec.parameters_for(node.config) if spec is not None else ()


def _lookups(graph: Graph, nodes: Mapping[str, Node], catalog: EngineCatalog) -> dict[str, tuple[LookupSource, ...]]:
    found: dict[str, list[LookupSource]] = defaultdict(list)
    for node in graph.nodes:
        if node.kind != "relational" or len(node.tables) < 2:
            continue
        driver_id = next(iter(node.tables.values()))
        driver = nodes[driver_id].output
        for table_id in list(node.tables.values())[1:]:
            joined = nodes[table_id]
            if joined.kind != "step" or table_id == driver_id:
                continue
            keys = tuple(p for p in _function_parameters(joined, catalog) if p in driver)
            if keys:
                found[table_id].append(LookupSource(node.id, driver_id, keys))
    return {step: tuple(sources) for step, sources in found.items()}


def _readers(graph: Graph, lookups: Mapping[str, tuple[LookupSource, ...]]) -> dict[str, list[str]]:
    """Node id → the nodes that read its output (lookups read their drivers)."""
    readers: dict[str, list[str]] = defaultdict(list)
    for node in graph.nodes:
        for source in node.inputs:
            readers[source].append(node.id)
    for step, sources in lookups.items():
        for source in sources:
            if step not in readers[source.driver]:
                readers[source.driver].append(step)
    return readers


def _parameters(graph: Graph, functions: Functions, lookups: Mapping[str, tuple[LookupSource, ...]],
                errors: list[SetupError]) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for node in graph.nodes:
        names = _function_parameters(node, functions.catalog)
        bound = {k for source in lookups.get(node.id, ()) for k in source.keys}
        free = tuple(n for n in names if n not in bound)
        if free:
            found[node.id] = free
        if names and not _accepts_parameters(node, functions):
            errors.append(SetupError(
                "HR2002", f"`{node.label}` refers to @{', @'.join(names)}, but its function accepts no keyword "
                "arguments to bind them to (give it a `**parameters` argument)", node.span))
    return found


def _accepts_parameters(node: Node, functions: Functions) -> bool:
    assert node.module is not None and node.function is not None
    try:
        return functions.step(node.module, node.function).takes_parameters
    except LoadError:
        return True  # reported when the node runs, with the reason


def _not_downstream(graph: Graph, start: str, lookups: Mapping[str, tuple[LookupSource, ...]]) -> set[str]:
    readers = _readers(graph, lookups)
    downstream = {start}
    stack = [start]
    while stack:
        for reader in readers.get(stack.pop(), ()):
            if reader not in downstream:
                downstream.add(reader)
                stack.append(reader)
    return {n.id for n in graph.nodes} - downstream


def _groups(graph: Graph, nodes: Mapping[str, Node], readers: Mapping[str, list[str]],
            recorded: set[str]) -> list[list[str]]:
    """Nodes in plan order, grouped: a relational block read only by another one joins its group (up to
    `MAX_FUSED` blocks: Polars plans nested SQL common table expressions in a time that grows
    exponentially with their depth, so a longer chain is cut into several fused units)."""
    group_of: dict[str, list[str]] = {}
    groups: list[list[str]] = []
    for node in graph.nodes:
        group: list[str] | None = None
        if node.kind == "relational" and node.id not in recorded:
            for source in node.inputs:
                upstream = nodes[source]
                if (upstream.kind == "relational" and source not in recorded and readers.get(source) == [node.id]
                        and source in group_of and len(group_of[source]) + len(group or ()) < MAX_FUSED):
                    previous = group_of[source]
                    if group is None:
                        group = previous
                    elif previous is not group:  # two fused branches meet: one group
                        group.extend(previous)
                        for member in previous:
                            group_of[member] = group
                        groups.remove(previous)
        if group is None:
            group = []
            groups.append(group)
        group.append(node.id)
        group_of[node.id] = group
    order = {n.id: i for i, n in enumerate(graph.nodes)}
    return [sorted(g, key=order.__getitem__) for g in groups]


def _units(graph: Graph, nodes: Mapping[str, Node], groups: list[list[str]], *,
           lookups: Mapping[str, tuple[LookupSource, ...]], recorded: set[str],
           errors: list[SetupError]) -> tuple[Unit, ...]:
    unit_id = {node: "+".join(group) for group in groups for node in group}
    made: list[Unit] = []
    for group in groups:
        first = nodes[group[0]]
        if group[0] in recorded:
            kind = "recorded"
        elif len(group) > 1:
            kind = "fused"
        elif group[0] in lookups:
            kind = "lookup"
        else:
            kind = "node"
        needs: list[str] = []
        if kind != "recorded":
            members = set(group)
            sources: Iterable[str] = [s for n in group for s in nodes[n].inputs]
            sources = [*sources, *(s.driver for s in lookups.get(first.id, ()))]
            for source in sources:
                if unit_id[source] not in needs and source not in members:
                    needs.append(unit_id[source])
        made.append(Unit(unit_id[group[0]], kind, tuple(group), tuple(needs)))
    return _topological(graph, nodes, made, errors)


def _topological(graph: Graph, nodes: Mapping[str, Node], units: list[Unit],
                 errors: list[SetupError]) -> tuple[Unit, ...]:
    """Units in plan order where possible, every unit after those it reads."""
    position = {u.id: i for i, u in enumerate(units)}
    waiting = {u.id: len(u.inputs) for u in units}
    readers: dict[str, list[Unit]] = defaultdict(list)
    for unit in units:
        for source in unit.inputs:
            readers[source].append(unit)
    ready = [(position[u.id], u) for u in units if not u.inputs]
    heapq.heapify(ready)
    ordered: list[Unit] = []
    while ready:
        _, unit = heapq.heappop(ready)
        ordered.append(unit)
        for reader in readers[unit.id]:
            waiting[reader.id] -= 1
            if waiting[reader.id] == 0:
                heapq.heappush(ready, (position[reader.id], reader))
    if len(ordered) < len(units):
        remaining = [u for u in units if u not in ordered]
        names = ", ".join(nodes[u.nodes[0]].label for u in remaining)
        errors.append(SetupError("HR2004", f"lookups of {graph.kind} `{graph.name}` wait for each other in a "
                                 f"cycle: {names}"))
        return (*ordered, *remaining)
    return tuple(ordered)
