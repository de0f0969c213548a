"""Semantic tokens: what each word of a document is, in LSP's standard token types.

    keyword      import resource step handler workflow, true false null, `*` (the error context),
                 and PRQL transforms and keywords (from select filter ... let case this ...)
    namespace    import aliases, and the module of `alias.function`
    function     step names (declared and used), the function of `alias.function`
    variable     assignments, resources (modifier "readonly"), tables named in PRQL (`input`: "defaultLibrary")
    type         workflow names
    event        handler names (a handler answers the failure event of a stage or workflow)
    parameter    injection keys (`<connection=...>`)
    property     config keys
    string, number, comment, operator (`|`, `>`, `?`, `=`)

The modifier "declaration" marks where a name is defined. Tokens never span lines (multi-line strings
and comments give one token a line), are sorted, and are byte spans of the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from heddle_lang.ide.occurrences import table_mentions, to_bytes
from heddle_lang.ide.results import SemanticToken
from heddle_lang.relational.normalize import TRANSFORMS
from heddle_lang.relational.tokens import Token, tokenize
from heddle_lang.semantic.model import Analysis
from heddle_lang.syntax import ast
from heddle_lang.text import LineIndex, Span

if TYPE_CHECKING:
    import tree_sitter as ts

# The legend: a token's type and modifiers are sent as indices into these.
TOKEN_TYPES: tuple[str, ...] = (
    "namespace", "type", "function", "variable", "parameter", "property", "event", "keyword", "string", "number",
    "comment", "operator",
)
TOKEN_MODIFIERS: tuple[str, ...] = ("declaration", "readonly", "defaultLibrary")

_Kind = tuple[str, tuple[str, ...]]
_DECLARED = ("declaration",)
_KEYWORDS = frozenset({"import", "resource", "step", "handler", "workflow"})
_OPERATORS = {("stage", "|"), ("assignment", ">"), ("trap", "?"), ("resource_declaration", "="),
              ("step_declaration", "="), ("binding", "=")}
# (parent node type, field) of an identifier -> its token.
_NAMES: dict[tuple[str, str | None], _Kind] = {
    ("import_declaration", "alias"): ("namespace", _DECLARED),
    ("resource_declaration", "name"): ("variable", ("declaration", "readonly")),
    ("step_declaration", "name"): ("function", _DECLARED),
    ("handler_declaration", "name"): ("event", _DECLARED),
    ("workflow_declaration", "name"): ("type", _DECLARED),
    ("assignment", "name"): ("variable", _DECLARED),
    ("trap", "handler"): ("event", ()),
    ("function", "module"): ("namespace", ()),
    ("function", "name"): ("function", ()),
    ("binding", "key"): ("parameter", ()),
    ("binding", "value"): ("variable", ("readonly",)),
    ("pair", "key"): ("property", ()),
    ("reference", None): ("variable", ()),
}
# What a name read in a pipeline refers to -> its token.
_TARGETS: dict[str, _Kind] = {
    "step": ("function", ()), "assignment": ("variable", ()), "resource": ("variable", ("readonly",)),
    "handler": ("event", ()), "workflow": ("type", ()), "import": ("namespace", ()),
}
_LEAVES: dict[str, _Kind] = {
    "string": ("string", ()), "multiline_string": ("string", ()), "number": ("number", ()),
    "true": ("keyword", ()), "false": ("keyword", ()), "null": ("keyword", ()), "comment": ("comment", ()),
    "error_context": ("keyword", ()),
}
PRQL_KEYWORDS = TRANSFORMS | {"let", "into", "case", "func", "prql", "this", "that", "true", "false", "null"}
_NOT_AFTER_KEYWORD = frozenset({"=", ":", "."})
_BREAK = re.compile(rb"[\r\n]")


class _Tokens:
    def __init__(self, analysis: Analysis, start: int, end: int) -> None:
        self.lines: LineIndex = analysis.tree.lines
        self.data = analysis.tree.data
        self.start, self.end = start, end
        self.targets = {use.span: use.target for use in analysis.uses}
        self.out: list[SemanticToken] = []

    def emit(self, span: Span, kind: _Kind) -> None:
        """`span` as one token a line (blank-free pieces only), kept when it meets the requested range."""
        if span.end <= self.start or span.start >= self.end:
            return
        if not _BREAK.search(self.data, span.start, span.end):
            self.out.append(SemanticToken(span, kind[0], kind[1]))
            return
        first, last = self.lines.line_of(span.start), self.lines.line_of(max(span.start, span.end - 1))
        for line in range(first, last + 1):
            bounds = self.lines.line_span(line)
            piece = Span(max(span.start, bounds.start), min(span.end, bounds.end))
            if piece.end > piece.start and piece.end > self.start and piece.start < self.end:
                self.out.append(SemanticToken(piece, kind[0], kind[1]))

    def visible(self, node: ts.Node) -> bool:
        return node.end_byte > self.start and node.start_byte < self.end

    def walk(self, root: ts.Node) -> None:
        """Every token under `root` (iteratively: nesting depth is the user's)."""
        stack = [root]
        while stack:
            node = stack.pop()
            for index, child in enumerate(node.children):
                if self.visible(child) and not child.is_missing:
                    self.child(node, index, child, stack)

    def child(self, node: ts.Node, index: int, child: ts.Node, stack: list[ts.Node]) -> None:
        kind = child.type
        if kind == "identifier":
            self.identifier(node, node.field_name_for_child(index), child)
        elif kind == "string" and node.type == "pair" and node.field_name_for_child(index) == "key":
            self.emit(Span(child.start_byte, child.end_byte), ("property", ()))
        elif kind in _LEAVES:
            self.emit(Span(child.start_byte, child.end_byte), _LEAVES[kind])
        elif kind == "prql":
            self.prql(child)
        elif not child.is_named:
            if kind in _KEYWORDS:
                self.emit(Span(child.start_byte, child.end_byte), ("keyword", ()))
            elif (node.type, kind) in _OPERATORS:
                self.emit(Span(child.start_byte, child.end_byte), ("operator", ()))
        elif kind != "bare_word":
            stack.append(child)

    def identifier(self, parent: ts.Node, field: str | None, node: ts.Node) -> None:
        kind = _NAMES.get((parent.type, field))
        if kind is None:
            return
        span = Span(node.start_byte, node.end_byte)
        target = self.targets.get(span)
        if parent.type == "reference" and target is not None:
            kind = _TARGETS.get(target.kind, kind)
        self.emit(span, kind)

    def prql(self, node: ts.Node) -> None:
        query = (node.text or b"").decode("utf-8", errors="replace")
        base = node.start_byte
        block = ast.RelationalBlock(query, Span(node.start_byte, node.end_byte), Span(node.start_byte, node.end_byte))
        tables = {m.span.start: m.name for m in table_mentions(block)}
        tokens = [t for t in tokenize(query) if t.kind != "newline"]
        for i, token in enumerate(tokens):
            span = Span(to_bytes(query, token.start, base), to_bytes(query, token.end, base))
            if token.kind in ("string", "comment", "number", "date"):
                self.emit(span, ("number", ()) if token.kind == "date" else (token.kind, ()))
            elif token.kind != "ident":
                continue
            elif span.start in tables or span.start - 1 in tables:
                name = tables.get(span.start, tables.get(span.start - 1))
                inner = Span(span.start + 1, span.end - 1) if token.text.startswith("`") else span
                self.emit(inner, ("variable", ("defaultLibrary",) if name == "input" else ()))
            elif token.text in PRQL_KEYWORDS and not _member(tokens, i):
                self.emit(span, ("keyword", ()))


def _member(tokens: Sequence[Token], i: int) -> bool:
    """Whether the word at `i` is a field or a named argument (`x.select`, `from = 1`, `side:left`)."""
    before = tokens[i - 1] if i > 0 else None
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    return (before is not None and before.is_op(".")) or (after is not None and after.kind == "op"
                                                          and after.text in _NOT_AFTER_KEYWORD)


def semantic_tokens(analysis: Analysis, start: int = 0, end: int | None = None) -> list[SemanticToken]:
    """The tokens of the document that meet `[start, end)` (the whole document by default), sorted."""
    size = len(analysis.tree.data)
    start = max(0, min(start, size))
    end = size if end is None else min(end, size)
    if end <= start:
        return []
    collector = _Tokens(analysis, start, end)
    collector.walk(analysis.tree.root)
    unique = {t.span: t for t in collector.out}
    return [unique[span] for span in sorted(unique)]


def legend_indices(tokens: Sequence[SemanticToken]) -> Iterator[tuple[int, int]]:
    """Each token's (type index, modifier bit set) in the legend."""
    for token in tokens:
        bits = sum(1 << TOKEN_MODIFIERS.index(m) for m in token.modifiers if m in TOKEN_MODIFIERS)
        yield TOKEN_TYPES.index(token.type), bits
