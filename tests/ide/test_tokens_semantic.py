"""Semantic tokens: types, modifiers, lines, ranges and the legend."""

from __future__ import annotations

import pytest

from heddle_lang.ide.results import SemanticToken
from heddle_lang.ide.tokens import TOKEN_MODIFIERS, TOKEN_TYPES, legend_indices, semantic_tokens
from heddle_lang.semantic import Analysis
from tests.ide.queries_support import EXAMPLE_FILES, analysis_of, example


def described(analysis: Analysis, tokens: list[SemanticToken]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(analysis.tree.slice(t.span), t.type, t.modifiers) for t in tokens]


def check_tokens(analysis: Analysis, tokens: list[SemanticToken]) -> None:
    lines = analysis.tree.lines
    previous_end = 0
    for token in tokens:
        assert token.span.start >= previous_end, "sorted and not overlapping"
        assert token.span.end > token.span.start
        assert lines.line_of(token.span.start) == lines.line_of(token.span.end - 1), "on one line"
        assert b"\n" not in analysis.tree.data[token.span.start : token.span.end]
        assert token.type in TOKEN_TYPES
        assert set(token.modifiers) <= set(TOKEN_MODIFIERS)
        previous_end = token.span.end


def test_tokens_of_the_fraud_seed() -> None:
    analysis = example("seeds/fraud_detection.he")
    tokens = described(analysis, semantic_tokens(analysis))
    expected = [
        ("import", "keyword", ()), ('"fhub/kafka"', "string", ()), ("kafka", "namespace", ("declaration",)),
        ("resource", "keyword", ()), ("pg_db", "variable", ("declaration", "readonly")), ("=", "operator", ()),
        ("pg", "namespace", ()), ("connection", "function", ()), ("host", "property", ()),
        ('"pg.internal"', "string", ()), ("// PostgreSQL", "comment", ()),
        ("step", "keyword", ()), ("fetch_user_data", "function", ("declaration",)),
        ("connection", "parameter", ()), ("pg_db", "variable", ("readonly",)),
        ("handler", "keyword", ()), ("alert_on_fail", "event", ("declaration",)), ("*", "keyword", ()),
        ("|", "operator", ()), ("workflow", "keyword", ()), ("FraudDetection", "type", ("declaration",)),
        ("?", "operator", ()), ("alert_on_fail", "event", ()), (">", "operator", ()),
        ("tx_stream", "variable", ("declaration",)), ("tx_stream", "variable", ()),
        ("from", "keyword", ()), ("input", "variable", ("defaultLibrary",)), ("filter", "keyword", ()),
        ("10000", "number", ()), ("select", "keyword", ()), ("fraud_detection", "namespace", ()),
        ("process", "function", ()), ("alert_step_fail", "event", ()), ("join", "keyword", ()),
        ("fetch_user_data", "variable", ()), ("fetch_risk_profile", "variable", ()),
        ("generate_audit", "function", ()), ('"fraud_audits"', "string", ()),
    ]
    for token in expected:
        assert token in tokens, token
    # Column names in PRQL are left to the editor's grammar.
    assert not any(text in ("amount", "user_id") for text, _, _ in tokens)
    check_tokens(analysis, semantic_tokens(analysis))


def test_tokens_in_relational_blocks_skip_strings_and_comments() -> None:
    text = 'workflow W {\n  (from t # from select join\n    derive {s = "from select", n = 3}\n    take 1)\n}\n'
    analysis = analysis_of(text)
    tokens = described(analysis, semantic_tokens(analysis))
    assert [t for t in tokens if t[1] == "keyword"] == [
        ("workflow", "keyword", ()), ("from", "keyword", ()), ("derive", "keyword", ()), ("take", "keyword", ())]
    assert ("# from select join", "comment", ()) in tokens
    assert ('"from select"', "string", ()) in tokens
    assert ("t", "variable", ()) in tokens
    assert ("3", "number", ()) in tokens


