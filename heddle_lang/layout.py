"""Strict layout (spec §9) as diagnostics HE2001-HE2009, each with a machine-applicable fix.

The grammar parses any layout; this pass reads token positions and reports what §9 forbids:
declaration blocks on one line, `{` not ending its line, `}` not alone on its line, wrong
indentation (2 spaces a level), `|` and `>` not starting their lines, tabs, a missing import alias,
and statements that do not start their own line. `heddle fmt` fixes every one of them.
"""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING

from heddle_lang.diagnostics import Diagnostic, Fix, TextEdit, shifted
from heddle_lang.formatter import format_declaration
from heddle_lang.naming import suggest_alias
from heddle_lang.remembered import Remembered
from heddle_lang.syntax.lower import MAX_NESTING, decode_string
from heddle_lang.syntax.prql_lex import lines_inside_strings
from heddle_lang.text import Span

if TYPE_CHECKING:
    import tree_sitter as ts

    from heddle_lang.syntax.tree import SyntaxTree

STEP = 2  # spaces per indentation level
_BLOCKS = frozenset({"resource_declaration", "step_declaration", "handler_declaration", "workflow_declaration"})
# A declaration's layout diagnostics (relative to its start) by its text and what precedes it on its line: an edit
# checks the declarations it changed, whatever moved (bounded: `heddle_lang.remembered`).
_REMEMBERED: Remembered[tuple[str, bytes, bytes], tuple[Diagnostic, ...]] = Remembered()
_TAB_INDENT = re.compile(rb"^[ \t]*\t[ \t]*(?=[^ \t\r\n])", re.MULTILINE)


