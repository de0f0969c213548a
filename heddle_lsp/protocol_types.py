"""`lsprotocol.types`, imported with the code attrs generates for its classes kept from one start to the next.

The module defines some 550 attrs classes, and attrs compiles each one's generated methods (`__init__`,
`__eq__`, ...) from source text at every import: 0.19 s of the 0.36 s of CPU the import takes, the largest
part of the server's start. While `import_types()` imports it, attrs' compiling step looks each text up in a
file kept where Python keeps the server's bytecode (`__pycache__`, or `sys.pycache_prefix`), keyed by the text
and its name, and compiles only a text it does not find; the file is written again when one was new (unless
Python writes no bytecode: `PYTHONDONTWRITEBYTECODE`). Its name holds the interpreter's cache tag and
bytecode magic number, as a `.pyc` file's does, so another Python never reads it. An attrs without that step
(`attr._make._compile_and_eval`) imports the module as it is.
"""

from __future__ import annotations
import __future__

import contextlib
import hashlib
import importlib.util
import marshal
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import CodeType
from typing import Any

MODULE = "lsprotocol.types"


def store_path() -> Path:
    """The file of kept code, beside this module's bytecode."""
    bytecode = Path(importlib.util.cache_from_source(__file__))
    magic = importlib.util.MAGIC_NUMBER.hex()
    return bytecode.with_name(f"lsprotocol-attrs.{sys.implementation.cache_tag}-{magic}.marshal")


def import_types() -> int:
    """Import `lsprotocol.types`; the number of texts compiled for it (0 when all were kept, or when it was
    imported already)."""
    if MODULE in sys.modules:
        return 0
    try:
        from attr import _make
    except ImportError:
        _make = None
    original = getattr(_make, "_compile_and_eval", None)
    if _make is None or original is None:
        importlib.import_module(MODULE)
        return 0
    path = store_path()
    kept = _read(path)
    compiled: dict[bytes, CodeType] = {}
    # attrs' own `compile` inherits its module's future features: the same ones, stated
    future = getattr(_make, "annotations", None)
    flags = future.compiler_flag if isinstance(future, type(__future__.annotations)) else 0

    def compile_and_eval(script: str, globs: dict[str, Any] | None, locs: Mapping[str, object] | None = None,
                         filename: str = "") -> None:
        key = hashlib.blake2b(f"{flags}\0{filename}\0{script}".encode(), digest_size=16).digest()
        code = kept.get(key)
        if code is None:
            code = compiled[key] = compile(script, filename, "exec", flags=flags, dont_inherit=True)
        eval(code, globs, locs)  # what attrs runs: the code of the text it generated

    _make._compile_and_eval = compile_and_eval
    try:
        importlib.import_module(MODULE)
    finally:
        _make._compile_and_eval = original
    if compiled and not sys.dont_write_bytecode:
        _write(path, {**kept, **compiled})
    return len(compiled)


def _read(path: Path) -> dict[bytes, CodeType]:
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, bytes) and isinstance(v, CodeType)}


def _write(path: Path, codes: dict[bytes, CodeType]) -> None:
    """Written whole (a temporary file, then renamed): a start that reads it at the same time reads either."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".lsprotocol-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(marshal.dumps(codes))
            os.chmod(temporary, 0o644)  # readable as the bytecode beside it is
            os.replace(temporary, path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
