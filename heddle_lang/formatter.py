"""The canonical formatter behind `heddle fmt` and LSP formatting.

Layout: 2 spaces a level; declaration blocks always span lines; each pipeline stage `| ...` one level
deeper than its source; `> name` aligned with the source; a missing import alias is added (HE2008);
pipeline configs, lists and dataframes stay on one line unless the author broke them (or they hold a
comment). Every comment is kept where it was; blank lines are kept (at most one in a row);
relational-block text is kept as written except for its indentation, which moves with the block.

The formatter only formats text without syntax errors: otherwise it says why and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from heddle_lang.diagnostics import Diagnostic
from heddle_lang.naming import suggest_alias
from heddle_lang.syntax.lower import decode_string
from heddle_lang.syntax.prql_lex import lines_inside_strings
from heddle_lang.syntax.tree import SyntaxTree, parse

if TYPE_CHECKING:
    import tree_sitter as ts

INDENT = "  "


@dataclass(frozen=True, slots=True)
class FormatResult:
    """`text` is the formatted document, or None when `errors` explain why nothing was done."""

    text: str | None
    errors: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return self.text is not None


def _text(node: ts.Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


class _Printer:
    def __init__(self, tree: SyntaxTree) -> None:
        self.tree = tree
        self.lines: list[str] = [""]
        self.level = 0
        self.last_row = 0  # source row where the last emitted token ended
        self.break_pending = False  # a line comment ended the output line
        self.glue = False  # a block comment shares its line with the token after it
        self.aliases = {
            alias.text.decode() for node in tree.root.children if node.type == "import_declaration"
            for alias in [node.child_by_field_name("alias")] if alias is not None
        }

    # --- output primitives ---------------------------------------------------------------------

    @property
    def column(self) -> int:
        return len(self.lines[-1])

    def write(self, text: str, node: ts.Node | None = None, space: bool = False) -> None:
        if self.break_pending:
            # A line comment ended the line in the middle of a construct: continue one level deeper.
            self.lines.append(INDENT * (self.level + 1))
            self.break_pending = False
            space = False
        current = self.lines[-1]
        if space and current.strip() and not current.endswith(" "):
            self.lines[-1] = current + " "
        chunks = text.split("\n")
        self.lines[-1] += chunks[0]
        self.lines.extend(chunks[1:])
        if node is not None:
            self.last_row = node.end_point[0]

    def start_line(self, node: ts.Node, level: int, first_in_block: bool = False) -> None:
        """Begin a new output line for `node`, keeping one blank line if the source had any."""
        if self.glue:
            # `/* note */ token`: the token stays on the comment's line.
            self.glue = False
            self.lines[-1] += " "
            return
        blank = not first_in_block and node.start_point[0] > self.last_row + 1
        if self.lines[-1].strip():
            self.lines.append("")
        if blank and len(self.lines) > 1 and self.lines[-2].strip():
            self.lines.append("")
        self.level = level
        self.lines[-1] = INDENT * level
        self.break_pending = False

    # --- comments -------------------------------------------------------------------------------

    def comment(self, node: ts.Node, level: int, first_in_block: bool = False) -> None:
        text = _text(node)
        if node.start_point[0] == self.last_row and self.lines[-1].strip():
            self.write(text, node, space=True)
        else:
            self.start_line(node, level, first_in_block)
            self.write(text, node)
        if text.startswith("//"):
            self.break_pending = True
        else:
            line_end = self.tree.lines.line_span(node.end_point[0]).end
            self.glue = self.tree.data[node.end_byte : line_end].strip() != b""

    def children(self, node: ts.Node, level: int) -> Iterator[ts.Node]:
        """The children of `node`, printing the comments among them on the way."""
        for child in node.children:
            if child.type == "comment":
                self.comment(child, level)
            else:
                yield child

    # --- declarations ---------------------------------------------------------------------------

    def source_file(self, root: ts.Node) -> None:
        first = True
        for child in root.children:
            if child.type == "comment":
                self.comment(child, 0, first_in_block=first)
            else:
                self.start_line(child, 0, first_in_block=first)
                self.declaration(child)
            first = False

    def declaration(self, node: ts.Node) -> None:
        kind = node.type
        if kind == "pipeline":
            self.pipeline(node, 0)
            return
        for child in self.children(node, 1):
            ctype = child.type
            if ctype == "call":
                self.call(child, 0, block=True)
            elif ctype == "block":
                self.block(child, 0)
            elif ctype == "trap":
                self.trap(child)
            else:
                self.write(_text(child), child, space=True)
        if kind == "import_declaration" and node.child_by_field_name("alias") is None:
            path = node.child_by_field_name("path")
            if path is not None:
                alias = suggest_alias(decode_string(path), self.aliases)
                self.aliases.add(alias)
                self.write(alias, space=True)

    def block(self, node: ts.Node, level: int) -> None:
        first = True
        for child in node.children:
            ctype = child.type
            if ctype == "{":
                self.write("{", child, space=True)
            elif ctype == "}":
                self.start_line(child, level, first_in_block=True)
                self.write("}", child)
            elif ctype == "comment":
                self.comment(child, level + 1, first_in_block=first)
                first = False
            elif ctype == "pipeline":
                self.start_line(child, level + 1, first_in_block=first)
                self.pipeline(child, level + 1)
                first = False

    def trap(self, node: ts.Node) -> None:
        for child in self.children(node, self.level + 1):
            self.write(_text(child), child, space=True)

    # --- pipelines ------------------------------------------------------------------------------

    def pipeline(self, node: ts.Node, level: int) -> None:
        for child in node.children:
            ctype = child.type
            if ctype == "comment":
                self.comment(child, level + 1)
            elif ctype == "source":
                self.stage(child, level, body_level=level)
            elif ctype == "stage":
                self.start_line(child, level + 1)
                # The body of `| body` starts one level further in: its blocks indent from there.
                self.stage(child, level + 1, body_level=level + 2)
            elif ctype == "assignment":
                self.start_line(child, level)
                for part in self.children(child, level + 1):
                    self.write(_text(part), part, space=True)

    def stage(self, node: ts.Node, level: int, body_level: int) -> None:
        for child in self.children(node, level + 1):
            ctype = child.type
            if ctype == "|":
                self.write("|", child)
            elif ctype == "call":
                self.call(child, body_level, block=False)
            elif ctype == "relational_block":
                self.relational_block(child)
            elif ctype == "dataframe":
                self.sequence(child, body_level, space=True)
            elif ctype == "trap":
                self.trap(child)
            else:
                self.write(_text(child), child, space=True)

    def relational_block(self, node: ts.Node) -> None:
        open_paren = node.children[0]
        self.write("(", open_paren, space=True)
        new_column = self.column - 1
        old_column = self._column_of(open_paren)
        query = node.child_by_field_name("query")
        closing = node.children[-1]
        if query is not None:
            text = _text(query)
            if query.start_point[0] > open_paren.end_point[0]:
                text = "\n" + self.tree.data[
                    self.tree.lines.line_starts[query.start_point[0]] : query.start_byte
                ].decode("utf-8", errors="replace") + text
            delta = _block_delta(text, new_column - old_column, new_column)
            self.write(_reindent(text, delta), query)
            if closing.start_point[0] > query.end_point[0]:
                # `)` on a line of its own keeps its place relative to the block.
                self.lines.append(" " * max(0, self._column_of(closing) + delta))
        self.write(")", closing)

    def _column_of(self, node: ts.Node) -> int:
        line_start = self.tree.lines.line_starts[node.start_point[0]]
        prefix = self.tree.data[line_start : node.start_byte].decode("utf-8", errors="replace")
        return len(prefix.replace("\t", INDENT))

    # --- calls and values -----------------------------------------------------------------------

    def call(self, node: ts.Node, level: int, block: bool) -> None:
        for child in self.children(node, level + 1):
            ctype = child.type
            if ctype == "injection":
                self.injection(child, level)
            elif ctype == "function":
                for i, part in enumerate(self.children(child, level + 1)):
                    self.write(_text(part), part, space=i == 0)
            elif ctype == "dict":
                multiline = block or _is_multiline(child) or _has_comment(child)
                self.dict(child, level, multiline, space=True)

    def injection(self, node: ts.Node, level: int) -> None:
        self.write("<", node.children[0], space=True)
        first = True
        for child in self.children(node, level + 1):
            if child.type == "binding":
                if not first:
                    self.write(", ", child)
                for part in self.children(child, level + 1):
                    self.write(_text(part), part)
                first = False
        self.write(">", node.children[-1])

    def dict(self, node: ts.Node, level: int, multiline: bool, space: bool) -> None:
        self.write("{", node.children[0], space=space)
        pairs = [c for c in node.children if c.type == "pair"]
        if not pairs and not _has_comment(node):
            if multiline:
                self.start_line(node.children[-1], level, first_in_block=True)
            self.write("}", node.children[-1])
            return
        if not multiline:
            for i, pair in enumerate(pairs):
                if i:
                    self.write(",", pair)
                self.pair(pair, level, space=True)
            self.write("}", node.children[-1], space=True)
            return
        first = True
        for child in node.children[1:-1]:
            if child.type == "comment":
                self.comment(child, level + 1, first_in_block=first)
                first = False
            elif child.type == "pair":
                self.start_line(child, level + 1, first_in_block=first)
                self.pair(child, level + 1, space=False)
                first = False
        self.start_line(node.children[-1], level, first_in_block=True)
        self.write("}", node.children[-1])

    def pair(self, node: ts.Node, level: int, space: bool) -> None:
        for child in self.children(node, level + 1):
            ctype = child.type
            if ctype == ":":
                self.write(":", child)
            elif child == node.child_by_field_name("key"):
                self.write(_text(child), child, space=space)
            else:
                self.value(child, level)

    def value(self, node: ts.Node, level: int, space: bool = True) -> None:
        ctype = node.type
        if ctype == "dict":
            self.dict(node, level, _is_multiline(node) or _has_comment(node), space=space)
        elif ctype == "list":
            self.sequence(node, level, space=space)
        else:
            self.write(_text(node), node, space=space)

    def sequence(self, node: ts.Node, level: int, space: bool) -> None:
        """A list or a dataframe: `[a, b]` on one line, or one item a line with trailing commas."""
        self.write("[", node.children[0], space=space)
        items = [c for c in node.children[1:-1] if c.type not in (",", "comment")]
        if not (_is_multiline(node) or _has_comment(node)):
            for i, item in enumerate(items):
                if i:
                    self.write(", ", item)
                self.value(item, level, space=False)
            self.write("]", node.children[-1])
            return
        first = True
        for child in node.children[1:-1]:
            if child.type == "comment":
                self.comment(child, level + 1, first_in_block=first)
                first = False
            elif child.type != ",":
                self.start_line(child, level + 1, first_in_block=first)
                self.value(child, level + 1, space=False)
                self.write(",", child)
                first = False
        self.start_line(node.children[-1], level, first_in_block=True)
        self.write("]", node.children[-1])

    def result(self) -> str:
        while self.lines and not self.lines[-1].strip():
            self.lines.pop()
        return "\n".join(line.rstrip() for line in self.lines) + "\n"


def _is_multiline(node: ts.Node) -> bool:
    return node.end_point[0] > node.start_point[0]


def _has_comment(node: ts.Node) -> bool:
    return any(c.type == "comment" for c in node.children)


def _indent_widths(text: str) -> list[int]:
    """Indentation widths of the lines after the first that are not inside strings or blank."""
    frozen = lines_inside_strings(text)
    widths = []
    for index, line in enumerate(text.split("\n")[1:], start=1):
        stripped = line.lstrip(" \t")
        if stripped and index not in frozen:
            widths.append(len(line[: len(line) - len(stripped)].replace("\t", INDENT)))
    return widths


def _block_delta(text: str, delta: int, open_column: int) -> int:
    """The shift for a relational block's lines: `delta`, raised so no line ends up left of `(`+1."""
    widths = _indent_widths(text)
    if widths and min(widths) + delta < open_column + 1:
        return open_column + 1 - min(widths)
    return delta


