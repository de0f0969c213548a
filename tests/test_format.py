"""The formatter: expected output per case, idempotence, meaning preserved, errors refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from heddle_lang.formatter import format_text
from heddle_lang.syntax import parse
from tests.meaning import same_meaning

ROOT = Path(__file__).parent.parent
FORMAT_CASES = sorted((ROOT / "tests" / "cases" / "format").glob("*.he"))
INPUTS = [p for p in FORMAT_CASES if not p.name.endswith(".expected.he")]
ALL_SOURCES = sorted(
    p for p in [*(ROOT / "tests" / "cases").rglob("*.he"), *(ROOT / "examples").rglob("*.he")]
    if not p.name.endswith(".expected.he")
)


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.stem)
def test_expected_output(path: Path, update_snapshots: bool) -> None:
    result = format_text(path.read_text(encoding="utf-8"))
    assert result.text is not None, [e.message for e in result.errors]
    expected = path.with_name(path.stem + ".expected.he")
    if update_snapshots or not expected.exists():
        expected.write_text(result.text, encoding="utf-8")
    assert result.text == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", ALL_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_idempotent_and_meaning_preserving(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    once = format_text(text)
    if once.text is None:
        assert parse(text).has_errors
        return
    twice = format_text(once.text)
    assert twice.text == once.text
    assert same_meaning(parse(text).ast, parse(once.text).ast)
    assert not parse(once.text).has_errors


def test_formatted_text_passes_the_layout_check() -> None:
    from heddle_lang.check import check_tree

    for path in INPUTS:
        formatted = format_text(path.read_text(encoding="utf-8")).text
        assert formatted is not None
        assert [d.code for d in check_tree(parse(formatted))] == [], path.name


def test_text_with_syntax_errors_is_not_formatted() -> None:
    result = format_text("workflow W {\n  users\n    | (from input\n")
    assert result.text is None
    assert result.errors
    assert all(e.code.startswith("HE1") for e in result.errors)


def test_comments_are_all_kept() -> None:
    source = (ROOT / "tests" / "cases" / "format" / "comments_everywhere.he").read_text(encoding="utf-8")
    formatted = format_text(source).text
    assert formatted is not None

    def comments(text: str) -> list[str]:
        tree = parse(text)
        found = []
        stack = [tree.root]
        while stack:
            node = stack.pop()
            if node.type == "comment":
                found.append(node.text.decode())
            stack.extend(node.children)
        return sorted(found)

    assert comments(formatted) == comments(source)
