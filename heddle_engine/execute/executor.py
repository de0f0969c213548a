"""The executor: runs the units of a lowered workflow, concurrently where they are independent.

A unit starts when every unit it reads has succeeded. The calling thread and a thread pool run units
(2 to 4 threads in all); a thread that finishes a unit runs the first unit this made ready itself and
hands the others to the pool, so a chain runs on one thread without a hand-off per stage. A node's
output is kept until every unit that reads it is done (the outputs of the workflow's last nodes are
kept for the result).

A node that fails (after its retries) goes to its stage's `? handler`, else to the workflow's. The
handler runs at once, in the failing worker's thread, on the error-context table; then the node is
`handled` and everything downstream of it is `skipped`, while other branches go on. When a stage's own
handler fails, the failure goes up to the workflow's handler (the original rows, both errors in
`error_msg`). Without a handler, or when the last handler fails too, the run fails: no further unit
starts, the failed rows are kept in the result, and the units that were not run are `skipped`.
"""

from __future__ import annotations

import contextvars
import dataclasses
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, cast

import polars as pl

from heddle.core.context import RunContext, enter_run, leave_run
from heddle.core.stream import Batch
from heddle.core.table import RowErrors, Table
from heddle_engine.events import ErrorInfo, NodeState
from heddle_engine.execute import relational
from heddle_engine.execute.data import Data, extra_columns, is_arrow_table, missing_or_mistyped
from heddle_engine.execute.errors import (
    FailedRowsError,
    InputContractError,
    NotATableError,
    OutputContractError,
    panics_as_failures,
)
from heddle_engine.execute.failures import error_context, error_info
from heddle_engine.execute.functions import Callee, Functions
from heddle_engine.execute.joint import stream_joint
from heddle_engine.execute.lookups import Lookup, bindings
from heddle_engine.execute.lower import ExecGraph, ExecPlan, LookupSource, Unit
from heddle_engine.execute.resources import ResourcePool
from heddle_engine.execute.result import Failure, RowCount
from heddle_engine.execute.retry import attempt
from heddle_engine.execute.secrets import Redactor
from heddle_engine.execute.states import Observers, States
from heddle_engine.execute.stream import StreamLimits, StreamRun
from heddle_engine.execute.timeouts import Abandoned, within
from heddle_lang.plan import Node
from heddle_lang.records import record

if TYPE_CHECKING:
    import pyarrow as pa

    from heddle_engine.cluster.placement import RayPlacement
    from heddle_engine.workers.jit import JitPlacement
    from heddle_engine.workers.remote import RemoteCallee

S = NodeState


@record
class StepOutput:
    data: Data
    failed: pl.DataFrame | None = None  # rows the step reported with `RowErrors`
    error: RowErrors | None = None  # what it raised to report them


class Run:
    """What the graphs of one run share: states, resources, failures, kept rows, settings."""

    def __init__(self, plan: ExecPlan, functions: Functions, observers: Observers, *, workflow: str,
                 parameters: Mapping[str, object], recorded: Mapping[str, pa.Table], where: Callable[[Node], str],
                 workers: int, lookup_batch: int, run_id: str = "", jit: JitPlacement | None = None,
                 stream: StreamLimits | None = None, cluster: RayPlacement | None = None, project: str = "") -> None:
        self.plan = plan
        self.run_id = run_id
        self.project = project
        self.jit = jit
        self.cluster = cluster
        self.functions = functions
        self.observers = observers
        self.states = States(observers)
        self.redactor = Redactor()
        self.resources = ResourcePool(functions, self.redactor)
        self.workflow = workflow
        self.parameters = parameters
        self.recorded = recorded
        self.where = where
        self.workers = workers
        self.lookup_batch = lookup_batch
        self.want_outputs = observers.want_outputs
        self.stop = threading.Event()
        self.drain = threading.Event()  # a stream: finish the batch in flight, commit it, stop
        self.stream_limits = stream or StreamLimits()
        self.batches = 0  # a stream's batches committed or not
        self.warnings: list[str] = []
        self.abandoned = Abandoned()  # calls that overran their timeout
        self.failures: list[Failure] = []
        self.kept: dict[str, pa.Table] = {}
        self.rows: dict[tuple[str, str], RowCount] = {}
        self.outputs: dict[str, Data] = {}  # the workflow's last outputs (as Arrow in the result, when looked up)
        self._handler_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._lock = threading.Lock()

    def execute(self) -> None:
        entered = enter_run(RunContext(self.run_id, self.workflow, self.project))
        try:
            self._execute()
        finally:
            leave_run(entered)

    def _execute(self) -> None:
        # the calling thread works too: the pool adds the others
        with ThreadPoolExecutor(max_workers=max(1, self.workers - 1), thread_name_prefix="heddle") as pool:
            try:
                if self.plan.stream is None:
                    GraphRun(self, self.plan.workflow, pool=pool).execute()
                else:
                    stream = StreamRun(self, pool, self.stream_limits)
                    try:
                        stream.execute()
                    finally:
                        self.batches = stream.batches
            except BaseException:  # interrupted (Ctrl-C): no further unit starts
                self.stop.set()
                raise

    def callee(self, module: str, name: str) -> Callee | RemoteCallee:
        """Where a step is called: in this process, in the worker its module is mapped to, or (JIT) in one
        of the run's workers at the version shipped to it."""
        callee = self.functions.step(module, name)
        if self.jit is not None and isinstance(callee, Callee):
            return self.jit.callee(module, name, callee.spec) or callee
        return callee

    def on_cluster(self, callee: Callee | RemoteCallee) -> bool:
        """Is this call placed on the run's cluster? (Not a step that runs on the driver, nor a worker's.)"""
        return self.cluster is not None and isinstance(callee, Callee) and callee.placement != "driver"

    def fail(self, failure: Failure) -> None:
        with self._lock:
            self.failures.append(failure)
        self.stop.set()

    def keep(self, key: str, table: pl.DataFrame) -> None:
        with self._lock:
            self.kept[key] = table.to_arrow(compat_level=pl.CompatLevel.newest())

    def count(self, graph: str, node: str, **counts: int | None) -> None:
        with self._lock:
            self.rows[(graph, node)] = dataclasses.replace(self.rows.get((graph, node), RowCount()), **counts)

    def handle(self, handler: str, table: pl.DataFrame, handling: Failure, chain: tuple[str, ...],
               captured: list[Failure] | None = None) -> bool:
        """Run `handler` on an error-context table (one failure at a time per handler); did it succeed?
        `captured`: the handler's own unhandled failure goes there instead of failing the run (it goes up)."""
        lowered = self.plan.handlers[handler]
        with self._handler_locks[handler]:
            self.states.pending(handler, [n.id for n in lowered.graph.nodes])
            sub = GraphRun(self, lowered, pool=None, context=Data(polars=table), handling=handling,
                           chain=(*chain, handler), captured=captured)
            return sub.execute()


