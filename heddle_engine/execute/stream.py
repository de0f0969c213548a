"""A stream run: the workflow's stream source gives batches; each runs through the workflow's DAG and is
committed once done.

- **Once per run, once per batch.** The units downstream of the source run for every batch; the others (a
  reference table read, a query that does not depend on the batch) run once, before the first batch, and
  their outputs are kept for every batch. One of those failing stops the stream before any batch.
- **A batch is a transaction.** The source's `commit` for a batch is called only when the batch's graph
  ended clean: every sink succeeded, and every failed row reached a handler that succeeded. Otherwise the
  run stops, failed, with that batch uncommitted, so the source delivers it again: at-least-once, never lost.
  One batch is in flight at a time, so a slow sink slows consumption and memory holds one batch.
- **Stopping.** Between batches: after `max_batches`, when the source has yielded only empty batches for
  `until_idle` seconds, when the source ends, or when the run is asked to drain (the first Ctrl-C or
  SIGTERM: the batch in flight finishes and is committed). The run's `stop` (a second signal) abandons the
  batch in flight uncommitted. The source's generator is closed at the end, whatever happened.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import polars as pl

from heddle.core.stream import Batch
from heddle.core.table import Table
from heddle_engine.events import BatchEvent, NodeState
from heddle_engine.execute.data import Data
from heddle_engine.execute.failures import error_info
from heddle_engine.execute.functions import Callee
from heddle_engine.execute.result import Failure, RowCount
from heddle_lang.records import record

if TYPE_CHECKING:
    import pyarrow as pa

    from heddle_engine.execute.executor import Run

S = NodeState


@record
class StreamLimits:
    """When a stream run stops by itself (else it runs until drained or stopped)."""

    max_batches: int | None = None
    until_idle: float | None = None  # seconds without a row


class SourceError(Exception):
    """The stream source cannot give batches (it is not a generator, or it yielded something else)."""


class StreamRun:
    def __init__(self, run: Run, pool: ThreadPoolExecutor, limits: StreamLimits) -> None:
        from heddle_engine.execute.executor import GraphRun

        self._graph_run = GraphRun
        self.run = run
        self.pool = pool
        self.limits = limits
        plan = run.plan
        assert plan.stream is not None
        self.lowered = plan.workflow
        self.source = self.lowered.node(plan.stream)
        self.source_unit = self.lowered.unit_of[plan.stream]
        self.per_batch = plan.stream_units()
        self.once = frozenset(u.id for u in self.lowered.units) - self.per_batch
        self.batches = 0
        self.totals: dict[tuple[str, str], RowCount] = {}

    def execute(self) -> None:
        run = self.run
        first = self._graph_run(run, self.lowered, pool=self.pool, done_units=self.per_batch)
        if not first.execute() or run.stop.is_set():
            self._fold()
            return
        kept = dict(first.values)  # the outputs of the units that run once, which batches read
        missing = [u for u in self.once if any(r in self.per_batch for r in self.lowered.consumers.get(u, ()))
                   and self.lowered.unit(u).last not in kept]
        if missing:
            node = self.lowered.node(self.lowered.unit(missing[0]).last)
            self._fail_source(RuntimeError(f"`{node.label}`, which every batch reads, has no output: the stream "
                                           "cannot start"))
            return
        self._fold()
        try:
            batches = self._open()
        except Exception as error:
            self._fail_source(error)
            return
        try:
            self._loop(batches, kept)
        finally:
            self._close(batches)
            self._fold()
            run.rows.update(self.totals)

    # --- the source -------------------------------------------------------------------------------

    def _open(self) -> Iterator[object]:
        run, node = self.run, self.source
        assert node.module is not None and node.function is not None
        callee = run.functions.step(node.module, node.function)  # in this process, whatever the placement
        if not isinstance(callee, Callee):
            raise SourceError(f"`{node.label}` is a stream source: it runs in the engine's process")
        config = callee.build_config(node.config, run.resources.injected(node.resources))
        run.redactor.add_config(config)
        parameters = {name: run.parameters[name] for name in self.lowered.parameters.get(node.id, ())}
        batches = callee.call(config, None, parameters)
        if not isinstance(batches, Iterator):
            raise SourceError(f"`{node.label}` is a stream source but returned {type(batches).__name__}, not a "
                              "generator of batches")
        return batches

    def _close(self, batches: Iterator[object]) -> None:
        close = getattr(batches, "close", None)
        if close is None:
            return
        try:
            close()
        except Exception as error:  # the batches are committed or not already: say so, end as decided
            self.run.warnings.append(f"the stream source `{self.source.label}` failed to close: "
                                    f"{type(error).__name__}: {self.run.redactor.redact(str(error))}")

    def _next(self, batches: Iterator[object]) -> Batch | None:
        """The next batch (None: the source ended); raises what the source raised."""
        try:
            item = next(batches)
        except StopIteration:
            return None
        batch = item if isinstance(item, Batch) else Batch(item)
        table, failed = self._table(batch.table), self._table(batch.failed) if batch.failed is not None else None
        return Batch(table, batch.commit, batch.lag, failed, batch.reasons)

    def _table(self, table: object) -> pa.Table | pl.DataFrame:
        import pyarrow as pa  # here: a run without a stream starts without pyarrow

        if isinstance(table, Table):  # what it holds, unconverted: a batch made in Polars stays in Polars
            held = table.held()
            table = held.collect() if isinstance(held, pl.LazyFrame) else held
        if not isinstance(table, pa.Table | pl.DataFrame):
            raise SourceError(f"`{self.source.label}` yielded {type(table).__name__}, not a table or a Batch")
        return table

    # --- batches ----------------------------------------------------------------------------------

    def _loop(self, batches: Iterator[object], kept: dict[str, Data]) -> None:
        run, limits = self.run, self.limits
        idle_since: float | None = None  # when the source started giving empty batches
        while not run.stop.is_set() and not run.drain.is_set():
            try:
                batch = self._next(batches)
            except Exception as error:
                self._fail_source(error)
                return
            if batch is None:
                return  # the source ended
            rows = _height(batch.table) + (_height(batch.failed) if batch.failed is not None else 0)
            if rows == 0:
                idle_since = time.monotonic() if idle_since is None else idle_since
                if limits.until_idle is not None and time.monotonic() - idle_since >= limits.until_idle:
                    return
                continue
            idle_since = None
            if not self._run_batch(batch, rows, kept):
                return
            if limits.max_batches is not None and self.batches >= limits.max_batches:
                return

    def _run_batch(self, batch: Batch, rows: int, kept: dict[str, Data]) -> bool:
        """One batch through the DAG, committed when done; False when the stream must stop."""
        run = self.run
        self.batches += 1
        number, started = self.batches, time.perf_counter()
        run.observers.batch_event(BatchEvent(number, "started", _now(), rows, lag=batch.lag))
        graph = self._graph_run(run, self.lowered, pool=self.pool, supplied={self.source_unit: batch}, done=kept,
                                done_units=self.once)
        clean = graph.execute()
        self._fold()
        if not clean or run.failures or run.stop.is_set():
            run.observers.batch_event(BatchEvent(number, "failed", _now(), rows, time.perf_counter() - started,
                                                 batch.lag))
            return False
        if batch.commit is not None:
            try:
                batch.commit()
            except Exception as error:
                run.observers.batch_event(BatchEvent(number, "failed", _now(), rows,
                                                     time.perf_counter() - started, batch.lag))
                self._fail_source(error, f"the position after batch {number} could not be committed (the "
                                         "source delivers the batch again): ")
                return False
        run.observers.batch_event(BatchEvent(number, "committed", _now(), rows, time.perf_counter() - started,
                                             batch.lag))
        return True

    def _fold(self) -> None:
        """Add the row counts of the pass that just ran to the run's totals."""
        with self.run._lock:
            for key, count in self.run.rows.items():
                self.totals[key] = _add(self.totals.get(key), count)
            self.run.rows.clear()

    def _fail_source(self, error: Exception, prefix: str = "") -> None:
        """The stream cannot go on: the run fails, naming the source."""
        run, node = self.run, self.source
        info = error_info(error, node, run.workflow, 1, run.redactor)
        if prefix:
            info = type(info)(prefix + info.message, info.type, info.stack_trace, info.step, info.workflow,
                              info.attempt, info.failed_at, info.line)
        state = run.states.get(self.lowered.graph.name, node.id)
        if state != S.RUNNING:
            run.states.pending(self.lowered.graph.name, [node.id])
            run.states.change(self.lowered.graph.name, node.id, S.RUNNING, 1)
        run.states.change(self.lowered.graph.name, node.id, S.FAILED, 1, error=info)
        run.fail(Failure(self.lowered.graph.name, node.id, info, run.where(node)))


def _height(table: object) -> int:
    import pyarrow as pa

    assert isinstance(table, pa.Table | pl.DataFrame)
    return table.num_rows if isinstance(table, pa.Table) else table.height


def _add(total: RowCount | None, more: RowCount) -> RowCount:
    if total is None:
        return more

    def plus(a: int | None, b: int | None) -> int | None:
        return None if a is None and b is None else (a or 0) + (b or 0)

    return RowCount(plus(total.input, more.input), plus(total.output, more.output), total.failed + more.failed)


def _now() -> datetime:
    return datetime.now(UTC)
