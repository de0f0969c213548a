"""What `heddle run` shows while a workflow runs: one line per stage with its state, rows and time.

On a terminal the lines are a live block, redrawn in place (ANSI cursor movement) as stages change;
what the workflow itself prints (`io.print`, `io.stderr`) is written above the block. Elsewhere (a pipe,
a file, CI logs) each stage prints one plain line when it ends:

    heddle: stage io.print succeeded 2 rows 1.2 ms (line 28)

For programs (`--progress jsonl`, what the language server reads) each event is one JSON object on a line
of its own instead: `{"event": "run", ...}` when the run starts, then `{"event": "node", ...}` per node event,
and on a stream `{"event": "batch", ...}` when a batch starts and when it is committed or fails.

A stream shows its batches: a line on top of the live block (batches, rows, rows/s, lag), or a plain line per
committed batch; after the first batch, plain stage lines are printed only for failures and retries.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from heddle_engine.events import BatchEvent, NodeEvent, NodeState, RunInfo, RunResult
from heddle_lang.plan import Graph, Node

if TYPE_CHECKING:
    import pyarrow as pa

S = NodeState
_MARKS = {S.PENDING: "·", S.RUNNING: "▶", S.RETRYING: "↻", S.SUCCEEDED: "✓", S.FAILED: "✗", S.HANDLED: "↪",
          S.SKIPPED: "-"}
_ENDS = {S.SUCCEEDED, S.FAILED, S.HANDLED, S.SKIPPED, S.RETRYING}
REDRAW_EVERY = 0.05  # seconds between two redraws of the live block


def duration(seconds: float) -> str:
    milliseconds = seconds * 1000
    if milliseconds < 10:
        return f"{milliseconds:.1f} ms"
    if milliseconds < 1000:
        return f"{milliseconds:.0f} ms"
    return f"{seconds:.2f} s"


@dataclass(slots=True)
class _Stage:
    graph: Graph
    node: Node
    state: NodeState = S.PENDING
    attempt: int = 0
    rows: int | None = None
    seconds: float | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        return self.node.label if self.graph.kind == "workflow" else f"{self.node.label} of handler {self.graph.name}"

    def text(self) -> str:
        parts = [f"stage {self.name} {self.state}"]
        if self.state == S.HANDLED:
            handler = self.node.handler or self.graph.handler
            parts = [f"stage {self.name} failed, handled by {handler}"]
        if self.rows is not None and self.state == S.SUCCEEDED:
            parts.append(f"{self.rows} row{'' if self.rows == 1 else 's'}")
        if self.seconds is not None and self.state != S.HANDLED:
            parts.append(duration(self.seconds))
        if self.attempt > 1 and self.state in (S.SUCCEEDED, S.FAILED):
            parts.append(f"after {self.attempt} attempts")
        text = " ".join(parts) + f" (line {self.node.line})"
        if self.error is not None and self.state in (S.FAILED, S.RETRYING):
            text += f": {self.error}"
        elif self.error is not None and self.state == S.SUCCEEDED:  # some rows failed (`RowErrors`)
            text += f"; {self.error.partition(': ')[2]}, sent to {self.node.handler or self.graph.handler}"
        return text


@dataclass(slots=True)
class _Batches:
    """A stream's batches so far, for the progress line."""

    number: int = 0
    committed: int = 0
    rows: int = 0
    started: float | None = None  # monotonic time of the first batch
    lag: int | None = None

    def add(self, event: BatchEvent) -> None:
        self.number = max(self.number, event.number)
        self.lag = event.lag
        if self.started is None:
            self.started = time.monotonic()
        if event.state == "committed":
            self.committed += 1
            self.rows += event.rows

    def text(self) -> str:
        elapsed = time.monotonic() - self.started if self.started is not None else 0.0
        rate = f", {self.rows / elapsed:,.0f} rows/s" if elapsed > 0 else ""
        lag = f", lag {self.lag:,}" if self.lag is not None else ""
        return (f"stream: batch {self.number}, {self.committed} committed, {self.rows:,} "
                f"row{'' if self.rows == 1 else 's'}{rate}{lag}")


