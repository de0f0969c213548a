"""Running a workflow so that Ctrl-C always ends the command, with exit status 130.

The run goes on a thread of its own while the main thread only waits for it, so a Ctrl-C is heard at once
even when a step hangs in code that never returns to Python. On Ctrl-C no further stage starts and the
stages running get `GRACE_SECONDS` to finish; the run then ends `interrupted` (recorded so) and the
command exits 130. When a stage still runs after the grace period (or on a second Ctrl-C) the command
records the run as interrupted and exits 130 at once, without waiting for the stage: a Python thread
cannot be stopped, and the process ending is what stops it.

A stream drains instead: on the first Ctrl-C the batch in flight finishes and is committed, however long
that takes, and the run ends as it would have; a second Ctrl-C quits at once, that batch uncommitted.
SIGTERM is heard as Ctrl-C (a service manager's stop is a graceful stop).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from heddle_engine.execute import Interrupt

T = TypeVar("T")

INTERRUPTED_EXIT = 130  # 128 + SIGINT, as shells report a command ended by Ctrl-C
GRACE_SECONDS = 5.0
# Polars installs a SIGINT handler that restarts interrupted system calls, so a wait without a timeout
# would never hear Ctrl-C: the main thread wakes up this often to let Python run its handler.
POLL_SECONDS = 0.1


def run_interruptibly(run: Callable[[Interrupt], T], *, abandon: Callable[[], None],
                      grace: float = GRACE_SECONDS, stream: bool = False) -> T:
    """`run(interrupt)` on a thread of its own, and what it returns. On Ctrl-C: `interrupt()`, then wait up to
    `grace` seconds for the run to end (its result says `interrupted`); when it does not, call `abandon()`
    (record what can be recorded) and exit the process with status 130 there and then."""
    from heddle_engine.execute import Interrupt

    interrupt = Interrupt()
    outcome: dict[str, object] = {}
    done = threading.Event()

    def work() -> None:
        try:
            outcome["value"] = run(interrupt)
        except BaseException as error:  # handed to the main thread
            outcome["error"] = error
        finally:
            done.set()

    with _presses_counted() as presses:
        threading.Thread(target=work, name="heddle-run", daemon=True).start()
        _supervise(interrupt, done, presses, abandon=abandon, grace=None if stream else grace)
    return _outcome(outcome)


class _Presses:
    """The Ctrl-C presses (and SIGTERMs) heard while a run goes: counted by the signal handler, never raised,
    so that no press can land between two statements of the supervisor and end the command unannounced."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum: int, frame: object) -> None:
        self.count += 1


@contextlib.contextmanager
def _presses_counted() -> Iterator[_Presses]:
    """SIGINT and SIGTERM counted by `_Presses` while the run goes (a handler can only be set on the main
    thread; elsewhere no signal reaches the run and it is only waited for)."""
    presses = _Presses()
    if threading.current_thread() is not threading.main_thread():
        yield presses
        return
    before = {number: signal.signal(number, presses) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield presses
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


def _supervise(interrupt: Interrupt, done: threading.Event, presses: _Presses, *,
               abandon: Callable[[], None], grace: float | None) -> None:
    if _wait(done, presses, 1, None):
        return
    interrupt()
    if grace is None:  # a stream: drain, however long the batch in flight takes
        told = ("\nheddle: stopping: the batch in flight finishes and is committed (Ctrl-C again to quit now, "
                "leaving it uncommitted)")
        quitting = "heddle: quit: the batch in flight is not committed; the source delivers it again"
    else:
        told = (f"\nheddle: interrupted: no further stage starts; the stages running have {grace:g} s to finish "
                "(Ctrl-C again to quit now)")
        quitting = "heddle: stages still running were abandoned; the run is recorded as interrupted"
    print(told, file=sys.stderr, flush=True)
    if _wait(done, presses, 2, grace):
        return
    abandon()
    print(quitting, file=sys.stderr, flush=True)
    quit_now(INTERRUPTED_EXIT)


def _outcome(outcome: dict[str, object]) -> T:
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def _wait(done: threading.Event, presses: _Presses, pressed: int, seconds: float | None) -> bool:
    """Wait until the run is `done` (True), or until Ctrl-C has been pressed `pressed` times or `seconds` have
    passed (False). (Not `Thread.join`: on Python 3.11 a join that a signal interrupts marks the thread ended
    while it runs on.)"""
    deadline = None if seconds is None else time.monotonic() + seconds
    while not done.is_set():
        if presses.count >= pressed:
            return False
        left = POLL_SECONDS if deadline is None else min(POLL_SECONDS, deadline - time.monotonic())
        if left <= 0:
            return False
        done.wait(left)
    return True


def quit_now(status: int) -> None:
    """End the process with `status` without waiting for threads that may never return."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)
