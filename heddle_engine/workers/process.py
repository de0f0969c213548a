"""A worker the engine starts from a command (`{ command = [...] }`), waits for, restarts and stops.

The command runs in the project's folder with `HEDDLE_WORKER_ADDRESS=grpc://127.0.0.1:0` (a free port of the
worker's choosing), a fresh random `HEDDLE_WORKER_TOKEN`, and `HEDDLE_WORKER_PARENT` (the worker stops when
this process goes away). The engine reads the address from the worker's `heddle worker listening on ...`
line; the rest of the worker's standard output is passed on to standard error. A worker that died is
started again on the next call; every worker is stopped when the engine closes its catalog or exits.
"""

from __future__ import annotations

import atexit
import os
import secrets
import selectors
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from pathlib import Path

from heddle.flight import protocol as wire
from heddle_engine.workers.client import WorkerUnavailableError

START_SECONDS = 30.0  # a worker may import heavy libraries before it listens

_RUNNING: weakref.WeakSet[WorkerProcess] = weakref.WeakSet()


class WorkerProcess:
    def __init__(self, command: tuple[str, ...], cwd: Path | None) -> None:
        self.command = command
        self.cwd = cwd
        self.token = secrets.token_urlsafe(24)
        self.starts = 0  # how many processes were started (for tests and logs)
        self._process: subprocess.Popen[bytes] | None = None
        self._address: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WorkerProcess({' '.join(self.command)!r}, address={self._address})"

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def address(self) -> str:
        """The running worker's address; (re)started first when it is not running."""
        with self._lock:
            if self.alive and self._address is not None:
                return self._address
            self._stop()
            return self._start()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _start(self) -> str:
        env = {**os.environ, wire.ENV_ADDRESS: f"grpc://{wire.DEFAULT_HOST}:0", wire.ENV_TOKEN: self.token,
               "HEDDLE_WORKER_PARENT": str(os.getpid()), "PYTHONUNBUFFERED": "1"}
        try:
            process = subprocess.Popen(self.command, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE)
        except OSError as error:
            raise WorkerUnavailableError(f"the command `{' '.join(self.command)}` cannot start: {error}") from None
        self.starts += 1
        self._process = process
        _RUNNING.add(self)
        weakref.finalize(self, _end, process)  # a worker whose owner is gone goes too
        address = self._listening(process)
        self._address = address
        threading.Thread(target=_forward, args=(process,), daemon=True, name="heddle-worker-output").start()
        return address

    def _listening(self, process: subprocess.Popen[bytes]) -> str:
        """Read the worker's output until it says where it listens (its earlier lines go to stderr)."""
        assert process.stdout is not None
        deadline = time.monotonic() + START_SECONDS
        seen: deque[str] = deque(maxlen=5)
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._stop()
                    raise WorkerUnavailableError(f"the command `{' '.join(self.command)}` did not say where it listens "
                                            f"within {START_SECONDS:.0f} s")
                if not selector.select(left):
                    continue
                chunk = os.read(process.stdout.fileno(), 1 << 16)
                if not chunk:
                    code = process.wait()
                    self._process = None
                    said = f": {' | '.join(seen)}" if seen else ""
                    raise WorkerUnavailableError(f"the command `{' '.join(self.command)}` exited (status {code}) "
                                            f"before it listened{said}")
                buffer += chunk
                while b"\n" in buffer:
                    raw, _, buffer = buffer.partition(b"\n")
                    line = raw.decode("utf-8", errors="replace")
                    address = wire.listening_address(line)
                    if address is not None:
                        return address
                    seen.append(line.strip())
                    print(line, file=sys.stderr)

    def _stop(self) -> None:
        process, self._process, self._address = self._process, None, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def _forward(process: subprocess.Popen[bytes]) -> None:
    """The worker's own output (a plugin's `print`) goes to our stderr, so its pipe never fills up."""
    stream = process.stdout
    if stream is None:
        return
    try:
        for raw in iter(stream.readline, b""):
            sys.stderr.write(raw.decode("utf-8", errors="replace"))
    except (OSError, ValueError):  # closed when the worker is stopped
        return


@atexit.register
def _stop_all() -> None:
    for worker in list(_RUNNING):
        worker.close()
