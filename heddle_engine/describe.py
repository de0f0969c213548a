"""Asking a database, at check time, what a query returns: its columns and their types, as the server says.

A connector's `describe` hook (`@plugin.step(describe=...)`) hands `describe` a key for its connection, the
query text and a function that asks the server. Answers are kept per (connection, query text), so a keystroke
elsewhere asks nothing. Each question is bounded in time, and never blocks an editor:

- **waiting** (the default: `heddle check`, `plan`, `run`): the first question about a query waits up to
  `timeout` seconds; past that the checker goes on with the offline typing and the answer, when it comes,
  is kept for the next question.
- **background** (the language server: `configure(background=True)`): a question not answered yet starts the
  asking on a thread of its own and the checker goes on at once with the offline typing; when the answer
  comes, the listeners are called (the server checks the open documents again). Such a check is announced as
  one that asked a server (`asked.py`) only when it used an answer: until then it is the offline typing, which
  follows from the files alone (the server's stored first answers, `heddle_lsp/first_answer.py`, rely on it).

`HEDDLE_DESCRIBE=off` in the environment turns the asking off (the offline typing only). A connection that
cannot be reached is not asked again for `retry_after` seconds. A server that refuses the
query (a table that does not exist, a syntax error) is an answer too: the checker shows it as a warning.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
import time
from collections.abc import Callable, Hashable

from heddle_engine.asked import asking as announce
from heddle_engine.asked import overran
from heddle_lang.catalog import InferenceError
from heddle_lang.records import record
from heddle_lang.types import Schema

SWITCH = "HEDDLE_DESCRIBE"


class QueryRefused(Exception):  # noqa: N818 - named for what the server did
    """The server was reached and refused the query: its message is the reason."""


@record
class _Answer:
    schema: Schema | None
    refused: str | None
    at: float


class Describer:
    def __init__(self) -> None:
        self.background = False
        self.timeout = 5.0  # seconds a waiting question may take
        self.retry_after = 30.0  # seconds an unreachable connection is left alone
        self.ttl = 300.0  # seconds an answer is trusted before it is asked again (in the background)
        self._answers: dict[tuple[Hashable, str], _Answer] = {}
        self._down: dict[Hashable, float] = {}  # connection -> when it was found unreachable
        self._asking: dict[tuple[Hashable, str], threading.Event] = {}
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def configure(self, *, background: bool | None = None, timeout: float | None = None) -> None:
        if background is not None:
            self.background = background
        if timeout is not None:
            self.timeout = timeout

    def listen(self, callback: Callable[[], None]) -> None:
        """`callback()` (on a worker thread) whenever a background question got its answer."""
        with self._lock:
            self._listeners.append(callback)

    def forget(self) -> None:
        """Drop every answer (the project or its profile changed)."""
        with self._lock:
            self._answers.clear()
            self._down.clear()

    def describe(self, connection: Hashable, query: str, ask: Callable[[], Schema], *,
                 local: bool = False) -> Schema | None:
        """The query's columns as the server describes them; None when not known (yet); raises
        `InferenceError` with the server's message when it refuses the query. `local`: `ask` reads only files
        (an embedded database), no server."""
        if os.environ.get(SWITCH, "on").strip().lower() in ("0", "off", "false", "no"):
            return None
        if not local and not self.background:  # a database on this machine is files, audited as they are opened
            announce(connection)  # what the check says may follow from the server's answer
        key = (connection, query)
        now = time.monotonic()
        with self._lock:
            answer = self._answers.get(key)
            down = self._down.get(connection)
            if answer is None and down is not None and now - down < self.retry_after:
                return None
            stale = answer is not None and now - answer.at > self.ttl
            asking = self._asking.get(key)
            if (answer is None or stale) and asking is None:
                asking = self._asking[key] = threading.Event()
                context = contextvars.copy_context()  # the asking sees the checker's context (its folder)
                threading.Thread(target=context.run, args=(self._ask, key, ask, asking), name="heddle-describe",
                                 daemon=True).start()
        if answer is None and not self.background and asking is not None:
            if not asking.wait(self.timeout):
                overran(connection)  # the answer, when it comes, is not this check's: it depended on time
            with self._lock:
                answer = self._answers.get(key)
        if answer is None:
            return None  # the offline typing: what a check answers without the server
        if self.background:
            announce(connection)  # an answer that came before this check: no file says what it was
        if answer.refused is not None:
            raise InferenceError(answer.refused)
        return answer.schema

    def _ask(self, key: tuple[Hashable, str], ask: Callable[[], Schema], done: threading.Event) -> None:
        answer: _Answer | None
        try:
            answer = _Answer(ask(), None, time.monotonic())
        except QueryRefused as refused:
            answer = _Answer(None, str(refused), time.monotonic())
        except Exception:  # not reachable (or not installed): the offline typing stands
            answer = None
        with self._lock:
            if answer is not None:
                self._answers[key] = answer
                self._down.pop(key[0], None)
            else:
                self._down[key[0]] = time.monotonic()
            self._asking.pop(key, None)
            listeners = list(self._listeners) if answer is not None and self.background else []
        done.set()
        for listener in listeners:
            with contextlib.suppress(Exception):  # a listener's failure must not end the describing thread
                listener()


DESCRIBER = Describer()
