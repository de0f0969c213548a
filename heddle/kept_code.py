"""Code that libraries generate from source text at import, kept from one start of a command to the next.

Libraries that generate methods as text compile that text on every start: `dataclasses` each generated method
of every dataclass (the checker's and the engine's ~190 records, the SDK's, a plugin's), attrs those of
lsprotocol's ~550 types in the language server (`heddle_lsp/protocol_types.py`). For `heddle run` of the
quickstart that compiling is a fifth of the CPU (0.40 s → 0.32 s kept; `import polars` alone: 0.25 s).

A `CodeStore` keeps the code objects in a file where Python keeps heddle's bytecode (`__pycache__`, or
`sys.pycache_prefix`), named with the interpreter's cache tag and bytecode magic number as a `.pyc` file is, so
another Python never reads it; each is keyed by its text, file name and compiler flags, so a text that differs
is compiled. The file is read on first use and written whole (a temporary file, then renamed) when a text was
new — not where Python writes no bytecode (`PYTHONDONTWRITEBYTECODE`) —, started afresh past `MAX_ENTRIES`
(each version of an edited plugin adds its methods). A file that cannot be read or written costs the compiling.
Each code object is kept marshalled and read when its text is asked for: a command's store holds the classes of
every path it took (`heddle run`'s: the checker's too, which a run from a stored plan never defines), and the code
objects of all of them took 1.1 MB of the run's memory against 0.5 MB for their bytes.
"""

from __future__ import annotations
import __future__

import atexit
import contextlib
import dataclasses
import hashlib
import importlib.util
import marshal
import os
import sys
import tempfile
import threading
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

MAX_ENTRIES = 20_000


class CodeStore:
    def __init__(self, name: str) -> None:
        bytecode = Path(importlib.util.cache_from_source(__file__))
        magic = importlib.util.MAGIC_NUMBER.hex()
        self.path = bytecode.with_name(f"kept-{name}.{sys.implementation.cache_tag}-{magic}.marshal")
        self._kept: dict[bytes, bytes] | None = None  # marshalled code by key, read on first use
        self._new: dict[bytes, CodeType] = {}
        self._lock = threading.Lock()

    @property
    def added(self) -> int:
        """How many texts were compiled, not found."""
        return len(self._new)

    def compiled(self, source: str, filename: str, flags: int) -> CodeType:
        """`compile(source, filename, "exec", flags=flags, dont_inherit=True)`, kept."""
        key = hashlib.blake2b(f"{flags}\0{filename}\0{source}".encode("utf-8", "surrogatepass"),
                              digest_size=16).digest()
        with self._lock:
            kept = self._loaded().get(key)
            code = self._new.get(key) if kept is None else _code(kept)
        if code is None:
            code = compile(source, filename, "exec", flags=flags, dont_inherit=True)
            with self._lock:
                self._new[key] = code
        return code

    def save(self) -> None:
        """Write the store, if a text was new."""
        with self._lock:
            if not self._new:
                return
            if sys.dont_write_bytecode:  # nothing is written: what was compiled lives on in the functions made from it
                self._new = {}
                return
            kept = self._loaded()
            new = {key: marshal.dumps(code) for key, code in self._new.items()}
            codes = {**kept, **new} if len(kept) + len(new) <= MAX_ENTRIES else new
            self._kept, self._new = codes, {}
        with contextlib.suppress(OSError, ValueError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".kept-", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(marshal.dumps(codes))
                os.chmod(temporary, 0o644)  # readable as the bytecode beside it is
                os.replace(temporary, self.path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise

    def _loaded(self) -> dict[bytes, bytes]:
        if self._kept is None:
            self._kept = {}
            with contextlib.suppress(OSError, EOFError, ValueError, TypeError):
                data = marshal.loads(self.path.read_bytes())
                if isinstance(data, dict):
                    self._kept = {k: v for k, v in data.items() if isinstance(k, bytes) and isinstance(v, bytes)}
        return self._kept


def _code(data: bytes) -> CodeType | None:
    """The code object marshalled in `data`; None when it is not one (a damaged store: the text is compiled)."""
    try:
        code = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


def future_flags(module: ModuleType) -> int:
    """The compiler flags of the `from __future__` features `module` imports: what its own `compile` and
    `exec` of a text inherit."""
    flags = 0
    for value in vars(module).values():
        if isinstance(value, type(__future__.annotations)):
            flags |= value.compiler_flag
    return flags


def keep_dataclass_code(store: CodeStore) -> None:
    """From now on in this process, `dataclasses` compiles the methods it generates through `store`, saved at
    exit. For a command's own process only: `dataclasses` runs its texts with the module's name `exec`, which
    this binds (once) to one that runs the kept code of the same text."""
    if "exec" in vars(dataclasses):
        return
    flags = future_flags(dataclasses)

    def kept_exec(source: Any, globals: dict[str, Any] | None = None,  # exec's own names
                  locals: dict[str, Any] | None = None) -> None:
        if isinstance(source, str):
            source = store.compiled(source, "<string>", flags)
        exec(source, globals, locals)  # what dataclasses runs: the code of the text it generated

    dataclasses.exec = kept_exec  # type: ignore[attr-defined]
    atexit.register(store.save)
