"""Folding ranges and selection ranges, from the CST (so they work on broken text too).

Folding: every bracketed construct spanning lines (declaration blocks, configs, lists, dataframes,
relational blocks), multi-line pipelines and strings, block comments and runs of line comments
(kind "comment"), and the import section (kind "imports"). A closing bracket that starts its line stays
visible: the range ends on the line before it. Lines are 0-based.

Selection: for each offset, the spans of the CST nodes around it from the innermost out; inside a
relational block, the PRQL token and bracket groups around it come first. At most `MAX_SELECTION` ranges
(the innermost, then the whole document): an answer nests each range in the next, and a client or a JSON
encoder must not meet a chain as deep as a thousand nested brackets.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from heddle_lang.ide.results import Folding
from heddle_lang.relational.tokens import Group, Token, bracket_tree
from heddle_lang.semantic.model import Analysis
from heddle_lang.text import LineIndex, Span, char_offsets

if TYPE_CHECKING:
    import tree_sitter as ts

MAX_SELECTION = 64  # ranges in one selection chain: the innermost ones, then the whole document
_BRACKETED = frozenset({"block", "dict", "list", "dataframe", "relational_block"})
_CLOSERS = frozenset({"}", "]", ")"})


def _walk(node: ts.Node) -> Iterator[ts.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


class _Folds:
    def __init__(self, analysis: Analysis) -> None:
        self.tree = analysis.tree
        self.lines: LineIndex = analysis.tree.lines
        self.data = analysis.tree.data
        self.row, self.end_row = self.tree.row, self.tree.end_row
        self.out: list[Folding] = []

    def add(self, start: int, end: int, kind: str | None = None) -> None:
        if end > start:
            self.out.append(Folding(start, end, kind))

    def starts_its_line(self, node: ts.Node) -> bool:
        return self.lines.starts_line(node.start_byte)

    def ends_its_line(self, node: ts.Node) -> bool:
        return self.lines.ends_line(node.end_byte)

    def bracketed(self, node: ts.Node) -> None:
        last = node.children[-1] if node.children else None
        end = self.end_row(node)
        if last is not None and last.type in _CLOSERS and not last.is_missing and self.starts_its_line(last):
            end -= 1
        self.add(self.row(node), end)

    def comments(self, comments: Iterable[ts.Node]) -> None:
        run: list[ts.Node] = []

        def flush() -> None:
            if len(run) > 1:
                self.add(self.row(run[0]), self.end_row(run[-1]), "comment")
            run.clear()

        for comment in comments:
            if self.end_row(comment) > self.row(comment):
                flush()
                self.add(self.row(comment), self.end_row(comment), "comment")
                continue
            alone = self.starts_its_line(comment) and self.ends_its_line(comment)
            if not alone or (run and self.row(comment) != self.end_row(run[-1]) + 1):
                flush()
            if alone:
                run.append(comment)
        flush()

    def imports(self, root: ts.Node) -> None:
        first = last = None
        for child in root.children:
            if child.type == "import_declaration":
                first = first if first is not None else child
                last = child
            elif child.type != "comment" and first is not None:
                break
        if first is not None and last is not None:
            self.add(self.row(first), self.end_row(last), "imports")


def folding_ranges(analysis: Analysis) -> list[Folding]:
    """The foldable regions of the document, by start line (duplicates removed)."""
    folds = _Folds(analysis)
    root = analysis.tree.root
    comments: list[ts.Node] = []
    for node in _walk(root):
        kind = node.type
        if kind == "comment":
            comments.append(node)
        elif kind in _BRACKETED:
            folds.bracketed(node)
        elif kind in ("pipeline", "multiline_string", "import_declaration"):
            folds.add(folds.row(node), folds.end_row(node))
    folds.comments(sorted(comments, key=lambda c: c.start_byte))
    folds.imports(root)
    unique = dict.fromkeys(folds.out)
    return sorted(unique, key=lambda f: (f.start_line, -f.end_line))


def _prql_spans(node: ts.Node, offset: int) -> list[Span]:
    """Inside a `prql` node: the token at `offset`, then each bracket group around it (inside, then with
    its brackets), innermost first; at most `MAX_SELECTION` groups, the innermost."""
    query = (node.text or b"").decode("utf-8", errors="replace")
    base = node.start_byte
    offsets = char_offsets(query)
    at = offsets.to_chars(offset - base)
    group: Group = bracket_tree(query)
    chain: list[Group] = []
    token: Token | None = None
    while True:
        children = group.children
        # The first child that ends at or after `at` holds it if it starts at or before it.
        i = bisect.bisect_left(children, at, key=lambda child: child.end)
        inner = children[i] if i < len(children) and children[i].start <= at else None
        if inner is None or isinstance(inner, Token):
            token = inner
            break
        chain.append(inner)
        group = inner
    spans: list[Span] = []

    def span(start: int, end: int) -> Span:
        return Span(base + offsets.to_bytes(start), base + offsets.to_bytes(end))

    if token is not None:
        spans.append(span(token.start, token.end))
    for outer in reversed(chain[-MAX_SELECTION:]):
        significant = outer.significant()
        if significant:
            spans.append(span(significant[0].start, significant[-1].end))
        spans.append(span(outer.start, outer.end))
    return spans


def _chain(analysis: Analysis, offset: int) -> list[Span]:
    size = len(analysis.tree.data)
    offset = max(0, min(offset, size))
    node: ts.Node | None = analysis.tree.root.descendant_for_byte_range(offset, offset)
    spans: list[Span] = []
    if node is not None and node.type == "prql":
        whole = Span(node.start_byte, node.end_byte)
        spans.extend(s for s in _prql_spans(node, offset) if whole.covers(s))
    while node is not None:
        spans.append(Span(node.start_byte, node.end_byte))
        node = node.parent
    spans.append(Span(0, size))
    chain: list[Span] = []
    for span in spans:
        # Each range must strictly contain the one before it.
        if not chain or (span != chain[-1] and span.covers(chain[-1])):
            chain.append(span)
    if len(chain) > MAX_SELECTION:  # the answer nests each range in the next: keep it shallow
        chain = [*chain[: MAX_SELECTION - 1], chain[-1]]
    return chain


def selection_ranges(analysis: Analysis, offsets: Sequence[int]) -> list[list[Span]]:
    """For each offset, the spans around it from the innermost to the whole document."""
    return [_chain(analysis, offset) for offset in offsets]
