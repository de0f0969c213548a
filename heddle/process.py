"""Process-wide settings the `heddle` and `heddle-lsp` entry points apply before doing any work."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

# Analysis allocates many small, long-lived objects (AST nodes, schemas, diagnostics) and few cycles:
# with CPython's default first-generation threshold (700) the collector runs thousands of times per
# 10,000-line file for nothing. A larger threshold keeps collections rare without turning them off.
GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)


def start_quietly() -> None:
    """A command's start-up without the cyclic collector (`heddle run`): importing the engine and Polars makes
    about 50,000 objects that live until the process ends, and a collection among them finds next to nothing
    (0.01 s of CPU for 400 objects). `started()` turns it on again."""
    gc.disable()


def started() -> None:
    """The start-up is over: what it made is moved out of the collector's reach (`gc.freeze`) and the collector
    runs again. Nothing when it was on (a command called in a process of its own caller's, such as a test)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


class QuietCollector:
    """Keeps the cyclic collector out of a long-lived process's analyses (the language server's).

    An analysis of a 10,000-line file allocates about a million objects, nearly all of them acyclic and
    freed by reference counting; scanning them costs about a third of the analysis. Inside `during()`
    the collector is off; afterwards every object alive is moved out of its reach (`gc.freeze`), so
    the next young-generation collection does not rescan them. The few cycles analyses leave behind
    are reclaimed by `collect()`, which the owner runs when it is idle or every `every` analyses.
    """

    def __init__(self, every: int = 50) -> None:
        self.every = every
        self._since_collect = 0

    @contextlib.contextmanager
    def during(self) -> Iterator[None]:
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            gc.freeze()
            self._since_collect += 1
            if enabled:
                gc.enable()

    def collection_due(self) -> bool:
        """True once every `every` analyses: the caller then runs `collect()` (e.g. after the next one)."""
        if self._since_collect < self.every:
            return False
        self._since_collect = 0
        return True

    @staticmethod
    def collect() -> int:
        """A full collection of everything, frozen or not; returns the number of unreachable objects."""
        gc.unfreeze()
        found = gc.collect()
        gc.freeze()
        return found
