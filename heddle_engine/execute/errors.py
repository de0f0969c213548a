"""Errors of running a workflow, as values with codes.

Problems found before anything runs (parameters, lookups that cannot be bound, a replay that lacks a
recorded table) are `SetupError` values; `run_workflow` raises `RunRefused` carrying all of them, and
`heddle run` prints them like the checker's diagnostics and exits 2. A failure while running belongs to
a node: it is the exception the node raised (the engine's own are the `NodeError` classes below), shown
in the error context with its class name.

| Code   | When |
|--------|------|
| HR1001 | A workflow parameter (`@name` in a step's config) has no value: pass `--param name=VALUE`. |
| HR1002 | `--param name=...` names no parameter of the workflow. |
| HR1003 | A parameter's value does not read as the type its SQL casts it to (`CAST(@n AS INT)`, `@n::date`). |
| HR2001 | A step used as a lookup (`join step (==key)`) is also read as a whole table elsewhere. |
| HR2002 | A step that takes `@name` parameters has a function that accepts no keyword arguments. |
| HR2003 | The module or function of a node cannot be loaded for running. |
| HR2004 | Lookups depend on each other in a cycle. |
| HR2005 | The run's workers (`--workers`, `[workers] jit`) cannot be reached or cannot import a shipped plugin. |
| HR2006 | A stream source is used where it cannot run: in a handler, in a worker, or beside another in a workflow. |
| HR2007 | The run's Ray cluster (`--cluster`) is not installed, cannot be reached, or cannot import a plugin. |
| HR3001 | A replay starts from a node the workflow does not have. |
| HR3002 | A replay needs the recorded output of a node that the recording lacks. |
| HR4001 | A step returned something other than a table. |
| HR4002 | A step's input lacks columns its contract requires, or has them with other types. |
| HR4003 | A step's output lacks columns its declared output has, has them with other types, or has extra ones. |
| HR4004 | A step reported failed rows (`RowErrors`) that do not have its input's columns. |
| HR4005 | An attempt of a call did not finish within its `timeout`: it was abandoned (a `TimeoutError`). |
| HR4006 | The cluster process running a unit died: the unit is attempted again (3 times at most, any policy). |
| HR4007 | The run was interrupted while the unit ran on the cluster: its task was cancelled. |
| HR4008 | Polars panicked computing a stage (a defect of Polars): the stage fails with the panic's message. |
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from heddle_lang.records import record
from heddle_lang.text import Span


@record
class SetupError:
    """A reason the run cannot start. `span`: UTF-8 byte offsets in the `.he` file, when known."""

    code: str
    message: str
    span: Span | None = None


@record
class ParameterError(SetupError):
    """A workflow parameter that is missing, unknown or does not read as its type."""

    parameter: str = ""


class RunRefused(Exception):  # noqa: N818 - the run is refused: a verdict, not an error of the engine
    """Raised before anything runs: the problems that keep the workflow from starting."""

    def __init__(self, errors: Sequence[SetupError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{e.message} [{e.code}]" for e in self.errors))


class NodeError(Exception):
    """A failure the engine finds in a node (not one a step raised): carries a code."""

    code = "HR4000"

    def __init__(self, message: str) -> None:
        super().__init__(f"{message} [{self.code}]")


class NotATableError(NodeError):
    code = "HR4001"


class InputContractError(NodeError):
    code = "HR4002"


class OutputContractError(NodeError):
    code = "HR4003"


class FailedRowsError(NodeError):
    code = "HR4004"


class StepTimeoutError(NodeError, TimeoutError):
    """An attempt overran the call's `timeout` and was abandoned. `stack`: where the call was at that moment."""

    code = "HR4005"

    def __init__(self, message: str, stack: str = "") -> None:
        super().__init__(message)
        self.stack = stack


class UnitLost(NodeError, ConnectionError):  # noqa: N818 - what happened to the unit
    """The process running a unit on a cluster died: the unit is attempted again (`retry.attempt`)."""

    code = "HR4006"


class UnitCancelled(NodeError):  # noqa: N818 - what happened to the unit
    """The run was interrupted while the unit ran on a cluster."""

    code = "HR4007"


class PolarsPanic(NodeError):  # noqa: N818 - what Polars did
    """Polars panicked computing a stage. Its `PanicException` derives from BaseException, so it would pass every
    `except Exception` of the executor and end the whole run as an interruption does; as this error it is the
    stage's failure like any other (retries, handlers with the stage's rows)."""

    code = "HR4008"


@contextmanager
def panics_as_failures() -> Iterator[None]:
    """Inside: a Polars panic raised as `PolarsPanic`; after it, or a Polars error, the process's queries run on
    Polars' in-memory engine (`polars_engine`)."""
    from polars.exceptions import PanicException, PolarsError

    from heddle_engine.execute.polars_engine import avoid_streaming

    try:
        yield
    except PanicException as panic:
        avoid_streaming()
        raise PolarsPanic(f"Polars panicked: {panic}") from panic
    except PolarsError:
        avoid_streaming()
        raise
