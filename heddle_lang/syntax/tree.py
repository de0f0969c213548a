"""Parsing: text in, a tree-sitter concrete syntax tree plus syntax diagnostics out. Never raises.

A `SyntaxTree` is immutable. `SyntaxTree.edit` describes a text change to tree-sitter (byte offsets
and points, exactly) and reparses incrementally, reusing every unchanged subtree; the result is a
new `SyntaxTree` equal to a fresh parse of the new text. Tree-sitter's points are tree-sitter's (rows
counted at `\n`); lines everywhere else are LSP's (`text.LineIndex`): use `row`/`end_row`, never a point.
"""

from __future__ import annotations

import bisect
import re
import threading
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple

import tree_sitter as ts

from heddle_lang.syntax import _binding
from heddle_lang.syntax.toplevel import TopLevel, Window, parse_window
from heddle_lang.text import LineIndex, Span

if TYPE_CHECKING:
    from heddle_lang.diagnostics import Diagnostic
    from heddle_lang.syntax.ast import Module
    from heddle_lang.syntax.lower import Lowered, Outline

LANGUAGE = ts.Language(_binding.language())
_LONE_CR = re.compile(rb"\r(?!\n)")
_WHOLE = threading.Lock()  # a version's whole tree is parsed once, though two threads ask


def _parse(data: bytes, old: ts.Tree | None = None) -> ts.Tree:
    # A parser is cheap to create and not safe to share between threads: make one per parse.
    parser = ts.Parser(LANGUAGE)
    return parser.parse(data, old) if old is not None else parser.parse(data)


class Since(NamedTuple):
    """How a tree differs from an earlier version (`base`) whose per-declaration results it may splice: bytes before
    `start` are the base's, with the same nodes at the same places; bytes from `end` on are the base's from `end -
    delta` on, their nodes moved by `delta` bytes."""

    base: SyntaxTree
    start: int
    end: int
    delta: int


class Region(NamedTuple):
    """The lines of an edited tree that differ from its base (`Since`): `start` and `end` are line starts (or the end
    of the text); every top-level node before `start` is the base's at the same place, every one from `end` on the
    base's moved by `delta` bytes, and none crosses either bound. A declaration's documenting comments and the nodes
    sharing a line with another are on the same side as it."""

    base: SyntaxTree
    start: int
    end: int
    delta: int


# What makes a version's splicing base: the per-declaration results an edited successor reuses.
_SPLICED = ("outline", "diagnostics", "layout")


