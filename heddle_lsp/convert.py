"""Conversions between `heddle_lang` values and LSP types: the only place that knows both."""

from __future__ import annotations

from lsprotocol import types as lsp

from heddle_lang.diagnostics import Diagnostic, Severity, Tag
from heddle_lang.text import Encoding, LineIndex, Span

_TAGS = {Tag.UNNECESSARY: lsp.DiagnosticTag.Unnecessary, Tag.DEPRECATED: lsp.DiagnosticTag.Deprecated}


def encoding_of(kind: str | None) -> Encoding:
    return Encoding(kind) if kind in {e.value for e in Encoding} else Encoding.UTF16


def lsp_range(lines: LineIndex, span: Span, encoding: Encoding) -> lsp.Range:
    rng = lines.range(span, encoding)
    return lsp.Range(
        start=lsp.Position(line=rng.start.line, character=rng.start.character),
        end=lsp.Position(line=rng.end.line, character=rng.end.character),
    )


def lsp_diagnostic(uri: str, lines: LineIndex, diagnostic: Diagnostic, encoding: Encoding) -> lsp.Diagnostic:
    return lsp.Diagnostic(
        range=lsp_range(lines, diagnostic.span, encoding),
        message=diagnostic.message,
        severity=lsp.DiagnosticSeverity(int(diagnostic.severity)),
        code=diagnostic.code,
        source="heddle",
        tags=[_TAGS[t] for t in diagnostic.tags] or None,
        related_information=[
            lsp.DiagnosticRelatedInformation(
                location=lsp.Location(uri=uri, range=lsp_range(lines, related.span, encoding)),
                message=related.message,
            )
            for related in diagnostic.related
        ] or None,
    )


def whole_document(lines: LineIndex, encoding: Encoding) -> lsp.Range:
    return lsp_range(lines, Span(0, len(lines.data)), encoding)


__all__ = ["Severity", "encoding_of", "lsp_diagnostic", "lsp_range", "whole_document"]