class Progress:
    """A run observer that shows stages; `live=True` redraws a block of lines on a terminal."""

    wants_outputs = False  # it shows states, not data: fused relational blocks need not materialise

    def __init__(self, stream: TextIO, *, live: bool) -> None:
        self.stream = stream
        self.live = live
        self._stages: dict[tuple[str, str], _Stage] = {}
        self._order: list[tuple[str, str]] = []
        self._graphs: dict[str, Graph] = {}
        self._drawn = 0  # lines of the live block on screen
        self._last_draw = 0.0
        self._batches: _Batches | None = None  # a stream's
        self._lock = threading.RLock()

    # --- RunObserver ------------------------------------------------------------------------------

    def run_started(self, run: RunInfo) -> None:
        with self._lock:
            self._graphs = {g.name: g for g in run.plan.graphs}

    def node_event(self, event: NodeEvent) -> None:
        with self._lock:
            key = (event.graph, event.node_id)
            stage = self._stages.get(key)
            if stage is None:
                graph = self._graphs[event.graph]
                stage = self._stages[key] = _Stage(graph, graph.node(event.node_id))
                self._order.append(key)
            stage.state, stage.attempt = event.state, event.attempt
            if event.rows is not None or event.state == S.PENDING:
                stage.rows = event.rows
            if event.seconds is not None or event.state == S.PENDING:
                stage.seconds = event.seconds
            stage.error = f"{event.error.type}: {event.error.message}" if event.error is not None else None
            if self.live:
                self._redraw(force=event.state in _ENDS)
            elif event.state in _ENDS and (self._batches is None or self._batches.number <= 1
                                           or event.state in (S.FAILED, S.RETRYING)):
                self.stream.write(f"heddle: {stage.text()}\n")
                self.stream.flush()

    def batch_event(self, event: BatchEvent) -> None:
        with self._lock:
            if self._batches is None:
                self._batches = _Batches()
            self._batches.add(event)
            if self.live:
                self._redraw(force=event.state != "started")
            elif event.state != "started":
                rate = f" ({event.rows / event.seconds:,.0f} rows/s)" if event.seconds else ""
                lag = f", lag {event.lag:,}" if event.lag is not None else ""
                took = f" in {duration(event.seconds)}" if event.seconds is not None else ""
                self.stream.write(f"heddle: batch {event.number} {event.state}: {event.rows:,} "
                                  f"row{'' if event.rows == 1 else 's'}{took}{rate}{lag}\n")
                self.stream.flush()

    def node_output(self, graph: str, node_id: str, table: pa.Table) -> None:
        """Outputs are not shown."""

    def run_finished(self, result: RunResult) -> None:
        if self.live:
            with self._lock:
                self._redraw(force=True)

    # --- the live block -----------------------------------------------------------------------------

    def write_above(self, target: TextIO, text: str) -> int:
        """Write `text` to `target` (the same terminal) above the live block, which is drawn again after
        a complete line."""
        with self._lock:
            self._clear()
            written = target.write(text)
            if text.endswith("\n"):
                target.flush()
                self._redraw(force=True)
            return written

    def flush_above(self, target: TextIO) -> None:
        with self._lock:
            target.flush()
            self._redraw(force=True)

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self.stream.flush()
            self._drawn = 0

    def _redraw(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < REDRAW_EVERY:
            return
        self._last_draw = now
        width = max(20, shutil.get_terminal_size().columns - 1)  # a wrapped line would break the redraw
        lines = [f"{_MARKS[self._stages[k].state]} {self._stages[k].text()}"[:width] for k in self._order]
        if self._batches is not None:
            lines.insert(0, self._batches.text()[:width])
        block = "".join(f"\x1b[2K{line}\n" for line in lines)
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        self.stream.write(f"{up}{block}\x1b[J")
        self.stream.flush()
        self._drawn = len(lines)


class JsonProgress:
    """A run observer for programs: one JSON object per line for the start of the run and each node event.

    What the workflow prints to the same stream goes through `write_above` (see `AboveProgress`), so an event
    always starts a line of its own even when another thread is halfway through printing one.
    """

    wants_outputs = False

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._graphs: dict[str, Graph] = {}
        self._mid_line = False  # the stream's last text did not end a line
        self._lock = threading.RLock()

    def run_started(self, run: RunInfo) -> None:
        with self._lock:
            self._graphs = {g.name: g for g in run.plan.graphs}
        workflow = self._graphs.get(run.workflow)
        self._emit({"event": "run", "run_id": run.run_id, "workflow": run.workflow,
                    "stages": len(workflow.nodes) if workflow is not None else 0})

    def node_event(self, event: NodeEvent) -> None:
        graph = self._graphs.get(event.graph)
        node = graph.node(event.node_id) if graph is not None else None
        error = event.error
        self._emit({
            "event": "node", "graph": event.graph, "handler": graph is not None and graph.kind != "workflow",
            "node": event.node_id, "label": node.label if node is not None else event.node_id,
            "line": node.line if node is not None else None, "state": str(event.state), "attempt": event.attempt,
            "rows": event.rows, "seconds": event.seconds,
            "error": None if error is None else {"type": error.type, "message": error.message},
        })

    def batch_event(self, event: BatchEvent) -> None:
        self._emit({"event": "batch", "batch": event.number, "state": event.state, "rows": event.rows,
                    "seconds": event.seconds, "lag": event.lag})

    def node_output(self, graph: str, node_id: str, table: pa.Table) -> None:
        """Outputs are not shown."""

    def run_finished(self, result: RunResult) -> None:
        """The report (`--format json`) or the summary tells how the run ended."""

    def write_above(self, target: TextIO, text: str) -> int:
        with self._lock:
            written = target.write(text)
            if target is self.stream and text:
                self._mid_line = not text.endswith("\n")
            return written

    def flush_above(self, target: TextIO) -> None:
        with self._lock:
            target.flush()

    def _emit(self, record: dict[str, Any]) -> None:
        with self._lock:
            start = "\n" if self._mid_line else ""
            self.stream.write(f"{start}{json.dumps(record)}\n")
            self.stream.flush()
            self._mid_line = False


class _Shown(Protocol):
    """What shows progress on a stream that the workflow's own output shares."""

    def write_above(self, target: TextIO, text: str) -> int: ...

    def flush_above(self, target: TextIO) -> None: ...


class AboveProgress:
    """A text stream for `sys.stdout`/`sys.stderr` during a run: what the workflow prints goes above the live
    block instead of through it, or between JSON events instead of inside one."""

    def __init__(self, target: TextIO, progress: _Shown) -> None:
        self._target = target
        self._progress = progress

    def write(self, text: str) -> int:
        return self._progress.write_above(self._target, text)

    def flush(self) -> None:
        self._progress.flush_above(self._target)

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self) -> str:
        return self._target.encoding