class SyntaxTree:
    """A parsed document: its text, its CST, and what was wrong with its syntax."""

    __slots__ = ("__dict__", "_cst", "_lowered", "_pending", "_since", "_window", "data")

    def __init__(self, data: bytes, cst: ts.Tree | None, lowered: Lowered | None = None, since: Since | None = None,
                 *, pending: ts.Tree | None = None, window: Window | None = None) -> None:
        self.data = data
        # The whole tree; or, when an edit was parsed in a window (`syntax.toplevel`), None until asked for, and
        # `pending`: the last whole tree with every edit since, from which tree-sitter parses this one (reusing it).
        self._cst = cst
        self._pending = pending
        self._window = window
        # Before `outline`: what an earlier version lowered (its unchanged declarations are reused); after: what
        # this version lowered, for the next one.
        self._lowered = lowered
        # The earlier version whose outline, syntax and layout diagnostics this one splices (`region`): dropped once
        # this one has its own.
        self._since = since

    @cached_property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")

    @cached_property
    def lines(self) -> LineIndex:
        return LineIndex(self.data)

    @property
    def cst(self) -> ts.Tree:
        """The whole tree (parsed when first asked for, after an edit parsed in a window)."""
        cst = self._cst
        if cst is None:
            with _WHOLE:  # an analysis thread and a request may both ask
                cst = self._cst
                if cst is None:
                    assert self._pending is not None
                    cst = self._cst = _parse(self.data, self._pending)
                    self._pending = None
        return cst

    @property
    def root(self) -> ts.Node:
        return self.cst.root_node

    @property
    def top(self) -> TopLevel:
        """The top-level nodes (`syntax.toplevel.TopLevel`): those around the last edit without the whole tree. Made
        at each call (it reads the tree: kept on it, it would make a cycle)."""
        return TopLevel(self._window if self._cst is None else None, lambda: self.root)

    @cached_property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """Syntax diagnostics (HE1xxx), sorted by position."""
        from heddle_lang.syntax.errors import syntax_diagnostics

        found = tuple(syntax_diagnostics(self))
        self._settle("diagnostics", found)
        return found

    @cached_property
    def layout(self) -> tuple[Diagnostic, ...]:
        """Layout diagnostics (HE2xxx), sorted by position."""
        from heddle_lang.layout import layout_diagnostics

        found = tuple(layout_diagnostics(self))
        self._settle("layout", found)
        return found

    def _settle(self, name: str, value: object) -> None:
        """Keep `value` as this version's `name`; with all of them kept, the base it spliced from is let go."""
        self.__dict__[name] = value
        if self._since is not None and all(n in self.__dict__ for n in _SPLICED):
            # Nothing reads the base any more: let it go (else every version would keep the one before it).
            self._since = None
            self.__dict__.pop("region", None)

    @cached_property
    def region(self) -> Region | None:
        """What differs from the version this one was edited from, in whole lines and top-level nodes (`Region`);
        None: no base to splice from (a fresh parse, a first version, or an error in either)."""
        since = self._since
        if since is None or since.base.top.has_error or self.top.has_error:
            return None
        return _region(self, since)

    @cached_property
    def outline(self) -> Outline:
        """The top-level declarations of this tree, each at its place (`syntax.lower.Placed`): those the previous
        version lowered and this one did not change are reused, moved only when their AST is read."""
        from heddle_lang.syntax.lower import lower

        outline, self._lowered = lower(self, self._lowered)
        self._settle("outline", outline)
        return outline

    @cached_property
    def ast(self) -> Module:
        """The typed AST view of this tree (partial where the text has errors)."""
        return self.outline.module()

    @property
    def lowered(self) -> Lowered:
        """This version's declarations by their text (`syntax.lower.Lowered`): those a declaration's text alone
        determines, whose results other passes may remember by that text."""
        self.outline  # noqa: B018 - lowering fills it
        assert self._lowered is not None
        return self._lowered

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def row(self, node: ts.Node) -> int:
        """The line `node` starts on (LSP's lines: tree-sitter's rows do not count a lone `\r`)."""
        return node.start_point[0] if self._rows_agree else self.lines.line_of(node.start_byte)

    def end_row(self, node: ts.Node) -> int:
        """The line `node` ends on."""
        return node.end_point[0] if self._rows_agree else self.lines.line_of(node.end_byte)

    @cached_property
    def _rows_agree(self) -> bool:
        """No lone `\r`: tree-sitter's rows are LSP's lines."""
        return b"\r" not in self.data or _LONE_CR.search(self.data) is None

    def slice(self, span: Span) -> str:
        return self.data[span.start : span.end].decode("utf-8", errors="replace")

    def edit(self, start: int, end: int, new_text: str) -> SyntaxTree:
        """Replace bytes `start..end` by `new_text` and reparse incrementally."""
        start = max(0, min(start, len(self.data)))
        end = max(start, min(end, len(self.data)))
        inserted = new_text.encode("utf-8", errors="surrogatepass")  # as `parse` encodes
        if start == end and not inserted:
            # Nothing changes (a whole-text change to the same text, an empty change): this version itself. A new one
            # would mark its place as edited, and an edit after it would splice everything between the two places.
            return self
        data = self.data[:start] + inserted + self.data[end:]
        window = parse_window(LANGUAGE, self.top, data, start=start, end=end, inserted=len(inserted))
        start_point = _point(self.data, start, window)
        old_end_point = _point(self.data, end, window)
        newlines = inserted.count(b"\n")
        if newlines:
            new_end_point = (start_point[0] + newlines, len(inserted) - inserted.rfind(b"\n") - 1)
        else:
            new_end_point = (start_point[0], start_point[1] + len(inserted))
        new_end = start + len(inserted)

        def edited(tree: ts.Tree) -> ts.Tree:
            copy = tree.copy()
            copy.edit(start_byte=start, old_end_byte=end, new_end_byte=new_end, start_point=start_point,
                      old_end_point=old_end_point, new_end_point=new_end_point)
            return copy

        if window is not None:  # the whole tree is parsed when asked for, from the last one with the edits since
            with _WHOLE:
                pending = edited(self._cst if self._cst is not None else self._pending)  # type: ignore[arg-type]
            node = window.nodes[bisect.bisect_right(window.nodes, start, key=_start_byte) - 1]
            since = self._succeeded(node.start_byte, node.end_byte, start, end, new_end)
            tree = SyntaxTree(data, None, self._lowered, since, pending=pending, window=window)
        else:
            tree = self._reparsed(data, edited(self.cst), start, end, new_end)
        if "lines" in self.__dict__:  # this version's line index, edited: the lines after the edit moved
            tree.__dict__["lines"] = self.lines.edited(data, start, end, inserted)
        return tree

    def _reparsed(self, data: bytes, old: ts.Tree, start: int, end: int, new_end: int) -> SyntaxTree:
        """`data` parsed from `old`, this version's whole tree edited (bytes `start..end` now `start..new_end`)."""
        cst = _parse(data, old)
        since: Since | None = None
        if cst.root_node.has_error:
            # Tree-sitter's error recovery can depend on the old tree; a fresh parse is the reference.
            cst = _parse(data)
        else:
            # What changed: the edited bytes, and where the parser built other nodes than before.
            inside = _enclosing(old.root_node, cst.root_node, start, new_end)
            if inside is not None:
                low, high = inside
            else:
                changed = old.changed_ranges(cst)
                low = min([start, *(r.start_byte for r in changed)])
                high = max([new_end, *(r.end_byte for r in changed)])
            since = self._succeeded(low, high, start, end, new_end)
        # What this version lowered, or (not lowered: a version a burst of changes skipped) what it had to reuse.
        return SyntaxTree(data, cst, self._lowered, since)

    def _succeeded(self, low: int, high: int, start: int, end: int, new_end: int) -> Since | None:
        """What an edit of this version (bytes `start..end` now `start..new_end`, the successor's bytes `low..high`
        differing) leaves its successor to splice from: this version, if it has its results, else its own base."""
        delta = new_end - end
        if all(n in self.__dict__ for n in _SPLICED):
            return Since(self, low, high, delta)
        since = self._since
        if since is None:
            return None
        # The base's differing bytes, where they are after this edit.
        before = since.start if since.start < start else start
        after = since.end + delta if since.end >= end else new_end
        return Since(since.base, min(before, low), max(after, high), since.delta + delta)


