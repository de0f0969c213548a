"""What a plugin writes on the cluster — `print`, `sys.stderr`, `logging` without handlers of its own — comes
back with the call's answer and is written by the driver to its own stdout and stderr, as in process.

A host process's `sys.stdout` and `sys.stderr` are replaced once by streams that keep the writes made inside
`captured()` (a context variable: the call's thread, and the thread a timed call runs in) and pass any other
write to the process's own stream (Ray's log file of the worker). So a call's output is its own: never another
call's, never another run's (each run has hosts of its own). Output of threads a plugin starts itself stays in
the worker's log. At most `LIMIT` characters of a call come back; the rest is counted.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any, TextIO

LIMIT = 1 << 20
_CAPTURE: ContextVar[list[tuple[str, str]] | None] = ContextVar("heddle_cluster_output", default=None)


class _Stream:
    def __init__(self, name: str, original: TextIO) -> None:
        self.name = name
        self.original = original

    def write(self, text: str) -> int:
        kept = _CAPTURE.get()
        if kept is None:
            return self.original.write(text)
        kept.append((self.name, text))
        return len(text)

    def flush(self) -> None:
        if _CAPTURE.get() is None:
            self.original.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, isatty, ...: the process's own stream's
        return getattr(self.original, name)


def install() -> None:
    """Route this process's `sys.stdout` and `sys.stderr` through the capture (once)."""
    if not isinstance(sys.stdout, _Stream):
        sys.stdout = _Stream("stdout", sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, _Stream):
        sys.stderr = _Stream("stderr", sys.stderr)  # type: ignore[assignment]


@contextlib.contextmanager
def captured() -> Iterator[list[tuple[str, str]]]:
    """The writes made inside, as (stream, text) in order."""
    kept: list[tuple[str, str]] = []
    token = _CAPTURE.set(kept)
    try:
        yield kept
    finally:
        _CAPTURE.reset(token)


def packed(writes: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Consecutive writes to one stream joined, at most `LIMIT` characters in all (then a line that says so)."""
    out: list[tuple[str, str]] = []
    size = 0
    for stream, text in writes:
        if size + len(text) > LIMIT:
            left = sum(len(t) for _, t in writes) - size
            out.append(("stderr", f"\n[heddle: {left} more characters of this call's output were left out]\n"))
            break
        size += len(text)
        if out and out[-1][0] == stream:
            out[-1] = (stream, out[-1][1] + text)
        else:
            out.append((stream, text))
    return out


def echo(writes: Sequence[tuple[str, str]] | None) -> None:
    """A call's output, written here as it was written there."""
    for stream, text in writes or ():
        target = sys.stdout if stream == "stdout" else sys.stderr
        target.write(text)
        target.flush()
