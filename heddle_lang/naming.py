"""Names the tools make up for the user: import aliases."""

from __future__ import annotations

import re


def suggest_alias(path: str, taken: set[str]) -> str:
    """An identifier for an import alias: the path's last segment, made unique."""
    last = path.rstrip("/").rsplit("/", 1)[-1] or "module"
    base = re.sub(r"\W", "_", last)
    if base[0].isdigit():
        base = f"m_{base}"
    alias, n = base, 2
    while alias in taken:
        alias, n = f"{base}{n}", n + 1
    return alias
