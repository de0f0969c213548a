"""`timeout`: how long one attempt of a call may take, written in its config beside `retry` (HE4010).

    step fetch = pg.query <connection=db> {
      query: "SELECT ..."
      timeout: "30s"
      retry: 3
    }

An attempt that overruns its timeout fails with a timeout error: it is retried like any failure (`retry`'s
`on: ["TimeoutError"]` matches it), then goes to the handler with its payload. Without `timeout` an
attempt may take as long as it takes. Durations are those of `retry` (`"250ms"`, `"2s"`, `"1.5m"`, `"1h"`,
or a number of seconds).
"""

from __future__ import annotations

import dataclasses

from heddle_lang.call_keys import CALL_KEYS, TIMEOUT_KEY
from heddle_lang.diagnostics import Diagnostic
from heddle_lang.semantic.retry import RETRY_FIELD, parse_duration
from heddle_lang.syntax import ast
from heddle_lang.types import ConfigSchema, Field, ValueType

MAX_TIMEOUT = 7 * 24 * 3600.0  # a week: longer is no limit at all, and too long for a thread's wait

TIMEOUT_FIELD = Field(
    TIMEOUT_KEY, ValueType("any"), required=False,
    doc='The longest one attempt may take: `"30s"`, `"500ms"`, `"5m"`, or a number of seconds. An attempt that '
        "overruns fails with a timeout error (retried per `retry`, then given to the handler); it is abandoned, "
        "not killed: its late result is discarded. No limit by default.")


def with_call_keys(schema: ConfigSchema) -> ConfigSchema:
    """A function's config schema as the editor offers it: its own keys, `retry` and `timeout`."""
    extra = tuple(f for f in (RETRY_FIELD, TIMEOUT_FIELD) if schema.get(f.name) is None)
    return ConfigSchema((*schema.fields, *extra), open=schema.open) if extra else schema


def split_call_keys(config: ast.Dict | None) -> tuple[dict[str, ast.Entry], ast.Dict | None]:
    """The `retry` and `timeout` entries of a call's config, and the config without them (what the function
    receives)."""
    if config is None:
        return {}, None
    found: dict[str, ast.Entry] = {}
    for entry in config.entries:
        if entry.key.text in CALL_KEYS:
            found.setdefault(entry.key.text, entry)
    if not found:
        return found, config
    entries = tuple(e for e in config.entries if e.key.text not in CALL_KEYS)
    return found, dataclasses.replace(config, entries=entries)


def check_timeout(entry: ast.Entry, owner: str) -> tuple[float | None, list[Diagnostic]]:
    """The seconds an entry `timeout: ...` allows one attempt, and what is wrong with it."""
    value = entry.value
    if value is None or isinstance(value, ast.BareWord):
        return None, []  # a syntax error says it already
    seconds = parse_duration(value)
    if seconds is None:
        return None, [Diagnostic("HE4010", value.span, f"`timeout` of {owner} is a duration such as \"30s\", "
                                 "\"500ms\", \"5m\" or \"1h\", or a number of seconds")]
    if seconds <= 0:
        return None, [Diagnostic("HE4010", value.span, f"`timeout` of {owner} must be longer than 0 (leave it out "
                                 "for no limit)")]
    if seconds > MAX_TIMEOUT:
        return None, [Diagnostic("HE4010", value.span, f"`timeout` of {owner} is at most a week (604800 seconds); "
                                 "leave it out for no limit")]
    return seconds, []

