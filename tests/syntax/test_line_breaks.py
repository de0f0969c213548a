"""One definition of a line everywhere, LSP's: `\\n`, `\\r\\n` and a lone `\\r` each end a line.

The checker, the layout rules, the formatter and the positions of diagnostics read a program the same
whichever break it uses; the formatter writes `\\n` between lines and never touches a string's content.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from heddle_engine.catalog import load_catalog
from heddle_lang.check import check_tree
from heddle_lang.formatter import format_text
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse
from heddle_lang.text import Encoding, Position

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("*.he") if p.is_file())
BREAKS = ["\n", "\r\n", "\r"]


def positions(text: str, *, semantic: bool = False, folder: Path | None = None) -> list[tuple[str, Position, Position]]:
    tree = parse(text)
    diagnostics = analyze(tree, load_catalog(folder)).diagnostics if semantic and folder else check_tree(tree)
    lines = tree.lines
    return [(d.code, lines.position(d.span.start, Encoding.UTF16), lines.position(d.span.end, Encoding.UTF16))
            for d in diagnostics]


def with_breaks(text: str, rng: random.Random | None, brk: str = "\n") -> str:
    """`text` with each `\\n` replaced by `brk`, or by a random break when `rng` is given (never a `\\r`
    right before a `\\n`: that pair is one break)."""
    if rng is None:
        return text.replace("\n", brk)
    out = ""
    for piece in re.split("(\n)", text):
        out += rng.choice(BREAKS[1:] if out.endswith("\r") else BREAKS) if piece == "\n" else piece
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_kind_of_line_break_reads_the_same(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    expected = positions(text, semantic=True, folder=path.parent)
    formatted = format_text(text).text
    for variant in [with_breaks(text, None, "\r"), with_breaks(text, None, "\r\n"),
                    with_breaks(text, random.Random(len(text)))]:
        assert positions(variant, semantic=True, folder=path.parent) == expected
        assert format_text(variant).text == formatted


@pytest.mark.parametrize("brk", BREAKS, ids=repr)
def test_layout_diagnostics_land_on_lsp_lines(brk: str) -> None:
    text = with_breaks('import "std/io" io\n\nworkflow W {\n  [{ a: 1 }]\n    | io.print | io.print\n}\n', None, brk)
    (pipe,) = [d for d in check_tree(parse(text)) if d.code == "HE2005"]
    assert parse(text).lines.position(pipe.span.start) == Position(4, 15)


def test_the_formatter_keeps_line_breaks_inside_strings() -> None:
    text = ('import "std/io" io\r\rworkflow W {\r  [{ a: 1 }]\r'
            '    | (from input derive {s = """x\ry\r\n  z  \r"""})\r'
            '    | io.print { title: """a\rb  \r\nc""" }\r}\r')
    formatted = format_text(text).text
    assert formatted is not None
    assert '"""x\ry\r\n  z  \r"""' in formatted
    assert '"""a\rb  \r\nc"""' in formatted
    assert formatted.replace('"""x\ry\r\n  z  \r"""', "").replace('"""a\rb  \r\nc"""', "").count("\r") == 0
    assert format_text(formatted).text == formatted
    assert [d.code for d in check_tree(parse(formatted)) if d.code[:3] in ("HE1", "HE2")] == []


def test_a_relational_block_reindents_around_a_string_with_carriage_returns() -> None:
    text = ('workflow W {\n  [{ a: 1 }]\n      | (\n            from input\n'
            '            derive {s = """one\r   two"""}\n          )\n}\n')
    formatted = format_text(text).text
    assert formatted is not None
    assert '"""one\r   two"""' in formatted
    assert "    | (\n          from input\n" in formatted  # moved 2 columns left with its stage
    assert format_text(formatted).text == formatted


def test_a_lone_carriage_return_ends_a_line_comment_and_a_prql_comment() -> None:
    text = 'workflow W {\r  [{ a: 1 }] // c\r    | (from input # c\r      select a)\r}\r'
    assert [d.code for d in check_tree(parse(text))] == []
    formatted = format_text(text).text
    assert formatted is not None and "\r" not in formatted
