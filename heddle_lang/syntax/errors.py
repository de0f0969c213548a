"""Syntax diagnostics (HE1xxx): tree-sitter's ERROR and MISSING nodes turned into sentences.

Tree-sitter recovers from any input; this module explains what it had to skip or insert, naming
the construct the user was writing ("expected `}` to close the config of step `fetch_users` opened
on line 9"), and offers the insertion as a fix where it is mechanical.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import TYPE_CHECKING

from heddle_lang.diagnostics import Diagnostic, Fix, Related, TextEdit, shifted, sort_diagnostics
from heddle_lang.syntax.structure import placed_diagnostics, structure_diagnostics
from heddle_lang.text import Span

if TYPE_CHECKING:
    import tree_sitter as ts

    from heddle_lang.syntax.lower import Placed
    from heddle_lang.syntax.tree import SyntaxTree

_DECLARATIONS = {
    "resource_declaration": "resource",
    "step_declaration": "step",
    "handler_declaration": "handler",
    "workflow_declaration": "workflow",
    "import_declaration": "import",
}

_CLOSERS = {"}": "{", ")": "(", "]": "[", ">": "<"}


def _text(node: ts.Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


def _declaration_name(node: ts.Node) -> str | None:
    name = node.child_by_field_name("name")
    if name is None or name.is_missing:
        return None
    return _text(name) or None


def describe(node: ts.Node | None) -> str:
    """A phrase naming the construct `node` belongs to, e.g. "the config of step `fetch_users`"."""
    while node is not None:
        kind = node.type
        if kind in _DECLARATIONS:
            name = _declaration_name(node)
            label = _DECLARATIONS[kind]
            return f"{label} `{name}`" if name else f"this {label}"
        if kind == "dict":
            parent = node.parent
            if parent is not None and parent.type == "pair":
                key = parent.child_by_field_name("key")
                return f"the value of `{_text(key)}`" if key is not None else "this dict"
            if parent is not None and parent.type == "call":
                owner = parent.parent
                if owner is not None and owner.type in ("resource_declaration", "step_declaration"):
                    return f"the config of {describe(owner)}"
                function = parent.child_by_field_name("function")
                if function is not None and not function.has_error:
                    return f"the config of `{_text(function)}`"
                return "this config"
            return "this dict"
        if kind == "injection":
            return "the resource injection"
        if kind == "relational_block":
            return "the relational block"
        if kind == "dataframe":
            return "the inline dataframe"
        if kind == "list":
            return "the list"
        node = node.parent
    return "the file"


def _opener(node: ts.Node, closer: str) -> ts.Node | None:
    opener = _CLOSERS.get(closer)
    if opener is None:
        return None
    for child in node.children:
        if child.type == opener or (opener == "<" and child.type == "<"):
            return child
    return None


def _insertion(tree: SyntaxTree, offset: int, token: str, opener: ts.Node | None) -> TextEdit:
    """Insert `token` at `offset`; a closing brace goes on a new line, indented like its opener's line."""
    if token in ("}", ")", "]") and opener is not None and tree.row(opener) != tree.lines.line_of(offset):
        indent = tree.lines.indentation(tree.row(opener))
        return TextEdit(Span(offset, offset), f"\n{indent}{token}")
    return TextEdit(Span(offset, offset), token)


_MISSING_NAMES = {
    ("assignment", "name"): "expected a name after `>`",
    ("trap", "handler"): "expected a handler name after `?`",
    ("binding", "key"): "expected a resource key before `=`",
    ("binding", "value"): "expected a resource name after `=`",
    ("function", "name"): "expected a function name after `.`",
    ("function", "module"): "expected a module alias before `.`",
    ("pair", "key"): "expected a config key",
    ("pair", "value"): "expected a value after `:`",
}


def _anchor(node: ts.Node) -> int:
    """Where a MISSING token belongs: right after the last real token before it, not after comments."""
    previous = _previous_leaf(node)
    while previous is not None and (previous.type == "comment" or previous.end_byte == previous.start_byte):
        previous = _previous_leaf(previous)
    return previous.end_byte if previous is not None else node.start_byte


def _missing(tree: SyntaxTree, node: ts.Node) -> Diagnostic:
    parent = node.parent
    token = node.type
    offset = _anchor(node)
    span = Span(offset, offset)
    if token == '"':
        return Diagnostic("HE1003", span, "unterminated string: expected `\"` before the end of the line",
                          fixes=(Fix('insert `"`', (TextEdit(span, '"'),)),))
    if parent is not None and token in _CLOSERS:
        opener = _opener(parent, token)
        what = describe(parent)
        where = ""
        related: tuple[Related, ...] = ()
        if opener is not None:
            where = f" opened on line {tree.row(opener) + 1}"
            related = (Related(Span(opener.start_byte, opener.end_byte), f"`{opener.type}` opened here"),)
        code = "HE1004" if parent.type == "relational_block" else "HE1002"
        message = f"expected `{token}` to close {what}{where}"
        fix = Fix(f"insert `{token}`", (_insertion(tree, offset, token, opener),))
        return Diagnostic(code, span, message, related=related, fixes=(fix,))
    if token == "identifier" and parent is not None:
        field = None
        for i, child in enumerate(parent.children):
            if child.id == node.id:
                field = parent.field_name_for_child(i)
                break
        message = _MISSING_NAMES.get((parent.type, field or ""))
        if message is None and parent.type in _DECLARATIONS:
            message = f"expected a name for this {_DECLARATIONS[parent.type]}"
        return Diagnostic("HE1002", span, message or f"expected a name in {describe(parent)}")
    message = f"expected `{token}` in {describe(parent)}"
    return Diagnostic("HE1002", span, message, fixes=(Fix(f"insert `{token}`", (TextEdit(span, token),)),))


