"""Lowering: the tree-sitter CST to the typed AST (`heddle_lang.syntax.ast`).

Tolerant by construction: ERROR nodes are skipped, MISSING nodes become `None`, so a partial AST
exists for any text and the IDE keeps working while the user types.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from sys import intern
from typing import TYPE_CHECKING, overload

from heddle_lang.records import record
from heddle_lang.syntax import ast
from heddle_lang.syntax.moving import moved
from heddle_lang.syntax.tree import LANGUAGE
from heddle_lang.text import Span, moved_span, split_lines

if TYPE_CHECKING:
    import tree_sitter as ts

    from heddle_lang.syntax.tree import Region, SyntaxTree

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _field(name: str) -> int:
    field_id = LANGUAGE.field_id_for_name(name)
    assert field_id is not None, name
    return field_id


# Field lookups by id: lowering runs on every analysis, and name lookups cost a string compare each.
_KEY, _VALUE, _NAME, _MODULE, _PATH, _ALIAS, _TRAP, _HANDLER, _BODY, _QUERY, _MEMBER = (
    _field(n) for n in ("key", "value", "name", "module", "path", "alias", "trap", "handler", "body", "query",
                        "member"))


def _span(node: ts.Node) -> Span:
    return Span(*node.byte_range)


def _text(node: ts.Node) -> str:
    raw = node.text
    return raw.decode("utf-8", errors="replace") if raw is not None else ""


def _present(node: ts.Node | None) -> bool:
    return node is not None and not node.is_missing and node.end_byte > node.start_byte


def _name(node: ts.Node | None) -> ast.Name | None:
    if node is None or not _present(node) or node.type != "identifier":
        return None
    return ast.Name(intern(_text(node)), _span(node))


def _qualified(node: ts.Node, field_id: int) -> ast.Name | None:
    """The name in `field_id` of a binding or a trap; `alias.member` is the member, qualified by the alias."""
    name = _name(node.child_by_field_id(field_id))
    member = node.child_by_field_id(_MEMBER)
    if member is None or name is None:
        return name
    found = _name(member)
    return ast.Name(found.text, found.span, name) if found is not None else None


def decode_string(node: ts.Node) -> str:
    """The value of a `string` or `multiline_string` node, escapes resolved."""
    if node.type == "multiline_string":
        return _text(node)[3:-3]
    parts: list[str] = []
    for child in node.children:
        if child.type == "string_content":
            parts.append(_text(child))
        elif child.type == "escape_sequence":
            body = _text(child)[1:]
            parts.append(chr(int(body[1:], 16)) if body.startswith("u") else _ESCAPES.get(body, body))
    return "".join(parts)


def comment_text(raw: str) -> str:
    """A comment's words, without `//`, `/*`, `*/` or the leading `*` of block-comment lines."""
    if raw.startswith("//"):
        return raw[2:].strip()
    body = raw[2:-2] if raw.endswith("*/") else raw[2:]
    lines = [line.strip().removeprefix("*").strip() for line in split_lines(body.strip("*"))]
    return "\n".join(lines).strip()


# Values nested deeper than this are cut off (and reported, HE1014): every later pass may then recurse.
MAX_NESTING = 32


def lower_value(node: ts.Node, depth: int = 0) -> ast.Value | None:
    kind = node.type
    span = _span(node)
    if kind == "string":
        return ast.Str(decode_string(node), span)
    if kind == "multiline_string":
        return ast.Str(decode_string(node), span, multiline=True)
    if kind == "number":
        text = _text(node)
        try:
            value: int | float = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            return None
        return ast.Number(value, span)
    if kind == "true":
        return ast.Bool(True, span)
    if kind == "false":
        return ast.Bool(False, span)
    if kind == "null":
        return ast.Null(span)
    if kind == "bare_word":
        return ast.BareWord(intern(_text(node)), span)
    if kind in ("dict", "list") and depth >= MAX_NESTING:
        return ast.TooDeep(span)
    if kind == "dict":
        return lower_dict(node, depth)
    if kind == "list":
        items = (lower_value(c, depth + 1) for c in node.named_children if c.type != "comment")
        return ast.List(tuple(v for v in items if v is not None), span)
    return None


def lower_dict(node: ts.Node, depth: int = 0) -> ast.Dict:
    entries = []
    for pair in node.named_children:
        if pair.type != "pair":
            continue
        key_node = pair.child_by_field_id(_KEY)
        value_node = pair.child_by_field_id(_VALUE)
        if key_node is None or not _present(key_node):
            continue
        key_text = decode_string(key_node) if key_node.type == "string" else intern(_text(key_node))
        value = lower_value(value_node, depth + 1) if value_node is not None and _present(value_node) else None
        entries.append(ast.Entry(ast.Name(key_text, _span(key_node)), value, _span(pair)))
    return ast.Dict(tuple(entries), _span(node))


