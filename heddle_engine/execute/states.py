"""Node states and the observers that hear about them.

Every node follows `events.NodeState`'s machine:

    pending → running → (retrying → running)* → succeeded | failed → handled
    pending → skipped                      (downstream of a failure, or not needed by a replay)
    pending → succeeded                    (replay: the output is taken from the recording, attempt 0)
    running → skipped                      (a fused block after the one whose failure stopped the query)

A handler's nodes start again from `pending` each time the handler receives a failure. An illegal
transition is a bug of the engine and raises.

Observers are called one event at a time (a lock serialises them); one that raises is dropped for the
rest of the run and the problem is kept as a warning of the run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import polars as pl

from heddle_engine.events import BatchEvent, ErrorInfo, NodeEvent, NodeState, RunInfo, RunObserver, RunResult, Scan

if TYPE_CHECKING:
    import pyarrow as pa

S = NodeState
_ALLOWED: dict[NodeState, frozenset[NodeState]] = {
    S.PENDING: frozenset({S.RUNNING, S.SKIPPED, S.SUCCEEDED}),
    S.RUNNING: frozenset({S.RETRYING, S.SUCCEEDED, S.FAILED, S.SKIPPED}),
    S.RETRYING: frozenset({S.RUNNING}),
    S.FAILED: frozenset({S.HANDLED}),
    S.SUCCEEDED: frozenset(),
    S.HANDLED: frozenset(),
    S.SKIPPED: frozenset(),
}
TERMINAL = frozenset({S.SUCCEEDED, S.FAILED, S.HANDLED, S.SKIPPED})

log = logging.getLogger("heddle.run")


class Observers:
    def __init__(self, observers: Sequence[RunObserver]) -> None:
        self._observers = list(observers)
        self._lock = threading.Lock()
        self.warnings: list[str] = []

    @property
    def active(self) -> bool:
        return bool(self._observers)

    @property
    def want_outputs(self) -> bool:
        """Does any observer want node outputs? (One may say no with `wants_outputs = False`.)"""
        return any(getattr(o, "wants_outputs", True) for o in self._observers)

    @property
    def take_scans(self) -> bool:
        """Does every observer that wants node outputs take a lazy output as a `Scan` (`node_scan`)?"""
        return all(hasattr(o, "node_scan") for o in self._observers if getattr(o, "wants_outputs", True))

    def run_started(self, run: RunInfo) -> None:
        self._each(lambda o: o.run_started(run), "run_started")

    def node_event(self, event: NodeEvent) -> None:
        self._each(lambda o: o.node_event(event), "node_event")

    def node_output(self, graph: str, node_id: str, table: pa.Table) -> None:
        self._each(lambda o: o.node_output(graph, node_id, table), "node_output")

    def node_frame(self, graph: str, node_id: str, frame: pl.DataFrame) -> None:
        """A Polars output: as the frame to the observers that take frames (`node_frame`), as Arrow (converted
        once) to the others that want outputs."""
        arrow: list[pa.Table] = []

        def call(observer: RunObserver) -> None:
            if not getattr(observer, "wants_outputs", True):
                return
            take = getattr(observer, "node_frame", None)
            if take is not None:
                take(graph, node_id, frame)
                return
            if not arrow:
                arrow.append(frame.to_arrow(compat_level=pl.CompatLevel.newest()))
            observer.node_output(graph, node_id, arrow[0])
        self._each(call, "node_frame")

    def node_scan(self, graph: str, node_id: str, scan: Scan) -> None:
        """To the observers that take scans (the others want no outputs: `take_scans`)."""
        def call(observer: RunObserver) -> None:
            take = getattr(observer, "node_scan", None)
            if take is not None:
                take(graph, node_id, scan)
        self._each(call, "node_scan")

    def node_sink(self, graph: str, node_id: str) -> Callable[[pl.LazyFrame], pl.LazyFrame] | None:
        """A maker of the sink plan that streams a node's output, inside the executor's own plan, to the one
        observer that wants outputs, when it takes them so (lineage: `node_sink`); None otherwise (the output is
        then given as a table or a scan). The executor reports the plan's end with `node_sunk`."""
        wanting = [o for o in self._observers if getattr(o, "wants_outputs", True)]
        make = getattr(wanting[0], "node_sink", None) if len(wanting) == 1 else None
        found: list[Callable[[pl.LazyFrame], pl.LazyFrame] | None] = [None]

        def call(observer: RunObserver) -> None:
            if observer is wanting[0] and make is not None:
                found[0] = make(graph, node_id)
        if make is not None:
            self._each(call, "node_sink")
        return found[0]

    def node_sunk(self, graph: str, node_id: str, *, ok: bool) -> None:
        """The plan that streamed a node's output (`node_sink`) ran (`ok`) or failed."""
        def call(observer: RunObserver) -> None:
            done = getattr(observer, "node_sunk", None)
            if done is not None:
                done(graph, node_id, ok=ok)
        self._each(call, "node_sunk")

    def run_finished(self, result: RunResult) -> None:
        self._each(lambda o: o.run_finished(result), "run_finished")

    def batch_event(self, event: BatchEvent) -> None:
        """To the observers that listen to a stream's batches (`batch_event` is optional)."""
        def call(observer: RunObserver) -> None:
            listen = getattr(observer, "batch_event", None)
            if listen is not None:
                listen(event)
        self._each(call, "batch_event")

    def _each(self, call: Callable[[RunObserver], None], what: str) -> None:
        with self._lock:
            for observer in list(self._observers):
                try:
                    call(observer)
                except Exception as error:  # an observer is someone else's code: the run goes on
                    self._observers.remove(observer)
                    message = (f"observer {type(observer).__name__} raised {type(error).__name__} in {what} "
                               f"({error}); the run goes on without it")
                    self.warnings.append(message)
                    log.warning(message)


class States:
    """The state of every node of a run, by (graph, node id); each change is an event to the observers."""

    def __init__(self, observers: Observers) -> None:
        self._observers = observers
        self._states: dict[tuple[str, str], NodeState] = {}
        self._lock = threading.Lock()

    def get(self, graph: str, node: str) -> NodeState:
        with self._lock:
            return self._states.get((graph, node), S.PENDING)

    def snapshot(self) -> dict[tuple[str, str], NodeState]:
        with self._lock:
            return dict(self._states)

    def pending(self, graph: str, nodes: Sequence[str]) -> None:
        """The nodes of a graph that is about to run (again, for a handler)."""
        with self._lock:
            for node in nodes:
                self._states[(graph, node)] = S.PENDING
        if self._observers.active:
            for node in nodes:
                self._observers.node_event(NodeEvent(graph, node, S.PENDING, 0, _now()))

    def change(self, graph: str, node: str, state: NodeState, attempt: int, *, rows: int | None = None,
               seconds: float | None = None, error: ErrorInfo | None = None) -> None:
        with self._lock:
            before = self._states.get((graph, node), S.PENDING)
            if state not in _ALLOWED[before]:
                raise RuntimeError(f"engine bug: node {graph}/{node} cannot go from {before} to {state}")
            self._states[(graph, node)] = state
        if self._observers.active:
            self._observers.node_event(NodeEvent(graph, node, state, attempt, _now(), rows, seconds, error))


def _now() -> datetime:
    return datetime.now(UTC)
