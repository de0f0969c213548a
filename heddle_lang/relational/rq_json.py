"""prqlc's RQ as the JSON it is: what the passes that read or edit it in place share (`using.py` puts
columns back in order, `pushdown.py` finds what a database step can run); `rq.py` reads it into typed values."""

from __future__ import annotations

import re
from typing import Any

_SPAN = re.compile(r"\d+:(\d+)-(\d+)")


def kind_of(value: object) -> tuple[str, Any]:
    """A one-key object (`{"Filter": ...}`) as its key and value; anything else as its text and None."""
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.items()))
    return str(value), None


def table_refs(node: object) -> list[dict[str, Any]]:
    """Every table reference (`From`, `Join`'s `with`, `Append`) inside a JSON value, in document order."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("From", "Append", "with") and isinstance(value, dict) and "source" in value:
                found.append(value)
            found.extend(table_refs(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(table_refs(item))
    return found


def span_of(value: object) -> tuple[int, int] | None:
    """A span (`"1:12-30"`: source 1, offsets 12 to 30) as its start and end offsets; None if it is not one."""
    match = _SPAN.fullmatch(value) if isinstance(value, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None
