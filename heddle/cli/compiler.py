"""The PRQL compiler the commands analyse with: a process of its own, so a crash of prqlc costs one
diagnostic (HE6009) instead of the command (`heddle_engine.compiler_process`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from heddle_engine.compiler_process import CompilerProcess


@contextlib.contextmanager
def contained_compiler() -> Iterator[CompilerProcess]:
    """A compiler process, started when a block is first compiled: a block whose analysis the project's cache
    holds (`.heddle/cache/`) needs none, and a process booting beside the command costs it a core's time."""
    compiler = CompilerProcess()
    try:
        yield compiler
    finally:
        compiler.close()
