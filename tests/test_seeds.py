"""The design documents' programs, verbatim in examples/seeds/, against the promises about them."""

from __future__ import annotations

from pathlib import Path

import pytest

from heddle_engine.catalog import load_catalog
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse

EXAMPLES = Path(__file__).parent.parent / "examples"
CATALOG = load_catalog(EXAMPLES)


def errors(name: str) -> list[tuple[int, str, str]]:
    tree = parse((EXAMPLES / "seeds" / name).read_text(encoding="utf-8"))
    found = analyze(tree, CATALOG).diagnostics
    return [(tree.lines.line_of(d.span.start) + 1, d.code, d.message) for d in found if d.is_error]


@pytest.mark.parametrize("name", ["fraud_detection.he", "validate_emails.he"])
def test_complete_seed_programs_check_without_errors(name: str) -> None:
    assert errors(name) == []


def test_the_direct_reference_example_is_reported_for_users_it_never_assigns() -> None:
    (problem,) = errors("validate_emails_direct.he")
    line, code, message = problem
    assert (line, code) == (28, "HE6002")
    assert "`users`" in message


@pytest.mark.parametrize("name", ["analytics.he", "detailed_error_handler.he"])
def test_fragments_lack_only_their_context(name: str) -> None:
    """The overview's snippets use names they do not declare; nothing else is wrong with them."""
    assert {code for _, code, _ in errors(name)} <= {"HE3003", "HE6002"}


def test_every_seed_parses_and_keeps_the_layout_rules() -> None:
    for path in sorted((EXAMPLES / "seeds").glob("*.he")):
        codes = {d.code for d in analyze(parse(path.read_text(encoding="utf-8")), CATALOG).diagnostics}
        assert not {c for c in codes if c.startswith(("HE1", "HE2"))}, path.name