def _leaves(node: ts.Node, limit: int = 8) -> list[ts.Node]:
    """The first `limit` tokens under `node`, comments left out."""
    out: list[ts.Node] = []
    stack = [node]
    while stack and len(out) < limit:
        current = stack.pop()
        if current.type == "comment":
            continue
        if current.child_count == 0:
            if current.end_byte > current.start_byte:
                out.append(current)
            continue
        stack.extend(reversed(current.children))
    return out


_KEYWORDS = ("import", "resource", "step", "handler", "workflow")

_AFTER_OPERATOR = {
    "?": "a handler name after `?`",
    "|": "a stage after `|`: a step, a call `alias.function` or a relational block `( ... )`",
    ">": "a name after `>`",
    ".": "a function name after `.`",
    "=": "a name after `=`",
    ":": "a value after `:`",
    "<": "`key=resource` after `<`",
    ",": "another item after `,`",
}

_SHAPES = {
    "import": 'import "module/path" alias',
    "resource": "resource NAME = alias.function { ... }",
    "step": "step NAME = alias.function { ... }",
    "handler": "handler NAME { ... }",
    "workflow": "workflow NAME { ... }",
}


def _enclosing_container(node: ts.Node) -> ts.Node | None:
    current: ts.Node | None = node.parent
    while current is not None:
        if current.type in ("dict", "block", "list", "dataframe", "injection"):
            return current
        current = current.parent
    return None


def _malformed_declaration(tree: SyntaxTree, keyword: str, leaves: list[ts.Node], span: Span) -> Diagnostic:
    texts = [_text(leaf) for leaf in leaves]
    second = texts[1] if len(texts) > 1 else ""
    if keyword == "import" and len(leaves) > 1 and second != '"':
        path_start = leaves[1].start_byte
        line_end = tree.lines.line_span(tree.lines.line_of(path_start)).end
        words = tree.data[path_start:line_end].decode("utf-8", errors="replace").split()
        if words:
            path = words[0]
            path_span = Span(path_start, path_start + len(path.encode()))
            return Diagnostic("HE1001", path_span, f"the module path must be a string: `\"{path}\"`",
                              fixes=(Fix(f'quote the path: "{path}"',
                                         (TextEdit(path_span, f'"{path}"'),)),))
    if keyword in ("resource", "step", "handler", "workflow") and second in ("{", "=", "?", ""):
        at = leaves[0].end_byte
        return Diagnostic("HE1002", Span(leaves[0].start_byte, at), f"expected a name after `{keyword}`")
    if keyword in ("resource", "step") and len(texts) > 2 and texts[2] != "=":
        at = leaves[1].end_byte
        return Diagnostic("HE1002", Span(at, at), f"expected `=` after `{keyword} {second}`",
                          fixes=(Fix("insert `=`", (TextEdit(Span(at, at), " ="),)),))
    return Diagnostic("HE1001", span, f"malformed {keyword} declaration: expected `{_SHAPES[keyword]}`")


def _previous_leaf(node: ts.Node) -> ts.Node | None:
    current: ts.Node | None = node
    while current is not None and current.prev_sibling is None:
        current = current.parent
    if current is None or current.prev_sibling is None:
        return None
    leaf = current.prev_sibling
    while leaf.child_count:
        leaf = leaf.children[-1]
    return leaf


def _unclosed(tree: SyntaxTree, node: ts.Node, container: ts.Node | None) -> Diagnostic | None:
    """A declaration keyword inside a container: the container was never closed."""
    leaves = _leaves(node, 1)
    if container is None or not leaves or _text(leaves[0]) not in _KEYWORDS:
        return None
    opener = container.children[0] if container.child_count else None
    if opener is None or opener.type not in ("{", "[", "<"):
        return None
    closer = {"{": "}", "[": "]", "<": ">"}[opener.type]
    keyword = leaves[0]
    return Diagnostic(
        "HE1002", Span(keyword.start_byte, keyword.end_byte),
        f"expected `{closer}` to close {describe(container)} opened on line {tree.row(opener) + 1}"
        f" before this `{_text(keyword)}`",
        related=(Related(Span(opener.start_byte, opener.end_byte), f"`{opener.type}` opened here"),),
        fixes=(Fix(f"insert `{closer}`", (_insertion(tree, _anchor(node), closer, opener),)),),
    )


