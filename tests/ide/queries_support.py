"""Real analyses for the tests of the navigation, symbol, range, token and action queries."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from heddle_engine.catalog import load_catalog
from heddle_lang.catalog import Catalog
from heddle_lang.diagnostics import TextEdit, apply_edits
from heddle_lang.semantic import Analysis, analyze
from heddle_lang.syntax import parse
from heddle_lang.text import Span

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
EXAMPLE_FILES = sorted([*EXAMPLES.glob("*.he"), *(EXAMPLES / "seeds").glob("*.he")])


@cache
def catalog() -> Catalog:
    return load_catalog(EXAMPLES)


def analysis_of(text: str, with_catalog: Catalog | None = None) -> Analysis:
    return analyze(parse(text), with_catalog or catalog())


def example(name: str) -> Analysis:
    path = EXAMPLES / name
    return analysis_of(path.read_text(encoding="utf-8"))


def at(analysis: Analysis, needle: str, nth: int = 0, shift: int = 0) -> int:
    """The byte offset of the `nth` occurrence of `needle` in the document, plus `shift` bytes."""
    data, raw = analysis.tree.data, needle.encode("utf-8")
    index = -1
    for _ in range(nth + 1):
        index = data.index(raw, index + 1)
    return index + shift


def text_of(analysis: Analysis, span: Span | None) -> str:
    assert span is not None
    return analysis.tree.slice(span)


def applied(analysis: Analysis, edits: list[TextEdit] | tuple[TextEdit, ...]) -> str:
    return apply_edits(analysis.tree.data, list(edits)).decode("utf-8")