def _reindent(text: str, delta: int) -> str:
    """Shift every line after the first by `delta` columns, leaving multi-line string lines alone."""
    if "\n" not in text:
        return text
    frozen = lines_inside_strings(text)
    lines = text.split("\n")
    out = [lines[0]]
    for index, line in enumerate(lines[1:], start=1):
        if index in frozen:
            out.append(line)
            continue
        stripped = line.lstrip(" \t")
        if not stripped:
            out.append("")
            continue
        width = len(line[: len(line) - len(stripped)].replace("\t", INDENT))
        out.append(" " * max(0, width + delta) + stripped)
    return "\n".join(out)


def format_declaration(tree: SyntaxTree, node: ts.Node) -> str:
    """The canonical text of one top-level declaration (no trailing newline); used by layout fixes."""
    printer = _Printer(tree)
    printer.last_row = node.start_point[0]
    printer.declaration(node)
    return printer.result().rstrip("\n")


def format_tree(tree: SyntaxTree) -> FormatResult:
    if b"\r" in tree.data:
        # Output lines end with LF: read CR LF and lone CR as the line breaks they are before formatting.
        tree = parse(tree.text.replace("\r\n", "\n").replace("\r", "\n"))
    errors = tuple(d for d in tree.diagnostics if d.is_error)
    if errors:
        return FormatResult(None, errors)
    printer = _Printer(tree)
    printer.source_file(tree.root)
    return FormatResult(printer.result())


def format_text(text: str) -> FormatResult:
    return format_tree(parse(text))