class _Layout:
    def __init__(self, tree: SyntaxTree) -> None:
        self.tree = tree
        self.data = tree.data
        self.lines = tree.lines
        self.out: list[Diagnostic] = []

    # --- positions (each in time independent of the line's length) -----------------------------

    def starts_line(self, node: ts.Node) -> bool:
        return self.lines.starts_line(node.start_byte)

    def column(self, node: ts.Node) -> int:
        return self.lines.display_column(node.start_byte, STEP)

    def gap_before(self, node: ts.Node) -> Span:
        """The blanks between `node` and the token before it."""
        start = node.start_byte
        while start > 0 and self.data[start - 1 : start] in (b" ", b"\t"):
            start -= 1
        return Span(start, node.start_byte)

    # --- rules ----------------------------------------------------------------------------------

    def indentation(self, node: ts.Node, expected: int, what: str, also: int | None = None) -> None:
        """HE2004 when `node` starts its line at a column other than `expected` (or `also`)."""
        if not self.starts_line(node):
            return
        line_start = self.lines.line_start(self.tree.row(node))
        prefix = self.data[line_start : node.start_byte]
        if b"\t" in prefix:  # already reported as HE2007
            return
        actual = len(prefix)
        if actual in (expected, also):
            return
        span = Span(line_start, node.start_byte)
        one_line = self.tree.end_row(node) == self.tree.row(node)
        self.out.append(Diagnostic(
            "HE2004", Span(line_start, node.end_byte if one_line else node.start_byte),
            f"{what} must be indented by {expected} spaces, not {actual}",
            fixes=(Fix(f"indent by {expected} spaces", (TextEdit(span, " " * expected),)),),
        ))

    def on_new_line(self, node: ts.Node, code: str, message: str, column: int) -> None:
        """`code` when `node` does not start its line; the fix moves it to a new line at `column`."""
        if self.starts_line(node):
            return
        fix = Fix("move it to a new line", (TextEdit(self.gap_before(node), "\n" + " " * column),))
        self.out.append(Diagnostic(code, Span(node.start_byte, node.end_byte), message, fixes=(fix,)))

    def tabs(self) -> None:
        if b"\t" not in self.data:  # the usual case, found at memchr's speed
            return
        frozen: set[int] | None = None
        # Indentation with a tab in it, on a line that has something after it.
        for match in _TAB_INDENT.finditer(self.data):
            if frozen is None:
                frozen = self._string_lines()
            if self.lines.line_of(match.start()) in frozen:
                continue
            span = Span(match.start(), match.end())
            fixed = match.group().replace(b"\t", b" " * STEP).decode()
            self.out.append(Diagnostic(
                "HE2007", span, "indentation uses tabs: Heddle indents with spaces",
                fixes=(Fix("replace tabs with spaces", (TextEdit(span, fixed),)),),
            ))

    def _string_lines(self) -> set[int]:
        """Lines that begin inside a multi-line string (Heddle's or PRQL's): their blanks are content."""
        frozen: set[int] = set()
        stack = [self.tree.root]
        while stack:
            node = stack.pop()
            first, last = self.tree.row(node), self.tree.end_row(node)
            if node.type == "multiline_string":
                frozen.update(range(first + 1, last + 1))
            elif node.type == "prql":
                frozen.update(first + i for i in lines_inside_strings(node.text.decode("utf-8", "replace")))
            elif last > first:
                stack.extend(node.children)
        return frozen

    # --- declarations ---------------------------------------------------------------------------

    def source_file(self) -> None:
        aliases = set()
        for node in self.tree.root.children:
            if node.type == "import_declaration":
                alias = node.child_by_field_name("alias")
                if alias is not None:
                    aliases.add(alias.text.decode())
        # Lines the parser could not read: what follows an error there is its debris, not layout.
        broken = {self.tree.end_row(n) for n in self.tree.root.children if n.is_error}
        for node in self.tree.root.children:
            self.top_level_node(node, aliases, broken)

    def top_level_node(self, node: ts.Node, aliases: set[str], broken: set[int]) -> None:
        if node.type == "comment" or node.is_error or self.tree.row(node) in broken:
            return
        kind = node.type
        if kind in _BLOCKS and not node.has_error:
            self.remembered(node)
            return
        self.top_level(node)
        if node.has_error:
            return
        if kind == "import_declaration":
            self.import_alias(node, aliases)
        elif kind == "pipeline":
            self.pipeline(node, self.column(node))

    def top_level(self, node: ts.Node) -> None:
        """A top-level node starts its line, unindented."""
        self.on_new_line(node, "HE2009", f"each {_what(node)} must start its own line", 0)
        self.indentation(node, 0, f"a top-level {_what(node)}")

    def whole(self, node: ts.Node) -> None:
        """The rules of a declaration: where it starts, and its block."""
        self.top_level(node)
        self.declaration(node)

    def declaration(self, node: ts.Node) -> None:
        """The block of a resource, step, handler or workflow declaration, and what is inside it."""
        if node.type in ("resource_declaration", "step_declaration"):
            call = node.child_by_field_name("value")
            config = call.child_by_field_name("config") if call is not None else None
            if config is not None:
                self.declaration_block(node, config)
            return
        body = node.child_by_field_name("body")
        if body is not None and self.declaration_block(node, body):
            for child in body.named_children:
                if child.type == "pipeline":
                    self.pipeline(child, STEP)

    def remembered(self, node: ts.Node) -> None:
        """`whole(node)`, or what it found last time for the same text after the same start of its line, moved to
        `node`: the rules of a declaration read nothing but its text and what precedes it on its first line."""
        start = node.start_byte
        if start == 0 or self.data[start - 1] in b"\n\r":  # it starts its line (as nearly every declaration does)
            before = b""
        else:
            before = self.data[self.lines.line_start(self.lines.line_of(start)):start]
        key = (node.type, before, self.data[start:node.end_byte])
        found = _REMEMBERED.get(key)
        if found is None:
            mark = len(self.out)
            self.whole(node)
            found = tuple(shifted(d, -node.start_byte) for d in self.out[mark:])
            del self.out[mark:]
            _REMEMBERED.put(key, found, self.tree.top.count)
        self.out.extend(shifted(d, node.start_byte) for d in found)

    def import_alias(self, node: ts.Node, taken: set[str]) -> None:
        if node.child_by_field_name("alias") is not None:
            return
        path = node.child_by_field_name("path")
        if path is None:
            return
        alias = suggest_alias(decode_string(path), taken)
        taken.add(alias)
        end = Span(node.end_byte, node.end_byte)
        self.out.append(Diagnostic(
            "HE2008", Span(node.start_byte, node.end_byte),
            f"the import of {path.text.decode()} needs an alias: `import {path.text.decode()} {alias}`",
            fixes=(Fix(f"add the alias `{alias}`", (TextEdit(end, f" {alias}"),)),),
        ))

    def declaration_block(self, declaration: ts.Node, block: ts.Node) -> bool:
        """Check a declaration's `{ ... }`; True when its contents are worth checking further."""
        opening, closing = block.children[0], block.children[-1]
        label = _what(declaration)
        row = self.tree.row
        if row(opening) == row(closing):
            fix = Fix("spread the block over several lines",
                      (TextEdit(Span(declaration.start_byte, declaration.end_byte),
                                format_declaration(self.tree, declaration)),))
            self.out.append(Diagnostic(
                "HE2001", Span(opening.start_byte, closing.end_byte),
                f"the block of this {label} must span several lines: `{{` ends its line and `}}` stands"
                " on a line of its own", fixes=(fix,),
            ))
            return False
        inner = [c for c in block.children[1:-1] if c.type != ","]
        first = next((c for c in inner if c.type != "comment"), None)
        if inner and row(inner[0]) == row(opening) and inner[0].type != "comment":
            fix = Fix("break the line after `{`", (TextEdit(self.gap_before(inner[0]), "\n" + " " * STEP),))
            self.out.append(Diagnostic(
                "HE2002", Span(inner[0].start_byte, inner[0].end_byte),
                f"the `{{` of this {label} must end its line: move this to the next line", fixes=(fix,)))
        # (tree-sitter finds a previous sibling from the first child: walking back from `}` would be quadratic)
        previous = next((c for c in reversed(block.children[:-1]) if c.type != "comment"), None)
        if previous is not None and self.tree.end_row(previous) == row(closing) and previous != opening:
            fix = Fix("put `}` on its own line", (TextEdit(self.gap_before(closing), "\n"),))
            self.out.append(Diagnostic(
                "HE2003", Span(closing.start_byte, closing.end_byte),
                f"the `}}` closing this {label} must stand on its own line", fixes=(fix,)))
        else:
            self.indentation(closing, 0, f"the `}}` closing this {label}")
        what = "a config entry" if block.type == "dict" else "a pipeline"
        for child in inner:
            if child.type == "comment":
                continue
            if child.type == "pipeline" and child != first:
                self.on_new_line(child, "HE2009", "each pipeline must start its own line", STEP)
            self.indentation(child, STEP, what)
            if child.type == "pair":
                self.nested_values(child, STEP)
        return True

    def nested_values(self, pair: ts.Node, base: int, depth: int = 0) -> None:
        value = pair.child_by_field_name("value")
        if value is not None and value.type in ("dict", "list"):
            self.container(value, base, depth)

    def container(self, node: ts.Node, base: int, depth: int = 0) -> None:
        """Indentation inside a multi-line dict, list or dataframe whose line starts at `base`."""
        if self.tree.end_row(node) == self.tree.row(node) or depth >= MAX_NESTING:
            return
        for child in node.children[1:-1]:
            if child.type in (",", "comment"):
                continue
            self.indentation(child, base + STEP, "an entry" if node.type == "dict" else "an item")
            if child.type == "pair":
                self.nested_values(child, base + STEP, depth + 1)
            elif child.type in ("dict", "list"):
                self.container(child, base + STEP, depth + 1)
        self.indentation(node.children[-1], base, f"the closing `{node.children[-1].type}`")

    # --- pipelines ------------------------------------------------------------------------------

    def pipeline(self, node: ts.Node, source_column: int) -> None:
        """Stages and assignments of a pipeline whose source belongs at `source_column`.

        Columns are the canonical ones, not the ones found, so that all fixes apply together.
        """
        for child in node.named_children:
            kind = child.type
            if kind == "stage":
                pipe = child.children[0]
                self.on_new_line(pipe, "HE2005", "the pipe `|` must start its own line", source_column + STEP)
                self.indentation(pipe, source_column + STEP, "a stage `|`")
                self.stage_blocks(child, source_column + 2 * STEP)
            elif kind == "assignment":
                arrow = child.children[0]
                self.on_new_line(arrow, "HE2006", "the assignment `>` must start its own line", source_column)
                self.indentation(arrow, source_column, "an assignment `>`", also=source_column + STEP)
            elif kind == "source":
                self.stage_blocks(child, source_column)

    def stage_blocks(self, stage: ts.Node, body_column: int) -> None:
        value = stage.child_by_field_name("value")
        if value is None:
            return
        if value.type == "dataframe":
            self.container(value, body_column)
        elif value.type == "call":
            config = value.child_by_field_name("config")
            if config is not None:
                self.container(config, body_column)


