"""Process-wide settings the `heddle` and `heddle-lsp` entry points apply before doing any work."""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import os
import sys
import threading
from collections.abc import Callable, Iterator

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


# Set by a command whose work left nothing that only the interpreter's teardown would finish (`teardown_not_needed`).
_NO_TEARDOWN = threading.Event()


def teardown_not_needed() -> None:
    """The command is done and the process holds nothing of the user's that the interpreter's teardown would finish:
    `end` may skip it. `heddle run` says so when no plugin code was imported into the process (a plugin may keep a
    file open at module level and count on the teardown to flush it) and Ray is not loaded (its own teardown)."""
    _NO_TEARDOWN.set()


def end(code: int) -> int:
    """As the process's command, once it is done: when it called `teardown_not_needed` and no thread but this one
    (or daemon threads, which the teardown would stop too) is alive, run the `atexit` functions, flush the standard
    streams and end the process with `code` at once. The interpreter's teardown frees every module and object one by
    one (Polars' thousands of functions and classes among them): 10-20 ms of CPU at the end of a `heddle run` that
    nobody waits for. Otherwise `code`, for the caller to exit with as usual."""
    main = threading.main_thread()
    if not _NO_TEARDOWN.is_set() or any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate()):
        return code
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


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


# `linecache` keys of the methods attrs and cattrs generate (lsprotocol's ~550 message classes, cattrs' hooks).
_GENERATED_SOURCES = ("<attrs generated", "<cattrs generated")


def forget_generated_sources() -> int:
    """Drop the source texts attrs and cattrs keep in `linecache` for the methods they generate: one entry per class
    or hook, never freed (~600 entries after the language server's imports, ~2 MB of RSS with their lists of lines);
    only a traceback through such a method shows them. The number of entries dropped."""
    import linecache

    generated = [key for key in linecache.cache if key.startswith(_GENERATED_SOURCES)]
    for key in generated:
        del linecache.cache[key]
    return len(generated)


def release_free_memory() -> bool:
    """Give the free pages of the C heap back to the system: glibc's `malloc_trim(0)`, which returns every whole page
    of free memory in every arena of the process (thread arenas included), where `free` gives back only the top of
    the main heap. A long-lived process that has freed much (the language server after analyses: texts, line
    indexes, the large containers of the versions it let go) keeps that memory resident until then. Cheap (a walk of
    the free lists: milliseconds), but not free: callers run it when idle. False where the C library has no such
    call (not glibc)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if sys.platform != "linux":
        return None
    import ctypes

    try:
        return ctypes.CDLL(None).malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # musl and other C libraries have no malloc_trim
        return None