def _error(tree: SyntaxTree, node: ts.Node) -> Diagnostic:
    leaves = _leaves(node)
    text = _text(node)
    start = node.start_byte
    # Report on the first line of what had to be skipped: that is where the reader must look.
    line_end = tree.lines.line_span(tree.lines.line_of(start)).end
    span = Span(start, max(start + 1, min(node.end_byte, line_end)))
    if text.startswith("/*"):
        return Diagnostic("HE1011", span, "unterminated block comment: `/*` is never closed by `*/`",
                          fixes=(Fix("close the comment", (TextEdit(Span(node.end_byte, node.end_byte), " */"),)),))
    parent = node.parent
    if parent is not None and parent.type == "string" and text.startswith("\\"):
        return Diagnostic("HE1007", Span(start, min(start + 2, node.end_byte)),
                          f"invalid escape sequence `{text[:2]}`: use \\\\ for a backslash, or one of "
                          '\\" \\n \\t \\r \\b \\f \\/ \\uXXXX')
    if not leaves:
        return Diagnostic("HE1001", span, f"unexpected text in {describe(parent)}")
    first = leaves[0]
    token = _text(first)
    if first.type == '"':
        end_of_line = Span(line_end, line_end)
        return Diagnostic("HE1003", Span(first.start_byte, line_end),
                          "unterminated string: expected `\"` before the end of the line",
                          fixes=(Fix('insert `"`', (TextEdit(end_of_line, '"'),)),))
    top_level = parent is None or parent.type in ("source_file", "ERROR")
    if token in _KEYWORDS and top_level:
        return _malformed_declaration(tree, token, leaves, span)
    if len(leaves) == 1 and token in _AFTER_OPERATOR:
        return Diagnostic("HE1002", Span(first.start_byte, first.end_byte),
                          f"expected {_AFTER_OPERATOR[token]}")
    shown = token if len(token) <= 30 else token[:27] + "..."
    if top_level:
        return Diagnostic("HE1001", span, f"unexpected `{shown}` at top level: expected `import`, `resource`,"
                          " `step`, `handler` or `workflow`")
    return Diagnostic("HE1001", span, f"unexpected `{shown}` in {describe(parent)}")


def _walk(node: ts.Node) -> Iterator[ts.Node]:
    """ERROR and MISSING nodes, outermost first, without descending into ERROR nodes."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.is_error or current.is_missing:
            yield current
            continue
        if current.has_error:
            stack.extend(reversed(current.children))


def syntax_diagnostics(tree: SyntaxTree) -> list[Diagnostic]:
    spliced = _spliced(tree)
    if spliced is not None:
        return spliced
    out: list[Diagnostic] = []
    root = tree.root
    if root.has_error:
        unclosed: set[int] = set()  # containers already reported as missing their closer
        for node in _walk(root):
            if node.is_missing:
                out.append(_missing(tree, node))
                continue
            container = _enclosing_container(node)
            if container is not None and container.id in unclosed:
                continue  # debris of the declaration that ran into this container
            diagnostic = _unclosed(tree, node, container)
            if diagnostic is not None and container is not None:
                unclosed.add(container.id)
            out.append(diagnostic or _error(tree, node))
    # A top-level pipeline on a line the parser already choked on is debris of that error.
    error_lines = {tree.lines.line_of(d.span.start) for d in out}
    out.extend(d for d in structure_diagnostics(tree)
               if d.code != "HE1005" or tree.lines.line_of(d.span.start) not in error_lines)
    out.sort(key=lambda d: (d.span.start, d.span.end, d.code))
    return out


def _spliced(tree: SyntaxTree) -> list[Diagnostic] | None:
    """An edited tree's diagnostics from its base's (`SyntaxTree.region`: neither has a syntax error): those before
    the region kept, those after it moved, the structure rules of the declarations in it checked again. None: no
    base to splice from."""
    region = tree.region
    if region is None or tree.outline.stray_pipelines:
        return None
    before = region.base.__dict__.get("diagnostics")
    outline = region.base.__dict__.get("outline")
    if before is None or outline is None or outline.stray_pipelines:
        return None
    placed = tree.outline.placed
    first = bisect.bisect_left(placed, region.start, key=_start)
    last = bisect.bisect_left(placed, region.end, key=_start)
    head = bisect.bisect_left(before, region.start, key=_diagnostic_start)
    tail = bisect.bisect_left(before, region.end - region.delta, key=_diagnostic_start)
    delta = region.delta
    return [*before[:head], *sort_diagnostics(placed_diagnostics(tree, placed[first:last])),
            *(shifted(d, delta) for d in before[tail:])]


def _start(placed: Placed) -> int:
    return placed.start


def _diagnostic_start(diagnostic: Diagnostic) -> int:
    return diagnostic.span.start
