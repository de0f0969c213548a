"""What is at an offset: a forgiving token view of the text, read from the cursor backwards.

The tree-sitter CST is the truth for complete text, but while the user types it is full of ERROR nodes
that move with each keystroke. Completion (and the "before the cursor" questions of other queries) read
the tokens instead: `lex` never fails, keeps byte offsets, and treats the inside of a relational block
`( ... )` as one opaque `prql` token with the external scanner's rules (PRQL strings and `#` comments do
not close it; an unclosed block stops before a line that starts in column 0 with `}` or a declaration
keyword).
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar, cast

from heddle_lang.records import record
from heddle_lang.syntax.prql_lex import string_end
from heddle_lang.text import Span

P = ParamSpec("P")
T = TypeVar("T")

DECLARATION_KEYWORDS = ("import", "resource", "step", "handler", "workflow")


def never_raises(default: Callable[[], object]) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """A query answers `default()` instead of raising: an exception here is a bug, never the user's fault."""

    def decorate(query: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(query)
        def safe(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return query(*args, **kwargs)
            except Exception:
                return cast(T, default())

        return safe

    return decorate


# --- tokens ----------------------------------------------------------------------------------------


@record
class Token:
    """kind: ident | string | mstring | number | comment | prql | punct | other.

    A `prql` token covers everything between a block's `(` and its `)` (or where an unclosed block
    stops), blanks included. `closed` is False for an unterminated string, block comment or block,
    and for a line comment (the cursor at its end is still inside it).
    """

    kind: str
    start: int
    end: int
    text: str
    closed: bool = True

    @property
    def span(self) -> Span:
        return Span(self.start, self.end)

    def is_punct(self, *chars: str) -> bool:
        return self.kind == "punct" and self.text in chars

    def is_word(self, *words: str) -> bool:
        return self.kind == "ident" and self.text in words


_TOKEN = re.compile(
    rb"""
    (?P<ws>[ \t\r\n\f\v]+)
   |(?P<comment>//[^\r\n]*|/\*(?:[^*]|\*(?!/))*(?:\*/)?)
   |(?P<mstring>\"\"\"(?:[^"]|"(?!""))*(?:\"\"\")?)
   |(?P<string>"(?:[^"\\\r\n]|\\[^\r\n])*\\?"?)
   |(?P<number>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
   |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
   |(?P<punct>[{}\[\]()<>,=:.|?*])
   |(?P<other>[\x80-\xff]+|.)
    """,
    re.VERBOSE | re.DOTALL,
)

IDENT_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


# The windows lexed in the latest document asked about (one request makes several cursors in one declaration): one
# document's, so a long session never keeps the texts of its past versions. Replaced whole, never mutated when shared.
_LEXED: list[tuple[bytes, dict[tuple[int, int | None], tuple[Token, ...]]]] = [(b"", {})]
_LEXED_AT_MOST = 64  # windows of that document


def lex(data: bytes, start: int = 0, stop: int | None = None) -> tuple[Token, ...]:
    """Every token of `data[start:stop]` but blanks, in order, with offsets into `data`; never fails."""
    document, windows = _LEXED[0]
    if document is not data:
        document, windows = data, {}
    found = windows.get((start, stop))
    if found is None:
        found = _lex(data, start, stop)
        windows = {**windows, (start, stop): found} if len(windows) < _LEXED_AT_MOST else {(start, stop): found}
    _LEXED[0] = (document, windows)
    return found


def _lex(data: bytes, start: int, stop: int | None) -> tuple[Token, ...]:
    out: list[Token] = []
    i, n = start, len(data) if stop is None else stop
    while i < n:
        match = _TOKEN.match(data, i, n)
        if match is None:  # pragma: no cover - `.` with DOTALL matches any byte
            break
        kind = match.lastgroup or "other"
        start, end = match.span()
        raw = match.group()
        i = end
        if kind == "ws":
            continue
        text = raw.decode("utf-8", errors="replace")
        closed = True
        if kind == "comment":
            # A line comment runs to the line's end: a cursor there is still inside it.
            closed = raw.startswith(b"/*") and len(raw) >= 4 and raw.endswith(b"*/")
        elif kind == "string":
            closed = len(raw) >= 2 and raw.endswith(b'"') and not _escaped_end(raw)
        elif kind == "mstring":
            closed = len(raw) >= 6 and raw.endswith(b'"""')
        out.append(Token(kind, start, end, text, closed))
        if kind == "punct" and raw == b"(":
            block_end, closing = _scan_prql(data, end, n)
            out.append(Token("prql", end, block_end, data[end:block_end].decode("utf-8", errors="replace"),
                             closing))
            i = block_end
    return tuple(out)


# At a line start (after `\n`, `\r\n` or a lone `\r`, as the relational-block scanner reads lines).
_DECLARATION_START = re.compile(rb"(?:(?<=[\r\n])|\A)(?:" + b"|".join(w.encode() for w in DECLARATION_KEYWORDS)
                                + rb")[ \t]")
_LINE_END = re.compile(rb"[\r\n]")


def _line_start(data: bytes, offset: int) -> int:
    """The start of the line `offset` is on (LSP's lines)."""
    start = data.rfind(b"\n", 0, offset) + 1
    return data.rfind(b"\r", start, offset) + 1 or start


def declaration_window(data: bytes, offset: int) -> tuple[int, int]:
    """The stretch of `data` around `offset` that one top-level declaration can span: from the last line at
    or before `offset` that starts with a declaration keyword in column 0 (or the start) to the next such
    line after it (or the end) — the places where the relational-block scanner also stops."""
    start = _line_start(data, offset)
    while start > 0 and not _DECLARATION_START.match(data, start):
        start = _line_start(data, start - 1)
    after = _LINE_END.search(data, offset)
    found = _DECLARATION_START.search(data, after.end()) if after is not None else None
    return start, found.start() if found is not None else len(data)


def _escaped_end(raw: bytes) -> bool:
    """`"abc\\"` with an odd run of backslashes before the last quote: the quote is escaped."""
    body = raw[1:-1]
    run = len(body) - len(body.rstrip(b"\\"))
    return run % 2 == 1


def _scan_prql(data: bytes, i: int, n: int) -> tuple[int, bool]:
    """From just after `(` up to `n`: where the block's text ends, and whether a `)` closes it there."""
    depth = 0
    prev = prev2 = 0
    while i < n:
        c = data[i]
        if c == 0x0A:
            if _declaration_line(data, i + 1):
                return i + 1, False
            i += 1
            prev = prev2 = 0
            continue
        if c in b" \t\r\f\v":
            prev = prev2 = 0
            i += 1
            continue
        if c == 0x23:  # '#'
            while i < n and data[i] not in b"\r\n":
                i += 1
            prev = prev2 = 0
            continue
        if c in b"\"'":
            raw = prev in b"rR" and prev != 0 and prev2 not in IDENT_BYTES
            i = string_end(data, i, raw)
            prev = prev2 = 0
            continue
        if c == 0x29:  # ')'
            if depth == 0:
                return i, True
            depth -= 1
        elif c == 0x28:  # '('
            depth += 1
        prev2, prev = prev, c
        i += 1
    return n, False


def _declaration_line(data: bytes, i: int) -> bool:
    if data[i : i + 1] == b"}":
        return True
    for word in DECLARATION_KEYWORDS:
        raw = word.encode()
        if data.startswith(raw, i) and data[i + len(raw) : i + len(raw) + 1] in (b" ", b"\t"):
            return True
    return False


class Cursor:
    """The tokens of a document around an offset: those of the declaration it is in (a keystroke's
    completion in a 10,000-line document lexes a few lines, not the document)."""

    def __init__(self, data: bytes, offset: int, until: int | None = None) -> None:
        """`until`: the tokens of every declaration from the one at `offset` to the one at `until`."""
        self.data = data
        self.offset = max(0, min(offset, len(data)))
        start, stop = declaration_window(data, self.offset)
        if until is not None:
            stop = max(stop, declaration_window(data, max(0, min(until, len(data))))[1])
        self.tokens = lex(data, start, stop)
        self.starts = [t.start for t in self.tokens]

    def word(self) -> Span:
        """The identifier characters around the offset (empty at a non-word position)."""
        start = end = self.offset
        while start > 0 and self.data[start - 1] in IDENT_BYTES:
            start -= 1
        while end < len(self.data) and self.data[end] in IDENT_BYTES:
            end += 1
        return Span(start, end)

    def containing(self, offset: int | None = None) -> Token | None:
        """The token with `start < offset < end` (the inside of a token, not its edges)."""
        at = self.offset if offset is None else offset
        index = bisect.bisect_left(self.starts, at) - 1
        if index >= 0:
            token = self.tokens[index]
            if token.start < at < token.end or (at == token.end and not token.closed):
                return token
        return None

    def index_before(self, offset: int) -> int:
        """The index of the last token that ends at or before `offset` (-1 if none)."""
        index = bisect.bisect_left(self.starts, offset) - 1
        while index >= 0 and self.tokens[index].end > offset:
            index -= 1
        return index

    def before(self, offset: int, skip_comments: bool = True) -> Iterator[tuple[int, Token]]:
        """Tokens that end at or before `offset`, nearest first."""
        index = self.index_before(offset)
        while index >= 0:
            token = self.tokens[index]
            if not (skip_comments and token.kind == "comment"):
                yield index, token
            index -= 1

    def significant_before(self, index: int) -> int:
        """The index of the nearest non-comment token before `index` (-1 if none)."""
        index -= 1
        while index >= 0 and self.tokens[index].kind == "comment":
            index -= 1
        return index

    def significant_after(self, index: int) -> int:
        """The index of the nearest non-comment token after `index` (len(tokens) if none)."""
        index += 1
        while index < len(self.tokens) and self.tokens[index].kind == "comment":
            index += 1
        return index

    def newline_between(self, a: int, b: int) -> bool:
        return b"\n" in self.data[a:b]

    def enclosing(self, offset: int) -> int:
        """The index of the innermost unclosed `{` or `[` before `offset` (-1 at the top level)."""
        depth: dict[str, int] = {"}": 0, "]": 0}
        for index, token in self.before(offset):
            if token.kind != "punct":
                continue
            if token.text in "}]":
                depth[token.text] += 1
            elif token.text == "{":
                if depth["}"] == 0:
                    return index
                depth["}"] -= 1
            elif token.text == "[":
                if depth["]"] == 0:
                    return index
                depth["]"] -= 1
        return -1

    def matching(self, index: int) -> int:
        """The index of the bracket closing the one at `index` (len(tokens) if unclosed)."""
        opener = self.tokens[index].text
        closer = {"{": "}", "[": "]", "(": ")"}[opener]
        depth = 0
        for j in range(index, len(self.tokens)):
            token = self.tokens[j]
            if token.is_punct(opener):
                depth += 1
            elif token.is_punct(closer):
                depth -= 1
                if depth == 0:
                    return j
        return len(self.tokens)

    def injection_open(self, index: int) -> int:
        """If token `index` lies inside `< ... >` (only names, `=` and `,` between), the `<`'s index."""
        j = index
        while j >= 0:
            token = self.tokens[j]
            if token.is_punct("<"):
                return j
            if not (token.kind in ("ident", "comment") or token.is_punct("=", ",")):
                return -1
            j -= 1
        return -1

    def injection_close(self, open_index: int) -> int:
        """The `>` closing the injection opened at `open_index` (-1 if it is not closed)."""
        j = open_index + 1
        while j < len(self.tokens):
            token = self.tokens[j]
            if token.is_punct(">"):
                return j
            if not (token.kind in ("ident", "comment") or token.is_punct("=", ",")):
                return -1
            j += 1
        return -1

    def function_before(self, index: int) -> tuple[str, str] | None:
        """`alias.function` ending right before token `index` (skipping an injection that closes there)."""
        j = self.significant_before(index)
        if j >= 0 and self.tokens[j].is_punct(">"):
            opener = self.injection_open(j - 1)
            if opener < 0:
                return None
            j = self.significant_before(opener)
        return self._qualified_ending_at(j)

    def function_after(self, index: int) -> tuple[str, str] | None:
        """`alias.function` starting right after token `index`."""
        j = self.significant_after(index)
        if j + 2 < len(self.tokens):
            a, dot, b = self.tokens[j : j + 3]
            if a.kind == "ident" and dot.is_punct(".") and b.kind == "ident":
                return a.text, b.text
        return None

    def _qualified_ending_at(self, j: int) -> tuple[str, str] | None:
        if j >= 2:
            a, dot, b = self.tokens[j - 2 : j + 1]
            if a.kind == "ident" and dot.is_punct(".") and b.kind == "ident":
                return a.text, b.text
        return None

    def line_prefix(self, offset: int) -> bytes:
        return self.data[_line_start(self.data, offset) : offset]
