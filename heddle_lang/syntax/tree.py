"""Parsing: text in, a tree-sitter concrete syntax tree plus syntax diagnostics out. Never raises.

A `SyntaxTree` is immutable. `SyntaxTree.edit` describes a text change to tree-sitter (byte offsets
and points, exactly) and reparses incrementally, reusing every unchanged subtree; the result is a
new `SyntaxTree` equal to a fresh parse of the new text. Tree-sitter's points are tree-sitter's (rows
counted at `\n`); lines everywhere else are LSP's (`text.LineIndex`): use `row`/`end_row`, never a point.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import TYPE_CHECKING

import tree_sitter as ts

from heddle_lang.syntax import _binding
from heddle_lang.text import LineIndex, Span

if TYPE_CHECKING:
    from heddle_lang.diagnostics import Diagnostic
    from heddle_lang.syntax.ast import Module
    from heddle_lang.syntax.lower import Lowered, Outline

LANGUAGE = ts.Language(_binding.language())
_LONE_CR = re.compile(rb"\r(?!\n)")


def _parse(data: bytes, old: ts.Tree | None = None) -> ts.Tree:
    # A parser is cheap to create and not safe to share between threads: make one per parse.
    parser = ts.Parser(LANGUAGE)
    return parser.parse(data, old) if old is not None else parser.parse(data)


class SyntaxTree:
    """A parsed document: its text, its CST, and what was wrong with its syntax."""

    __slots__ = ("__dict__", "_lowered", "cst", "data")

    def __init__(self, data: bytes, cst: ts.Tree, lowered: Lowered | None = None) -> None:
        self.data = data
        self.cst = cst
        # Before `outline`: what an earlier version lowered (its unchanged declarations are reused); after: what
        # this version lowered, for the next one.
        self._lowered = lowered

    @cached_property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")

    @cached_property
    def lines(self) -> LineIndex:
        return LineIndex(self.data)

    @property
    def root(self) -> ts.Node:
        return self.cst.root_node

    @cached_property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """Syntax diagnostics (HE1xxx), sorted by position."""
        from heddle_lang.syntax.errors import syntax_diagnostics

        return tuple(syntax_diagnostics(self))

    @cached_property
    def outline(self) -> Outline:
        """The top-level declarations of this tree, each at its place (`syntax.lower.Placed`): those the previous
        version lowered and this one did not change are reused, moved only when their AST is read."""
        from heddle_lang.syntax.lower import lower

        outline, self._lowered = lower(self, self._lowered)
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
        data = self.data[:start] + inserted + self.data[end:]
        start_point = _point(self.data, start)
        old_end_point = _point(self.data, end)
        newlines = inserted.count(b"\n")
        if newlines:
            new_end_point = (start_point[0] + newlines, len(inserted) - inserted.rfind(b"\n") - 1)
        else:
            new_end_point = (start_point[0], start_point[1] + len(inserted))
        old = self.cst.copy()
        old.edit(
            start_byte=start,
            old_end_byte=end,
            new_end_byte=start + len(inserted),
            start_point=start_point,
            old_end_point=old_end_point,
            new_end_point=new_end_point,
        )
        cst = _parse(data, old)
        if cst.root_node.has_error:
            # Tree-sitter's error recovery can depend on the old tree; a fresh parse is the reference.
            cst = _parse(data)
        # What this version lowered, or (not lowered: a version a burst of changes skipped) what it had to reuse.
        tree = SyntaxTree(data, cst, self._lowered)
        if "lines" in self.__dict__:  # this version's line index, edited: the lines after the edit moved
            tree.__dict__["lines"] = self.lines.edited(data, start, end, inserted)
        return tree


def _point(data: bytes, offset: int) -> tuple[int, int]:
    """Tree-sitter's (row, byte column) of `offset`, without building a line index (C-speed scans)."""
    return data.count(b"\n", 0, offset), offset - (data.rfind(b"\n", 0, offset) + 1)


def parse(text: str) -> SyntaxTree:
    """Parse Heddle source. Always returns a tree; problems are in `.diagnostics`."""
    data = text.encode("utf-8", errors="surrogatepass")
    return SyntaxTree(data, _parse(data))


def node_span(node: ts.Node) -> Span:
    return Span(node.start_byte, node.end_byte)
