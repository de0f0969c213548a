"""The converted diagnostics a large document's next version reuses: only those whose editor positions and text did
not change, and their JSON made once."""

from __future__ import annotations

import json

from lsprotocol import types as lsp
from pygls.protocol import default_converter

from heddle_lang.diagnostics import Diagnostic, shifted
from heddle_lang.remembered import FLOOR, SLACK, Remembered
from heddle_lang.text import Encoding, LineIndex, Span
from heddle_lsp.convert import DiagnosticCache, lsp_diagnostic

URI = "file:///w/a.he"
TEXT = b"step a = x\nstep b = y\nstep c = z\n"


def _convert(cache: DiagnosticCache, data: bytes, diagnostics: tuple[Diagnostic, ...]) -> list[lsp.Diagnostic]:
    out = cache.convert(URI, LineIndex(data), diagnostics, Encoding.UTF16)
    assert out == [lsp_diagnostic(URI, LineIndex(data), d, Encoding.UTF16) for d in diagnostics]
    return out


def test_a_diagnostic_moved_by_bytes_but_not_in_the_editor_is_the_same_object() -> None:
    cache = DiagnosticCache()
    first = (Diagnostic("HE1005", Span(5, 6), "one"), Diagnostic("HE1005", Span(27, 28), "three"))
    before = _convert(cache, TEXT, first)
    # A space inserted at the end of line 2: the diagnostic of line 3 moves one byte, not in the editor.
    edited = TEXT.replace(b"= y\n", b"= y \n")
    after = _convert(cache, edited, (first[0], shifted(first[1], 1)))
    assert after[0] is before[0] and after[1] is before[1]


def test_a_diagnostic_whose_column_changed_is_converted_again() -> None:
    cache = DiagnosticCache()
    before = _convert(cache, TEXT, (Diagnostic("HE1005", Span(16, 17), "two"),))
    # Two bytes of one UTF-16 unit before it on its line: the same byte column is another editor column.
    edited = TEXT.replace(b"step b", b"st\xc3\xa9 b")
    after = _convert(cache, edited, (Diagnostic("HE1005", Span(16, 17), "two"),))
    assert after[0] is not before[0] and after[0].range.start.character == before[0].range.start.character - 1


def test_the_json_of_a_kept_diagnostic_is_made_once_and_the_same_as_without_the_cache() -> None:
    cache, plain = DiagnosticCache(), default_converter()
    converter = default_converter()
    made = []

    def counting(diagnostic: lsp.Diagnostic) -> object:
        made.append(diagnostic)
        return plain.unstructure(diagnostic)

    converter.register_unstructure_hook(lsp.Diagnostic, cache.json_hook(counting))
    out = _convert(cache, TEXT, (Diagnostic("HE1005", Span(5, 6), "one"),))
    params = lsp.PublishDiagnosticsParams(uri=URI, diagnostics=out)
    assert json.dumps(converter.unstructure(params)) == json.dumps(plain.unstructure(params))
    converter.unstructure(params)
    assert len(made) == 1
    cache.forget(URI)
    converter.unstructure(params)
    assert len(made) == 2


def test_the_json_text_of_a_publish_is_that_of_its_diagnostics_each_made_once() -> None:
    cache, plain = DiagnosticCache(), default_converter()
    made = []

    def counting(diagnostic: lsp.Diagnostic) -> object:
        made.append(diagnostic)
        return plain.unstructure(diagnostic)

    out = _convert(cache, TEXT, (Diagnostic("HE1005", Span(5, 6), "one"), Diagnostic("HE1005", Span(16, 17), "two")))
    text = cache.json_text(URI, out, counting)
    assert json.loads(text) == plain.unstructure(out)
    assert cache.json_text(URI, out, counting) == text and len(made) == 2  # the second publish joins the texts
    stranger = lsp_diagnostic(URI, LineIndex(TEXT), Diagnostic("HE1005", Span(27, 28), "three"), Encoding.UTF16)
    assert json.loads(cache.json_text(URI, [stranger], counting)) == plain.unstructure([stranger])


def test_remembered_results_are_bounded_by_the_largest_document() -> None:
    memo: Remembered[int, int] = Remembered()
    for key in range(FLOOR):
        memo.put(key, key, declarations=10)
    assert memo.get(0) == 0
    memo.put(FLOOR, FLOOR, declarations=10)  # full: cleared, then this one kept
    assert memo.get(0) is None and memo.get(FLOOR) == FLOOR
    large = FLOOR  # a document with more declarations lets the memo hold SLACK times as many
    for key in range(SLACK * large - 1):
        memo.put(key, key, declarations=large)
    memo.put(-1, -1, declarations=10)
    assert memo.get(0) == 0 and memo.get(-1) == -1
