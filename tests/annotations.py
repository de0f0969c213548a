"""Expected diagnostics written inline in `.he` test cases.

An annotation is a `//~` comment:

    fetch_users > users   //~ HE2006
    //~^ HE1003 "unterminated string"      (the line above; `^^` two lines above)
    //~v HE1011                            (the line below)
    //~ HE1005, HE2006                     (several on one line)

A code may carry `:COL` (1-based column, in characters) and a quoted fragment the message must contain
(`\\"` for a quote, `\\\\` for a backslash).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from heddle_lang.text import split_lines

_ANNOTATION = re.compile(r"//~(?P<dir>\^+|v+)?\s*(?P<body>.*)$")
_ITEM = re.compile(r'(?P<code>HE\d{4})(?::(?P<col>\d+))?(?:\s+"(?P<fragment>(?:[^"\\]|\\.)*)")?')


@dataclass(frozen=True)
class Expected:
    line: int  # 1-based
    code: str
    column: int | None = None
    fragment: str | None = None


def expectations(text: str) -> list[Expected]:
    out: list[Expected] = []
    for index, line in enumerate(split_lines(text), start=1):
        match = _ANNOTATION.search(line)
        if match is None:
            continue
        direction = match.group("dir") or ""
        target = index - len(direction) if direction.startswith("^") else index + len(direction)
        for item in _ITEM.finditer(match.group("body")):
            column = int(item.group("col")) if item.group("col") else None
            fragment = item.group("fragment")
            if fragment is not None:
                fragment = re.sub(r"\\(.)", r"\1", fragment)
            out.append(Expected(target, item.group("code"), column, fragment))
    return out
