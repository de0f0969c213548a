"""Go to definition, references, highlights and rename on real analyses (offsets are bytes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from heddle_lang.ide.navigation import definition, highlights, prepare_rename, references, rename
from heddle_lang.ide.results import Location
from tests.ide.queries_support import analysis_of, applied, at, example, text_of

FRAUD = "seeds/fraud_detection.he"
EMAILS = "seeds/validate_emails.he"

UNICODE = '''import "std/io" io

// Données d'entrée — naïve ✓
workflow Main {
  [
    { id: 1, name: "Zoë" },
  ]
  > users

  users
    | (from input derive {tag = "日本"} join users (==id) select {users.id, input.name})
    | io.print

  (from u = users select {u.id})
    | io.print
}

workflow Other {
  [{ id: 2 }]
  > users
    | io.print
}
'''


def spans(analysis, locations: list[Location]) -> list[str]:  # type: ignore[no-untyped-def]
    return [text_of(analysis, loc.span) for loc in locations]


def source_line(location: Location) -> str:
    assert location.path is not None
    return Path(location.path).read_text(encoding="utf-8").splitlines()[location.line - 1]


# --- definition ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("needle", "nth", "declared"), [
    ("fetch_user_data (==", 0, "step fetch_user_data"),  # a table read in PRQL -> the step
    ("generate_audit\n", 0, "step generate_audit"),  # a step in a pipeline
    ("pg_db>", 0, "resource pg_db"),  # an injected resource
    ("alert_step_fail\n", 0, "handler alert_step_fail"),  # a trap
    ("tx_stream\n    |", 0, "> tx_stream"),  # an assignment
    ("kafka.produce", 1, 'import "fhub/kafka" kafka'),  # an import alias
])
def test_definition_of_a_use_is_its_declaration(needle: str, nth: int, declared: str) -> None:
    analysis = example(FRAUD)
    (location,) = definition(analysis, at(analysis, needle, nth, shift=1))
    assert location.path is None and location.span is not None
    name = text_of(analysis, location.span)
    data = analysis.tree.data
    line_start = data.rfind(b"\n", 0, location.span.start) + 1
    assert data[line_start : location.span.end].decode().strip().endswith(declared)
    assert name == declared.rsplit(maxsplit=1)[-1]


def test_definition_of_a_declared_name_is_itself() -> None:
    analysis = example(FRAUD)
    offset = at(analysis, "step fetch_risk_profile", shift=6)
    assert spans(analysis, definition(analysis, offset)) == ["fetch_risk_profile"]


def test_cursor_right_after_a_name_still_finds_it() -> None:
    analysis = example(FRAUD)
    offset = at(analysis, "generate_audit\n", shift=len("generate_audit"))
    (location,) = definition(analysis, offset)
    assert location.span is not None and location.span.start < at(analysis, "step generate_audit", shift=6) + 1


@pytest.mark.parametrize(("needle", "file", "name"), [
    ("kafka.produce", "kafka.py", "def produce"),
    ("pg.query", "postgresql.py", "def query"),
    ("pg.connection", "postgresql.py", "def connection"),  # a resource constructor
    ("fraud_detection.process", "fraud.py", "def process"),  # a project plugin
])
def test_definition_of_a_module_member_is_its_python_source(needle: str, file: str, name: str) -> None:
    analysis = example(FRAUD)
    offset = at(analysis, needle, shift=needle.index(".") + 2)
    (location,) = definition(analysis, offset)
    assert location.span is None and location.path is not None
    assert Path(location.path).name == file
    assert source_line(location).startswith(name)


def test_definition_of_an_import_path_is_the_module_source() -> None:
    analysis = example(EMAILS)
    (location,) = definition(analysis, at(analysis, "email/validate", shift=2))
    assert location.path is not None and Path(location.path).name == "email_validate.py"


@pytest.mark.parametrize("needle", ["workflow FraudDetection", "host:", "  *", "// Kafka", "connection=pg_db"])
def test_definition_elsewhere_is_empty(needle: str) -> None:
    analysis = example(FRAUD)
    assert definition(analysis, at(analysis, needle, shift=1)) == []


def test_unresolved_names_have_no_definition() -> None:
    analysis = example("seeds/validate_emails_direct.he")
    assert definition(analysis, at(analysis, "join users", shift=6)) == []


# --- references and highlights ---------------------------------------------------------------------


def test_references_of_an_assignment_include_prql_reads_and_qualifiers() -> None:
    analysis = example(EMAILS)
    offset = at(analysis, "> users", shift=3)
    found = references(analysis, offset, include_declaration=True)
    lines = [analysis.tree.lines.line_of(loc.span.start) + 1 for loc in found if loc.span]
    assert spans(analysis, found) == ["users"] * 5
    assert lines == [28, 30, 38, 38, 38]  # `> users`, `users`, `join users`, `users.id`, `users.email`
    without = references(analysis, at(analysis, "join users", shift=7), include_declaration=False)
    assert [loc.span for loc in without] == [loc.span for loc in found[1:]]


def test_references_are_scoped_to_the_workflow_of_an_assignment() -> None:
    analysis = analysis_of(UNICODE)
    main = references(analysis, at(analysis, "> users", shift=3), include_declaration=True)
    other = references(analysis, at(analysis, "> users", nth=1, shift=3), include_declaration=True)
    assert len(main) == 5  # `> users`, `users`, `join users`, `users.id`, `from u = users` (not `u.id`)
    assert len(other) == 1
    assert {loc.span for loc in main}.isdisjoint({loc.span for loc in other})
    assert spans(analysis, main) == ["users"] * 5


def test_references_of_a_module_member_are_its_other_calls() -> None:
    analysis = example(FRAUD)
    found = references(analysis, at(analysis, "kafka.produce", shift=7), include_declaration=True)
    assert spans(analysis, found) == ["produce"] * 3


def test_highlights_mark_the_definition_as_a_write() -> None:
    analysis = example(FRAUD)
    found = highlights(analysis, at(analysis, "kf_broker", nth=2))
    assert [(text_of(analysis, h.span), h.write) for h in found] == [
        ("kf_broker", True), ("kf_broker", False), ("kf_broker", False), ("kf_broker", False), ("kf_broker", False)]


def test_highlights_of_an_unresolved_name_show_its_other_spellings() -> None:
    analysis = analysis_of('workflow W {\n  missing\n    > a\n  missing\n    > b\n}\n')
    found = highlights(analysis, at(analysis, "missing", nth=1))
    assert len(found) == 2 and not any(h.write for h in found)


# --- rename ----------------------------------------------------------------------------------------


def test_prepare_rename_accepts_document_names_only() -> None:
    analysis = example(FRAUD)
    for needle, name in (("join fetch_user_data", "fetch_user_data"), ("step generate_audit", "generate_audit"),
                         ("=kf_broker", "kf_broker"), ("tx_stream\n    |", "tx_stream"), ("kafka.consume", "kafka"),
                         ("workflow FraudDetection", "FraudDetection"), ("? alert_on_fail", "alert_on_fail")):
        span = prepare_rename(analysis, at(analysis, needle, shift=needle.index(name) + 1))
        assert span is not None, needle
        assert text_of(analysis, span) == name
    for needle in ("kafka.produce", "host:", "connection=", "step ", "| ("):
        offset = at(analysis, needle, shift=needle.find(".") + 2 if "." in needle else 1)
        assert prepare_rename(analysis, offset) is None, needle


def test_rename_a_step_rewrites_prql_and_checks_the_same() -> None:
    analysis = example(FRAUD)
    edits = rename(analysis, at(analysis, "join fetch_user_data", shift=6), "user_profile")
    assert isinstance(edits, list) and len(edits) == 2
    renamed = analysis_of(applied(analysis, edits))
    assert "join user_profile (==user_id)" in renamed.tree.text
    assert "step user_profile =" in renamed.tree.text
    assert [d.code for d in renamed.diagnostics] == [d.code for d in analysis.diagnostics]


def test_rename_an_assignment_rewrites_prql_qualifiers() -> None:
    analysis = example(EMAILS)
    edits = rename(analysis, at(analysis, "users.email", shift=2), "people")
    assert isinstance(edits, list)
    text = applied(analysis, edits)
    assert "join people where input.id = people.id" in text and "people.email" in text
    assert text.count("users") == analysis.tree.text.count("users") - 5
    assert [d.code for d in analysis_of(text).diagnostics] == [d.code for d in analysis.diagnostics]


def test_rename_an_import_alias_and_a_handler() -> None:
    analysis = example(FRAUD)
    edits = rename(analysis, at(analysis, "kafka.produce"), "kf")
    assert isinstance(edits, list) and len(edits) == 6
    assert 'import "fhub/kafka" kf' in applied(analysis, edits)
    assert "kafka." not in applied(analysis, edits).replace("kafka.internal", "")
    edits = rename(analysis, at(analysis, "alert_on_fail {"), "on_failure")
    assert isinstance(edits, list) and "workflow FraudDetection ? on_failure {" in applied(analysis, edits)


def test_rename_with_non_ascii_text_before_the_names() -> None:
    analysis = analysis_of(UNICODE)
    edits = rename(analysis, at(analysis, "users.id", shift=1), "clients")
    assert isinstance(edits, list)
    text = applied(analysis, edits)
    assert 'derive {tag = "日本"} join clients (==id) select {clients.id, input.name}' in text
    assert "(from u = clients select {u.id})" in text
    assert "  > users\n    | io.print" in text  # the other workflow's assignment is another name


@pytest.mark.parametrize(("needle", "new_name", "error"), [
    ("step generate_audit", "1abc", "not a valid name"),
    ("step generate_audit", "a-b", "not a valid name"),
    ("step generate_audit", "", "not a valid name"),
    ("step generate_audit", "héllo", "not a valid name"),
    ("step generate_audit", "workflow", "keyword"),
    ("step generate_audit", "null", "keyword"),
    ("step generate_audit", "fetch_user_data", "already the name of a step"),
    ("step generate_audit", "alert_on_fail", "already the name of a handler"),
    ("step generate_audit", "tx_stream", "already the name of an assignment in `FraudDetection`"),
    ("> tx_stream", "pg_db", "already the name of a resource"),
    ('import "fhub/kafka" kafka', "pg", "already the name of an import"),
    ("step fetch_user_data", "input", "relational block"),
    ("step fetch_user_data", "select", "relational block"),
])
def test_rename_refuses_bad_names(needle: str, new_name: str, error: str) -> None:
    analysis = example(FRAUD)
    result = rename(analysis, at(analysis, needle, shift=len(needle) - 1), new_name)
    assert isinstance(result, str) and error in result


def test_rename_allows_a_name_used_in_another_scope_and_names_not_in_prql() -> None:
    analysis = analysis_of(UNICODE)
    assert isinstance(rename(analysis, at(analysis, "> users", nth=1, shift=3), "select"), list)
    result = rename(analysis, at(analysis, "> users", shift=3), "select")
    assert isinstance(result, str)
    assert rename(analysis, at(analysis, "> users", shift=3), "users") == []


def test_rename_where_nothing_can_be_renamed_says_so() -> None:
    analysis = example(FRAUD)
    assert isinstance(rename(analysis, at(analysis, "host:"), "x"), str)
    assert isinstance(rename(analysis, at(analysis, "kafka.produce", shift=7), "x"), str)


# --- any input ---------------------------------------------------------------------------------------


BROKEN = [
    "",
    "workflow",
    'import "std/io"\nworkflow W {\n  io.print\n    | (from missing join',
    'step s = pg.\nworkflow W ? {\n  s\n    > \n  s | ( from s select {s.',
    "handler h {\n  *\n    | (from input\n}\n\nworkflow W ? h {\n  [ {a: 1},\n",
    "\u00e9\u65e5 workflow \U0001f600 {\n  x > y\n}",
]


@pytest.mark.parametrize("text", BROKEN)
def test_every_query_answers_at_every_offset_of_broken_text(text: str) -> None:
    analysis = analysis_of(text)
    for offset in range(-1, len(analysis.tree.data) + 2):
        definition(analysis, offset)
        references(analysis, offset, include_declaration=True)
        highlights(analysis, offset)
        if prepare_rename(analysis, offset) is not None:
            assert isinstance(rename(analysis, offset, "renamed"), list)
        else:
            assert isinstance(rename(analysis, offset, "renamed"), str)