def lower_call(node: ts.Node) -> ast.Call:
    module = function = None
    config = None
    injections: list[ast.Injection] = []
    seen_function = False
    for child in node.named_children:
        kind = child.type
        if kind == "function":
            module = _name(child.child_by_field_id(_MODULE))
            function = _name(child.child_by_field_id(_NAME))
            seen_function = True
        elif kind == "injection":
            bindings = []
            for b in child.named_children:
                if b.type != "binding":
                    continue
                key = _name(b.child_by_field_id(_KEY))
                if key is not None:
                    bindings.append(ast.Binding(key, _qualified(b, _VALUE), _span(b)))
            injections.append(ast.Injection(tuple(bindings), seen_function, _span(child)))
        elif kind == "dict":
            config = lower_dict(child)
    return ast.Call(module, function, tuple(injections), config, _span(node))


def _lower_stage_value(node: ts.Node | None) -> ast.StageValue | None:
    if node is None or not _present(node):
        return None
    kind = node.type
    if kind == "reference":
        name = _name(node.named_children[0]) if node.named_children else None
        return ast.Reference(name, _span(node)) if name is not None else None
    if kind == "call":
        return lower_call(node)
    if kind == "relational_block":
        query = node.child_by_field_id(_QUERY)
        if query is None:
            return ast.RelationalBlock("", None, _span(node))
        return ast.RelationalBlock(_text(query), _span(query), _span(node))
    if kind == "dataframe":
        rows = (lower_value(c) for c in node.named_children if c.type != "comment")
        return ast.DataFrame(tuple(r for r in rows if r is not None), _span(node))
    if kind == "error_context":
        return ast.ErrorContext(_span(node))
    return None


def _lower_stage(node: ts.Node, is_source: bool) -> ast.Stage:
    trap = node.child_by_field_id(_TRAP)
    return ast.Stage(
        _lower_stage_value(node.child_by_field_id(_VALUE)),
        _qualified(trap, _HANDLER) if trap is not None else None,
        is_source,
        _span(node),
    )


def lower_pipeline(node: ts.Node) -> ast.Pipeline | None:
    source: ast.Stage | None = None
    steps: list[ast.Stage | ast.Assignment] = []
    for child in node.named_children:
        kind = child.type
        if kind == "source":
            source = _lower_stage(child, is_source=True)
        elif kind == "stage":
            steps.append(_lower_stage(child, is_source=False))
        elif kind == "assignment":
            steps.append(ast.Assignment(_name(child.child_by_field_id(_NAME)), _span(child)))
    if source is None:
        return None
    return ast.Pipeline(source, tuple(steps), _span(node))


def _lower_block(node: ts.Node | None) -> tuple[ast.Pipeline, ...]:
    if node is None:
        return ()
    pipelines = (lower_pipeline(c) for c in node.named_children if c.type == "pipeline")
    return tuple(p for p in pipelines if p is not None)


def lower_declaration(node: ts.Node, doc: str | None) -> ast.Declaration | None:
    kind = node.type
    span = _span(node)
    name = _name(node.child_by_field_id(_NAME))
    if kind == "import_declaration":
        path = node.child_by_field_id(_PATH)
        path_value = ast.Str(decode_string(path), _span(path)) if path is not None and _present(path) else None
        return ast.Import(path_value, _name(node.child_by_field_id(_ALIAS)), span, doc)
    if kind in ("resource_declaration", "step_declaration"):
        value = node.child_by_field_id(_VALUE)
        call = lower_call(value) if value is not None and value.type == "call" else None
        cls = ast.ResourceDecl if kind == "resource_declaration" else ast.StepDecl
        return cls(name, call, span, doc)
    if kind == "handler_declaration":
        return ast.HandlerDecl(name, _lower_block(node.child_by_field_id(_BODY)), span, doc)
    if kind == "workflow_declaration":
        trap = node.child_by_field_id(_TRAP)
        handler = _qualified(trap, _HANDLER) if trap is not None else None
        return ast.WorkflowDecl(name, handler, _lower_block(node.child_by_field_id(_BODY)), span, doc)
    return None


def declared_names(tree: SyntaxTree, kind: str) -> list[str]:
    """The names of the top-level declarations of grammar type `kind` ("resource_declaration", ...), as the AST
    has them, read from the CST alone (no declaration is lowered)."""
    names = []
    for child in tree.root.children:
        if child.type == kind:
            name = _name(child.child_by_field_id(_NAME))
            if name is not None:
                names.append(name.text)
    return names


