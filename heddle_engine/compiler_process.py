"""`CompilerProcess`: a `PrqlCompiler` that compiles in a child process, so that no block kills the caller.

prqlc overflows the native stack on some blocks (a long chain of `**`, shapes `relational.limits` does
not know); that is a SIGSEGV, which no exception reports and no thread survives. The language server,
`heddle check`, `plan`, `run` and `replay` therefore compile in `heddle_engine.compiler_worker`: a
persistent child that answers one text at a time. When it dies on a text, or takes longer than
`COMPILE_SECONDS`, that text's answer is `contained_failure(...)` (HE6009 for its block), the next text
starts a new process, and the text is remembered, so asking again answers at once instead of crashing
again. A compiled block costs one round trip more than compiling in-process (`bench/relational.py`); the
analysis caches blocks by text and schemas, so an edit elsewhere asks nothing.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict

from heddle_engine.jsonl_child import ChildError, JsonLinesChild
from heddle_lang.relational.compile import Compiled, contained_failure

COMPILE_SECONDS = 30.0  # prqlc takes seconds only on blocks of hundreds of kilobytes
REMEMBERED = 64  # texts that made the process fail, answered without asking it again


class CompilerProcess:
    def __init__(self, *, python: str = sys.executable, seconds: float = COMPILE_SECONDS) -> None:
        self.seconds = seconds
        self._child = JsonLinesChild([python, "-m", "heddle_engine.compiler_worker"])
        self._failed: OrderedDict[str, Compiled] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def starts(self) -> int:
        """How many processes were started (for tests and logs)."""
        return self._child.starts

    def start(self) -> None:
        """Start the process now (it boots while the caller parses), so the first block finds it ready."""
        self._child.start()

    def close(self) -> None:
        self._child.close()

    def __call__(self, text: str) -> Compiled:
        with self._lock:
            known = self._failed.get(text)
        if known is not None:
            return known
        try:
            return Compiled.from_data(self._child.ask({"text": text}, self.seconds)["compiled"])
        except ChildError as error:
            if error.timed_out:
                failure = contained_failure(f"took longer than {self.seconds:g} s on this block")
            elif "could not start" in str(error):
                failure = contained_failure(str(error).replace("it ", "", 1))
            else:
                failure = contained_failure("crashed on this block")
        except (KeyError, TypeError, ValueError) as error:  # an answer of the wrong shape: a bug
            failure = contained_failure(f"answered something unreadable ({type(error).__name__}: {error})")
            self._child.close()
        with self._lock:
            self._failed[text] = failure
            while len(self._failed) > REMEMBERED:
                self._failed.popitem(last=False)
        return failure
