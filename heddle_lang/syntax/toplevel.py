"""The top-level nodes of a version of the text, read without parsing the whole text again after an edit.

Tree-sitter rebuilds the top level of a document on every reparse: the nodes of a repetition are never reused whole
(they are "fragile"), so a reparse costs about a microsecond per top-level node however small the edit (10 ms at
50,000 lines). An edit inside one declaration is parsed in a window instead (`parse_window`): the text from the
declaration before it to the declaration after it, parsed alone (tree-sitter's `included_ranges`, so the nodes keep
their places in the whole text). When the window's top-level nodes are the ones before the edit — the same types,
those before the edited one at the same places, the edited one starting where it started and ending where it ended
(moved by the edit), those after it moved by the edit, no syntax error — a parse of the whole text builds them too:
the text before the window is the same and ends between two declarations; the window is read from that state (the
grammar has no conflicts: one parse per text) up to the same lookahead after it (the unchanged declaration that ends
it, or the end of the text); and the text after it is the same, read from the state between two declarations again.
The whole tree is parsed only when something asks for it (`SyntaxTree.cst`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import NamedTuple

import tree_sitter as ts

# The top-level nodes a window may start and end with, and hold the edit: declarations, whose first token is a
# keyword and whose end the next declaration's keyword decides (not pipelines, which a `|` on the next line extends).
DECLARATIONS = frozenset({"import_declaration", "resource_declaration", "step_declaration", "handler_declaration",
                          "workflow_declaration"})


class Window(NamedTuple):
    """The top-level nodes of a window of a version's text (`nodes`, in order), the index of the first among all
    the version's top-level nodes, and how many those are."""

    nodes: list[ts.Node]
    first: int
    count: int


class TopLevel:
    """A version's top-level nodes: from its whole tree, or from the window around its last edit (`Window`), with
    their indices among all. What the window cannot tell (a node outside it, a search that may end outside it) is
    read from the whole tree, which `whole` parses when first asked."""

    __slots__ = ("_ends", "_starts", "_whole", "count", "has_error", "window")

    def __init__(self, window: Window | None, whole: Callable[[], ts.Node]) -> None:
        self.window = window
        self._whole = whole
        if window is None:
            root = whole()
            self.count, self.has_error = root.child_count, root.has_error
        else:
            self.count, self.has_error = window.count, False  # a window is taken only without a syntax error
            self._starts = [node.start_byte for node in window.nodes]
            self._ends = [node.end_byte for node in window.nodes]

    def child(self, index: int) -> ts.Node:
        window = self.window
        if window is not None and 0 <= index - window.first < len(window.nodes):
            return window.nodes[index - window.first]
        return self._whole().child(index)

    def bisect_start(self, offset: int) -> int:
        """How many top-level nodes start before `offset`."""
        return self._search(offset, ends=False)

    def bisect_end(self, offset: int) -> int:
        """How many top-level nodes end before `offset`."""
        return self._search(offset, ends=True)

    def _search(self, offset: int, *, ends: bool) -> int:
        """How many top-level nodes start (`ends`: end) before `offset`: from the window when the search ends among
        its nodes — the nodes before it end at or before its first node's start (for ends, that start must be below
        `offset`), those after it start at or after its last node's end —, else from the whole tree."""
        window = self.window
        if window is not None:
            low = self._starts[0]
            after_low = window.first == 0 or (offset > low if ends else offset >= low)
            if after_low and (window.first + len(window.nodes) == window.count or offset <= self._ends[-1]):
                return window.first + bisect.bisect_left(self._ends if ends else self._starts, offset)
        root = self._whole()
        if ends:
            return bisect.bisect_left(range(self.count), offset, key=lambda i: root.child(i).end_byte)
        return bisect.bisect_left(range(self.count), offset, key=lambda i: root.child(i).start_byte)


def parse_window(language: ts.Language, top: TopLevel, data: bytes, *, start: int, end: int,
                 inserted: int) -> Window | None:
    """The top-level nodes of `data` (the text after bytes `start..end` of the version whose nodes `top` gives were
    replaced by `inserted` bytes) around the edit, parsed in a window: None when the edit is not strictly inside one
    declaration between two others (or the text's ends), or the window does not give the same nodes as before."""
    if top.has_error or top.count == 0:
        return None
    index = top.bisect_start(start) - 1  # the last node starting before the edit
    if index < 0:
        return None
    edited = top.child(index)
    if edited.type not in DECLARATIONS or not edited.start_byte < start or not end < edited.end_byte:
        return None
    before = index - 1
    while before >= 0 and top.child(before).type == "comment":
        before -= 1
    after = index + 1
    while after < top.count and top.child(after).type == "comment":
        after += 1
    first = max(before, 0)
    old = [top.child(i) for i in range(first, min(after, top.count - 1) + 1)]
    if any(node.type not in DECLARATIONS and node.type != "comment" for node in old):
        return None
    delta = inserted - (end - start)
    low = old[0].start_byte if before >= 0 else 0
    high = old[-1].end_byte + delta if after < top.count else len(data)
    low_row, low_column = (old[0].start_point if before >= 0 else (0, 0))
    rows = data.count(b"\n", low, high)
    line = data.rfind(b"\n", low, high)
    high_point = (low_row + rows, high - line - 1) if line >= 0 else (low_row, low_column + high - low)
    parser = ts.Parser(language, included_ranges=[ts.Range((low_row, low_column), high_point, low, high)])
    root = parser.parse(data).root_node
    if root.has_error or root.child_count != len(old):
        return None
    nodes = root.children
    place = index - first  # the edited node's place in the window
    for at, (new, was) in enumerate(zip(nodes, old, strict=True)):
        moved = 0 if at < place else delta
        if new.type != was.type or new.start_byte != was.start_byte + (0 if at <= place else delta) \
                or new.end_byte != was.end_byte + moved:
            return None
    return Window(nodes, first, top.count)
