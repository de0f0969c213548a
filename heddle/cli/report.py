"""Rendering diagnostics: compiler-style lines, or JSON with LSP-shaped ranges."""

from __future__ import annotations

from typing import Any

from heddle_lang.diagnostics import Diagnostic
from heddle_lang.text import Encoding, LineIndex


def line(name: str, lines: LineIndex, diagnostic: Diagnostic) -> str:
    """`file:line:col: severity: message [CODE]`, 1-based, the column in characters."""
    position = lines.position(diagnostic.span.start, Encoding.UTF32)
    return (f"{name}:{position.line + 1}:{position.character + 1}: {diagnostic.severity.label}: "
            f"{diagnostic.message} [{diagnostic.code}]")


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