class Placed:
    """A top-level declaration of one version of the text: its bytes, where they start, and its AST there.

    An unchanged declaration's AST is the one an earlier version lowered (`base`, made at `base_start`): it is moved
    to `start` only when something asks for `decl`, so an edit moves no declaration nobody reads. What needs only its
    name, kind or text reads `base` (spans aside) and `text`."""

    __slots__ = ("_decl", "base", "base_start", "span", "start", "text")

    def __init__(self, text: bytes, start: int, base: ast.Declaration, base_start: int) -> None:
        self.text = text
        self.start = start
        self.span = base.span if start == base_start else moved_span(base.span, start - base_start)
        self.base = base
        self.base_start = base_start
        self._decl: ast.Declaration | None = base if base_start == start else None

    @property
    def decl(self) -> ast.Declaration:
        """The declaration's AST at its place in this version (moved once, when first asked for)."""
        if self._decl is None:
            self._decl = moved(self.base, self.start - self.base_start)
        return self._decl

    def moved(self, delta: int) -> Placed:
        """The same declaration `delta` bytes further (its AST moved when read)."""
        return Placed(self.text, self.start + delta, self.base, self.base_start)

    def name_span(self) -> Span | None:
        """The span of its name (its alias for an import) in this version."""
        base = self.base
        name = base.alias if isinstance(base, ast.Import) else base.name
        if name is None:
            return None
        return moved_span(name.span, self.start - self.base_start)


class Placements(Sequence[Placed]):
    """A version's placed declarations in order: `kept` as they are (those before an edit, and those it lowered again),
    then `base[offset:]`, an earlier version's, each moved by `delta` bytes when first read. An edit moves every
    declaration after it; made one by one, they would cost a microsecond each at every keystroke (3 ms at 50,000
    lines), and the analysis of an edit reads a few of them."""

    __slots__ = ("_base", "_delta", "_kept", "_made", "_offset")

    def __init__(self, kept: tuple[Placed, ...], base: tuple[Placed, ...], offset: int, delta: int) -> None:
        self._kept = kept
        self._base = base
        self._offset = offset
        self._delta = delta
        self._made: list[Placed | None] = [None] * (len(base) - offset)

    @classmethod
    def after_edit(cls, kept: list[Placed], old: Sequence[Placed], tail: int, delta: int) -> Placements:
        """`kept`, then `old[tail:]` moved by `delta` bytes (read through to the versions `old` moves, so that a
        version holds its base's declarations only, never a chain of the versions between)."""
        if isinstance(old, Placements):
            own = len(old._kept)
            if tail < own:
                kept = [*kept, *(p.moved(delta) for p in old._kept[tail:])]
                tail = own
            return cls(tuple(kept), old._base, old._offset + tail - own, old._delta + delta)
        return cls(tuple(kept), tuple(old), tail, delta)

    def __len__(self) -> int:
        return len(self._kept) + len(self._made)

    @overload
    def __getitem__(self, index: int) -> Placed: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Placed, ...]: ...

    def __getitem__(self, index: int | slice) -> Placed | tuple[Placed, ...]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step == 1 and stop <= len(self._kept):
                return self._kept[start:stop]
            return tuple(self._at(at) for at in range(start, stop, step))
        if index < 0:
            index += len(self)
        if index < 0:
            raise IndexError(index)
        return self._at(index)

    def _at(self, index: int) -> Placed:
        kept = self._kept
        if index < len(kept):
            return kept[index]
        at = index - len(kept)
        made = self._made[at]
        if made is None:
            made = self._base[self._offset + at]
            if self._delta:
                made = made.moved(self._delta)
            self._made[at] = made
        return made

    def __iter__(self) -> Iterator[Placed]:
        return map(self._at, range(len(self)))


@record
class Outline:
    """A version's top-level declarations, placed (`Placed`), and its stray pipelines."""

    placed: Sequence[Placed]
    stray_pipelines: tuple[ast.Pipeline, ...]

    def module(self) -> ast.Module:
        """The whole AST: every declaration moved to its place."""
        return ast.Module(tuple(p.decl for p in self.placed), self.stray_pipelines)

    def around(self, offset: int) -> list[Placed]:
        """The declarations whose span holds `offset` (ends included: two when one ends where the next starts), in
        order; found by a search, so a query about one place moves no other declaration."""
        index = bisect.bisect_right(self.placed, offset, key=lambda p: p.start)
        return [p for p in self.placed[max(0, index - 2):index] if p.span.start <= offset <= p.span.end]


