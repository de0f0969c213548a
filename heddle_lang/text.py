"""Positions in source text.

Everything inside `heddle_lang` addresses text by UTF-8 byte offsets (`Span`), the unit tree-sitter
uses. `LineIndex` converts offsets to line/column pairs in the unit a consumer needs: UTF-16 code
units for LSP clients by default, UTF-8 bytes when negotiated, code points for compiler-style output.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import StrEnum
from itertools import accumulate


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A half-open range of UTF-8 byte offsets into a document."""

    start: int
    end: int

    def contains(self, offset: int) -> bool:
        return self.start <= offset <= self.end

    def covers(self, other: Span) -> bool:
        return self.start <= other.start and other.end <= self.end

    @property
    def is_empty(self) -> bool:
        return self.start == self.end


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A 0-based line and a 0-based column, the column counted in some `Encoding`."""

    line: int
    character: int


@dataclass(frozen=True, slots=True)
class Range:
    start: Position
    end: Position


class Encoding(StrEnum):
    """How a column is counted. The values are LSP's `PositionEncodingKind` strings."""

    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"  # code points


def column_width(segment: bytes, encoding: Encoding) -> int:
    """How many columns of `encoding` the UTF-8 text `segment` takes."""
    if encoding is Encoding.UTF8 or segment.isascii():
        return len(segment)
    text = segment.decode("utf-8", errors="replace")
    if encoding is Encoding.UTF32:
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class LineIndex:
    """Maps byte offsets of one UTF-8 document to lines and columns, and back."""

    __slots__ = ("data", "line_starts")

    def __init__(self, data: bytes) -> None:
        self.data = data
        # Each line starts one byte after the previous line's end: a running sum, all in C.
        lengths = map(len, data.split(b"\n"))
        self.line_starts = list(accumulate(map((1).__add__, lengths), initial=0))[:-1]

    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset) - 1

    def line_span(self, line: int) -> Span:
        """The bytes of `line`, without its line break."""
        start = self.line_starts[line]
        end = self.line_starts[line + 1] - 1 if line + 1 < len(self.line_starts) else len(self.data)
        if end > start and self.data[end - 1 : end] == b"\r":
            end -= 1
        return Span(start, end)

    def line_text(self, line: int) -> str:
        span = self.line_span(line)
        return self.data[span.start : span.end].decode("utf-8", errors="replace")

    def point(self, offset: int) -> tuple[int, int]:
        """Tree-sitter's point: (line, byte column)."""
        line = self.line_of(offset)
        return line, offset - self.line_starts[line]

    def position(self, offset: int, encoding: Encoding = Encoding.UTF16) -> Position:
        offset = max(0, min(offset, len(self.data)))
        line = self.line_of(offset)
        start = self.line_starts[line]
        return Position(line, column_width(self.data[start:offset], encoding))

    def range(self, span: Span, encoding: Encoding = Encoding.UTF16) -> Range:
        return Range(self.position(span.start, encoding), self.position(span.end, encoding))

    def offset(self, position: Position, encoding: Encoding = Encoding.UTF16) -> int:
        """The byte offset of `position`; columns past the line end clamp to it (as LSP requires)."""
        if position.line < 0:
            return 0
        if position.line >= len(self.line_starts):
            return len(self.data)
        span = self.line_span(position.line)
        line = self.data[span.start : span.end]
        if encoding is Encoding.UTF8 or line.isascii():
            return span.start + min(max(position.character, 0), len(line))
        units = 0
        consumed = 0
        for ch in line.decode("utf-8", errors="replace"):
            if units >= position.character:
                break
            units += 2 if encoding is Encoding.UTF16 and ord(ch) > 0xFFFF else 1
            consumed += len(ch.encode("utf-8"))
        return span.start + consumed

    def indentation(self, line: int) -> str:
        """The leading blanks of `line`."""
        text = self.line_text(line)
        return text[: len(text) - len(text.lstrip(" \t"))]
