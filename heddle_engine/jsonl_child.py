"""`JsonLinesChild`: a child process asked one JSON line at a time, replaced when it dies or overruns its time.

The plugin process (`plugin_process.py`) and the contained PRQL compiler (`compiler_process.py`) are both
this: a request is one JSON line on the child's stdin, its answer one JSON line (with the same `id`) on the
child's stdout. The child starts on the first question (or on `start()`, so it boots while the caller does
other work), answers one question at a time, and when it exits, closes its output, answers something
unreadable or takes longer than the question's time, it is killed and `ask` raises `ChildError`; the next
question starts a new one. Thread-safe: questions from several threads wait for each other.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


class ChildError(Exception):
    """The child exited, overran its time, or answered something unreadable (it has been stopped)."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class JsonLinesChild:
    def __init__(self, command: Sequence[str], *, cwd: Path | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.command = list(command)
        self.cwd = cwd
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._next_id = 0
        self._lock = threading.Lock()
        self.starts = 0  # how many processes were started (for tests and logs)

    def start(self) -> None:
        """Start the process now, if it is not running (a process that cannot start fails the first `ask`)."""
        with self._lock, contextlib.suppress(ChildError):
            self._started()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def ask(self, request: Mapping[str, Any], seconds: float) -> dict[str, Any]:
        """The answer to `request` (an `id` is added), within `seconds`; raises `ChildError`."""
        with self._lock:
            process = self._started()  # may raise ChildError
            self._next_id += 1
            message = {**request, "id": self._next_id}
            try:
                assert process.stdin is not None
                process.stdin.write(json.dumps(message).encode("utf-8") + b"\n")
                process.stdin.flush()
                while True:
                    answer = json.loads(self._read_line(process, time.monotonic() + seconds))
                    if isinstance(answer, dict) and answer.get("id") == message["id"]:
                        return answer
            except (OSError, ValueError, ChildError) as error:
                self._stop()
                if isinstance(error, ChildError):
                    raise
                raise ChildError(f"{type(error).__name__}: {error}") from None

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stop()
        try:
            self._process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             cwd=self.cwd, env=self.env)
        except OSError as error:
            raise ChildError(f"it could not start ({error})") from None
        self._buffer = b""
        self.starts += 1
        return self._process

    def _read_line(self, process: subprocess.Popen[bytes], deadline: float) -> bytes:
        assert process.stdout is not None
        fd = process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ChildError("it did not answer in time", timed_out=True)
                if not selector.select(left):
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    try:
                        code: int | None = process.wait(timeout=2)
                    except subprocess.TimeoutExpired:
                        code = None
                    raise ChildError(f"it exited (status {code})" if code is not None else "it closed its output")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        if process.poll() is None:
            process.kill()
        process.wait()
