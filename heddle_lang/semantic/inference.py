"""Calling inference hooks, cached: a hook is a pure function of (literal config, input schema).

A keystroke must not re-run every hook in the file (a SQL query's hook parses its SQL), so results are
kept in a bounded LRU keyed by the hook, its config and its input schema. Failures are cached too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

from heddle_lang.catalog import InferenceError, InferHook
from heddle_lang.types import Schema

_MAX_ENTRIES = 4096
_cache: OrderedDict[tuple[object, ...], Schema | str] = OrderedDict()
_lock = threading.Lock()


def infer(hook: InferHook, config: Mapping[str, object], input_schema: Schema | None) -> Schema | str:
    """The hook's schema, or the text of why it could not type the stage."""
    key = (hook, repr(config), input_schema)  # literal configs: their repr is their identity
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    try:
        result: Schema | str = hook(config, input_schema)
    except InferenceError as error:
        result = str(error)
    except Exception as error:  # a plugin's hook is user code: its failure is a diagnostic, not a crash
        result = f"its inference hook failed: {type(error).__name__}: {error}"
    with _lock:
        _cache[key] = result
        if len(_cache) > _MAX_ENTRIES:
            _cache.popitem(last=False)
    return result


def cache_clear() -> None:
    with _lock:
        _cache.clear()