def _what(node: ts.Node) -> str:
    return {
        "import_declaration": "import",
        "resource_declaration": "resource",
        "step_declaration": "step",
        "handler_declaration": "handler",
        "workflow_declaration": "workflow",
        "pipeline": "pipeline",
    }.get(node.type, "declaration")


def forget() -> None:
    """Drop the layout diagnostics remembered per declaration (the next check computes every one)."""
    _REMEMBERED.clear()


def layout_diagnostics(tree: SyntaxTree) -> list[Diagnostic]:
    spliced = _spliced(tree)
    if spliced is not None:
        return spliced
    checker = _Layout(tree)
    checker.tabs()
    checker.source_file()
    return sorted(checker.out, key=lambda d: (d.span.start, d.span.end, d.code))



def _spliced(tree: SyntaxTree) -> list[Diagnostic] | None:
    """An edited tree's layout diagnostics from its base's (`SyntaxTree.region`): those before the region kept, those
    after it moved, the top-level nodes in it checked again. None: no base to splice from, or what the region holds
    reads more than its own lines (an import: the aliases taken; a tab: the lines inside strings)."""
    region = tree.region
    if region is None:
        return None
    base = region.base
    before = base.__dict__.get("layout")
    delta = region.delta
    if (before is None or b"\t" in tree.data or b"\t" in base.data or b"import" in tree.data[region.start:region.end]
            or b"import" in base.data[region.start:region.end - delta]):
        return None
    checker = _Layout(tree)
    top = tree.top
    for index in range(top.bisect_start(region.start), top.bisect_start(region.end)):
        checker.top_level_node(top.child(index), set(), set())
    head = bisect.bisect_left(before, region.start, key=_start)
    tail = bisect.bisect_left(before, region.end - delta, key=_start)
    return [*before[:head], *sorted(checker.out, key=lambda d: (d.span.start, d.span.end, d.code)),
            *(shifted(d, delta) for d in before[tail:])]


def _start(diagnostic: Diagnostic) -> int:
    return diagnostic.span.start
