"""Code actions (quick fixes, fix all, organize imports) and formatting edits.

Every fix comes from a diagnostic's `Fix`: this module chooses and combines them, never invents one.
`source.fixAll` leaves out the removal of unused declarations (HE3012): run on save, it would delete
what the user has just written and not used yet; those fixes stay available one by one, and unused
imports go with `source.organizeImports`. Formatting answers with minimal line edits (the changed
lines only), and nothing when the text has syntax errors.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from heddle_lang.diagnostics import Fix, Tag, TextEdit
from heddle_lang.formatter import format_tree
from heddle_lang.ide.results import CodeAction
from heddle_lang.semantic.model import Analysis
from heddle_lang.syntax.lower import decode_string
from heddle_lang.syntax.tree import SyntaxTree, parse
from heddle_lang.text import Span

if TYPE_CHECKING:
    import tree_sitter as ts

QUICKFIX = "quickfix"
FIX_ALL = "source.fixAll"
ORGANIZE_IMPORTS = "source.organizeImports"


def _wanted(kind: str, only: Sequence[str] | None) -> bool:
    """LSP's `only`: a requested kind covers itself and its sub-kinds (`source` covers `source.fixAll`)."""
    return only is None or any(kind == o or kind.startswith(o + ".") for o in only)


def _overlaps(span: Span, start: int, end: int) -> bool:
    """Whether `span` meets `[start, end)`; an empty range or span meets what touches it."""
    if start == end or span.is_empty:
        return span.start <= end and start <= span.end
    return span.start < end and start < span.end


def _conflict(a: Span, b: Span) -> bool:
    """Two edits that cannot both apply in a known order: they overlap, or an insertion touches the other."""
    low, high = max(a.start, b.start), min(a.end, b.end)
    return low < high or ((a.is_empty or b.is_empty) and low <= high)


def quick_fixes(analysis: Analysis, start: int, end: int) -> list[CodeAction]:
    """One action per fix of each diagnostic that meets `[start, end)`."""
    actions = []
    for index, diagnostic in enumerate(analysis.diagnostics):
        if not _overlaps(diagnostic.span, start, end):
            continue
        for fix in diagnostic.fixes:
            actions.append(CodeAction(fix.title, QUICKFIX, fix.edits, (index,), fix.preferred))
    return actions


def fix_all(analysis: Analysis) -> CodeAction | None:
    """The preferred fix of every diagnostic that has one, skipping any that conflicts with one taken."""
    taken: list[TextEdit] = []
    fixed: list[int] = []
    for index, diagnostic in enumerate(analysis.diagnostics):
        if Tag.UNNECESSARY in diagnostic.tags:
            continue
        fix: Fix | None = next((f for f in diagnostic.fixes if f.preferred), None)
        if fix is None or not fix.edits:
            continue
        if all(edit in taken for edit in fix.edits):
            fixed.append(index)  # the same repair, already taken for another diagnostic
            continue
        if any(_conflict(edit.span, other.span) for edit in fix.edits for other in taken):
            continue
        taken.extend(fix.edits)
        fixed.append(index)
    if not taken:
        return None
    edits = tuple(sorted(taken, key=lambda e: (e.span.start, e.span.end)))
    return CodeAction("Fix all auto-fixable problems", FIX_ALL, edits, tuple(fixed))


# --- organize imports -----------------------------------------------------------------------------


@dataclass
class _Import:
    node: ts.Node
    leading: list[ts.Node] = field(default_factory=list)  # comments just above it
    trailing: ts.Node | None = None  # a comment after it on its line

    @property
    def key(self) -> tuple[str, str]:
        path, alias = self.node.child_by_field_name("path"), self.node.child_by_field_name("alias")
        return (decode_string(path) if path is not None else "", _text(alias) if alias is not None else "")

    def render(self, newline: str) -> str:
        parts = [_text(c) for c in self.leading]
        parts.append(_text(self.node) + (" " + _text(self.trailing) if self.trailing is not None else ""))
        return newline.join(parts)


