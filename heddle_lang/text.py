"""Positions in source text.

Everything inside `heddle_lang` addresses text by UTF-8 byte offsets (`Span`), the unit tree-sitter
uses. `LineIndex` converts offsets to line/column pairs in the unit a consumer needs: UTF-16 code
units for LSP clients by default, UTF-8 bytes when negotiated, code points for compiler-style output.

One definition of a line holds everywhere (the checker, the formatter, the language server): LSP's. A
line ends at `\\n`, `\\r\\n` or a lone `\\r`. Tree-sitter counts rows at `\\n` only, so its points are
never used for lines: a node's line is `LineIndex.line_of(node.start_byte)`.

Every conversion costs time independent of the line's length (a line of 1 MB converts as fast as a
short one): a long line that is not plain ASCII keeps a column count every `STRIDE` bytes, built once,
the first time a column of that line is asked for.
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache, partial
from itertools import accumulate

from heddle_lang.records import record

LINE_BREAK = re.compile(rb"\r\n?|\n")
LINE_BREAK_TEXT = re.compile(r"\r\n?|\n")
STRIDE = 256  # bytes between two column checkpoints of a long non-ASCII line
_BLANKS = re.compile(rb"[ \t\f\v]*")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


_END_BITS = 32
_END_MASK = (1 << _END_BITS) - 1
_BOTH = (1 << _END_BITS) + 1  # adds a delta to both the start and the end
_new_int = int.__new__


class Span(int):
    """A half-open range of UTF-8 byte offsets into a document.

    One int, `start << 32 | end` (an analysis holds a span for every name and node: ~150,000 at 50,000 lines, each
    a 32-byte int where a slotted pair of fields took ~110 bytes with its two ints). The int's order is the order of
    `(start, end)`; equality and hash are the int's. `start` and `end` are read as attributes; a span is always true.
    Arithmetic on a span gives a plain int: move one with `moved_span`."""

    __slots__ = ()
    __match_args__ = ("start", "end")

    def __new__(cls, start: int, end: int) -> Span:
        if start < 0 or not 0 <= end <= _END_MASK:
            raise ValueError(f"no span from {start} to {end}")
        return _new_int(cls, start << _END_BITS | end)

    # C-level getters (no Python frame): `start` is the int shifted right, `end` its low bits.
    start: int = property(partial(int.__rrshift__, _END_BITS))  # type: ignore[assignment]
    end: int = property(partial(int.__and__, _END_MASK))  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"Span(start={self.start}, end={self.end})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)

    def __getnewargs__(self) -> tuple[int, int]:  # type: ignore[override]  # pickle and copy: Span(start, end)
        return self.start, self.end

    def contains(self, offset: int) -> bool:
        return self.start <= offset <= self.end

    def covers(self, other: Span) -> bool:
        return self.start <= other.start and other.end <= self.end

    @property
    def is_empty(self) -> bool:
        return self.start == self.end


def moved_span(span: Span, delta: int) -> Span:
    """`span` moved by `delta` bytes (one int addition: moving results after an edit makes many)."""
    return _new_int(Span, span + delta * _BOTH)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A 0-based line and a 0-based column, the column counted in some `Encoding`."""

    line: int
    character: int


@record
class Range:
    start: Position
    end: Position


class Encoding(StrEnum):
    """How a column is counted. The values are LSP's `PositionEncodingKind` strings."""

    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"  # code points


def _decode(segment: bytes) -> str:
    try:  # the text came from a `str` (lone surrogates encoded with surrogatepass): exactly back
        return segment.decode("utf-8", errors="surrogatepass")
    except UnicodeDecodeError:
        return segment.decode("utf-8", errors="replace")


def column_width(segment: bytes, encoding: Encoding) -> int:
    """How many columns of `encoding` the UTF-8 text `segment` takes."""
    if encoding is Encoding.UTF8 or segment.isascii():
        return len(segment)
    text = _decode(segment)
    if encoding is Encoding.UTF32:
        return len(text)
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2  # a pair for each astral character


def split_lines(text: str) -> list[str]:
    """The lines of `text` without their breaks, by LSP's definition (`str.splitlines` knows more breaks)."""
    return LINE_BREAK_TEXT.split(text)


