"""What a run tells its observers: node states, node outputs, the start and end of the run.

The executor (`heddle_engine.execute`) emits these; the lineage recorder (`heddle_engine.lineage`) and the
CLI's progress display consume them. Observers are called from the executor's threads, one event at a
time per node; an observer must not block for long and must not raise (the executor reports an observer
that raises and goes on without it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import polars as pl

from heddle_lang.plan import Plan
from heddle_lang.records import record

if TYPE_CHECKING:
    import pyarrow as pa


class NodeState(StrEnum):
    """pending → running → (retrying → running)* → succeeded | failed → handled; skipped downstream of a failure."""

    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HANDLED = "handled"
    SKIPPED = "skipped"


@record
class ErrorInfo:
    """A failure as the error context shows it (`error_msg`, `error_type`, `stack_trace`, ...)."""

    message: str
    type: str  # the exception's class name
    stack_trace: str
    step: str  # the node's label (the declared step's name, or `alias.function`)
    workflow: str
    attempt: int  # 1-based
    failed_at: datetime
    line: int  # 1-based line of the stage in the source


@record
class RunInfo:
    run_id: str
    file: str  # the .he file as given on the command line
    workflow: str
    parameters: Mapping[str, object]  # workflow parameters as bound (never secrets)
    plan: Plan  # the typed plan narrowed to the workflow and its handlers
    started_at: datetime
    replay_of: str | None = None  # the run this one replays, if any
    replay_from: str | None = None  # the node id the replay starts from
    replay_batch: int | None = None  # the stream's batch the replay runs again
    # The secret values the run has resolved so far (`env:` values among them), longest first: an observer
    # that keeps data scrubs them from it. Read it again for each output: it grows during the run.
    secrets: Callable[[], tuple[str, ...]] | None = field(default=None, compare=False)


@record
class NodeEvent:
    graph: str  # workflow or handler name
    node_id: str
    state: NodeState
    attempt: int  # 1-based; 0 while pending or skipped
    at: datetime
    rows: int | None = None  # output rows, once succeeded
    seconds: float | None = None  # time of the attempt that ended here
    error: ErrorInfo | None = None  # when failed, retrying or handled


@record
class BatchEvent:
    """A stream's batch: `started` when the source gave it, then `committed` (done: the source's position
    recorded) or `failed` (not committed: the source delivers it again)."""

    number: int  # 1-based
    state: str  # "started" | "committed" | "failed"
    at: datetime
    rows: int  # rows the source gave
    seconds: float | None = None  # from started to committed or failed
    lag: int | None = None  # messages the source holds beyond this batch, when it knows


@record
class RunResult:
    run_id: str
    status: str  # "succeeded" | "failed" | "interrupted" (a handled failure is a success of the run)
    error: ErrorInfo | None = None  # the unhandled failure that failed the run
    states: Mapping[tuple[str, str], NodeState] = field(default_factory=dict)  # (graph, node id) -> final state


@record
class Scan:
    """A node's output not read yet (a reader's lazy scan, `Table.scan`), handed to observers that take scans
    instead of the table: `rows` it holds; `parquet`, a Parquet file that is the output whole and unchanged
    (a recorder may keep a copy of the file instead of writing the rows again)."""

    frame: pl.LazyFrame
    rows: int
    parquet: str | None = None


class RunObserver(Protocol):
    def run_started(self, run: RunInfo) -> None: ...

    def node_event(self, event: NodeEvent) -> None: ...

    def node_output(self, graph: str, node_id: str, table: pa.Table) -> None:
        """A node's output, once per succeeded node (a handler's input is the error-context table)."""

    def run_finished(self, result: RunResult) -> None: ...

    # Optional: `batch_event(self, event: BatchEvent) -> None`, the batches of a stream (an observer without
    # it hears node events only).
    # Optional: `node_scan(self, graph: str, node_id: str, scan: Scan) -> None`: an observer that has it is
    # handed a reader's lazy output as a `Scan` instead of the table (which would be read for it alone), and
    # reads it as it likes, off the executor's thread.
    # Optional: `node_frame(self, graph: str, node_id: str, frame: polars.DataFrame) -> None`: an observer that
    # has it is handed an output that is in Polars as the Polars frame (read-only); the others get it as Arrow,
    # so a run whose data stays in Polars and whose observers all take frames never loads pyarrow.
