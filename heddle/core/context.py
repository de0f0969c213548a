"""What a step may know of the run calling it: `current_run()` during a call made by the engine in its own
process (None elsewhere: in a worker, or outside a run). A Kafka consumer names its default group with it."""

from __future__ import annotations

from contextvars import ContextVar, Token

from heddle_lang.records import record


@record
class RunContext:
    run_id: str
    workflow: str
    project: str  # the name of the project's folder (of `heddle.toml`, else of the `.he` file)


_CURRENT: ContextVar[RunContext | None] = ContextVar("heddle_run", default=None)


def current_run() -> RunContext | None:
    return _CURRENT.get()


def enter_run(context: RunContext) -> Token[RunContext | None]:
    """For the engine: the run its calls belong to (in this thread, and in the threads it copies the context to)."""
    return _CURRENT.set(context)


def leave_run(token: Token[RunContext | None]) -> None:
    _CURRENT.reset(token)