class _Checkpoints:
    """Columns of one line that is not plain ASCII (or holds tabs) at byte offsets `STRIDE` apart, each on a
    character boundary: in UTF-16 units, in code points, and the tabs so far."""

    __slots__ = ("offsets", "tabs", "utf16", "utf32")

    def __init__(self, data: bytes, start: int, end: int) -> None:
        self.offsets = [start]
        self.utf16 = [0]
        self.utf32 = [0]
        self.tabs = [0]
        at = start
        while at < end:
            stop = min(end, at + STRIDE)
            while stop < end and data[stop] & 0xC0 == 0x80:  # never split a character
                stop += 1
            segment = data[at:stop]
            self.offsets.append(stop)
            self.utf16.append(self.utf16[-1] + column_width(segment, Encoding.UTF16))
            self.utf32.append(self.utf32[-1] + column_width(segment, Encoding.UTF32))
            self.tabs.append(self.tabs[-1] + segment.count(b"\t"))
            at = stop

    def columns(self, encoding: Encoding) -> list[int]:
        return self.utf16 if encoding is Encoding.UTF16 else self.utf32


class LineIndex:
    """Maps byte offsets of one UTF-8 document to lines and columns, and back."""

    __slots__ = ("_checkpoints", "_from", "_no_cr", "_plain", "_shift", "_starts", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        # The offsets of the lines' first bytes, as machine integers (8 bytes a line, where a list of ints takes 40);
        # those of the lines from `_from` on are `_shift` bytes further (an edit that added or removed no line moves
        # the lines after it: `edited` shares its base's offsets instead of adding to each).
        if b"\r" not in data:
            # Each line starts one byte after the previous line's end: a running sum, all in C.
            lengths = map(len, data.split(b"\n"))
            self._starts = array("q", accumulate(map((1).__add__, lengths), initial=0))
            self._starts.pop()
        else:
            self._starts = array("q", [0, *(match.end() for match in LINE_BREAK.finditer(data))])
        self._from, self._shift = len(self._starts), 0
        self._no_cr = b"\r" not in data
        self._plain = data.isascii() and b"\t" not in data
        self._checkpoints: dict[int, _Checkpoints | None] = {}  # by line; None: ASCII without tabs

    @property
    def line_starts(self) -> array[int]:
        """The offsets of the lines' first bytes."""
        if self._shift:
            starts, cut = self._starts, self._from
            moved = starts[:cut]
            moved.extend(map(self._shift.__add__, starts[cut:]))
            self._starts, self._from, self._shift = moved, len(moved), 0
        return self._starts

    def edited(self, data: bytes, start: int, end: int, inserted: bytes) -> LineIndex:
        """The index of `data`, this index's text with bytes `start..end` replaced by `inserted`: the lines before
        the edit kept, those after it moved (by reference when the edit added or removed no line break and moves the
        same lines as this index's own edit, or none: in constant time; else in time proportional to the lines after
        it, not to the text's bytes). Only `\n` breaks lines in both texts (a `\r` makes it index `data` anew)."""
        if b"\r" in inserted or not self._no_cr:
            return LineIndex(data)
        removed = self.data[start:end]
        out = LineIndex.__new__(LineIndex)
        out.data = data
        out._no_cr = True
        if self._plain:
            out._plain = inserted.isascii() and b"\t" not in inserted
        elif removed.isascii() and b"\t" not in removed:
            out._plain = False  # what made this text more than ASCII without tabs is still there
        else:
            out._plain = data.isascii() and b"\t" not in data
        out._checkpoints = {}
        delta = len(inserted) - (end - start)
        keep = self.line_of(start) + 1  # lines starting at or before the edit: the same bytes precede them
        if b"\n" not in inserted and b"\n" not in removed and (not self._shift or self._from == keep):
            out._starts, out._from, out._shift = self._starts, keep, self._shift + delta
            if not out._shift:
                out._from = len(out._starts)
            return out
        old = self.line_starts
        after = bisect.bisect_right(old, end)  # lines starting after the removed bytes: moved
        # After each `\n` inserted: a running sum of the inserted lines' lengths, in C.
        inside = list(accumulate(map((1).__add__, map(len, inserted.split(b"\n")[:-1])), initial=start))[1:]
        starts = old[:keep]
        starts.extend(inside)
        starts.extend(map(delta.__add__, old[after:]))
        out._starts, out._from, out._shift = starts, len(starts), 0
        return out

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line_of(self, offset: int) -> int:
        starts, cut = self._starts, self._from
        if cut < len(starts) and offset >= starts[cut] + self._shift:
            return bisect.bisect_right(starts, offset - self._shift, cut) - 1
        return max(0, bisect.bisect_right(starts, offset, 0, cut) - 1)

    def line_start(self, line: int) -> int:
        return self._starts[line] + (self._shift if line >= self._from else 0)

    def line_span(self, line: int) -> Span:
        """The bytes of `line`, without its line break."""
        start = self.line_start(line)
        if line + 1 >= len(self._starts):
            return Span(start, len(self.data))
        end = self.line_start(line + 1) - 1
        if self.data[end] == 0x0A and end > start and self.data[end - 1] == 0x0D:
            end -= 1
        return Span(start, end)

    def line_text(self, line: int) -> str:
        span = self.line_span(line)
        return self.data[span.start : span.end].decode("utf-8", errors="replace")

    def point(self, offset: int) -> tuple[int, int]:
        """(line, byte column) of `offset`."""
        line = self.line_of(offset)
        return line, offset - self.line_start(line)

    def place(self, offset: int) -> tuple[int, int | bytes]:
        """The line of `offset`, and what sets its column in every encoding: the byte column in a document of ASCII
        without tabs, else the line's bytes before it. Equal places are equal positions, whatever the encoding."""
        line = self.line_of(offset)
        start = self.line_start(line)
        return line, (offset - start if self._plain else self.data[start:offset])

    def wheres(self, spans: Iterable[Span]) -> Iterator[tuple[int, tuple[int | bytes, int, int | bytes]]]:
        """For each span: the line it starts on, and where it stands from that line's start — its start's column, how
        many lines it ends below, its end's column, each column as `place` has it. Two spans with the same answer (in
        two versions of a text too) have the same positions in every encoding. Spans in the order of their starts are
        walked (the line breaks between two counted at C speed), not searched for: a search of a large document's
        line starts reads memory all over."""
        data = self.data
        size, plain = len(data), self._plain
        count, rfind = data.count, data.rfind
        at = line = 0  # the line of byte `at`
        for span in spans:
            start, end = max(0, min(span.start, size)), max(0, min(span.end, size))
            if not self._no_cr:  # a lone `\r` ends a line too: searched
                line = self.line_of(start)
                last = self.line_of(end)
                first, final = self.line_start(line), self.line_start(last)
                below = last - line
            else:
                line = line + count(b"\n", at, start) if start >= at else self.line_of(start)
                at = start
                first = rfind(b"\n", 0, start) + 1
                below = count(b"\n", start, end)
                final = rfind(b"\n", 0, end) + 1 if below else first
            if plain:
                yield line, (start - first, below, end - final)
            else:
                yield line, (data[first:start], below, data[final:end])

    # --- the start of a line --------------------------------------------------------------------

    def first_nonblank(self, line: int) -> int:
        """The offset of the first byte of `line` that is not a blank (its end when it is all blanks)."""
        span = self.line_span(line)
        match = _BLANKS.match(self.data, span.start, span.end)
        return match.end() if match is not None else span.start

    def starts_line(self, offset: int) -> bool:
        """Nothing but blanks stands before `offset` on its line."""
        return offset <= self.first_nonblank(self.line_of(offset))

    def ends_line(self, offset: int) -> bool:
        """Nothing but blanks stands after `offset` on its line (looked at up to the first that is not one)."""
        end = self.line_span(self.line_of(offset)).end
        match = _BLANKS.match(self.data, offset, end)
        return match is not None and match.end() >= end

    def indentation(self, line: int) -> str:
        """The leading blanks of `line`."""
        start = self.line_start(line)
        return self.data[start : self.first_nonblank(line)].decode("ascii")

    # --- columns --------------------------------------------------------------------------------

    def _line_checkpoints(self, line: int) -> _Checkpoints | None:
        if self._plain:
            return None
        if line not in self._checkpoints:
            span = self.line_span(line)
            text = self.data[span.start : span.end]
            plain = text.isascii() and b"\t" not in text
            self._checkpoints[line] = None if plain else _Checkpoints(self.data, span.start, span.end)
        return self._checkpoints[line]

    def position(self, offset: int, encoding: Encoding = Encoding.UTF16) -> Position:
        offset = max(0, min(offset, len(self.data)))
        line = self.line_of(offset)
        start = self.line_start(line)
        checkpoints = None if encoding is Encoding.UTF8 else self._line_checkpoints(line)
        if checkpoints is None:
            return Position(line, offset - start)
        end = self.line_span(line).end
        if offset > end:  # inside the line break
            return Position(line, checkpoints.columns(encoding)[-1] + offset - end)
        i = bisect.bisect_right(checkpoints.offsets, offset) - 1
        base = checkpoints.offsets[i]
        return Position(line, checkpoints.columns(encoding)[i] + column_width(self.data[base:offset], encoding))

    def range(self, span: Span, encoding: Encoding = Encoding.UTF16) -> Range:
        return Range(self.position(span.start, encoding), self.position(span.end, encoding))

    def offset(self, position: Position, encoding: Encoding = Encoding.UTF16) -> int:
        """The byte offset of `position`; columns past the line end clamp to it (as LSP requires)."""
        if position.line < 0:
            return 0
        if position.line >= len(self._starts):
            return len(self.data)
        span = self.line_span(position.line)
        character = max(position.character, 0)
        checkpoints = None if encoding is Encoding.UTF8 else self._line_checkpoints(position.line)
        if checkpoints is None:
            return span.start + min(character, span.end - span.start)
        columns = checkpoints.columns(encoding)
        i = bisect.bisect_right(columns, character) - 1
        consumed = checkpoints.offsets[i]
        units = columns[i]
        stop = checkpoints.offsets[i + 1] if i + 1 < len(columns) else span.end
        for ch in _decode(self.data[consumed:stop]):
            if units >= character:
                break
            units += 2 if encoding is Encoding.UTF16 and ord(ch) > 0xFFFF else 1
            consumed += len(ch.encode("utf-8", errors="surrogatepass"))
        return min(consumed, span.end)

    def display_column(self, offset: int, tab: int) -> int:
        """The column of `offset` counted in code points, a tab counting `tab`."""
        column = self.position(offset, Encoding.UTF32).character
        line = self.line_of(offset)
        checkpoints = self._line_checkpoints(line)
        if checkpoints is None:
            return column
        i = bisect.bisect_right(checkpoints.offsets, offset) - 1
        tabs = checkpoints.tabs[i] + self.data.count(b"\t", checkpoints.offsets[i], offset)
        return column + (tab - 1) * tabs


class CharOffsets:
    """Character offsets of one `str` ↔ UTF-8 byte offsets, in O(log n) (text that is ASCII: O(1))."""

    __slots__ = ("_chars", "_extra", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._chars: list[int] = []  # the character offset of each non-ASCII character
        self._extra: list[int] = []  # the bytes more than one it and the ones before it take
        extra = 0
        for match in _NON_ASCII.finditer(text):
            code = ord(match.group())
            extra += 1 if code < 0x800 else 2 if code < 0x10000 else 3
            self._chars.append(match.start())
            self._extra.append(extra)

    def to_bytes(self, char_offset: int) -> int:
        char_offset = max(0, min(char_offset, len(self.text)))
        i = bisect.bisect_left(self._chars, char_offset)  # the non-ASCII characters before it
        return char_offset + (self._extra[i - 1] if i else 0)

    def to_chars(self, byte_offset: int) -> int:
        """The character at or after UTF-8 byte `byte_offset` (a byte inside a character rounds up)."""
        byte_offset = max(0, byte_offset)
        lo, hi = 0, len(self._chars)
        while lo < hi:  # the non-ASCII characters that start before `byte_offset`
            mid = (lo + hi) // 2
            if self._chars[mid] + (self._extra[mid - 1] if mid else 0) < byte_offset:
                lo = mid + 1
            else:
                hi = mid
        extra = self._extra[lo - 1] if lo else 0
        if lo and self._chars[lo - 1] + extra >= byte_offset:  # inside that character: the next one
            return min(self._chars[lo - 1] + 1, len(self.text))
        return min(byte_offset - extra, len(self.text))


@lru_cache(maxsize=256)
def char_offsets(text: str) -> CharOffsets:
    """The `CharOffsets` of `text`, built once per text (a relational block's positions are converted often)."""
    return CharOffsets(text)
