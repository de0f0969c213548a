"""`retry`: the retry policy of a call, written in its config (HE4009).

`retry` is a config key every function call accepts, like Airflow's `retries` next to an operator's own
arguments. It is taken out of the config before the function sees it:

    step fetch = pg.query <connection=db> {
      query: "SELECT ..."
      retry: { attempts: 5, delay: "200ms", backoff: "exponential", max_delay: "10s", jitter: 0.2,
               on: ["OperationalError"] }
    }

`retry: 3` is short for `retry: { attempts: 3 }`. `attempts` counts every attempt, the first included.
Durations are strings with a unit (`"250ms"`, `"2s"`, `"1.5m"`, `"1h"`) or numbers of seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from heddle_lang.call_keys import RETRY_KEY
from heddle_lang.diagnostics import Diagnostic, Fix, TextEdit
from heddle_lang.plan import RetryPolicy
from heddle_lang.semantic.values import check_config
from heddle_lang.suggest import closest
from heddle_lang.syntax import ast
from heddle_lang.text import Span
from heddle_lang.types import ConfigSchema, Field, ValueType

BACKOFFS = ("exponential", "linear", "fixed")
MAX_ATTEMPTS = 100

_DEFAULTS = RetryPolicy(attempts=1)
_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)\s*")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

RETRY_SCHEMA = ConfigSchema((
    Field("attempts", ValueType("int"), doc="Attempts in all, the first included (1 to 100)."),
    Field("delay", ValueType("any"), required=False, default="1s",
          doc='Wait before the second attempt: `"500ms"`, `"2s"`, `"1m"`, or a number of seconds.'),
    Field("backoff", ValueType("str"), required=False, default=_DEFAULTS.backoff,
          doc='How the wait grows: `"exponential"` (doubles), `"linear"` (delay times n) or `"fixed"`.'),
    Field("max_delay", ValueType("any"), required=False, default="60s", doc="The longest wait between attempts."),
    Field("jitter", ValueType("float"), required=False, default=_DEFAULTS.jitter,
          doc="Each wait varies at random by up to this fraction of it, either way (0 to 1)."),
    Field("on", ValueType("list", item=ValueType("str")), required=False,
          doc="Retry only these errors: Python exception class names (a base class matches its subclasses). "
              "Every error by default."),
))

RETRY_FIELD = Field(
    RETRY_KEY, ValueType("record", record=RETRY_SCHEMA), required=False,
    doc="Retry this node when it fails: `retry: 3`, or `{ attempts, delay, backoff, max_delay, jitter, on }`. "
        "Only the failing node runs again; nothing upstream re-runs.")


def parse_duration(value: ast.Value) -> float | None:
    """Seconds, from `"250ms"`-style text or a number; None if it is neither."""
    if isinstance(value, ast.Number):
        return float(value.value)
    if isinstance(value, ast.Str):
        return duration_seconds(value.value)
    return None


def duration_seconds(text: str) -> float | None:
    """Seconds, from `"250ms"`, `"30s"`, `"5m"`-style text; None if it is not one."""
    match = _DURATION.fullmatch(text)
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None


def check_retry(entry: ast.Entry, owner: str) -> tuple[RetryPolicy | None, list[Diagnostic]]:
    """The policy an entry `retry: ...` declares, and what is wrong with it."""
    value = entry.value
    problems: list[Diagnostic] = []
    if value is None or isinstance(value, ast.BareWord):
        return None, problems  # a syntax error says it already
    if isinstance(value, ast.Number) and isinstance(value.value, int):
        attempts = _attempts(value, problems)
        return (RetryPolicy(attempts=attempts) if attempts else None), problems
    if not isinstance(value, ast.Dict):
        problems.append(Diagnostic("HE4009", value.span, f"`retry` of {owner} is a number of attempts (`retry: 3`) "
                                   "or a policy (`retry: { attempts: 3, delay: \"1s\" }`)"))
        return None, problems
    problems.extend(check_config(value, RETRY_SCHEMA, f"`retry` of {owner}", value.span))
    fields: dict[str, object] = {}
    for item in value.entries:
        if item.value is None:
            continue
        fields.update(_field(item.key.text, item.value, problems))
    if "attempts" not in fields:
        return None, problems
    policy = RetryPolicy(**fields)  # type: ignore[arg-type]
    if policy.max_delay < policy.delay and "max_delay" in fields:
        problems.append(Diagnostic("HE4009", _span_of(value, "max_delay"),
                                   "`max_delay` is shorter than `delay`: every wait would be `max_delay`"))
    return policy, problems


def _field(key: str, value: ast.Value, problems: list[Diagnostic]) -> Iterator[tuple[str, object]]:
    if key == "attempts" and isinstance(value, ast.Number) and isinstance(value.value, int):
        attempts = _attempts(value, problems)
        if attempts:
            yield key, attempts
    elif key in ("delay", "max_delay"):
        seconds = parse_duration(value)
        if seconds is None or seconds < 0:
            problems.append(Diagnostic("HE4009", value.span, f"`{key}` is a duration such as \"500ms\", \"2s\", "
                                       "\"1m\" or \"1h\", or a number of seconds"))
        else:
            yield key, seconds
    elif key == "backoff" and isinstance(value, ast.Str):
        if value.value in BACKOFFS:
            yield key, value.value
        else:
            best = closest(value.value, BACKOFFS)
            fixes = (Fix(f'replace with "{best}"', (TextEdit(value.span, f'"{best}"'),)),) if best else ()
            problems.append(Diagnostic("HE4009", value.span, f"`backoff` is one of {', '.join(map(repr, BACKOFFS))}"
                                       .replace("'", '"') + (f'; did you mean "{best}"?' if best else ""),
                                       fixes=fixes))
    elif key == "jitter" and isinstance(value, ast.Number):
        if 0 <= value.value <= 1:
            yield key, float(value.value)
        else:
            problems.append(Diagnostic("HE4009", value.span, "`jitter` is a fraction between 0 and 1"))
    elif key == "on" and isinstance(value, ast.List):
        names = tuple(item.value for item in value.items if isinstance(item, ast.Str))
        for item in value.items:
            if isinstance(item, ast.Str) and not item.value.isidentifier():
                problems.append(Diagnostic("HE4009", item.span, f"\"{item.value}\" is not an exception class name"))
        yield key, names


def _attempts(value: ast.Number, problems: list[Diagnostic]) -> int | None:
    count = int(value.value)
    if 1 <= count <= MAX_ATTEMPTS:
        return count
    problems.append(Diagnostic("HE4009", value.span, f"`attempts` counts every attempt, the first included: "
                               f"1 to {MAX_ATTEMPTS}, not {count}"))
    return None


def _span_of(config: ast.Dict, key: str) -> Span:
    entry = config.get(key)
    return entry.key.span if entry is not None else config.span