class GraphRun:
    """One execution of a workflow graph, or of a handler graph on one error-context table."""

    def __init__(self, run: Run, lowered: ExecGraph, *, pool: ThreadPoolExecutor | None, context: Data | None = None,
                 handling: Failure | None = None, chain: tuple[str, ...] = (),
                 supplied: Mapping[str, Batch] | None = None, done: Mapping[str, Data] | None = None,
                 done_units: frozenset[str] = frozenset(), captured: list[Failure] | None = None) -> None:
        """`supplied`: units whose output is given (a stream's batch: a table the unit's node checks as its
        output); `done_units`: units that do not run (computed for an earlier batch, or not part of this
        pass), `done` the outputs of their nodes."""
        self.run = run
        self.lowered = lowered
        # a pushed-down step's columns that were not fetched, for the block that reads it
        self._pads = {step: p.missing(lowered.node(step).output) for step, p in lowered.pushdowns.items()}
        self.graph = lowered.graph
        self.name = lowered.graph.name
        self.pool = pool
        self.context = context
        self.handling = handling
        self.chain = chain
        self.supplied = supplied or {}
        self.captured = captured
        self.values: dict[str, Data] = dict(done or {})
        self.waiting = {u.id: len(u.inputs) for u in lowered.units}
        self.readers_left = {u.id: len(lowered.consumers.get(u.id, ())) for u in lowered.units}
        self.finished: set[str] = set(done_units)
        for unit_id in done_units:
            for reader in lowered.consumers.get(unit_id, ()):
                self.waiting[reader] -= 1
        self.skipping: set[str] = set()
        self.clean = True  # no unhandled failure in this graph
        self.queue: list[Unit] = []
        self._written: dict[str, Data] = {}  # a sink's output, written by the unit before it (`_write_through`)
        self._lock = threading.Lock()
        self._all_done = threading.Condition(self._lock)

    # --- scheduling -------------------------------------------------------------------------------

    def execute(self) -> bool:
        """Run every unit; True when no failure of this graph went unhandled."""
        if self.graph.kind == "workflow":
            self.run.states.pending(self.name, [n for u in self.lowered.units if u.id not in self.finished
                                                for n in u.nodes])
        ready = [u for u in self.lowered.units if u.id not in self.finished and self.waiting[u.id] == 0]
        if not ready:
            return self.clean
        if self.pool is None:
            self.queue.extend(ready)
            while self.queue:
                self._work(self.queue.pop(0))
            return self.clean
        for unit in ready[1:]:
            self._submit(unit)
        if ready:
            self._work(ready[0])  # in this thread: a chain runs without a hand-off to the pool
        with self._all_done:
            while len(self.finished) < len(self.lowered.units):
                self._all_done.wait()
        return self.clean

    def _submit(self, unit: Unit) -> None:
        if self.pool is None:
            self.queue.append(unit)
        else:
            self.pool.submit(contextvars.copy_context().run, self._work, unit)

    def _work(self, unit: Unit | None) -> None:
        while unit is not None:
            try:
                ok = self._run_unit(unit)
            except Exception as error:  # a bug of the engine: the run fails, and says so
                self._internal(unit, error)
                ok = False
            ready = self._complete(unit, ok)
            unit = ready[0] if ready else None
            for other in ready[1:]:
                self._submit(other)

    def _complete(self, unit: Unit, ok: bool) -> list[Unit]:
        """Mark `unit` done; the units it made ready (or skip its readers when it failed)."""
        ready: list[Unit] = []
        skipped: list[Unit] = []
        with self._lock:
            self.finished.add(unit.id)
            for source in unit.inputs:
                self._release(source)
            for reader_id in self.lowered.consumers.get(unit.id, ()):
                reader = self.lowered.unit(reader_id)
                if reader_id in self.finished or reader_id in self.skipping:
                    continue
                if (ok or self._fed(unit, reader)) and not self.run.stop.is_set():
                    self.waiting[reader_id] -= 1
                    if self.waiting[reader_id] == 0:
                        ready.append(reader)
                else:
                    self.skipping.add(reader_id)  # one thread skips it, even when two inputs failed at once
                    skipped.append(reader)
            if len(self.finished) == len(self.lowered.units):
                self._all_done.notify_all()
        for reader in skipped:
            self._skip(reader)
        return ready

    def _fed(self, unit: Unit, reader: Unit) -> bool:
        """Did every output of a failed joint unit that `reader` reads succeed (another of its chains failed)?
        (Lock held.)"""
        if not unit.parts:
            return False
        sources = [s for n in reader.nodes for s in self.lowered.node(n).inputs]
        sources += [s.driver for s in self.lowered.lookups.get(reader.nodes[0], ())]
        return all(s in self.values for s in sources if self.lowered.unit_of[s] == unit.id)

    def _skip(self, unit: Unit) -> None:
        for node_id in unit.nodes:
            if self.run.states.get(self.name, node_id) == S.PENDING:
                self.run.states.change(self.name, node_id, S.SKIPPED, 0)
        self._complete(unit, False)

    def _release(self, unit_id: str) -> None:
        """A reader of `unit_id` is done: drop its outputs when it was the last (lock held)."""
        self.readers_left[unit_id] -= 1
        if self.readers_left[unit_id] == 0:
            for node_id in self.lowered.unit(unit_id).nodes:
                self.values.pop(node_id, None)

    def _internal(self, unit: Unit, error: Exception) -> None:
        node = self.lowered.node(unit.nodes[0])
        info = error_info(error, node, self.run.workflow, 1, self.run.redactor)
        info = ErrorInfo(f"internal error of the engine: {info.message}", info.type, info.stack_trace, info.step,
                         info.workflow, info.attempt, info.failed_at, info.line)
        self.clean = False
        self.run.fail(Failure(self.name, node.id, info, self.run.where(node), self.handling))

    # --- units ------------------------------------------------------------------------------------

    def _run_unit(self, unit: Unit) -> bool:
        if self.run.stop.is_set() and self.graph.kind == "workflow":
            for node_id in unit.nodes:
                self.run.states.change(self.name, node_id, S.SKIPPED, 0)
            return False
        if unit.kind == "recorded":
            return self._recorded(unit)
        if unit.id in self.supplied:
            return self._supplied(self.lowered.node(unit.nodes[0]), self.supplied[unit.id])
        first = self.lowered.node(unit.nodes[0])
        if first.kind == "relational":
            return self._relational(unit)
        if unit.kind == "lookup":
            return self._lookup(first)
        if first.kind == "dataframe":
            return self._simple(first, lambda: Data(polars=_dataframe(first)))
        if first.kind == "error_context":
            assert self.context is not None
            context = self.context
            return self._simple(first, lambda: context)
        if first.id in self._written:  # the relational unit before it streamed its query into the file
            return self._simple(first, lambda: self._written.pop(first.id))
        return self._step(first)

    def _recorded(self, unit: Unit) -> bool:
        node_id = unit.nodes[0]
        table = self.run.recorded.get(node_id)
        if table is None:  # not needed by what runs (checked before the run)
            self.run.states.change(self.name, node_id, S.SKIPPED, 0)
            return False
        data = Data(arrow=table)
        self._succeeded(self.lowered.node(node_id), data, 0, 0.0)
        return True

    def _supplied(self, node: Node, batch: Batch) -> bool:
        """A stream's batch as the output of its source node: checked like a step's output (a batch that
        fails the check goes to the handler whole); the rows the source could not read go to the handler."""
        self.run.states.change(self.name, node.id, S.RUNNING, 1)
        given = batch.table
        try:
            data = self._checked(node, given, None)
        except Exception as error:
            payload = Data.of(given).polars() if isinstance(given, pl.DataFrame) or is_arrow_table(given) else None
            return self._failed(node, error, 1, 0.0, payload)
        if batch.failed is None:
            self._succeeded(node, data, 1, 0.0)
            return True
        failed = Data.of(cast("pa.Table | pl.DataFrame", batch.failed))
        error = RowErrors(Table.from_arrow(data.arrow()), Table.from_arrow(failed.arrow()), batch.reasons)
        return self._partly_failed(node, StepOutput(data, failed.polars(), error), 1, 0.0)

    def _simple(self, node: Node, make: Callable[[], Data]) -> bool:
        self.run.states.change(self.name, node.id, S.RUNNING, 1)
        started = time.perf_counter()
        try:
            data = make()
        except Exception as error:
            return self._failed(node, error, 1, time.perf_counter() - started, None)
        self._succeeded(node, data, 1, time.perf_counter() - started)
        return True

    def _relational(self, unit: Unit) -> bool:
        nodes = [self.lowered.node(n) for n in unit.nodes]
        for node in nodes:
            self.run.states.change(self.name, node.id, S.RUNNING, 1)
        started = time.perf_counter()
        if unit.parts:
            writers = self._joint_sinks(unit)
            if writers and self._write_joint(unit, nodes, writers, started):
                return True
        writer = self._sink(unit)
        if writer is not None and self.run.want_outputs and len(nodes) > 1:  # its blocks' outputs recorded too
            if self._write_joint(unit, nodes, {unit.last: writer}, started):
                return True
        elif writer is not None and self._write_through(nodes, writer, started):
            return True
        every = self.run.want_outputs or len(nodes) == 1
        try:
            if self.run.cluster is not None:
                def once(number: int) -> dict[str, Data | None]:
                    for node in nodes if number > 1 else ():
                        self.run.states.change(self.name, node.id, S.RUNNING, number)
                    if not unit.parts:
                        return self._relational_on_cluster(nodes, every)
                    found: dict[str, Data | None] = {}  # a joint unit's chains, one by one
                    for part in unit.parts:
                        chain = [self.lowered.node(n) for n in part]
                        found.update(self._relational_on_cluster(chain, every or len(chain) == 1))
                    return found

                outputs = attempt(None, once, on_retry=self._retrying(nodes, started), stop=self.run.stop)
            else:
                outputs = relational.run_blocks(nodes, self._read, every=every, ends=unit.outputs, pads=self._pads)
        except Exception as error:
            if len(nodes) > 1:
                return self._locate_failure(unit, started)
            return self._failed(nodes[0], error, 1, time.perf_counter() - started, self._payload(nodes[0], {}))
        seconds = time.perf_counter() - started
        for node in nodes:
            data = outputs[node.id]
            if data is None:
                self.run.states.change(self.name, node.id, S.SUCCEEDED, 1, seconds=seconds)
                self.run.count(self.name, node.id, input=self._input_rows(node))
            else:
                self._succeeded(node, data, 1, seconds)
        return True

    def _joint_sinks(self, unit: Unit) -> dict[str, Node]:
        """The writers a joint unit's chains stream into (chain end -> writer), when this run lets them (`_sink`)."""
        if self.run.cluster is not None or self.run.plan.stream is not None:
            return {}
        if self.run.want_outputs and not self.run.observers.take_scans:
            return {}
        return {end: self.lowered.node(writer) for end, writer in self.lowered.sinks_of(unit.id).items()}

    def _write_joint(self, unit: Unit, nodes: list[Node], writers: Mapping[str, Node], started: float) -> bool:
        """A joint unit in one pass (`joint.py`): the chains that end in a writer stream into its file, the others
        are collected, and the scan they share is read once; also a fused unit whose blocks' outputs are recorded.
        Blocks before the ends stream into the recording observer's files within the same plan (lineage), else
        are collected first when outputs are recorded. False when anything failed: the unit then runs as any
        other (as `_write_through`)."""
        def call(writer: Node, given: Data) -> Data:
            output = self._call(writer, given, {}, 1)
            if output.error is not None:
                raise output.error
            return output.data

        makers = self._observer_sinks([n for n in nodes if n.id not in unit.outputs])
        try:
            streamed = stream_joint(nodes, unit.outputs, writers, read=self._read, pads=self._pads,
                                    every=self.run.want_outputs and not makers, call=call, recorded=makers)
        except Exception:
            for node_id in makers:
                self.run.observers.node_sunk(self.name, node_id, ok=False)
            return False
        seconds = time.perf_counter() - started
        for node in nodes:
            if node.id in makers:  # streamed into the observer's file: it has it once `succeeded` is said
                self.run.states.change(self.name, node.id, S.SUCCEEDED, 1, seconds=seconds)
                self.run.count(self.name, node.id, input=self._input_rows(node))
                self.run.observers.node_sunk(self.name, node.id, ok=True)
                continue
            data = streamed.outputs.get(node.id)
            if node.id in writers:
                data = streamed.written[writers[node.id].id]
                self._written[writers[node.id].id] = data
            if data is not None:
                self._succeeded(node, data, 1, seconds)
                continue
            self.run.states.change(self.name, node.id, S.SUCCEEDED, 1, seconds=seconds)
            self.run.count(self.name, node.id, input=self._input_rows(node))
        return True

    def _observer_sinks(self, nodes: list[Node]) -> dict[str, Callable[[pl.LazyFrame], pl.LazyFrame]]:
        """When outputs are recorded: a sink for each of `nodes` from the observer that records them, so their rows
        stream into its files within the unit's plan; empty when any of them must come as a table instead."""
        if not self.run.want_outputs or not nodes:
            return {}
        makers = {n.id: self.run.observers.node_sink(self.name, n.id) for n in nodes}
        if all(make is not None for make in makers.values()):
            return cast("dict[str, Callable[[pl.LazyFrame], pl.LazyFrame]]", makers)
        for node_id, make in makers.items():
            if make is not None:
                self.run.observers.node_sunk(self.name, node_id, ok=False)
        return {}

    def _sink(self, unit: Unit) -> Node | None:
        """The writer this unit's lazy query streams into, when this run lets it (no cluster, not a stream's
        batch; observers that record node outputs take the file written as a `Scan`, as lineage does)."""
        writer = self.lowered.sink_of(unit.id)
        if writer is None or self.run.cluster is not None or self.run.plan.stream is not None:
            return None
        if self.run.want_outputs and not self.run.observers.take_scans:
            return None
        return self.lowered.node(writer)

    def _write_through(self, nodes: list[Node], writer: Node, started: float) -> bool:
        """The blocks' lazy query given to the writer, which streams it into its file: readers, blocks and writer
        run as one plan and the result is never collected. The last block's output is the table as written
        (its rows counted from the file; observers that record outputs get the file as a `Scan`). False when
        anything failed (the writer left no file): the unit then runs as any other, so a failure is the failing
        block's or the writer's own, with its rows."""
        try:
            query = relational.lazy_blocks(nodes, self._read, self._pads)[nodes[-1].id]
            with panics_as_failures():
                output = self._call(writer, Data(lazy=query), {}, 1)
        except Exception:
            return False
        if output.error is not None:
            return False
        seconds = time.perf_counter() - started
        for node in nodes[:-1]:
            self.run.states.change(self.name, node.id, S.SUCCEEDED, 1, seconds=seconds)
            self.run.count(self.name, node.id, input=self._input_rows(node))
        self._written[writer.id] = output.data
        self._succeeded(nodes[-1], output.data, 1, seconds)
        return True

    def _relational_on_cluster(self, nodes: list[Node], every: bool) -> dict[str, Data | None]:
        assert self.run.cluster is not None
        inside = {n.id for n in nodes}
        sources = dict.fromkeys(s for n in nodes for s in n.tables.values() if s not in inside)
        return self.run.cluster.relational(nodes, {s: self._read(s) for s in sources}, every=every, pads=self._pads)

    def _locate_failure(self, unit: Unit, started: float) -> bool:
        """A fused query failed: run its blocks one by one to find the one that fails (a joint unit's chains each
        on their own: a chain that fails does not stop the others)."""
        chains = [[self.lowered.node(n) for n in part] for part in unit.parts or (unit.nodes,)]
        clean = True
        for chain in chains:
            computed: dict[str, Data] = {}
            for position, node in enumerate(chain):
                try:
                    computed[node.id] = relational.run_one(node, self._read, computed, self._pads)
                except Exception as error:
                    payload = self._payload(node, computed)
                    self._failed(node, error, 1, time.perf_counter() - started, payload)
                    for later in chain[position + 1:]:
                        self.run.states.change(self.name, later.id, S.SKIPPED, 0)
                    clean = False
                    break
                self._succeeded(node, computed[node.id], 1, time.perf_counter() - started)
        return clean  # True: it failed together but not alone (e.g. out of memory), every block has its output

    def _step(self, node: Node) -> bool:
        callee_input = self._read(node.inputs[0]) if node.inputs else None
        parameters = {name: self.run.parameters[name] for name in self.lowered.parameters.get(node.id, ())}
        started = time.perf_counter()
        attempts = [1]

        def once(number: int) -> StepOutput:
            attempts[0] = number
            if number > 1:
                self.run.states.change(self.name, node.id, S.RUNNING, number)
            return self._call(node, callee_input, parameters, number)

        self.run.states.change(self.name, node.id, S.RUNNING, 1)
        try:
            output = attempt(node.retry, once, on_retry=self._retrying([node], started), stop=self.run.stop)
        except Exception as error:
            payload = callee_input.polars() if callee_input is not None else None
            return self._failed(node, error, attempts[0], time.perf_counter() - started, payload)
        seconds = time.perf_counter() - started
        if output.error is None:
            self._succeeded(node, output.data, attempts[0], seconds)
            return True
        return self._partly_failed(node, output, attempts[0], seconds)

    def _lookup(self, node: Node) -> bool:
        sources = self.lowered.lookups[node.id]
        free = {name: self.run.parameters[name] for name in self.lowered.parameters.get(node.id, ())}
        started = time.perf_counter()
        attempts = [1]
        self.run.states.change(self.name, node.id, S.RUNNING, 1)
        if self.run.cluster is not None:
            try:
                callee = self.run.callee(cast(str, node.module), cast(str, node.function))
            except Exception as error:
                return self._failed(node, error, 1, time.perf_counter() - started, None)
            if self.run.on_cluster(callee):
                return self._lookup_on_cluster(node, cast(Callee, callee), sources, free, started)
        try:
            lookup = Lookup(bindings(sources, self._read), self.run.lookup_batch)
        except Exception as error:  # the driver lacks a key column (data of an undeclared schema)
            return self._failed(node, error, 1, time.perf_counter() - started, None)
        self.run.count(self.name, node.id, input=lookup.keys.height)

        def call(binding: Mapping[str, object]) -> Data:
            output = self._call(node, None, {**free, **binding}, attempts[0])
            if output.error is not None:  # a lookup's rows are all or nothing
                raise output.error
            return output.data

        batched = len(lookup.keys.columns) == 1 and self._batches(node)

        def once(number: int) -> None:
            attempts[0] = number
            if number > 1:
                self.run.states.change(self.name, node.id, S.RUNNING, number)
            if batched:
                lookup.run_batched(call)
            else:
                lookup.run(call)

        try:
            attempt(node.retry, once, on_retry=self._retrying([node], started), stop=self.run.stop)
        except Exception as error:
            return self._failed(node, error, attempts[0], time.perf_counter() - started, lookup.remaining())
        self._succeeded(node, lookup.result(node.output), attempts[0], time.perf_counter() - started)
        return True

    def _lookup_on_cluster(self, node: Node, callee: Callee, sources: tuple[LookupSource, ...],
                           free: Mapping[str, object], started: float) -> bool:
        """The whole lookup in one host of the cluster, next to its drivers' rows (a retry goes on there from
        the batch that failed)."""
        cluster = self.run.cluster
        assert cluster is not None
        request = {**self._request(node, callee, free), "output": node.output, "timeout": node.timeout,
                   "label": node.label}
        keys = {k for source in sources for k in source.keys}
        batched = len(keys) == 1 and self._batches(node)
        drivers = dict.fromkeys(source.driver for source in sources)
        attempts = [1]

        def once(number: int) -> tuple[Data, int]:
            attempts[0] = number
            if number > 1:
                self.run.states.change(self.name, node.id, S.RUNNING, number)
            return cluster.lookup(f"{self.name}/{node.id}", request, sources, {d: self._read(d) for d in drivers},
                                  batch=self.run.lookup_batch, batched=batched)

        try:
            data, bound = attempt(node.retry, once, on_retry=self._retrying([node], started), stop=self.run.stop)
        except Exception as error:
            remaining = getattr(error, "payload", None)
            payload = cast(pl.DataFrame, pl.from_arrow(remaining)) if remaining is not None else None
            return self._failed(node, error, attempts[0], time.perf_counter() - started, payload)
        self.run.count(self.name, node.id, input=bound)
        self._succeeded(node, data, attempts[0], time.perf_counter() - started)
        return True

    def _batches(self, node: Node) -> bool:
        assert node.module is not None and node.function is not None
        try:
            return self.run.functions.step(node.module, node.function).batches(node.config)
        except Exception:  # not loadable: reported when it is called
            return False

    def _retrying(self, nodes: list[Node], started: float) -> Callable[[int, BaseException, float], None]:
        def report(next_attempt: int, error: BaseException, wait: float) -> None:
            for node in nodes:
                info = error_info(error, node, self.run.workflow, next_attempt - 1, self.run.redactor)
                self.run.states.change(self.name, node.id, S.RETRYING, next_attempt - 1,
                                       seconds=time.perf_counter() - started, error=info)
        return report

    # --- calling a step ---------------------------------------------------------------------------

    def _call(self, node: Node, given: Data | None, parameters: Mapping[str, object], attempt_number: int
              ) -> StepOutput:
        """One call of a node's function, given at most its `timeout` (`timeouts.py`; on a cluster, the placement
        stops a call that overruns it)."""
        if node.timeout is not None and self._placed(node):
            return self._call_now(node, given, parameters, attempt_number)
        return within(node.timeout, lambda: self._call_now(node, given, parameters, attempt_number), node.label,
                      self.run.abandoned)

    def _placed(self, node: Node) -> bool:
        """Is `node`'s call made on the run's cluster?"""
        if self.run.cluster is None:
            return False
        try:
            return self.run.on_cluster(self.run.callee(cast(str, node.module), cast(str, node.function)))
        except Exception:  # not loadable: reported when it is called
            return False

    def _call_now(self, node: Node, given: Data | None, parameters: Mapping[str, object], attempt_number: int
                  ) -> StepOutput:
        assert node.module is not None and node.function is not None
        callee = self.run.callee(node.module, node.function)
        if given is not None:
            problems = missing_or_mistyped(given.columns(), callee.spec.input) if callee.spec.input.columns else []
            if problems:
                raise InputContractError(f"the input of `{node.label}` does not meet its contract: "
                                         f"{'; '.join(problems)}")
        try:
            if isinstance(callee, Callee) and self.run.on_cluster(callee):
                returned = self._call_on_cluster(node, callee, given, parameters)
            elif isinstance(callee, Callee):
                returned = self._call_here(node, callee, given, parameters)
            else:
                returned = self._call_remote(node, callee, given, parameters, attempt_number)
        except RowErrors as partial:
            failed = partial.failed.to_polars()
            if given is not None:
                missing = [c for c in given.columns() if c not in failed.columns]
                if missing:
                    raise FailedRowsError(f"`{node.label}` reported failed rows without the input columns "
                                          f"{', '.join(f'`{c}`' for c in missing)}") from partial
            return StepOutput(self._checked(node, partial.output, None), failed, partial)
        if returned is None:  # a sink: its input goes on
            return StepOutput(given if given is not None else Data(polars=pl.DataFrame()))
        data = self._checked(node, returned, given)
        kept_lazy = self._defers(node) or node.id in self.lowered.sinks  # a sink's file is read again only if asked
        return StepOutput(data if not data.deferred or kept_lazy else data.materialise())

    def _defers(self, node: Node) -> bool:
        """May the lazy scan `node` returned stay lazy, to become part of its readers' queries? Only when
        relational units alone read it (`lower.py`: `deferred`, `shared`; not in a stream, whose batches would
        scan it again each), and observers that want node outputs take it as a `Scan` (lineage does)."""
        return ((node.id in self.lowered.deferred or node.id in self.lowered.shared) and self.run.plan.stream is None
                and (not self.run.want_outputs or self.run.observers.take_scans))

    def _config(self, node: Node) -> Mapping[str, object]:
        """The node's literal config; a pushed-down database step's with the query the block let it run."""
        pushdown = self.lowered.pushdowns.get(node.id)
        return pushdown.config(node.config) if pushdown is not None else node.config

    def _call_here(self, node: Node, callee: Callee, given: Data | None, parameters: Mapping[str, object]) -> object:
        """In this process: the run's resources injected into the config object the function takes."""
        config = callee.build_config(self._config(node), self.run.resources.injected(node.resources))
        self.run.redactor.add_config(config)
        with panics_as_failures():  # a step's own Polars code, or the table it is given
            return callee.call(config, given.table(callee.input_type) if given is not None else None, parameters)

    def _request(self, node: Node, callee: Callee, parameters: Mapping[str, object]) -> dict[str, object]:
        """A call as the cluster's host makes it: the literal config, the resources' configs (`env:` secrets
        resolved here and registered with the redactor), the version of the module the run shipped."""
        cluster = self.run.cluster
        assert cluster is not None and node.module is not None
        self.run.redactor.add(str(node.config[f.name]) for f in callee.spec.config.fields
                              if f.secret and node.config.get(f.name) is not None)
        return {"module": node.module, "step": node.function, "version": cluster.versions.get(node.module, ""),
                "config": dict(self._config(node)), "parameters": dict(parameters),
                "resources": self.run.resources.requests(node.resources, cluster.versions)}

    def _call_on_cluster(self, node: Node, callee: Callee, given: Data | None,
                         parameters: Mapping[str, object]) -> object:
        assert self.run.cluster is not None
        return self.run.cluster.call(node, self._request(node, callee, parameters), given,
                                     rowwise=callee.rowwise, timeout=node.timeout)

    def _call_remote(self, node: Node, callee: RemoteCallee, given: Data | None, parameters: Mapping[str, object],
                     attempt_number: int) -> object:
        """In a worker: the literal config and the resources' configs travel; the worker makes them."""
        self.run.redactor.add(str(node.config[f.name]) for f in callee.spec.config.fields
                              if f.secret and node.config.get(f.name) is not None)
        versions = self.run.jit.versions if self.run.jit is not None else {}
        return callee.call_remote(self._config(node), self.run.resources.requests(node.resources, versions),
                                  given.arrow() if given is not None else None, parameters,
                                  run_id=self.run.run_id, attempt=attempt_number)

    def _checked(self, node: Node, returned: object, given: Data | None) -> Data:
        if isinstance(returned, Data):  # placed on a cluster: the table stays there
            data = returned
        elif isinstance(returned, Table):
            held = returned.held()
            if isinstance(held, pl.LazyFrame):
                data = Data(lazy=held, parquet=returned.parquet_source)
            elif given is not None and given.holds(held):
                data = given
            else:
                data = Data.of(held)
        elif isinstance(returned, pl.DataFrame) or is_arrow_table(returned):
            data = Data.of(cast(pl.DataFrame, returned))
        else:
            raise NotATableError(f"`{node.label}` returned {type(returned).__name__}, not a Table")
        pushdown = self.lowered.pushdowns.get(node.id)
        declared = pushdown.output(node.output) if pushdown is not None else node.output
        if not declared.columns and declared.open:
            return data  # nothing declared: nothing to check
        columns = data.columns()
        problems = missing_or_mistyped(columns, declared)
        extra = extra_columns(columns, declared)
        if extra:
            problems.append(f"{', '.join(f'`{c}`' for c in extra)} {'is' if len(extra) == 1 else 'are'} not "
                            "declared")
        if problems:
            raise OutputContractError(f"the output of `{node.label}` does not match its declared output "
                                      f"{node.output}: {'; '.join(problems)}")
        return data

    # --- outcomes ---------------------------------------------------------------------------------

    def _read(self, node_id: str) -> Data:
        with self._lock:
            return self.values[node_id]

    def _input_rows(self, node: Node) -> int | None:
        if not node.inputs:
            return None
        with self._lock:
            found = self.values.get(node.inputs[0])
        return found.num_rows if found is not None else None

    def _payload(self, node: Node, computed: Mapping[str, Data]) -> pl.DataFrame | None:
        if not node.inputs:
            return None
        source = node.inputs[0]
        data = computed[source] if source in computed else self._read(source)
        if data.deferred:
            try:
                return data.polars()
            except Exception:  # the reader's file could not be read: no row of it reached the block
                return None
        return data.polars()

    def _succeeded(self, node: Node, data: Data, attempt_number: int, seconds: float,
                   error: ErrorInfo | None = None) -> None:
        with self._lock:
            self.values[node.id] = data
            last = not self.lowered.consumers.get(self.lowered.unit_of[node.id]) and self.graph.kind == "workflow"
        if node.inputs:
            self.run.count(self.name, node.id, input=self._input_rows(node), output=data.num_rows)
        else:
            self.run.count(self.name, node.id, output=data.num_rows)
        self.run.states.change(self.name, node.id, S.SUCCEEDED, attempt_number, rows=data.num_rows,
                               seconds=seconds, error=error)
        scan = data.scan() if self.run.want_outputs else None
        if scan is not None:
            self.run.observers.node_scan(self.name, node.id, scan)
        elif self.run.want_outputs:
            frame = data.frame()
            if frame is not None:  # as Polars, to the observers that take it so (lineage: written without pyarrow)
                self.run.observers.node_frame(self.name, node.id, frame)
            else:
                self.run.observers.node_output(self.name, node.id, data.arrow())
        unit = self.lowered.unit(self.lowered.unit_of[node.id])
        if unit.parts:  # a joint unit: each chain's end is a result of the workflow when nothing reads it
            last = self.graph.kind == "workflow" and not self.lowered.is_read(node.id)
        if last and node.id in unit.outputs:
            self.run.outputs[node.id] = data

    def _failed(self, node: Node, error: Exception, attempt_number: int, seconds: float,
                payload: pl.DataFrame | None) -> bool:
        info = error_info(error, node, self.run.workflow, attempt_number, self.run.redactor)
        self.run.count(self.name, node.id, input=self._input_rows(node),
                       failed=payload.height if payload is not None else 0)
        self.run.states.change(self.name, node.id, S.FAILED, attempt_number, seconds=seconds, error=info)
        if self._route(node, info, payload, None):
            self.run.states.change(self.name, node.id, S.HANDLED, attempt_number, error=info)
        return False

    def _partly_failed(self, node: Node, output: StepOutput, attempt_number: int, seconds: float) -> bool:
        failed, error = cast(pl.DataFrame, output.failed), cast(RowErrors, output.error)
        info = error_info(error, node, self.run.workflow, attempt_number, self.run.redactor)
        self._succeeded(node, output.data, attempt_number, seconds, info)
        self.run.count(self.name, node.id, failed=failed.height)
        reasons = [self.run.redactor.redact(r) for r in error.reasons]
        return self._route(node, info, failed, reasons)

    def _route(self, node: Node, info: ErrorInfo, payload: pl.DataFrame | None, reasons: list[str] | None) -> bool:
        """Give a failure to its handler; True when the handler took it."""
        table = error_context(info, payload, reasons)
        failure = Failure(self.name, node.id, info, self.run.where(node), self.handling)
        handler = node.handler or self.graph.handler
        usable = handler is not None and handler not in self.chain and handler in self.run.plan.handlers
        outer = self.graph.handler if node.handler is not None and handler == node.handler else None
        goes_up = outer is not None and outer != handler and outer not in self.chain and outer in self.run.plan.handlers
        if usable:
            captured: list[Failure] | None = [] if goes_up else None
            if self.run.handle(cast(str, handler), table, failure, self.chain, captured):
                return True
            if captured:  # the step's handler failed: its failure goes up to the workflow's handler (spec §10)
                return self._up(cast(str, outer), node, info, payload, reasons=reasons, below=captured[0])
        if self.captured is not None and not usable:  # a handler's failure, for the handler above to take
            self.clean = False
            self.captured.append(failure)
            return False
        self.clean = False
        self.run.keep(f"{self.name}/{node.id}", table)
        if not usable:  # else the handler's own failure failed the run, naming this one
            self.run.fail(failure)
        return False

    def _up(self, outer: str, node: Node, info: ErrorInfo, payload: pl.DataFrame | None, *,
            reasons: list[str] | None, below: Failure) -> bool:
        """The workflow's handler gets the original payload, its error message saying both errors; when it
        fails too, the run fails naming all three."""
        also = (f"; handler `{below.graph}` failed too: stage `{below.info.step}` ({below.where}): "
                f"{below.info.type}: {below.info.message}")
        messages = [r + also for r in reasons] if reasons is not None else None
        combined = dataclasses.replace(info, message=info.message + also)
        table = error_context(combined, payload, messages)
        failure = Failure(self.name, node.id, combined, self.run.where(node), self.handling)
        if self.run.handle(outer, table, failure, self.chain):
            return True
        self.clean = False
        self.run.keep(f"{self.name}/{node.id}", table)
        return False


def _dataframe(node: Node) -> pl.DataFrame:
    schema = node.output.to_polars()
    return pl.DataFrame([dict(row) for row in node.rows], schema=schema, orient="row", strict=False)
