"""The one diagnostic value type every stage of the language produces.

A diagnostic is data: a stable code, a severity, an exact span, a message written for a person,
related locations, and fixes that can be applied mechanically. Producing one never raises;
rendering it (compiler lines, JSON, LSP) happens at the edges with the document's `LineIndex`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import field, fields
from enum import IntEnum, StrEnum

from heddle_lang.codes import CODES
from heddle_lang.records import record
from heddle_lang.text import Span, moved_span


class Severity(IntEnum):
    """Values match LSP's `DiagnosticSeverity`."""

    ERROR = 1
    WARNING = 2
    INFORMATION = 3
    HINT = 4

    @property
    def label(self) -> str:
        return {1: "error", 2: "warning", 3: "info", 4: "hint"}[self.value]


class Tag(StrEnum):
    UNNECESSARY = "unnecessary"
    DEPRECATED = "deprecated"


@record
class TextEdit:
    span: Span
    new_text: str


@record
class Fix:
    """A mechanical repair: applying every edit yields the corrected text."""

    title: str
    edits: tuple[TextEdit, ...]
    preferred: bool = True


@record
class Related:
    span: Span
    message: str


@record
class Diagnostic:
    code: str
    span: Span
    message: str
    severity: Severity = Severity.ERROR
    related: tuple[Related, ...] = ()
    fixes: tuple[Fix, ...] = ()
    tags: tuple[Tag, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"diagnostic code {self.code} is not registered in heddle_lang.codes")

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


_new = object.__new__
_SETTERS = {cls: tuple(cls.__dict__[f.name].__set__ for f in fields(cls))
            for cls in (Diagnostic, Related, Fix, TextEdit)}


def shifted(diagnostic: Diagnostic, delta: int) -> Diagnostic:
    """`diagnostic` about the same text moved by `delta` bytes (its related places and fixes too). Made field by
    field, without `__init__` (it was checked when first made): an edit moves the diagnostics of what follows it."""
    if delta == 0:
        return diagnostic
    code, span, message, severity, related, fixes, tags = _SETTERS[Diagnostic]
    out = _new(Diagnostic)
    code(out, diagnostic.code)
    span(out, moved_span(diagnostic.span, delta))
    message(out, diagnostic.message)
    severity(out, diagnostic.severity)
    related(out, tuple([_related(r, delta) for r in diagnostic.related]) if diagnostic.related else ())
    fixes(out, tuple([_fix(f, delta) for f in diagnostic.fixes]) if diagnostic.fixes else ())
    tags(out, diagnostic.tags)
    return out


def shifted_all(diagnostics: Sequence[Diagnostic], delta: int) -> list[Diagnostic]:
    """`shifted` of each of `diagnostics` (the run after an edit: one loop, its lookups made once)."""
    code, span, message, severity, related, fixes, tags = _SETTERS[Diagnostic]
    title, edits, preferred = _SETTERS[Fix]
    edit_span, new_text = _SETTERS[TextEdit]
    new, move = _new, moved_span
    out = []
    for diagnostic in diagnostics:
        moved = new(Diagnostic)
        code(moved, diagnostic.code)
        span(moved, move(diagnostic.span, delta))
        message(moved, diagnostic.message)
        severity(moved, diagnostic.severity)
        related(moved, tuple([_related(r, delta) for r in diagnostic.related]) if diagnostic.related else ())
        repairs = []
        for fix in diagnostic.fixes:
            repair = new(Fix)
            title(repair, fix.title)
            changes = []
            for change in fix.edits:
                made = new(TextEdit)
                edit_span(made, move(change.span, delta))
                new_text(made, change.new_text)
                changes.append(made)
            edits(repair, tuple(changes))
            preferred(repair, fix.preferred)
            repairs.append(repair)
        fixes(moved, tuple(repairs))
        tags(moved, diagnostic.tags)
        out.append(moved)
    return out


def _related(related: Related, delta: int) -> Related:
    span, message = _SETTERS[Related]
    out = _new(Related)
    span(out, moved_span(related.span, delta))
    message(out, related.message)
    return out


def _fix(fix: Fix, delta: int) -> Fix:
    title, edits, preferred = _SETTERS[Fix]
    out = _new(Fix)
    title(out, fix.title)
    edits(out, tuple([_edit(e, delta) for e in fix.edits]))
    preferred(out, fix.preferred)
    return out


def _edit(edit: TextEdit, delta: int) -> TextEdit:
    span, new_text = _SETTERS[TextEdit]
    out = _new(TextEdit)
    span(out, moved_span(edit.span, delta))
    new_text(out, edit.new_text)
    return out


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: (d.span.start, d.span.end, d.code))


def apply_edits(text: bytes, edits: Sequence[TextEdit]) -> bytes:
    """Apply non-overlapping edits (in any order) to UTF-8 `text`."""
    out = text
    for edit in sorted(edits, key=lambda e: (e.span.start, e.span.end), reverse=True):
        out = out[: edit.span.start] + edit.new_text.encode("utf-8") + out[edit.span.end :]
    return out
