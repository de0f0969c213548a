"""Go to definition, find references, document highlights and rename: queries on one analysis.

Offsets are UTF-8 byte offsets into the document. A name is found under the cursor when the cursor
is inside it or right after it. Names inside relational blocks take part like any other use, and a
rename also rewrites a table used as a qualifier in PRQL (`users.id`).
"""

from __future__ import annotations

import re

from heddle_lang.catalog import SourceLocation
from heddle_lang.diagnostics import TextEdit
from heddle_lang.ide.occurrences import Occurrence, occurrence_at, occurrences, same_target
from heddle_lang.ide.results import Highlight, Location
from heddle_lang.relational.normalize import TRANSFORMS
from heddle_lang.semantic.model import Analysis, Binding, Definition
from heddle_lang.syntax import ast
from heddle_lang.text import Span

KEYWORDS = frozenset({"import", "resource", "step", "handler", "workflow", "true", "false", "null"})
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# A table read in PRQL cannot be spelt like a PRQL keyword, a transform, or the piped-in table.
PRQL_RESERVED = TRANSFORMS | {"input", "let", "into", "case", "prql", "type", "module", "internal", "func",
                              "import", "enum", "this", "that", "true", "false", "null"}
GLOBAL_KINDS = frozenset({"resource", "step", "handler", "workflow"})


def _clamp(analysis: Analysis, offset: int) -> int:
    return max(0, min(offset, len(analysis.tree.data)))


def _members(analysis: Analysis) -> list[tuple[Binding, Span]]:
    """Each resolved `alias.member` call with the span of its member name."""
    out = []
    for binding in analysis.bindings:
        dot = analysis.tree.data.rfind(b".", binding.span.start, binding.span.end)
        if dot >= 0:
            out.append((binding, Span(dot + 1, binding.span.end)))
    return out


def _member_at(analysis: Analysis, offset: int) -> tuple[Binding, Span] | None:
    """The `alias.member` call whose member name is under `offset`, with the member's span."""
    return next(((b, m) for b, m in _members(analysis) if m.start <= offset <= m.end), None)


def _source(binding: Binding) -> SourceLocation | None:
    spec = binding.function or binding.resource
    if spec is not None and spec.location is not None:
        return spec.location
    return binding.module.location


def _import_at(analysis: Analysis, offset: int) -> ast.Import | None:
    for decl in analysis.tree.ast.imports:
        if decl.path is not None and decl.path.span.start <= offset < decl.path.span.end:
            return decl
    return None


def definition(analysis: Analysis, offset: int) -> list[Location]:
    """Where the name under `offset` is defined: in this document, or the plugin's Python source."""
    offset = _clamp(analysis, offset)
    occurrence = occurrence_at(analysis, offset)
    if occurrence is not None:
        return [Location(span=occurrence.target.span)] if occurrence.target is not None else []
    member = _member_at(analysis, offset)
    if member is not None:
        location = _source(member[0])
        return [_elsewhere(location)] if location is not None else []
    decl = _import_at(analysis, offset)
    if decl is not None and decl.alias is not None:
        module = analysis.imports.get(decl.alias.text)
        if module is not None and module.location is not None:
            return [_elsewhere(module.location)]
    return []


def _elsewhere(location: SourceLocation) -> Location:
    """A plugin's source: the name's range when the catalog read it (a function), else the line."""
    return Location(path=location.path, line=location.line, column=location.column, end_column=location.end_column)


def _member_group(analysis: Analysis, offset: int) -> list[Span]:
    """The member spans of every call of the same module member as the one under `offset`."""
    found = _member_at(analysis, offset)
    if found is None:
        return []
    path, name = found[0].module_path, analysis.tree.slice(found[1])
    return sorted({m for b, m in _members(analysis) if b.module_path == path and analysis.tree.slice(m) == name})


def references(analysis: Analysis, offset: int, include_declaration: bool) -> list[Location]:
    """Every place naming what the name under `offset` names (its definition when asked)."""
    offset = _clamp(analysis, offset)
    occurrence = occurrence_at(analysis, offset)
    if occurrence is None:
        return [Location(span=s) for s in _member_group(analysis, offset)]
    return [Location(span=o.span) for o in same_target(analysis, occurrence)
            if include_declaration or not o.is_definition]


def highlights(analysis: Analysis, offset: int) -> list[Highlight]:
    """The name under `offset` everywhere in the document; its definition is a write."""
    offset = _clamp(analysis, offset)
    occurrence = occurrence_at(analysis, offset)
    if occurrence is None:
        return [Highlight(s) for s in _member_group(analysis, offset)]
    group = same_target(analysis, occurrence)
    if not group:
        # An unresolved name: its other unresolved spellings.
        group = [o for o in occurrences(analysis) if o.target is None and o.name == occurrence.name]
    return [Highlight(o.span, write=o.is_definition) for o in group]


def _renamable(analysis: Analysis, offset: int) -> Occurrence | None:
    occurrence = occurrence_at(analysis, _clamp(analysis, offset))
    if occurrence is None or occurrence.target is None:
        return None
    return occurrence


def prepare_rename(analysis: Analysis, offset: int) -> Span | None:
    """The span of the document name under `offset`, if it can be renamed (module members and keys cannot)."""
    occurrence = _renamable(analysis, offset)
    return occurrence.span if occurrence is not None else None


def _collision(analysis: Analysis, target: Definition, new_name: str) -> str | None:
    for other in analysis.definitions:
        if other.name != new_name or other == target:
            continue
        if target.kind == "import":
            clash = other.kind == "import"
        elif target.kind == "assignment":
            clash = other.kind in GLOBAL_KINDS or (other.kind == "assignment" and other.scope == target.scope)
        else:
            clash = other.kind in GLOBAL_KINDS or other.kind == "assignment"
        if clash:
            where = f" in `{other.scope}`" if other.kind == "assignment" and other.scope else ""
            article = "an" if other.kind[0] in "aeiou" else "a"
            return f"`{new_name}` is already the name of {article} {other.kind}{where}"
    return None


def rename_error(analysis: Analysis, target: Definition, new_name: str) -> str | None:
    """Why `target` cannot be renamed to `new_name`, or None when it can."""
    if not IDENTIFIER.match(new_name):
        return f"`{new_name}` is not a valid name: use letters, digits and `_`, not starting with a digit"
    if new_name in KEYWORDS:
        return f"`{new_name}` is a keyword"
    if new_name in PRQL_RESERVED and any(o.in_relational and o.target == target for o in occurrences(analysis)):
        return f"`{new_name}` cannot name a table read in a relational block (it means something in PRQL)"
    return _collision(analysis, target, new_name)


def rename(analysis: Analysis, offset: int, new_name: str) -> list[TextEdit] | str:
    """Edits renaming the name under `offset` everywhere (PRQL text included), or why it cannot be done."""
    occurrence = _renamable(analysis, offset)
    if occurrence is None or occurrence.target is None:
        return "nothing that can be renamed is under the cursor"
    if new_name == occurrence.target.name:
        return []
    error = rename_error(analysis, occurrence.target, new_name)
    if error is not None:
        return error
    return [TextEdit(o.span, new_name) for o in same_target(analysis, occurrence)]
