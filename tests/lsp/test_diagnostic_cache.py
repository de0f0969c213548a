"""The converted diagnostics a large document's next version reuses: only those whose editor positions and text did
not change, and their JSON made once."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from pygls.protocol import default_converter

from heddle_lang.diagnostic_runs import DiagnosticRuns, Run, runs_of
from heddle_lang.diagnostics import Diagnostic, Related, shifted
from heddle_lang.remembered import FLOOR, SLACK, Remembered
from heddle_lang.text import Encoding, LineIndex, Span
from heddle_lsp import convert
from heddle_lsp.convert import DiagnosticCache, lsp_diagnostic

URI = "file:///w/a.he"
TEXT = b"step a = x\nstep b = y\nstep c = z\n"


def _convert(cache: DiagnosticCache, data: bytes, diagnostics: Sequence[Diagnostic]) -> list[lsp.Diagnostic]:
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


def test_diagnostics_after_an_edit_that_adds_lines_are_the_ones_before_moved_down() -> None:
    cache = DiagnosticCache()
    first = (Diagnostic("HE1005", Span(5, 6), "one"), Diagnostic("HE1005", Span(27, 28), "three",
                                                                   related=(Related(Span(22, 23), "here"),)))
    before = _convert(cache, TEXT, first)
    edited = TEXT.replace(b"= y\n", b"= y\n\n\n")  # two lines more before the third
    after = _convert(cache, edited, (first[0], shifted(first[1], 2)))
    assert after[0] is before[0]
    assert after[1].range.start.line == before[1].range.start.line + 2
    assert after[1].related_information is not None and after[1].related_information[0].location.range.start.line == 4


def test_the_same_objects_on_a_text_changed_before_them_are_converted_again() -> None:
    cache = DiagnosticCache()
    diagnostics = (Diagnostic("HE1005", Span(16, 17), "two"), Diagnostic("HE1005", Span(27, 28), "three"))
    before = _convert(cache, TEXT, diagnostics)
    # The same byte length, one line more before both: the same objects stand on other lines.
    edited = TEXT.replace(b"step a", b"st\nr a")
    after = _convert(cache, edited, diagnostics)
    assert after[0].range.start.line == before[0].range.start.line + 1


_ALPHABET = "ab =\n\r\té"


@st.composite
def _edited(draw: st.DrawFn) -> tuple[bytes, tuple[Diagnostic, ...], bytes, tuple[Diagnostic, ...]]:
    """A text with diagnostics, an edit of it, and the edited text's diagnostics as an analysis gives them: those
    before the edit the same objects (or equal ones), those after it moved by as many bytes (or, some, the same objects
    although they moved), those around it new, some dropped."""
    text = draw(st.text(_ALPHABET, min_size=1, max_size=40)).encode()
    size = len(text)

    def span(high: int) -> Span:
        start = draw(st.integers(0, high))
        return Span(start, draw(st.integers(start, high)))

    def diagnostic(high: int) -> Diagnostic:
        related = tuple(Related(span(high), "r") for _ in range(draw(st.integers(0, 1))))
        return Diagnostic(draw(st.sampled_from(["HE1005", "HE3012"])), span(high), draw(st.sampled_from(["m", "n"])),
                          related=related)

    old = tuple(sorted((diagnostic(size) for _ in range(draw(st.integers(0, 6)))), key=lambda d: d.span.start))
    start = draw(st.integers(0, size))
    end = draw(st.integers(start, size))
    inserted = draw(st.text(_ALPHABET, max_size=6)).encode()
    data = text[:start] + inserted + text[end:]
    delta = len(inserted) - (end - start)
    new: list[Diagnostic] = []
    for d in old:
        places = [d.span, *(r.span for r in d.related)]
        if all(p.end < start for p in places):
            new.append(d if draw(st.booleans()) else shifted(d, 0))
        elif all(p.start >= end for p in places):
            new.append(shifted(d, delta) if delta and draw(st.integers(0, 4)) else d)
        elif draw(st.booleans()):
            new.append(diagnostic(len(data)))
    new.extend(diagnostic(len(data)) for _ in range(draw(st.integers(0, 2))))
    clamped = [d for d in new if all(p.end <= len(data) for p in (d.span, *(r.span for r in d.related)))]
    return text, old, data, tuple(sorted(clamped, key=lambda d: d.span.start))


@settings(max_examples=300, deadline=None)
@given(st.lists(_edited(), min_size=1, max_size=3))
def test_converted_diagnostics_equal_a_fresh_conversion_after_any_edit(
        edits: list[tuple[bytes, tuple[Diagnostic, ...], bytes, tuple[Diagnostic, ...]]]) -> None:
    for encoding in (Encoding.UTF16, Encoding.UTF8):
        cache = DiagnosticCache()
        for text, old, data, new in edits:
            for version, diagnostics in ((text, old), (data, new)):
                lines = LineIndex(version)
                out = cache.convert(URI, lines, diagnostics, encoding)
                assert out == [lsp_diagnostic(URI, lines, d, encoding) for d in diagnostics]


def test_the_diagnostics_an_edit_moved_are_taken_by_their_runs_without_comparing_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    cache = DiagnosticCache()
    first = (Diagnostic("HE1005", Span(5, 6), "one"), Diagnostic("HE1005", Span(27, 28), "three"))
    before = _convert(cache, TEXT, first)

    def compared(*_: object) -> bool:
        raise AssertionError("a diagnostic compared with the one before it: its run says what it is")

    monkeypatch.setattr(convert, "_moved_by", compared)
    edited = TEXT.replace(b"= y\n", b"= y \n")  # the analysis of the edit: the first as it was, the second moved
    after = _convert(cache, edited, DiagnosticRuns([Run(first, 0, 1, 0), Run(first, 1, 2, 1)]))
    assert after[0] is before[0] and after[1] is before[1]
    again = TEXT.replace(b"= y\n", b"= y  \n")  # the next edit's, made of those runs: the second moved once more
    later = _convert(cache, again, DiagnosticRuns([*runs_of(first, 0, 1), *runs_of(first, 1, 2, 2)]))
    assert later[1] is before[1]


@st.composite
def _spliced_versions(draw: st.DrawFn) -> list[tuple[bytes, Sequence[Diagnostic], bool]]:
    """Versions of a text, each with its diagnostics as a spliced analysis gives them (`DiagnosticRuns`): runs of the
    previous version's before the edit as they were, after it moved by its length, and new ones between; and whether
    the server converts that version (one converted, the next skipped: a burst of changes)."""
    text = draw(st.text(_ALPHABET, min_size=1, max_size=40)).encode()

    def diagnostic(high: int) -> Diagnostic:
        start = draw(st.integers(0, high))
        span = Span(start, draw(st.integers(start, high)))
        related = tuple(Related(Span(span.end, high), "r") for _ in range(draw(st.integers(0, 1))))
        return Diagnostic(draw(st.sampled_from(["HE1005", "HE3012"])), span, draw(st.sampled_from(["m", "n"])),
                          related=related)

    def places(d: Diagnostic) -> list[Span]:
        return [d.span, *(r.span for r in d.related)]

    first = tuple(sorted((diagnostic(len(text)) for _ in range(draw(st.integers(0, 6)))), key=lambda d: d.span))
    versions: list[tuple[bytes, Sequence[Diagnostic], bool]] = [(text, first, True)]
    for _ in range(draw(st.integers(1, 4))):
        data, diagnostics, _ = versions[-1]
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, len(data)))
        inserted = draw(st.text(_ALPHABET, max_size=6)).encode()
        edited = data[:start] + inserted + data[end:]
        kept = 0
        while kept < len(diagnostics) and all(p.end < start for p in places(diagnostics[kept])):
            kept += 1
        moved = len(diagnostics)
        while moved > kept and all(p.start >= end for p in places(diagnostics[moved - 1])):
            moved -= 1
        made = tuple(diagnostic(len(edited)) for _ in range(draw(st.integers(0, 2))))
        runs = [*runs_of(diagnostics, 0, kept), *runs_of(made),
                *runs_of(diagnostics, moved, len(diagnostics), len(inserted) - (end - start))]
        versions.append((edited, DiagnosticRuns(runs), draw(st.booleans())))
    return versions


@settings(max_examples=300, deadline=None)
@given(_spliced_versions())
def test_converted_runs_equal_a_fresh_conversion_after_any_edits(
        versions: list[tuple[bytes, Sequence[Diagnostic], bool]]) -> None:
    for encoding in (Encoding.UTF16, Encoding.UTF8):
        cache = DiagnosticCache()
        for data, diagnostics, converted in versions:
            if converted:
                lines = LineIndex(data)
                out = cache.convert(URI, lines, diagnostics, encoding)
                assert out == [lsp_diagnostic(URI, lines, d, encoding) for d in diagnostics]


def test_a_run_moved_otherwise_than_the_text_is_converted_again_where_the_text_alone_looks_the_same() -> None:
    # A byte inserted at the start of a run of equal bytes: the text before the diagnostic reads the same, the run says
    # the diagnostic moved one byte (one column) on.
    cache = DiagnosticCache()
    first = (Diagnostic("HE1005", Span(1, 2), "one"),)
    _convert(cache, b"aaaa\n", first)
    _convert(cache, b"aaaaa\n", DiagnosticRuns([Run(first, 0, 1, 1)]))
    # The same diagnostic at the same bytes of a text that grew before it, its end the same: not moved with the text.
    cache = DiagnosticCache()
    second = (Diagnostic("HE1005", Span(16, 17), "two"), Diagnostic("HE1005", Span(27, 28), "three"))
    _convert(cache, TEXT, second)
    _convert(cache, b"x" + TEXT, DiagnosticRuns(runs_of(second)))
