"""HE3012's fix removes the whole lines an unused declaration stands on, whatever ends them (`\n`, `\r\n`, a lone
`\r`, a comment after it, the end of the text) and wherever it starts (its line's start, or after another
declaration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from heddle_engine.catalog import load_catalog
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse
from heddle_lang.text import LineIndex

ROOT = Path(__file__).resolve().parents[1]

BODY = "step unused_{n} = io.print"
WORKFLOW = "workflow W {\n  [\n    { id: 1 },\n  ]\n    | io.print\n}\n"  # a file with a workflow is no library


@pytest.mark.parametrize("before", ["", "step first = io.print "])
@pytest.mark.parametrize("after", ["\n", "\r\n", "\r", " // why\n", ""])
def test_the_fix_removes_the_lines_of_the_declaration(before: str, after: str) -> None:
    text = f'import "std/io" io\n{WORKFLOW}{before}{BODY.format(n=1)}{after}'
    data = text.encode()
    lines = LineIndex(data)
    start = data.index(b"step unused_1")
    end = start + len(BODY.format(n=1))
    first, last = lines.line_of(start), lines.line_of(end)
    expected = (lines.line_starts[first],
                lines.line_starts[last + 1] if last + 1 < lines.line_count else len(data))
    found = [d for d in analyze(parse(text), load_catalog(ROOT / "examples")).diagnostics
             if d.code == "HE3012" and "unused_1" in d.message]
    assert len(found) == 1
    (edit,) = found[0].fixes[0].edits
    assert (edit.span.start, edit.span.end) == expected