@record
class Lowered:
    """A tree's lowered declarations by their text, for the next version of the text to reuse: a declaration
    whose bytes (and the comments documenting it) did not change lowers to the same AST, moved by as many bytes as it
    moved.
    Only declarations without syntax errors are kept: their AST is a function of their text alone."""

    # text -> (start, the comments documenting it as written, AST at start)
    declarations: Mapping[bytes, tuple[int, tuple[bytes, ...] | None, ast.Declaration]]


def lower(tree: SyntaxTree, previous: Lowered | None = None) -> tuple[Outline, Lowered]:
    """The placed declarations of `tree`, and what the next version may reuse of them (`previous`: what this one
    may). An edited tree splices its base's outline (`SyntaxTree.region`): only the nodes of the lines it changed are
    read, the declarations after them moved."""
    region = tree.region
    if region is not None:
        spliced = _spliced(tree, region, previous)
        if spliced is not None:
            return spliced
    kept: dict[bytes, tuple[int, tuple[bytes, ...] | None, ast.Declaration]] = {}
    placed: list[Placed] = []
    stray: list[ast.Pipeline] = []
    _lower_nodes(tree, tree.root.children, previous, kept=kept, placed=placed, stray=stray)
    return Outline(tuple(placed), tuple(stray)), Lowered(kept)


def _spliced(tree: SyntaxTree, region: Region, previous: Lowered | None) -> tuple[Outline, Lowered] | None:
    """The base's outline with the declarations of `region` lowered again (None: the base has none to splice, or a
    pipeline stands at top level)."""
    base = region.base
    before = base.__dict__.get("outline")
    if not isinstance(before, Outline) or before.stray_pipelines:
        return None
    old = before.placed
    head = bisect.bisect_left(old, region.start, key=_start)  # the declarations before the region, unchanged
    tail = bisect.bisect_left(old, region.end - region.delta, key=_start)  # those after it, moved
    top = tree.top
    first, last = top.bisect_start(region.start), top.bisect_start(region.end)
    if tail < len(old) and old[tail].base.doc is not None and last < top.count and top.child(last).type != "comment" \
            and not _documented(tree, last):
        return None  # the comments that documented the first moved declaration were in the region, and are gone
    kept = dict(base.lowered.declarations)
    for gone in old[head:tail]:
        kept.pop(gone.text, None)
    placed = list(old[:head])
    stray: list[ast.Pipeline] = []
    _lower_nodes(tree, [top.child(i) for i in range(first, last)], previous, kept=kept, placed=placed, stray=stray)
    if stray:
        return None
    delta = region.delta
    return Outline(Placements.after_edit(placed, old, tail, delta), ()), Lowered(kept)


def _start(placed: Placed) -> int:
    return placed.start


def _documented(tree: SyntaxTree, index: int) -> bool:
    """Whether the top-level node at `index` has a comment on the line directly above it (its documentation)."""
    if index == 0:
        return False
    above = tree.top.child(index - 1)
    return above.type == "comment" and tree.end_row(above) + 1 == tree.row(tree.top.child(index))


def _lower_nodes(tree: SyntaxTree, nodes: Iterable[ts.Node], previous: Lowered | None, *,
                 kept: dict[bytes, tuple[int, tuple[bytes, ...] | None, ast.Declaration]], placed: list[Placed],
                 stray: list[ast.Pipeline]) -> None:
    """Lower consecutive top-level `nodes` (the first not documented by a comment before them) into `placed`, `stray`
    and `kept`."""
    data = tree.data
    comments: list[bytes] = []
    doc_end_row = -2
    for child in nodes:
        kind = child.type
        if kind == "comment":
            # Comments directly above a declaration (no blank line between) document it.
            if tree.row(child) > doc_end_row + 1:  # a blank line ends a documentation block
                comments = []
            comments.append(data[child.start_byte:child.end_byte])
            doc_end_row = tree.end_row(child)
            continue
        # Its documentation as written: read into words only for a declaration lowered anew.
        written = tuple(comments) if comments and tree.row(child) == doc_end_row + 1 else None
        comments = []
        if kind == "pipeline":
            pipeline = lower_pipeline(child)
            if pipeline is not None:
                stray.append(pipeline)
            continue
        start = child.start_byte
        text = data[start:child.end_byte]
        clean = not child.has_error
        reused = previous.declarations.get(text) if previous is not None and clean else None
        if reused is not None and reused[1] == written:
            base_start, base = reused[0], reused[2]
        else:
            doc = None if written is None else "\n".join(
                comment_text(raw.decode("utf-8", errors="replace")) for raw in written)
            declaration = lower_declaration(child, doc)
            if declaration is None:
                continue
            base_start, base = start, declaration
        placed.append(Placed(text, start, base, base_start))
        if clean:  # what the parser recovered from may depend on the text around it
            kept[text] = (base_start, written, base)