def _enclosing(old: ts.Node, new: ts.Node, start: int, new_end: int) -> tuple[int, int] | None:
    """The bytes of the top-level node an edit stayed inside (bytes `start..new_end` of the new text; `old` is the
    previous tree edited so, its places moved as the edit moved them): the node of the same type at the same place in
    both, the edit strictly inside it, as many top-level nodes in both. Then the parser built the same nodes before it
    (the same text up to the same first token) and after it (the same text, from the same state: between two
    declarations), so only its bytes may differ; None: ask tree-sitter (`changed_ranges` compares every node: ~10 ms
    at 50,000 lines)."""
    count = old.child_count
    if count != new.child_count or count == 0:
        return None
    index = bisect.bisect_right(range(count), start, key=lambda i: old.child(i).start_byte) - 1
    if index < 0:
        return None
    before, after = old.child(index), new.child(index)
    if before.start_byte < start and new_end < before.end_byte and before.type == after.type \
            and after.start_byte == before.start_byte and after.end_byte == before.end_byte:
        return after.start_byte, after.end_byte
    return None


def _region(tree: SyntaxTree, since: Since) -> Region:
    """The whole lines and top-level nodes around `since`'s differing bytes (`Region`)."""
    top = tree.top
    count = top.count
    lines = tree.lines
    first_line, last_line = lines.line_of(since.start), lines.line_of(since.end)
    while True:
        low = lines.line_start(first_line)
        high = lines.line_start(last_line + 1) if last_line + 1 < lines.line_count else len(tree.data)
        # The nodes on those lines: from the first ending at or after `low` to the last starting before `high`.
        first = top.bisect_end(low)
        last = top.bisect_start(high) - 1
        grown_first, grown_last = first_line, last_line
        if first <= last:
            grown_first = min(grown_first, tree.row(top.child(first)))
            grown_last = max(grown_last, tree.end_row(top.child(last)))
        if first > 0 and top.child(first - 1).type == "comment":  # it may document the first node
            grown_first = min(grown_first, tree.row(top.child(first - 1)))
        if last + 1 < count and (first > last or top.child(last).type == "comment"):  # the node it may document
            grown_last = max(grown_last, tree.end_row(top.child(last + 1)))
        if (grown_first, grown_last) == (first_line, last_line):
            return Region(since.base, low, high, since.delta)
        first_line, last_line = grown_first, grown_last


def _point(data: bytes, offset: int, window: Window | None = None) -> tuple[int, int]:
    """Tree-sitter's (row, byte column) of `offset`, without building a line index (C-speed scans); counted from the
    start of the first node of `window` when it starts before `offset` (its point is the same before and after the
    edit it was parsed for)."""
    if window is not None and window.nodes[0].start_byte <= offset:
        node = window.nodes[0]
        low, (row, column) = node.start_byte, node.start_point
        line = data.rfind(b"\n", low, offset)
        return row + data.count(b"\n", low, offset), offset - line - 1 if line >= 0 else column + offset - low
    return data.count(b"\n", 0, offset), offset - (data.rfind(b"\n", 0, offset) + 1)


def _start_byte(node: ts.Node) -> int:
    return node.start_byte


def parse(text: str) -> SyntaxTree:
    """Parse Heddle source. Always returns a tree; problems are in `.diagnostics`."""
    data = text.encode("utf-8", errors="surrogatepass")
    return SyntaxTree(data, _parse(data))


def node_span(node: ts.Node) -> Span:
    return Span(node.start_byte, node.end_byte)
