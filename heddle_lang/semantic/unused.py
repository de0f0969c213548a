"""HE3012: a declaration or assignment nothing reads. Its diagnostic is made once per name, kind and layout of the
lines it stands on (`unused_diagnostic`), and moved where it stands now."""

from __future__ import annotations

from heddle_lang.diagnostics import Diagnostic, Fix, Severity, Tag, TextEdit, shifted
from heddle_lang.remembered import Remembered
from heddle_lang.semantic.context import Context
from heddle_lang.semantic.model import Definition
from heddle_lang.syntax.tree import SyntaxTree
from heddle_lang.text import Span


def unused_diagnostic(ctx: Context, definition: Definition) -> Diagnostic:
    """HE3012 for `definition`: made once per name, kind and layout of the lines it stands on, then moved."""
    declaration = definition.kind in ("import", "resource", "step", "handler")
    if declaration:  # the fix removes the lines the declaration stands on
        base, end = _lines_around(ctx.tree, definition.declaration)
    else:
        base = end = definition.span.start
    key = (definition.kind, definition.name, definition.span.start - base, definition.span.end - base, end - base)
    found = _UNUSED.get(key)
    if found is None:
        what = definition.kind
        fixes = (Fix(f"remove the unused {what}", (TextEdit(Span(0, end - base), ""),)),) if declaration else ()
        relative = Diagnostic("HE3012", Span(key[2], key[3]), f"the {what} `{definition.name}` is never used",
                              severity=Severity.WARNING, tags=(Tag.UNNECESSARY,), fixes=fixes)
        found = (relative, base, shifted(relative, base))
    elif found[1] != base:  # moved since last time
        found = (found[0], base, shifted(found[0], base))
    else:  # where it was: the same diagnostic
        return found[2]
    _UNUSED.put(key, found, len(ctx.definitions))
    return found[2]


def _lines_around(tree: SyntaxTree, span: Span) -> tuple[int, int]:
    """The start of the line `span` starts on and the start of the line after the one it ends on (or the end of the
    text). A declaration nearly always starts its line and ends it: read from the bytes around it, no search."""
    data = tree.data
    start, end = span.start, span.end
    if start == 0 or data[start - 1] in _BREAKS:
        base = start
    else:
        lines = tree.lines
        base = lines.line_start(lines.line_of(start))
    following = data[end:end + 2]
    if following == b"\r\n":
        return base, end + 2
    if following[:1] in (b"\n", b"\r"):
        return base, end + 1
    lines = tree.lines
    last = lines.line_of(end)
    return base, lines.line_start(last + 1) if last + 1 < lines.line_count else len(data)


_BREAKS = frozenset(b"\r\n")


# HE3012 relative to the start of its lines, by what it says and how those lines are laid out, with the start of the
# lines it was last at and its diagnostic there (bounded: `heddle_lang.remembered`).
_UNUSED: Remembered[tuple[object, ...], tuple[Diagnostic, int, Diagnostic]] = Remembered()
