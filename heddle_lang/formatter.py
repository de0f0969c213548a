"""The canonical formatter behind `heddle fmt` and LSP formatting.

Layout: 2 spaces a level; declaration blocks always span lines; each pipeline stage `| ...` one level
deeper than its source; `> name` aligned with the source; a missing import alias is added (HE2008);
pipeline configs, lists and dataframes stay on one line unless the author broke them (or they hold a
comment). Every comment is kept where it was; blank lines are kept (at most one in a row);
relational-block text is kept as written except for its indentation, which moves with the block.
Lines are LSP's (`\n`, `\r\n`, a lone `\r`) and come out ending with `\n`, except inside a string: a
string (Heddle's, or PRQL's in a block) is written byte for byte, its line breaks and trailing blanks too.
A block comment keeps the config entry or list item that follows it on its line; a construct the layout
rules start on a line of its own goes to the next line (a declaration after a blank one, so the comment
does not become its documentation). The output always passes the layout rules
(`tests/syntax/test_format_comments.py` puts comments at every token boundary of the examples).

The formatter only formats text without syntax errors: otherwise it says why and changes nothing. The
output is built from parts, so a line of a hundred thousand tokens formats in linear time.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from heddle_lang.diagnostics import Diagnostic
from heddle_lang.naming import suggest_alias
from heddle_lang.records import record
from heddle_lang.syntax.lower import decode_string
from heddle_lang.syntax.prql_lex import lines_inside_strings, pieces
from heddle_lang.syntax.tree import SyntaxTree, parse
from heddle_lang.text import LINE_BREAK, LINE_BREAK_TEXT, CharOffsets

if TYPE_CHECKING:
    import tree_sitter as ts

INDENT = "  "
_STRINGS = frozenset({"string", "multiline_string"})
_SPLIT_LINES = re.compile(r"(\r\n?|\n)")


@record
class FormatResult:
    """`text` is the formatted document, or None when `errors` explain why nothing was done."""

    text: str | None
    errors: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return self.text is not None


def _text(node: ts.Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


class _Output:
    """The printed lines: the finished ones, and the current one as parts, so that a line of a hundred
    thousand tokens is built in linear time (appending to a `str` in a list copies it)."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.done_blank = True  # the last finished line holds only blanks (or there is none)
        self.verbatim: dict[int, str] = {}  # finished lines whose break belongs to a string: that break
        self.parts: list[str] = []
        self.width = 0  # characters of the current line
        self.blank = True  # the current line holds only blanks

    def add(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.width += len(text)
            self.blank = self.blank and not text.strip()

    def ends_with_space(self) -> bool:
        return bool(self.parts) and self.parts[-1].endswith(" ")

    def new_line(self, string_break: str | None = None) -> None:
        """Finish the current line; `string_break`: its break belongs to a string and is kept as written."""
        if string_break is not None:
            self.verbatim[len(self.done)] = string_break
        self.done.append("".join(self.parts))
        self.done_blank = self.blank
        self.parts, self.width, self.blank = [], 0, True

    def replace(self, text: str) -> None:
        self.parts, self.width, self.blank = [], 0, True
        self.add(text)

    def text(self) -> str:
        lines = [*self.done, "".join(self.parts)]
        # Trailing blank lines go, unless a string's last line break comes before them.
        while lines and not lines[-1].strip() and len(lines) - 2 not in self.verbatim:
            lines.pop()
        verbatim = self.verbatim
        return "".join(line + verbatim[i] if i in verbatim else line.rstrip() + "\n" for i, line in enumerate(lines))


class _Printer:
    def __init__(self, tree: SyntaxTree) -> None:
        self.tree = tree
        self.out = _Output()
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
        return self.out.width

    def write(self, text: str, node: ts.Node | None = None, space: bool = False,
              in_string: frozenset[int] = frozenset()) -> None:
        """Append `text`; `in_string`: the offsets of its line breaks that belong to a string (kept as written)."""
        if self.break_pending:
            # A line comment ended the line in the middle of a construct: continue one level deeper.
            self.out.new_line()
            self.out.add(INDENT * (self.level + 1))
            self.break_pending = False
            space = False
        self.glue = False
        out = self.out
        if space and not out.blank and not out.ends_with_space():
            out.add(" ")
        at = 0
        for match in LINE_BREAK_TEXT.finditer(text):
            out.add(text[at : match.start()])
            out.new_line(match.group() if match.start() in in_string else None)
            at = match.end()
        out.add(text[at:])
        if node is not None:
            self.last_row = self.tree.end_row(node)

    def token(self, node: ts.Node, space: bool = False) -> None:
        """Write a token as it stands in the source (a string's line breaks kept as they are)."""
        text = _text(node)
        breaks = frozenset(m.start() for m in LINE_BREAK_TEXT.finditer(text)) if node.type in _STRINGS else frozenset()
        self.write(text, node, space=space, in_string=breaks)

    def start_line(self, node: ts.Node, level: int, first_in_block: bool = False, glue: bool = False) -> None:
        """Begin a new output line for `node`, keeping one blank line if the source had any.

        `glue`: after a block comment on the same source line, `node` may stay on the comment's line (a
        config entry or a list item may; a construct the layout rules start on its own line may not)."""
        blank = not first_in_block and self.tree.row(node) > self.last_row + 1
        if self.glue:
            self.glue = False
            if glue:  # `/* note */ key: value`: the entry stays on the comment's line.
                self.out.add(" ")
                return
            # A comment just above a declaration would document it: keep it apart, as it was.
            blank = blank or (level == 0 and not first_in_block)
        out = self.out
        if not out.blank:
            out.new_line()
        if blank and out.done and not out.done_blank:
            out.new_line()
        self.level = level
        out.replace(INDENT * level)
        self.break_pending = False

    # --- comments -------------------------------------------------------------------------------

    def comment(self, node: ts.Node, level: int, first_in_block: bool = False) -> None:
        text = _text(node)
        if self.tree.row(node) == self.last_row and not self.out.blank:
            self.write(text, node, space=True)
        else:
            self.start_line(node, level, first_in_block)
            self.write(text, node)
        if text.startswith("//"):
            self.break_pending = True
        else:
            self.glue = not self.tree.lines.ends_line(node.end_byte)

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
                self.token(child, space=True)
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
        # `? on_fail`, `? platform.on_fail`: a space after `?` only.
        for i, child in enumerate(self.children(node, self.level + 1)):
            self.token(child, space=i <= 1)

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
                    self.token(part, space=True)

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
                self.token(child, space=True)

    def relational_block(self, node: ts.Node) -> None:
        open_paren = node.children[0]
        self.write("(", open_paren, space=True)
        new_column = self.column - 1
        old_column = self._column_of(open_paren)
        query = node.child_by_field_name("query")
        closing = node.children[-1]
        row, end_row = self.tree.row, self.tree.end_row
        if query is not None:
            text = _text(query)
            if row(query) > end_row(open_paren):
                text = "\n" + self.tree.data[
                    self.tree.lines.line_start(row(query)) : query.start_byte
                ].decode("utf-8", errors="replace") + text
            delta = _block_delta(text, new_column - old_column, new_column)
            text = _reindent(text, delta)
            self.write(text, query, in_string=_breaks_in_strings(text))
            if row(closing) > end_row(query):
                # `)` on a line of its own keeps its place relative to the block.
                self.out.new_line()
                self.out.add(" " * max(0, self._column_of(closing) + delta))
        self.write(")", closing)

    def _column_of(self, node: ts.Node) -> int:
        return self.tree.lines.display_column(node.start_byte, len(INDENT))

    def is_multiline(self, node: ts.Node) -> bool:
        return self.tree.end_row(node) > self.tree.row(node)

    # --- calls and values -----------------------------------------------------------------------

    def call(self, node: ts.Node, level: int, block: bool) -> None:
        for child in self.children(node, level + 1):
            ctype = child.type
            if ctype == "injection":
                self.injection(child, level)
            elif ctype == "function":
                for i, part in enumerate(self.children(child, level + 1)):
                    self.token(part, space=i == 0)
            elif ctype == "dict":
                multiline = block or self.is_multiline(child) or _has_comment(child)
                self.dict(child, level, multiline, space=True)

    def injection(self, node: ts.Node, level: int) -> None:
        self.write("<", node.children[0], space=True)
        first = True
        for child in self.children(node, level + 1):
            if child.type == "binding":
                if not first:
                    self.write(", ", child)
                for part in self.children(child, level + 1):
                    self.token(part)
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
                self.start_line(child, level + 1, first_in_block=first, glue=True)
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
                self.token(child, space=space)
            else:
                self.value(child, level)

    def value(self, node: ts.Node, level: int, space: bool = True) -> None:
        ctype = node.type
        if ctype == "dict":
            self.dict(node, level, self.is_multiline(node) or _has_comment(node), space=space)
        elif ctype == "list":
            self.sequence(node, level, space=space)
        else:
            self.token(node, space=space)

    def sequence(self, node: ts.Node, level: int, space: bool) -> None:
        """A list or a dataframe: `[a, b]` on one line, or one item a line with trailing commas."""
        self.write("[", node.children[0], space=space)
        items = [c for c in node.children[1:-1] if c.type not in (",", "comment")]
        if not (self.is_multiline(node) or _has_comment(node)):
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
                self.start_line(child, level + 1, first_in_block=first, glue=True)
                self.value(child, level + 1, space=False)
                self.write(",", child)
                first = False
        self.start_line(node.children[-1], level, first_in_block=True)
        self.write("]", node.children[-1])

    def result(self) -> str:
        return self.out.text()


def _has_comment(node: ts.Node) -> bool:
    return any(c.type == "comment" for c in node.children)


def _breaks_in_strings(prql: str) -> frozenset[int]:
    """The offsets of the line breaks of PRQL text that belong to its strings."""
    strings = [(p.start, p.end) for p in pieces(prql) if p.kind == "string"]
    if not strings:
        return frozenset()
    starts = [start for start, _ in strings]
    inside = set()
    for match in LINE_BREAK_TEXT.finditer(prql):
        i = bisect.bisect_right(starts, match.start()) - 1
        if i >= 0 and match.start() < strings[i][1]:
            inside.add(match.start())
    return frozenset(inside)


def _lines(text: str) -> tuple[list[str], list[str]]:
    """The lines of `text` (LSP's lines) and the break after each (the last one's is empty)."""
    parts = _SPLIT_LINES.split(text)
    return parts[0::2], [*parts[1::2], ""]


def _indent_widths(text: str) -> list[int]:
    """Indentation widths of the lines after the first that are not inside strings or blank."""
    frozen = lines_inside_strings(text)
    widths = []
    for index, line in enumerate(_lines(text)[0][1:], start=1):
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
    lines, breaks = _lines(text)
    if len(lines) == 1:
        return text
    frozen = lines_inside_strings(text)
    out = [lines[0], breaks[0]]
    for index, line in enumerate(lines[1:], start=1):
        stripped = line.lstrip(" \t")
        if index in frozen:
            out.append(line)
        elif stripped:
            width = len(line[: len(line) - len(stripped)].replace("\t", INDENT))
            out.append(" " * max(0, width + delta) + stripped)
        out.append(breaks[index])
    return "".join(out)


def format_declaration(tree: SyntaxTree, node: ts.Node) -> str:
    """The canonical text of one top-level declaration (no trailing newline); used by layout fixes."""
    printer = _Printer(tree)
    printer.last_row = tree.row(node)
    printer.declaration(node)
    return printer.result().rstrip("\n")


def _string_spans(tree: SyntaxTree) -> list[tuple[int, int]]:
    """The byte ranges of every string: Heddle's, and PRQL's inside relational blocks."""
    spans: list[tuple[int, int]] = []
    stack = [tree.root]
    while stack:
        node = stack.pop()
        if node.type in _STRINGS:
            spans.append((node.start_byte, node.end_byte))
        elif node.type == "prql":
            text = _text(node)
            if "\r" in text:
                offsets = CharOffsets(text)
                spans.extend((node.start_byte + offsets.to_bytes(p.start), node.start_byte + offsets.to_bytes(p.end))
                             for p in pieces(text) if p.kind == "string")
        else:
            stack.extend(node.children)
    return sorted(spans)


def _unify_line_breaks(tree: SyntaxTree) -> SyntaxTree:
    """The tree of the same text with every line break outside strings written `\n` (a string keeps its own)."""
    strings = _string_spans(tree)
    starts = [start for start, _ in strings]
    out: list[bytes] = []
    at = 0
    for match in LINE_BREAK.finditer(tree.data):
        if match.group() == b"\n":
            continue
        i = bisect.bisect_right(starts, match.start()) - 1
        if i >= 0 and match.start() < strings[i][1]:
            continue
        out.append(tree.data[at : match.start()])
        out.append(b"\n")
        at = match.end()
    if not out:
        return tree
    out.append(tree.data[at:])
    return parse(b"".join(out).decode("utf-8", errors="surrogatepass"))


def format_tree(tree: SyntaxTree) -> FormatResult:
    if b"\r" in tree.data:
        # Output lines end with LF: read CR LF and lone CR as the line breaks they are before formatting.
        tree = _unify_line_breaks(tree)
    errors = tuple(d for d in tree.diagnostics if d.is_error)
    if errors:
        return FormatResult(None, errors)
    printer = _Printer(tree)
    printer.source_file(tree.root)
    return FormatResult(printer.result())


def format_text(text: str) -> FormatResult:
    return format_tree(parse(text))
