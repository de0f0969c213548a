"""Document outline and workspace symbol search."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from heddle_lang.ide.results import Symbol
from heddle_lang.ide.symbols import document_symbols, match_score, workspace_symbols
from heddle_lang.semantic import Analysis
from tests.ide.queries_support import EXAMPLE_FILES, EXAMPLES, analysis_of, example, text_of


def flat(symbols: Iterable[Symbol], depth: int = 0) -> list[tuple[int, str, str]]:
    out = []
    for symbol in symbols:
        out.append((depth, symbol.kind, symbol.name))
        out.extend(flat(symbol.children, depth + 1))
    return out


def check_shape(analysis: Analysis, symbols: Iterable[Symbol], parent: Symbol | None = None) -> None:
    """What LSP requires: non-empty names, the selection inside the span, children inside their parent."""
    size = len(analysis.tree.data)
    for symbol in symbols:
        assert symbol.name.strip()
        assert 0 <= symbol.span.start <= symbol.span.end <= size
        assert symbol.span.covers(symbol.selection)
        if parent is not None:
            assert parent.span.covers(symbol.span)
        check_shape(analysis, symbol.children, symbol)


def test_outline_of_the_fraud_detection_seed() -> None:
    analysis = example("seeds/fraud_detection.he")
    symbols = document_symbols(analysis)
    assert [(s.kind, s.name, s.detail) for s in symbols] == [
        ("import", "kafka", "fhub/kafka"), ("import", "pg", "fhub/postgresql"), ("import", "ch", "fhub/clickhouse"),
        ("import", "openai", "fhub/llm"), ("import", "fraud_detection", "fraud-score/detect"),
        ("resource", "pg_db", "pg.connection"), ("resource", "ch_db", "ch.connection"),
        ("resource", "kf_broker", "kafka.connection"),
        ("step", "fetch_user_data", "pg.query"), ("step", "fetch_risk_profile", "ch.query"),
        ("step", "generate_audit", "openai.prompt"),
        ("handler", "alert_on_fail", ""), ("handler", "alert_step_fail", ""),
        ("workflow", "FraudDetection", "? alert_on_fail"),
    ]
    workflow = symbols[-1]
    assert flat(workflow.children) == [
        (0, "pipeline", "kafka.consume"),
        (1, "stage", "kafka.consume"),
        (1, "assignment", "tx_stream"),
        (0, "pipeline", "tx_stream"),
        (1, "stage", "tx_stream"),
        (1, "stage", "| (from input filter amount > 10000 sele...)"),
        (1, "stage", "| fraud_detection.process ? alert_step_fail"),
        (1, "stage", "| (from input join fetch_user_data (==us...)"),
        (1, "stage", "| generate_audit"),
        (1, "stage", "| kafka.produce"),
    ]
    consume, assignment = workflow.children[0].children
    assert consume.detail.startswith("{key: Binary, topic: String")
    assert assignment.detail == consume.detail
    assert text_of(analysis, assignment.selection) == "tx_stream"
    assert workflow.children[0].detail == "> tx_stream"
    audit = workflow.children[1].children[4]
    assert "response: String" in audit.detail
    check_shape(analysis, symbols)


def test_outline_details_are_schemas_of_stages() -> None:
    analysis = example("quickstart.he")
    workflow = document_symbols(analysis)[-1]
    frame = workflow.children[0].children[0]
    assert frame.name == "[3 rows]"
    assert frame.detail == "{id: Int64, customer: String, amount: Float64, country: String}"
    large = workflow.children[1].children[1]
    assert large.detail == "{id: Int64, customer: String, amount: Float64}"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_outlines_of_the_examples_are_well_formed(path) -> None:  # type: ignore[no-untyped-def]
    analysis = analysis_of(path.read_text(encoding="utf-8"))
    symbols = document_symbols(analysis)
    assert symbols
    check_shape(analysis, symbols)


@pytest.mark.parametrize("text", [
    "",
    'import "std/io"\n',
    "step = \nresource r = \nhandler {\n  *\n",
    "workflow W {\n  (from x\n",
    "x\n  | y\n> z\n",
    "// é日\U0001f600\nworkflow Ünïcode {\n}\n",
    'import "a" a\nworkflow W ? {\n  a.\n    | [\n',
])
def test_outline_of_broken_text(text: str) -> None:
    analysis = analysis_of(text)
    check_shape(analysis, document_symbols(analysis))


def test_imports_without_alias_and_stray_pipelines_are_listed() -> None:
    analysis = analysis_of('import "std/io" io\n\nreader\n  | io.print\n\nimport "fhub/kafka"\n')
    assert [(s.kind, s.name) for s in document_symbols(analysis)] == [
        ("import", "io"), ("pipeline", "reader"), ("import", '"fhub/kafka"')]


def test_non_ascii_names_in_strings_and_comments_keep_byte_spans() -> None:
    text = '// Übersicht — 日本\nimport "std/io" io\n\nworkflow W {\n  [{ name: "Zoë" }]\n    | io.print\n}\n'
    analysis = analysis_of(text)
    symbols = document_symbols(analysis)
    assert [text_of(analysis, s.selection) for s in symbols] == ["io", "W"]
    stage = symbols[1].children[0].children[0]
    assert text_of(analysis, stage.selection) == '[{ name: "Zoë" }]'
    assert stage.detail == "{name: String}"


# --- workspace symbols -------------------------------------------------------------------------------


def workspace() -> list[tuple[str, Analysis]]:
    return [(str(p.relative_to(EXAMPLES)), analysis_of(p.read_text(encoding="utf-8"))) for p in EXAMPLE_FILES]


def test_workspace_symbols_match_across_documents_best_first() -> None:
    found = workspace_symbols(workspace(), "fetch_u")
    assert [(path, s.name) for path, s in found] == [
        ("seeds/fraud_detection.he", "fetch_user_data"),
        ("seeds/validate_emails.he", "fetch_users"),
        ("seeds/validate_emails_direct.he", "fetch_users"),
        ("analytics.he", "fetch_active_users"),  # only the letters in order: last
    ]
    assert all(not s.children for _, s in found)


def test_workspace_symbols_rank_exact_prefix_substring_then_fuzzy() -> None:
    found = [s.name for _, s in workspace_symbols(workspace(), "Analytics")]
    assert found[0] == "Analytics"
    names = [s.name for _, s in workspace_symbols(workspace(), "fail")]
    assert names == ["log_failure", "alert_on_fail", "alert_step_fail"]  # equally good: by path
    assert [s.name for _, s in workspace_symbols(workspace(), "frd")] == ["fetch_user_data", "FraudDetection"]


def test_workspace_symbols_cover_declarations_only() -> None:
    everything = workspace_symbols(workspace(), "")
    kinds = {s.kind for _, s in everything}
    assert kinds == {"resource", "step", "handler", "workflow"}
    assert workspace_symbols(workspace(), "zzz_nothing") == []
    assert workspace_symbols([], "x") == []


@pytest.mark.parametrize(("name", "query", "score"), [
    ("fetch_users", "fetch_users", 0), ("fetch_users", "FETCH", 1), ("fetch_users", "users", 2),
    ("fetch_users", "fus", 4), ("fetch_users", "suf", None), ("x", "", 3),
])
def test_match_score(name: str, query: str, score: int | None) -> None:
    assert match_score(name, query) == score
