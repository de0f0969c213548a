"""`lsprotocol.types`, imported with the code attrs generates for its classes kept from one start to the next.

The module defines some 550 attrs classes, and attrs compiles each one's generated methods (`__init__`,
`__eq__`, ...) from source text at every import: 0.19 s of the 0.36 s of CPU the import takes, the largest
part of the server's start. While `import_types()` imports it, attrs' compiling step goes through a
`heddle.kept_code.CodeStore` (the code of each text kept beside the bytecode, saved at once). An attrs without
that step (`attr._make._compile_and_eval`) imports the module as it is.

cattrs, which turns the protocol's messages into those types and back, generates the functions that do it for a
class on the first message of that class, and compiles each from text too: the client's capabilities at
`initialize`, the server's in the answer, the first document and its diagnostics — some fifty texts, 10 ms of CPU
before the first diagnostics, more for an editor that states more capabilities. `keep_converter_code` makes
`cattrs.gen` compile through a store of its own (saved when the server exits).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any

from heddle.kept_code import CodeStore, future_flags

MODULE = "lsprotocol.types"
STORE = "lsprotocol-attrs"
CONVERTER_STORE = "lsprotocol-cattrs"


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
    store = CodeStore(STORE)
    flags = future_flags(_make)  # what attrs' own `compile` inherits

    def compile_and_eval(script: str, globs: dict[str, Any] | None, locs: Mapping[str, object] | None = None,
                         filename: str = "") -> None:
        eval(store.compiled(script, filename, flags), globs, locs)  # what attrs runs: its text's code

    _make._compile_and_eval = compile_and_eval
    try:
        importlib.import_module(MODULE)
    finally:
        _make._compile_and_eval = original
    added = store.added
    store.save()
    return added


def keep_converter_code(store: CodeStore) -> None:
    """From now on in this process, `cattrs.gen` compiles the functions it generates through `store` (a cattrs
    without that module compiles as it does). For the server's own process: it binds the module's name `compile`
    (once) to one that answers the kept code of a text it has seen."""
    try:
        from cattrs import gen
    except ImportError:
        return
    if "compile" in vars(gen):
        return
    flags = future_flags(gen)  # what cattrs' own `compile` inherits

    def kept_compile(source: Any, filename: str, mode: str, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, str) and mode == "exec" and not args and not kwargs:
            return store.compiled(source, filename, flags)
        return compile(source, filename, mode, *args, **kwargs)

    gen.compile = kept_compile  # type: ignore[attr-defined]