def test_field_and_argument_names_are_not_keywords() -> None:
    analysis = analysis_of("workflow W {\n  (from a | join side:left b (==id) | select {x.select, from = 1})\n}\n")
    keywords = [t[0] for t in described(analysis, semantic_tokens(analysis)) if t[1] == "keyword"]
    assert keywords == ["workflow", "from", "join", "select"]


def test_multi_line_strings_and_comments_give_one_token_a_line() -> None:
    text = '/* one\n   two */\nstep s = io.x {\n  q: """SELECT 1\n\nFROM t"""\n}\n'
    analysis = analysis_of(text)
    tokens = semantic_tokens(analysis)
    assert [t for t in described(analysis, tokens) if t[1] in ("comment", "string")] == [
        ("/* one", "comment", ()), ("   two */", "comment", ()),
        ('"""SELECT 1', "string", ()), ('FROM t"""', "string", ())]
    check_tokens(analysis, tokens)


def test_non_ascii_text_keeps_byte_spans() -> None:
    text = ('// Übersicht — 日本\nworkflow Main {\n  [{ name: "Zoë", n: 1 }]\n'
            '    | (derive {t = "日本"} select {t})\n}\n')
    analysis = analysis_of(text)
    tokens = described(analysis, semantic_tokens(analysis))
    assert tokens[:2] == [("// Übersicht — 日本", "comment", ()), ("workflow", "keyword", ())]
    assert ('"Zoë"', "string", ()) in tokens and ('"日本"', "string", ()) in tokens
    assert ("select", "keyword", ()) in tokens and ("derive", "keyword", ()) in tokens


def test_a_name_takes_the_type_of_what_it_names() -> None:
    text = ('import "std/io" io\n\nhandler h {\n  *\n    | io.stderr\n}\n\nworkflow W ? h {\n  h\n    | io.print\n'
            "  ghost\n    | io.print\n}\n")
    analysis = analysis_of(text)
    tokens = described(analysis, semantic_tokens(analysis))
    assert ("h", "event", ()) in tokens  # a handler used as a source (an error) is still a handler
    assert ("ghost", "variable", ()) in tokens  # unresolved


def test_range_requests_return_the_tokens_that_meet_the_range() -> None:
    analysis = example("seeds/validate_emails.he")
    everything = semantic_tokens(analysis)
    start, end = 300, 700
    part = semantic_tokens(analysis, start, end)
    assert part == [t for t in everything if t.span.end > start and t.span.start < end]
    assert semantic_tokens(analysis, -10, 10**9) == everything
    assert semantic_tokens(analysis, 500, 400) == []


def test_legend_indices() -> None:
    analysis = analysis_of("step s = a.b\n")
    tokens = semantic_tokens(analysis)
    indices = list(legend_indices(tokens))
    assert indices[1] == (TOKEN_TYPES.index("function"), 1 << TOKEN_MODIFIERS.index("declaration"))
    assert len(set(TOKEN_TYPES)) == len(TOKEN_TYPES) and len(set(TOKEN_MODIFIERS)) == len(TOKEN_MODIFIERS)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_tokens_of_the_examples_are_well_formed(path) -> None:  # type: ignore[no-untyped-def]
    analysis = analysis_of(path.read_text(encoding="utf-8"))
    check_tokens(analysis, semantic_tokens(analysis))


@pytest.mark.parametrize("text", [
    "", "workflow", "workflow W {\n  (from x # (\n", 'step s = io.x { q: """open\n', "/* open\n\n",
    "\U0001f600 step \u00e9 = {\n", "handler h {\n  * | io.\n", "workflow W {\n  [ { a: 1 }, x ]\n    > \n",
])
def test_tokens_of_broken_text(text: str) -> None:
    analysis = analysis_of(text)
    check_tokens(analysis, semantic_tokens(analysis))


def test_crlf_line_ends_stay_out_of_tokens() -> None:
    analysis = analysis_of('/* a\r\n b */\r\nstep s = io.x {\r\n  q: """x\r\ny"""\r\n}\r\n')
    tokens = semantic_tokens(analysis)
    assert not any(b"\r" in analysis.tree.data[t.span.start : t.span.end] for t in tokens)
    check_tokens(analysis, tokens)
