"""The PRQL compiler the commands analyse with: a process of its own, so a crash of prqlc costs one
diagnostic (HE6009) instead of the command (`heddle_engine.compiler_process`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from heddle_engine.compiler_process import CompilerProcess


@contextlib.contextmanager
def contained_compiler() -> Iterator[CompilerProcess]:
    """A compiler process, started at once (it boots while the command reads and parses its files)."""
    compiler = CompilerProcess()
    compiler.start()
    try:
        yield compiler
    finally:
        compiler.close()
