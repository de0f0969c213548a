"""Just enough PRQL lexing to know which characters of a relational block are strings or comments.

The rules match the external scanner of the grammar: strings in `"`, `'`, or tripled quotes, with an
optional `f`/`s`/`r` prefix, backslash escapes (none in `r` strings), and `#` comments to the line end.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from heddle_lang.records import record
from heddle_lang.text import LINE_BREAK_TEXT

_LINE_END = re.compile(r"[\r\n]")


@record
class Piece:
    kind: str  # "string" | "comment" | "code"
    start: int
    end: int


def pieces(text: str) -> Iterator[Piece]:
    """Split PRQL `text` into code, string and comment pieces (character offsets)."""
    i = 0
    n = len(text)
    code_start = 0
    while i < n:
        ch = text[i]
        if ch == "#":
            if code_start < i:
                yield Piece("code", code_start, i)
            found = _LINE_END.search(text, i)
            end = n if found is None else found.start()
            yield Piece("comment", i, end)
            i = code_start = end
            continue
        if ch in "\"'":
            if code_start < i:
                yield Piece("code", code_start, i)
            # A quote right after a standalone `r`/`R` opens a raw string: `\` is plain text there.
            raw = i > 0 and text[i - 1] in "rR" and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] == "_"))
            end = string_end(text, i, raw)
            yield Piece("string", i, end)
            i = code_start = end
            continue
        i += 1
    if code_start < n:
        yield Piece("code", code_start, n)


def string_end(text: str | bytes, start: int, raw: bool) -> int:
    """Where the PRQL string opening at `start` ends (exclusive), by the grammar scanner's rules.

    Works on text or on UTF-8 bytes alike. A `\\` escapes the next character (not in a raw string); a
    single-quoted string that is not closed stops before the end of its line, a tripled one runs on.
    """
    if isinstance(text, bytes):
        backslash, line_ends = b"\\", (b"\n", b"\r")
    else:
        backslash, line_ends = "\\", ("\n", "\r")
    quote = text[start : start + 1]
    n = len(text)
    if text.startswith(quote * 3, start):
        i = start + 3
        while i < n:
            if text[i : i + 1] == backslash and not raw:
                i += 2
                continue
            if text.startswith(quote * 3, i):
                return i + 3
            i += 1
        return n
    i = start + 1
    while i < n:
        ch = text[i : i + 1]
        if ch == backslash and not raw:
            i += 1 if text[i + 1 : i + 2] in line_ends else 2
            continue
        if ch == quote:
            return i + 1
        if ch in line_ends:
            return i
        i += 1
    return n


def lines_inside_strings(text: str) -> set[int]:
    """Indices of the lines of `text` (0-based, LSP's lines) that begin inside a multi-line string."""
    starts = [match.end() for match in LINE_BREAK_TEXT.finditer(text)]  # line 1, 2, ... start here
    inside: set[int] = set()
    if not starts:
        return inside
    for piece in pieces(text):
        if piece.kind == "string":
            # A line begins inside the string when the break before it does.
            first = bisect.bisect_right(starts, piece.start)
            last = bisect.bisect_right(starts, piece.end)
            inside.update(range(first + 1, last + 1))
    return inside
