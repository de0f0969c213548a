"""A failure as a handler receives it: `ErrorInfo`, and the error-context table `*` stands for.

The table has the error's columns — `error_msg`, `error_type`, `stack_trace`, `step`, `workflow`,
`attempt`, `failed_at` — followed by the payload: the rows the node was processing (its input rows; for
a lookup, the key values it was binding; for `RowErrors`, the failed rows, each with its own message).
A payload column named like an error column is renamed `payload_<name>`. A node without input rows (a
source, or an empty input) gives one row, its payload columns null: the failure itself is never lost.
Secrets are masked in every text.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from heddle_engine.events import ErrorInfo
from heddle_engine.execute.errors import StepTimeoutError
from heddle_engine.execute.secrets import Redactor
from heddle_lang.plan import Node

ERROR_COLUMNS: dict[str, pl.DataType] = {
    "error_msg": pl.String(), "error_type": pl.String(), "stack_trace": pl.String(), "step": pl.String(),
    "workflow": pl.String(), "attempt": pl.Int32(), "failed_at": pl.Datetime("us", "UTC"),
}
_ENGINE = str(Path(__file__).parent)


def error_info(error: BaseException, node: Node, workflow: str, attempt: int, redactor: Redactor) -> ErrorInfo:
    return ErrorInfo(
        message=redactor.redact(str(error) or type(error).__name__),
        type=getattr(error, "type_name", None) or type(error).__name__,  # a worker's error: the class it raised
        stack_trace=redactor.redact(getattr(error, "stack_trace", None) or stack_trace(error)),
        step=node.label,
        workflow=workflow,
        attempt=attempt,
        failed_at=datetime.now(UTC),
        line=node.line,
    )


def stack_trace(error: BaseException) -> str:
    """The traceback from where the engine called into the step (the engine's own frames left out); for an
    attempt abandoned after its timeout, where the call was when it ran out."""
    if isinstance(error, StepTimeoutError) and error.stack:
        return error.stack
    described = traceback.TracebackException.from_exception(error)
    kept = [frame for frame in described.stack if not frame.filename.startswith(_ENGINE)]
    described.stack = traceback.StackSummary.from_list(kept)
    return "".join(described.format())


def error_context(info: ErrorInfo, payload: pl.DataFrame | None, messages: Sequence[str] | None = None) -> pl.DataFrame:
    """The table a handler's `*` reads. `messages`: one per payload row (row errors), else `info.message`."""
    rows = payload if payload is not None and payload.height > 0 else None
    height = rows.height if rows is not None else 1
    context = pl.DataFrame({
        "error_msg": list(messages) if messages is not None else [info.message] * height,
        "error_type": [info.type] * height,
        "stack_trace": [info.stack_trace] * height,
        "step": [info.step] * height,
        "workflow": [info.workflow] * height,
        "attempt": [info.attempt] * height,
        "failed_at": [info.failed_at] * height,
    }, schema=ERROR_COLUMNS)
    if payload is None:
        return context
    renamed = payload.rename({c: f"payload_{c}" for c in payload.columns if c in ERROR_COLUMNS})
    if rows is None:
        renamed = renamed.clear(1)  # one row of nulls with the payload's columns
    return pl.concat([context, renamed], how="horizontal")
