"""`RayPlacement`: the executor's units placed on a Ray cluster.

- A relational unit is a Ray task over its inputs' object refs (Ray runs it near them); a row-local unit over
  a partitioned input runs as one task per partition (`partition.py`).
- A step call happens in the run's host actor (`host.py`) on the node that holds its input: one host per
  node and run, made on first use, holding the run's resources on that node and the plugin versions the
  run shipped. A step that declares `placement="driver"` (the console, this machine's files) and a module
  served by a Flight worker stay where they would run without a cluster.
- Outputs stay in the object store (`PlacedData`): the driver gets rows and schema only. What it fetches
  or puts is counted (`traffic`).

A process that dies under a unit (a killed worker, a lost node) is `UnitLost`: the executor attempts the
unit again (`retry.py`), on a new host. An interrupted run cancels what runs (`UnitCancelled`). A step call that
overruns its `timeout` is stopped: Ray cannot interrupt a running call of an actor, so its host is ended (a call
of another stage running in that host at that moment is lost with it, and attempted again) and the attempt
fails with `StepTimeoutError`, where the call was when its time ran out as its stack; a lookup's calls are timed
in the host, and a host left running an overrunning one is ended the same way.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from heddle.core.table import RowErrors, Table
from heddle_engine.catalog import EngineCatalog
from heddle_engine.cluster import tasks
from heddle_engine.cluster.data import Frame, PlacedData, Traffic
from heddle_engine.cluster.host import StepHost
from heddle_engine.cluster.output import echo
from heddle_engine.cluster.partition import Partitioning, aggregating, row_local
from heddle_engine.cluster.session import ClusterUnavailable, connect
from heddle_engine.execute import relational
from heddle_engine.execute.data import Data
from heddle_engine.execute.errors import NotATableError, SetupError, StepTimeoutError, UnitCancelled, UnitLost
from heddle_engine.execute.lookups import LookupSource
from heddle_engine.workers.jit import shipped
from heddle_lang.plan import Node, duration_text
from heddle_lang.relational.lowering.phases import TwoPhases

POLL_SECONDS = 0.2
CLOSE_SECONDS = 30.0
STACK_SECONDS = 5.0  # how long an overrunning call's host has to say where the call is


class ClusterStepError(Exception):
    """A unit's work raised on the cluster: its class (and base classes, for `retry on:`), message, trace."""

    def __init__(self, error: Mapping[str, Any], payload: pa.Table | None = None) -> None:
        super().__init__(error["message"])
        self.type_name = error["type"]
        self.stack_trace = error["trace"]
        self.kinds = tuple(error["kinds"])
        self.payload = payload  # a lookup's keys not done yet


class _Overran(Exception):  # noqa: N818 - a call past its deadline
    pass


