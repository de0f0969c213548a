"""Rendering diagnostics: compiler-style lines, or JSON with LSP-shaped ranges."""

from __future__ import annotations

from typing import Any, Protocol

from heddle_lang.diagnostics import Diagnostic
from heddle_lang.text import Encoding, LineIndex, Span


def line(name: str, lines: LineIndex, diagnostic: Diagnostic) -> str:
    """`file:line:col: severity: message [CODE]`, 1-based, the column in characters."""
    return located(name, lines, diagnostic.span, diagnostic.severity.label, message=diagnostic.message,
                   code=diagnostic.code)


class Problem(Protocol):
    """An error with a code and, maybe, a place: e.g. a run's `SetupError`."""

    @property
    def span(self) -> Span | None: ...
    @property
    def message(self) -> str: ...
    @property
    def code(self) -> str: ...


def problem_line(name: str, lines: LineIndex, problem: Problem) -> str:
    """An error line in the checker's format, for errors that are not diagnostics."""
    return located(name, lines, problem.span, "error", message=problem.message, code=problem.code)


def located(name: str, lines: LineIndex, span: Span | None, severity: str, *, message: str, code: str) -> str:
    """`file:line:col: severity: message [CODE]`; `file: severity: ...` when there is no place to point at."""
    if span is None:
        return f"{name}: {severity}: {message} [{code}]"
    position = lines.position(span.start, Encoding.UTF32)
    return f"{name}:{position.line + 1}:{position.character + 1}: {severity}: {message} [{code}]"


def as_json(name: str, lines: LineIndex, diagnostic: Diagnostic) -> dict[str, Any]:
    """0-based lines and UTF-16 characters, as in LSP."""
    rng = lines.range(diagnostic.span, Encoding.UTF16)
    return {
        "file": name,
        "range": {
            "start": {"line": rng.start.line, "character": rng.start.character},
            "end": {"line": rng.end.line, "character": rng.end.character},
        },
        "severity": diagnostic.severity.label,
        "code": diagnostic.code,
        "message": diagnostic.message,
    }


def summary(errors: int, warnings: int, files: int) -> str:
    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    return f"{plural(errors, 'error')}, {plural(warnings, 'warning')} in {plural(files, 'file')}"
