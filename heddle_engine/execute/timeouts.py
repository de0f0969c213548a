"""`timeout: "30s"`: an attempt of a call that overruns it is abandoned, and fails.

A Python thread cannot be killed, so a call with a timeout runs in a thread of its own and its worker
waits for it at most that long. When the call overruns:

- the worker raises `StepTimeoutError` (a `TimeoutError`): the attempt failed. It is retried as the call's
  `retry` policy says (`on: ["TimeoutError"]` matches it), then its rows go to the handler like any
  failure's. The error's stack trace is the abandoned call's stack at that moment: where it hung.
- the abandoned call is left to finish on its own. Whatever it returns or raises later is discarded; a
  side effect it has meanwhile (a file written late) is its own. Its thread is a daemon: the run ends and
  the process exits without waiting for it. The run's warnings name every call still running at its end.

Without a timeout the call runs on the worker's own thread, as before: no thread is started.

On a Ray cluster a step call is not abandoned but stopped: the driver waits for it at most its timeout, then
ends the host process running it (`cluster/placement.py`), with the same `StepTimeoutError` and the stack
the host reports for the call (`stack_of`).
"""

from __future__ import annotations

import contextvars
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from heddle_engine.execute.errors import StepTimeoutError
from heddle_lang.plan import duration_text

T = TypeVar("T")
_ENGINE = str(Path(__file__).parent.parent)
_THREADING = threading.__file__


class Abandoned:
    """The calls of a run abandoned after their timeout: which are still running."""

    def __init__(self) -> None:
        self._calls: list[tuple[str, threading.Thread]] = []
        self._lock = threading.Lock()

    def add(self, label: str, thread: threading.Thread) -> None:
        with self._lock:
            self._calls.append((label, thread))

    def running(self) -> list[str]:
        """Labels of the abandoned calls that have not returned yet (one per call)."""
        with self._lock:
            return [label for label, thread in self._calls if thread.is_alive()]

    def warnings(self) -> list[str]:
        still = self.running()
        if not still:
            return []
        counts: dict[str, int] = {}
        for label in still:
            counts[label] = counts.get(label, 0) + 1
        named = ", ".join(f"`{label}`" + (f" ({n} calls)" if n > 1 else "") for label, n in counts.items())
        return [f"abandoned after their timeout and still running when the run ended: {named}; their results "
                "are discarded and the process does not wait for them"]


def within(seconds: float | None, call: Callable[[], T], label: str, abandoned: Abandoned) -> T:
    """`call()`, given at most `seconds` (no limit when None); `StepTimeoutError` when it overruns."""
    if seconds is None:
        return call()
    outcome: list[tuple[bool, object]] = []
    done = threading.Event()
    context = contextvars.copy_context()  # the run's folder and anything else the caller's context holds

    def target() -> None:
        try:
            outcome.append((True, context.run(call)))
        except BaseException as error:  # handed to the waiting worker (or discarded when it gave up)
            outcome.append((False, error))
        finally:
            done.set()

    thread = threading.Thread(target=target, name=f"heddle-call {label}", daemon=True)
    thread.start()
    if not done.wait(seconds):
        abandoned.add(label, thread)
        raise StepTimeoutError(f"`{label}` did not finish within its timeout of {duration_text(seconds)}; the "
                               "attempt was abandoned (its late result is discarded)", stack=stack_of(thread.ident))
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[return-value]
    assert isinstance(value, BaseException)
    raise value


def stack_of(thread: int | None) -> str:
    """Where the thread `thread` (its ident) is now, as a traceback reads (most recent call last), from the
    step's own frames on."""
    frame = sys._current_frames().get(thread or -1)
    if frame is None:
        return ""
    frames = traceback.extract_stack(frame)
    first = next((i for i, f in enumerate(frames) if not f.filename.startswith(_ENGINE)
                  and not f.filename.startswith(_THREADING)), 0)
    summary = traceback.StackSummary.from_list(frames[first:])
    return "The call was here when its timeout ran out (most recent call last):\n" + "".join(summary.format())