class RayPlacement:
    def __init__(self, address: str, catalog: EngineCatalog, run_id: str, folder: Path,
                 partitioning: Partitioning | None = None) -> None:
        self.address = address
        self.partitioning = partitioning or Partitioning(0)
        self.catalog = catalog
        self.run_id = run_id
        self.folder = str(folder.resolve())
        self.traffic = Traffic()
        self.cancelled = threading.Event()
        self.partitions: dict[str, int] = {}  # node id -> partitions it ran in
        self.two_phases: set[str] = set()  # node ids whose aggregation ran in two phases
        self.versions: dict[str, str] = {}  # import path -> digest of the source shipped
        self._ray: Any = None
        self._modules: Any = None  # ref of the shipped sources
        self._hosts: dict[str, Any] = {}  # node id -> host actor
        self._lookup_hosts: dict[str, Any] = {}  # lookup key -> the host keeping its progress
        self._nodes: list[str] = []
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._remote: dict[str, Any] = {}

    # --- the run ------------------------------------------------------------------------------------

    def start(self, nodes: Sequence[Node]) -> list[SetupError]:
        """Connect, ship the project's plugin modules the nodes use; the problems that keep the run from
        starting."""
        try:
            self._ray = connect(self.address)
        except ClusterUnavailable as unavailable:
            return [unavailable.error]
        ray = self._ray
        self._nodes = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
        if self.partitioning.count <= 0:  # as many partitions as the cluster has processors
            cpus = int(ray.cluster_resources().get("CPU", 1))
            self.partitioning = Partitioning(max(1, cpus), self.partitioning.rows)
        paths = {n.module for n in nodes if n.kind in ("step", "call") and n.module}
        paths |= {r.module for n in nodes if n.module in paths for r in n.resources}
        modules = [s for s in (shipped(self.catalog, p) for p in sorted(paths)) if s is not None]
        self.versions = {m.path: m.digest for m in modules}
        self._modules = ray.put([m.to_data() for m in modules])
        self._remote = {
            "relational": ray.remote(max_retries=0)(tasks.run_relational),
            "split": ray.remote(max_retries=0)(tasks.split),
            "concat": ray.remote(max_retries=0)(tasks.concat),
            "keys": ray.remote(max_retries=0)(tasks.distinct_keys),
            "host": ray.remote(max_restarts=0, max_task_retries=0)(StepHost),
        }
        if modules:  # a plugin that does not import on the cluster refuses the run before anything runs
            try:
                self._host(self._nodes[0] if self._nodes else None)
            except ClusterStepError as error:
                return [SetupError("HR2007", f"the Ray cluster at {self.address} cannot take this run's "
                                             f"plugins: {error}")]
        return []

    def close(self) -> list[str]:
        """Close the run's resources on every host and end the hosts; what did not close."""
        problems: list[str] = []
        with self._lock:
            hosts, self._hosts = list(self._hosts.values()), {}
            self._lookup_hosts.clear()
        if not hosts:
            return problems
        ray = self._ray
        closing = [host.close.remote() for host in hosts]
        for host, ref in zip(hosts, closing, strict=True):
            try:
                problems.extend(ray.get(ref, timeout=CLOSE_SECONDS))
            except Exception as error:  # a host that died or hangs: nothing more to close there
                problems.append(f"a host of the run on the cluster did not close: {type(error).__name__}: {error}")
            ray.kill(host)
        return problems

    # --- units --------------------------------------------------------------------------------------

    def relational(self, nodes: Sequence[Node], inputs: Mapping[str, Data], *, every: bool,
                   pads: Mapping[str, Mapping[str, object]]) -> dict[str, Data | None]:
        driver = next(iter(nodes[0].tables.values()), None)
        local = next((k for k in range(len(nodes), 0, -1) if row_local(nodes[:k])), 0)
        split = self._split(nodes, local, inputs, pads)
        if driver in inputs and (local or split is not None):
            parts = self._partitions(inputs[driver])
            if len(parts) > 1 and split is not None:
                return self._two_phases(nodes, local, split, inputs, parts, every=every, pads=pads)
            if len(parts) > 1:  # the row-local blocks per partition, the rest (fused after them) over all
                head, tail = nodes[:local], nodes[local:]
                read = {s for n in head for s in n.tables.values()}
                others = {k: v for k, v in inputs.items() if k != driver and k in read}
                inside = {n.id for n in tail}
                wanted = dict.fromkeys(s for n in tail for s in n.tables.values() if s not in inside)
                earlier = any(s in {n.id for n in head[:-1]} for s in wanted)
                found = self._relational_parts(head, driver, parts, others, every=every or earlier, pads=pads)
                if not tail:
                    return found
                given = {s: inputs[s] if s in inputs else found[s] for s in wanted}
                return {**found, **self.relational(tail, {k: v for k, v in given.items() if v is not None},
                                                   every=every, pads=pads)}
        return self._relational_task(nodes, inputs, every=every, pads=pads)

    def _relational_task(self, nodes: Sequence[Node], inputs: Mapping[str, Data], *, every: bool,
                         pads: Mapping[str, Mapping[str, object]], phase: tasks.Phase | None = None,
                         partials: Sequence[Any] = ()) -> dict[str, Data | None]:
        """Blocks in one task over all the partitions of their inputs (phase two of an aggregation: the
        `partials` of every partition too)."""
        layout, args = self._layout(inputs)
        if partials:
            layout, args = [*layout, (tasks.PARTIALS, len(partials))], [*args, *partials]
        refs = self._remote["relational"].options(num_returns=1 + len(nodes)).remote(
            list(nodes), every, dict(pads), self.folder, phase, layout, *args)
        meta = self._wait(refs[0], refs, task=True)
        if "error" in meta:
            raise ClusterStepError(meta["error"])
        found: dict[str, Data | None] = {}
        for node, shape, ref in zip(nodes, meta["outputs"], refs[1:], strict=True):
            found[node.id] = None if shape is None else PlacedData([ref], [shape[0]], shape[1], self._fetch)
        return found

    def _split(self, nodes: Sequence[Node], local: int, inputs: Mapping[str, Data],
               pads: Mapping[str, Mapping[str, object]]) -> TwoPhases | None:
        """How the block after the row-local ones aggregates in two phases over their partitions, if it can."""
        node = aggregating(nodes, local)
        if node is None:
            return None
        head = nodes[:local]

        def outside(source: str) -> dict[str, pl.DataType]:
            return {**inputs[source].columns(), **pads.get(source, {})}  # type: ignore[dict-item]

        planned = relational.output_columns(head, outside) if head else {}
        found = relational.split_of(node, lambda s: planned[s] if s in planned else outside(s))
        return found if isinstance(found, TwoPhases) else None

    def _two_phases(self, nodes: Sequence[Node], local: int, split: TwoPhases, inputs: Mapping[str, Data],
                    parts: list[tuple[Any, int]], *, every: bool, pads: Mapping[str, Mapping[str, object]]
                    ) -> dict[str, Data | None]:
        """The row-local blocks and the partial aggregate of the block after them per partition; the partials
        combined, and the blocks after, in one task."""
        driver = next(iter(nodes[0].tables.values()))
        head, rest = nodes[:local + 1], nodes[local:]
        aggregating = rest[0]
        read = {s for n in head for s in n.tables.values()}
        others = {k: v for k, v in inputs.items() if k != driver and k in read}
        inside = {n.id for n in rest}
        wanted = dict.fromkeys(s for n in rest for s in n.tables.values() if s not in inside)
        source = next(iter(aggregating.tables.values()))
        if not any(source in n.tables.values() for n in rest[1:]):
            wanted.pop(source, None)  # the aggregating block reads its partials instead
        earlier = any(s in {n.id for n in head[:-1]} for s in wanted)

        def outside(node_id: str) -> dict[str, pl.DataType]:
            return {**inputs[node_id].columns(), **pads.get(node_id, {})}  # type: ignore[dict-item]

        schema = relational.output_columns(head[:-1], outside)[source] if local else inputs[driver].columns()
        found = self._relational_parts(head, driver, parts, others, every=every or earlier, pads=pads,
                                       phase=tasks.Phase(split))
        partials = found.pop(aggregating.id)
        assert isinstance(partials, PlacedData)
        self.two_phases.add(aggregating.id)
        given = {s: inputs[s] if s in inputs else found[s] for s in wanted}
        combined = self._relational_task(rest, {k: v for k, v in given.items() if v is not None}, every=every,
                                         pads=pads, phase=tasks.Phase(split, dict(schema)), partials=partials.parts)
        return {**found, **combined}

    def _relational_parts(self, nodes: Sequence[Node], source: str, parts: list[tuple[Any, int]],
                          others: Mapping[str, Data], *, every: bool, pads: Mapping[str, Mapping[str, object]],
                          phase: tasks.Phase | None = None) -> dict[str, Data | None]:
        """A row-local unit, one task per partition of its first table (the tables it joins go whole to each);
        its outputs keep the partitions. With `phase`, the last block's output is its partial aggregate."""
        for node in nodes:
            self.partitions[node.id] = len(parts)
        layout, args = self._layout(others)  # each table put once, its refs given to every partition's task
        runs = [self._remote["relational"].options(num_returns=1 + len(nodes)).remote(
            list(nodes), every, dict(pads), self.folder, phase, [(source, 1), *layout], part, *args)
            for part, _ in parts]
        metas = [self._wait(refs[0], refs, task=True) for refs in runs]
        for meta in metas:
            if "error" in meta:
                raise ClusterStepError(meta["error"])
        found: dict[str, Data | None] = {}
        for index, node in enumerate(nodes):
            shapes = [meta["outputs"][index] for meta in metas]
            if shapes[0] is None:
                found[node.id] = None
                continue
            found[node.id] = PlacedData([refs[1 + index] for refs in runs], [shape[0] for shape in shapes],
                                        shapes[0][1], self._fetch)
        return found

    def _partitions(self, data: Data) -> list[tuple[Any, int]]:
        """The partitions of `data` (ref, rows): those it has, else a large table cut into
        `partitioning.count` in a task (nothing moves through the driver), else the one it is."""
        if isinstance(data, PlacedData) and data.partitioned:
            return list(zip(data.parts, data.counts, strict=True))
        count, rows = self.partitioning.count, data.num_rows
        (whole,) = self._parts(data)
        if count <= 1 or rows < self.partitioning.rows:
            return [(whole, rows)]
        refs = self._remote["split"].options(num_returns=1 + count).remote(whole, count)
        counts = self._wait(refs[0], refs, task=True)
        return list(zip(refs[1:], counts, strict=True))

    def call(self, node: Node, request: dict[str, Any], given: Data | None, *, rowwise: bool = False,
             timeout: float | None = None) -> Data | None:
        """A step call in a host (a `rowwise` step over a large input: one call per partition, each in the host
        of the node holding it); None for a sink. Raises `RowErrors` (fetched: the handler's rows),
        `ClusterStepError`, `UnitLost`, `UnitCancelled`, and `StepTimeoutError` when the call overruns
        `timeout` (seconds): its host is ended, which stops it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if rowwise and given is not None:
            parts = self._partitions(given)
            if len(parts) > 1:
                self.partitions[node.id] = len(parts)
                return self._call_parts(node.label, request, [(part, self._where([part])) for part, _ in parts],
                                        deadline, timeout)
        if given is None:
            return self._call_parts(node.label, request, [(None, None)], deadline, timeout)
        parts = self._parts(given)  # put together in a task, in the host of the node holding most of them
        whole = parts[0] if len(parts) == 1 else self._remote["concat"].remote(*parts)
        return self._call_parts(node.label, request, [(whole, self._where(parts))], deadline, timeout)

    def _call_parts(self, label: str, request: dict[str, Any], parts: Sequence[tuple[Any, str | None]],
                    deadline: float | None, timeout: float | None) -> Data | None:
        """The call once per input part (a ref, or None for a source), each in the host on the node given."""
        calls = []
        for part, where in parts:
            host = self._host(where)
            call = {**request, "call": uuid.uuid4().hex}
            calls.append((host, call["call"], host.call.options(num_returns=3).remote(call, part)))
        metas = []
        for index, (host, _, refs) in enumerate(calls):
            try:
                metas.append(self._wait(refs[0], [refs[0]], host=host, deadline=deadline))
            except _Overran:
                raise self._overran(label, timeout or 0.0, calls[index:]) from None
            echo(metas[-1].get("output"))
        for meta in metas:
            if "error" in meta:
                raise ClusterStepError(meta["error"])
            if "returned" in meta:
                raise NotATableError(f"`{label}` returned {meta['returned']}, not a Table")
        if all(meta.get("sink") for meta in metas):
            return None
        if any(meta.get("sink") for meta in metas):
            raise NotATableError(f"`{label}` returned a table for some partitions and nothing for others")
        data = PlacedData([refs[1] for _, _, refs in calls], [meta["rows"][0] for meta in metas],
                          metas[0]["rows"][1], self._fetch)
        if any("reasons" in meta for meta in metas):  # the failed rows of every partition, together
            failed = [refs[2] for (_, _, refs), meta in zip(calls, metas, strict=True) if "reasons" in meta]
            reasons = [r for meta in metas for r in meta.get("reasons", ())]
            raise RowErrors(Table(data.arrow()), Table(pa.concat_tables(self._fetch(failed))), reasons)
        return data

    def _overran(self, label: str, seconds: float, calls: Sequence[tuple[Any, str, Any]]) -> StepTimeoutError:
        """Calls that overran their timeout, stopped: where the first is (its host says), then the hosts still
        running one ended (their other calls, if any, are lost and attempted again: `UnitLost`)."""
        ray = self._ray
        host, call, _ = calls[0]
        try:
            stack = ray.get(host.stack.remote(call), timeout=STACK_SECONDS)
        except Exception:  # a host that does not answer: no stack
            stack = ""
        for host, _, refs in calls:
            if not ray.wait([refs[0]], timeout=0)[0]:
                self._end(host)
        text = ("The call was here when its timeout ran out on the cluster (most recent call last):\n"
                + stack.partition("\n")[2]) if stack else ""
        return StepTimeoutError(f"`{label}` did not finish within its timeout of {duration_text(seconds)}; the "
                                "attempt was stopped on the cluster (its host process ended)", stack=text)

    def _end(self, host: Any) -> None:
        """End a host of the run (a call there overran its timeout); the next call makes another."""
        self._forget(host)
        with self._lock:
            for key, known in list(self._lookup_hosts.items()):
                if known == host:
                    del self._lookup_hosts[key]
        self._ray.kill(host)

    def lookup(self, key: str, request: dict[str, Any], sources: Sequence[LookupSource], inputs: Mapping[str, Data],
               *, batch: int, batched: bool) -> tuple[Data, int]:
        """A lookup in a host (the same one for every attempt: it keeps the batches done); its output and the
        number of distinct keys. A failure's `ClusterStepError.payload`: the keys not done yet. A partitioned
        driver sends the host only its distinct keys, taken per partition in a task where the partition is."""
        layout, args = [], []
        for node_id, data in inputs.items():
            parts = self._parts(data)
            if len(parts) > 1:
                columns = sorted({k for source in sources if source.driver == node_id for k in source.keys})
                parts = [self._remote["keys"].remote(part, columns) for part in parts]
                self.partitions[key.rpartition("/")[2]] = len(parts)
            layout.append((node_id, len(parts)))
            args.extend(parts)
        with self._lock:
            host = self._lookup_hosts.get(key)
        if host is None:
            host = self._host(self._where(args))
            with self._lock:
                self._lookup_hosts[key] = host
        meta_ref, table_ref, extra_ref = host.lookup.options(num_returns=3).remote(
            key, request, list(sources), layout, batch, batched, *args)
        try:
            meta = self._wait(meta_ref, [meta_ref], host=host)
        except UnitLost:
            with self._lock:
                self._lookup_hosts.pop(key, None)
            raise
        echo(meta.get("output"))
        if "error" in meta:
            remaining = self._fetch([extra_ref])[0] if meta.get("keys") is not None else None
            if meta.get("overran"):  # a call overran its timeout and still runs there: end it with its host
                self._end(host)
            raise ClusterStepError(meta["error"], remaining)
        rows, schema = meta["rows"]
        return PlacedData([table_ref], [rows], schema, self._fetch), int(meta["keys"])

    # --- object refs --------------------------------------------------------------------------------

    def _parts(self, data: Data) -> list[Any]:
        if isinstance(data, PlacedData):
            return list(data.parts)
        table = data.materialise().arrow()
        self.traffic.count(put=table.nbytes)
        return [self._ray.put(Frame(table))]

    def _layout(self, inputs: Mapping[str, Data]) -> tuple[list[tuple[str, int]], list[Any]]:
        layout, args = [], []
        for node_id, data in inputs.items():
            parts = self._parts(data)
            layout.append((node_id, len(parts)))
            args.extend(parts)
        return layout, args

    def _fetch(self, refs: list[Any]) -> list[pa.Table]:
        tables = [frame.table for frame in self._ray.get(refs)]
        self.traffic.count(fetched=sum(t.nbytes for t in tables))
        return tables

    def _where(self, refs: Sequence[Any]) -> str | None:
        """The node holding most of `refs`' bytes (None: anywhere)."""
        if not refs:
            return None
        from ray.experimental import get_object_locations

        sizes: dict[str, int] = {}
        for location in get_object_locations(list(refs)).values():
            for node_id in location.get("node_ids") or ():
                sizes[node_id] = sizes.get(node_id, 0) + int(location.get("object_size") or 0)
        return max(sizes, key=sizes.__getitem__) if sizes else None

    def _host(self, node_id: str | None) -> Any:
        """The run's host on `node_id` (any node when None), made on first use."""
        with self._lock:
            if node_id is None or node_id not in self._nodes:
                node_id = self._nodes[next(self._turn) % len(self._nodes)] if self._nodes else ""
            host = self._hosts.get(node_id)
        if host is not None:
            return host
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        options: dict[str, Any] = {"num_cpus": 0, "max_concurrency": 8}
        if node_id:
            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id, soft=True)
        host = self._remote["host"].options(**options).remote(self.run_id, self.folder, self._modules)
        _, problems = self._wait(host.ready.remote(), [], host=host)
        if problems:
            self._ray.kill(host)
            raise ClusterStepError({"type": "ImportError", "message": "; ".join(problems), "trace": "",
                                    "kinds": ["ImportError"]})
        with self._lock:
            self._hosts.setdefault(node_id, host)
            return self._hosts[node_id]

    def _forget(self, host: Any) -> None:
        with self._lock:
            for node_id, known in list(self._hosts.items()):
                if known == host:
                    del self._hosts[node_id]

    def _wait(self, ref: Any, cancel: Sequence[Any], *, task: bool = False, host: Any = None,
              deadline: float | None = None) -> Any:
        """The value of `ref`, waiting in short steps so an interrupted run cancels what runs (`_Overran` past
        `deadline`, a `time.monotonic()`)."""
        ray = self._ray
        exceptions = ray.exceptions
        while not ray.wait([ref], timeout=POLL_SECONDS)[0]:
            if self.cancelled.is_set():
                for running in cancel:
                    ray.cancel(running, force=task)
                raise UnitCancelled("the run was interrupted: its work on the cluster was cancelled")
            if deadline is not None and time.monotonic() >= deadline:
                raise _Overran
        try:
            return ray.get(ref)
        except (exceptions.RayActorError, exceptions.WorkerCrashedError, exceptions.NodeDiedError) as error:
            if host is not None:
                self._forget(host)
            raise UnitLost(f"the process running it on the Ray cluster died ({type(error).__name__})") from None
        except exceptions.TaskCancelledError:
            raise UnitCancelled("the run was interrupted: its work on the cluster was cancelled") from None