def _text(node: ts.Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


def _same_line(tree: SyntaxTree, a: ts.Node, b: ts.Node) -> bool:
    return tree.end_row(a) == tree.row(b)


def _section(tree: SyntaxTree) -> tuple[list[_Import], list[ts.Node]] | None:
    """The imports of the section starting at the first import (with their comments), and the rest after."""
    children = list(tree.root.children)
    first = next((i for i, c in enumerate(children) if c.type == "import_declaration"), None)
    if first is None:
        return None
    entries: list[_Import] = []
    pending: list[ts.Node] = []
    k = first
    while k < len(children) and children[k].type in ("import_declaration", "comment"):
        node = children[k]
        if node.type == "import_declaration":
            entries.append(_Import(node, pending))
            pending = []
        elif entries and entries[-1].trailing is None and not pending and _same_line(tree, entries[-1].node, node):
            entries[-1].trailing = node
        else:
            pending.append(node)
        k += 1
    return entries, children[k:]


def _line_bounds(tree: SyntaxTree, node: ts.Node, last: ts.Node) -> Span | None:
    """The whole lines of `node` .. `last` with their line break, if nothing else stands on them."""
    lines = tree.lines
    start = lines.line_start(tree.row(node))
    end_line = tree.end_row(last)
    end = lines.line_start(end_line + 1) if end_line + 1 < lines.line_count else len(tree.data)
    if not (lines.starts_line(node.start_byte) and lines.ends_line(last.end_byte)):
        return None
    return Span(start, end)


def organize_imports(analysis: Analysis) -> CodeAction | None:
    """Imports sorted by path (then alias), unused and repeated ones removed, gathered at the first import."""
    tree = analysis.tree
    found = _section(tree)
    if found is None:
        return None
    entries, rest = found
    if any(e.node.has_error for e in entries):
        return None
    section = Span(entries[0].node.start_byte, (entries[-1].trailing or entries[-1].node).end_byte)
    edits: list[TextEdit] = []
    for index, node in enumerate(rest):
        if node.type != "import_declaration" or node.has_error:
            continue
        after = rest[index + 1] if index + 1 < len(rest) else None
        trailing = after if after is not None and after.type == "comment" and _same_line(tree, node, after) else None
        bounds = _line_bounds(tree, node, trailing or node)
        if bounds is not None:
            entries.append(_Import(node, [], trailing))
            edits.append(TextEdit(bounds, ""))
    unused = {d.span for d in analysis.diagnostics if d.code == "HE3012"}
    kept: dict[str, _Import] = {}
    for entry in entries:
        alias = entry.node.child_by_field_name("alias")
        if alias is not None and Span(alias.start_byte, alias.end_byte) in unused:
            continue
        kept.setdefault(" ".join(_text(entry.node).split()), entry)
    ordered = sorted(kept.values(), key=lambda e: e.key)
    newline = "\r\n" if b"\r\n" in tree.data else "\n"
    new_text = newline.join(e.render(newline) for e in ordered)
    if not new_text:
        # Nothing left: remove the section's lines and one blank line after them.
        lines = tree.lines
        last = lines.line_of(section.end)
        if last + 1 < lines.line_count and not lines.line_text(last + 1).strip():
            last += 1
        end = lines.line_start(last + 1) if last + 1 < lines.line_count else len(tree.data)
        section = Span(lines.line_start(lines.line_of(section.start)), end)
    elif new_text == tree.slice(section) and not edits:
        return None
    edits.insert(0, TextEdit(section, new_text))
    return CodeAction("Organize imports", ORGANIZE_IMPORTS, tuple(edits))


def code_actions(analysis: Analysis, start: int, end: int, only: Sequence[str] | None = None) -> list[CodeAction]:
    """Quick fixes for the diagnostics meeting `[start, end)`, then fix-all and organize-imports."""
    actions: list[CodeAction] = []
    if _wanted(QUICKFIX, only):
        actions.extend(quick_fixes(analysis, min(start, end), max(start, end)))
    for kind, make in ((FIX_ALL, fix_all), (ORGANIZE_IMPORTS, organize_imports)):
        if _wanted(kind, only):
            action = make(analysis)
            if action is not None:
                actions.append(action)
    return actions


# --- formatting -----------------------------------------------------------------------------------


def _line_edits(old: bytes, new: bytes, base: int) -> list[TextEdit]:
    """Edits turning `old` (at byte `base` of the document) into `new`, one per run of changed lines."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    # The lines both keep at the start and at the end need no diff (and diffs are quadratic at worst).
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    a, b = a[head : len(a) - tail], b[head : len(b) - tail]
    starts = [sum(map(len, old.splitlines(keepends=True)[:head]))]
    for line in a:
        starts.append(starts[-1] + len(line))
    edits = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        if tag != "equal":
            text = b"".join(b[j1:j2]).decode("utf-8", errors="replace")
            edits.append(TextEdit(Span(base + starts[i1], base + starts[i2]), text))
    return edits


def format_edits(analysis: Analysis) -> list[TextEdit]:
    """The edits that format the document (none when it has syntax errors or is formatted already)."""
    result = format_tree(analysis.tree)
    if result.text is None:
        return []
    return _line_edits(analysis.tree.data, result.text.encode("utf-8"), 0)


def _declarations(root: ts.Node) -> list[ts.Node]:
    return [c for c in root.children if c.type != "comment"]


def _extent(tree: SyntaxTree, first: ts.Node, last: ts.Node) -> Span:
    """From `first`'s line start (when only blanks precede it) to `last`'s line end (when only blanks follow)."""
    lines = tree.lines
    start = lines.line_start(tree.row(first))
    if not lines.starts_line(first.start_byte):
        start = first.start_byte
    end = lines.line_span(tree.end_row(last)).end
    if not lines.ends_line(last.end_byte):
        end = last.end_byte
    return Span(start, end)


def _touching(nodes: Iterable[tuple[int, ts.Node]], start: int, end: int) -> list[int]:
    return [i for i, n in nodes if _overlaps(Span(n.start_byte, n.end_byte), start, end)]


def format_range_edits(analysis: Analysis, start: int, end: int) -> list[TextEdit]:
    """Formatting edits confined to the top-level declarations that meet `[start, end)`."""
    tree = analysis.tree
    result = format_tree(tree)
    if result.text is None:
        return []
    formatted = parse(result.text)
    old, new = _declarations(tree.root), _declarations(formatted.root)
    if len(old) != len(new):
        return []
    chosen = _touching(enumerate(old), min(start, end), max(start, end))
    if not chosen:
        return []
    first, last = chosen[0], chosen[-1]
    before, after = _extent(tree, old[first], old[last]), _extent(formatted, new[first], new[last])
    return _line_edits(tree.data[before.start : before.end], formatted.data[after.start : after.end], before.start)
