"""What a run returns: `events.RunResult`, plus what a caller needs to account for every row.

- `rows`: per node, the rows that came in, went out, and failed (to a handler, or kept here).
- `kept`: error-context tables no handler took (no handler, or the handler itself failed), by
  `graph/node`: the failed rows with their errors — nothing is lost.
- `failures`: the unhandled failures, the first one failing the run (`error`).
- `outputs`: the outputs of the workflow's last nodes (those nothing reads), as Arrow tables (a stream's:
  of its last batch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import TYPE_CHECKING

from heddle_engine.events import ErrorInfo, RunResult
from heddle_lang.records import record

if TYPE_CHECKING:
    import pyarrow as pa


@record
class RowCount:
    input: int | None = None  # rows piped in (a lookup: its bindings); None for a source
    output: int | None = None  # rows produced; None when it produced nothing
    failed: int = 0  # rows sent with a failure to a handler, or kept in the run's result


@record
class Failure:
    """A failure no handler took."""

    graph: str
    node: str
    info: ErrorInfo
    where: str  # `file:line:col` of the stage
    handling: Failure | None = None  # the failure a handler was handling when it failed

    def describe(self) -> str:
        text = f"stage `{self.info.step}` ({self.where}) failed: {self.info.type}: {self.info.message}"
        if self.handling is not None:
            text += (f" — in handler `{self.graph}`, while handling the failure of stage "
                     f"`{self.handling.info.step}` ({self.handling.where}): {self.handling.info.type}: "
                     f"{self.handling.info.message}")
        return text


@record
class ExecutionResult(RunResult):
    workflow: str = ""
    failures: tuple[Failure, ...] = ()
    rows: Mapping[tuple[str, str], RowCount] = field(default_factory=dict)
    kept: Mapping[str, pa.Table] = field(default_factory=dict)
    outputs: Mapping[str, pa.Table] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    batches: int | None = None  # a stream's batches (the last one uncommitted when the run failed)
    cluster: Mapping[str, object] | None = None  # on a cluster: its address, bytes the driver fetched and put

    @property
    def message(self) -> str | None:
        """Why the run failed, in one line; None when it succeeded."""
        return self.failures[0].describe() if self.failures else None
