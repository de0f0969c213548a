"""Hover, completion, inlay hints and lenses never raise: every offset of every example, and every
prefix of them as if typed (the queries are called unwrapped, so a bug shows as an exception)."""

from __future__ import annotations

from pathlib import Path

import pytest

from heddle_lang.ide.completion import complete
from heddle_lang.ide.hover import hover
from heddle_lang.ide.inlay import inlay_hints
from heddle_lang.ide.lens import code_lenses
from heddle_lang.semantic import Analysis
from tests.ide.assist_support import EXAMPLE_FILES, analysis_of, paths

raw_hover = hover.__wrapped__  # type: ignore[attr-defined]
raw_complete = complete.__wrapped__  # type: ignore[attr-defined]
raw_inlay = inlay_hints.__wrapped__  # type: ignore[attr-defined]
raw_lenses = code_lenses.__wrapped__  # type: ignore[attr-defined]


def every_query(analysis: Analysis, offsets: range | list[int]) -> None:
    for offset in offsets:
        raw_hover(analysis, offset)
        raw_complete(analysis, offset, paths())
    raw_inlay(analysis, 0, len(analysis.tree.data))
    raw_lenses(analysis)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_offset_of_the_examples(path: Path) -> None:
    analysis = analysis_of(path.read_text(encoding="utf-8"))
    every_query(analysis, range(-1, len(analysis.tree.data) + 2))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_typing_the_examples(path: Path) -> None:
    """Each prefix ending inside a line (where the text is most broken), queried at its end."""
    text = path.read_text(encoding="utf-8")
    cuts = sorted({i for i, ch in enumerate(text) if ch in " .<={(|:\"?,"} | {len(text)})
    for cut in cuts[::2]:
        prefix = text[: cut + 1]
        analysis = analysis_of(prefix)
        end = len(analysis.tree.data)
        every_query(analysis, [end, max(0, end - 1)])


@pytest.mark.parametrize("text", [
    "", "(", ")", "<", ">", "{", "}", "|", "?", "*", ".", ":", "=", ",", '"', '"""', "/*", "//",
    "workflow", "workflow W {", "workflow W {\n  (", "workflow W {\n  (from", "workflow W {\n  x\n    | <a=",
    "step s = <", "step s = <a=b", "step s = <a=b>", "resource r = x.", "import", 'import "', "import \"a\" b\n",
    "workflow W {\n  [{ a: ", "handler h {\n  *\n    | (select `a", "workflow W {\n  x\n    | (from input # (",
    "é", "workflow W {\n  x\n    | ('\u00e9", "\x00\xff", "step s = io.read_csv { schema: { a: ",
])
def test_odd_texts(text: str) -> None:
    analysis = analysis_of(text)
    every_query(analysis, range(-1, len(analysis.tree.data) + 2))


def test_deep_nesting_and_long_documents_answer_quickly() -> None:
    deep = 'import "std/io" io\nstep s = io.read_csv { path: "x", schema: ' + "{ a: " * 3000 + "‸"
    index = deep.index("‸")
    analysis = analysis_of(deep.replace("‸", ""))
    offset = len(deep[:index].encode())
    assert raw_complete(analysis, offset, ()) == []
    raw_hover(analysis, offset - 3)
    long = 'import "std/io" io\nworkflow W {\n' + '  [{ a: 1 }]\n    | (select a)\n    | io.print\n' * 300 + "}\n"
    analysis = analysis_of(long)
    end = len(analysis.tree.data)
    every_query(analysis, range(end - 40, end))
    assert len(raw_inlay(analysis, 0, end)) == 900
