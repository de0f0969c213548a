"""The one diagnostic value type every stage of the language produces.

A diagnostic is data: a stable code, a severity, an exact span, a message written for a person,
related locations, and fixes that can be applied mechanically. Producing one never raises;
rendering it (compiler lines, JSON, LSP) happens at the edges with the document's `LineIndex`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import field, replace
from enum import IntEnum, StrEnum

from heddle_lang.codes import CODES
from heddle_lang.records import record
from heddle_lang.text import Span


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


def shifted(diagnostic: Diagnostic, delta: int) -> Diagnostic:
    """`diagnostic` about the same text moved by `delta` bytes (its related places and fixes too)."""
    if delta == 0:
        return diagnostic

    def move(span: Span) -> Span:
        return Span(span.start + delta, span.end + delta)

    return replace(diagnostic, span=move(diagnostic.span),
                   related=tuple(Related(move(r.span), r.message) for r in diagnostic.related),
                   fixes=tuple(Fix(f.title, tuple(TextEdit(move(e.span), e.new_text) for e in f.edits), f.preferred)
                               for f in diagnostic.fixes))


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: (d.span.start, d.span.end, d.code))


def apply_edits(text: bytes, edits: Sequence[TextEdit]) -> bytes:
    """Apply non-overlapping edits (in any order) to UTF-8 `text`."""
    out = text
    for edit in sorted(edits, key=lambda e: (e.span.start, e.span.end), reverse=True):
        out = out[: edit.span.start] + edit.new_text.encode("utf-8") + out[edit.span.end :]
    return out
