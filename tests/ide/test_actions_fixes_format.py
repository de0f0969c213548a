"""Code actions (quick fixes, fix all, organize imports) and formatting edits."""

from __future__ import annotations

import pytest

from heddle_lang.formatter import format_tree
from heddle_lang.ide.actions import code_actions, fix_all, format_edits, format_range_edits, organize_imports
from tests.ide.queries_support import EXAMPLE_FILES, analysis_of, applied, at, example

FIXABLE = '''import "std/io" io
import "database/postgresql" pg

resource db = pg.connection { host: "x", port: "5432" }

step fetch = pg.query <connection=db> {
  query: "SELECT id FROM t"
  ttl: 3
}

workflow W {
  fetch
  | io.print
}
'''


def codes(text: str) -> list[str]:
    return [d.code for d in analysis_of(text).diagnostics]


# --- quick fixes -----------------------------------------------------------------------------------


def test_quick_fixes_of_the_diagnostics_under_the_cursor() -> None:
    analysis = analysis_of(FIXABLE)
    actions = code_actions(analysis, at(analysis, '"5432"', shift=2), at(analysis, '"5432"', shift=2), ["quickfix"])
    assert [(a.title, a.kind, a.preferred) for a in actions] == [
        ("spread the block over several lines", "quickfix", True), ("write the number 5432", "quickfix", True)]
    assert [analysis.diagnostics[a.diagnostics[0]].code for a in actions] == ["HE2001", "HE4006"]
    assert 'port: 5432 }' in applied(analysis, actions[1].edits)


def test_quick_fixes_of_a_selection_and_of_nothing() -> None:
    analysis = analysis_of(FIXABLE)
    everything = code_actions(analysis, 0, len(analysis.tree.data), ["quickfix"])
    assert [analysis.diagnostics[a.diagnostics[0]].code for a in everything] == ["HE2001", "HE4006", "HE2004"]
    blank = at(analysis, "\n\nstep")
    assert code_actions(analysis, blank + 1, blank + 1, ["quickfix"]) == []
    # An inverted range is read as the same range.
    assert code_actions(analysis, len(analysis.tree.data), 0, ["quickfix"]) == everything


def test_canonical_prql_rewrite_is_offered_and_checks_clean() -> None:
    analysis = example("seeds/validate_emails.he")
    offset = at(analysis, "where input.id")
    (action,) = code_actions(analysis, offset, offset, ["quickfix"])
    assert action.title == "Rewrite as canonical PRQL"
    fixed = applied(analysis, action.edits)
    assert "HE6005" in codes(analysis.tree.text) and "HE6005" not in codes(fixed)


@pytest.mark.parametrize(("only", "kinds"), [
    (None, ["quickfix"] * 4 + ["source.fixAll", "source.organizeImports"]),
    (["quickfix"], ["quickfix"] * 4),
    (["source"], ["source.fixAll", "source.organizeImports"]),
    (["source.fixAll"], ["source.fixAll"]),
    (["source.organizeImports"], ["source.organizeImports"]),
    (["refactor"], []),
    ([], []),
])
def test_only_filters_by_kind_and_sub_kind(only: list[str] | None, kinds: list[str]) -> None:
    analysis = analysis_of(FIXABLE.replace('import "std/io" io\n', 'import "std/io" io\nimport "fhub/kafka" kf\n'))
    assert [a.kind for a in code_actions(analysis, 0, len(analysis.tree.data), only)] == kinds


# --- fix all ---------------------------------------------------------------------------------------


def test_fix_all_applies_every_fix_that_does_not_conflict() -> None:
    analysis = analysis_of(FIXABLE)
    action = fix_all(analysis)
    assert action is not None and action.kind == "source.fixAll"
    # The block is spread (its fix covers the whole declaration) and the `port` fix, inside it, waits.
    assert [analysis.diagnostics[i].code for i in action.diagnostics] == ["HE2001", "HE2004"]
    once = applied(analysis, action.edits)
    assert codes(once) == ["HE4006", "HE4004"]
    second = fix_all(analysis_of(once))
    assert second is not None
    assert codes(applied(analysis_of(once), second.edits)) == ["HE4004"]


def test_fix_all_leaves_unused_declarations_alone() -> None:
    text = 'import "std/io" io\nimport "fhub/kafka" kf\n\nworkflow W {\n  [{a: 1}]\n  | io.print\n}\n'
    analysis = analysis_of(text)
    action = fix_all(analysis)
    assert action is not None
    assert [analysis.diagnostics[i].code for i in action.diagnostics] == ["HE2004"]
    assert 'import "fhub/kafka" kf' in applied(analysis, action.edits)
    assert fix_all(analysis_of('import "fhub/kafka" kf\n')) is None


def test_fix_all_applies_fixes_of_the_same_kind_together() -> None:
    analysis = analysis_of('import "std/io"\nimport "fhub/io"\n')  # two missing aliases, made unique
    action = fix_all(analysis)
    assert action is not None and len(action.edits) == len(action.diagnostics) == 2
    assert applied(analysis, action.edits) == 'import "std/io" io\nimport "fhub/io" io2\n'


# --- organize imports ------------------------------------------------------------------------------

ORGANIZE = '''// File header: stays first.
import "std/io" io
import "fhub/kafka" kafka // messages
// PostgreSQL, for the step
import "database/postgresql" pg

step fetch = pg.query <connection=db> {
  query: "SELECT 1"
}
import "email/validate" ev // late
workflow W {
  fetch
    | ev.exists
    | io.print
}
'''


def test_organize_imports_sorts_removes_unused_and_gathers_late_imports() -> None:
    analysis = analysis_of(ORGANIZE)
    action = organize_imports(analysis)
    assert action is not None and action.kind == "source.organizeImports"
    assert applied(analysis, action.edits) == '''// File header: stays first.
// PostgreSQL, for the step
import "database/postgresql" pg
import "email/validate" ev // late
import "std/io" io

step fetch = pg.query <connection=db> {
  query: "SELECT 1"
}
workflow W {
  fetch
    | ev.exists
    | io.print
}
'''


def test_organize_imports_is_silent_when_organized_or_without_imports() -> None:
    assert organize_imports(example("seeds/fraud_detection.he")) is not None  # not sorted
    assert organize_imports(example("csv_report.he")) is None
    assert organize_imports(analysis_of("workflow W {\n}\n")) is None
    assert organize_imports(analysis_of("")) is None


def test_organize_imports_removes_a_section_of_unused_imports() -> None:
    analysis = analysis_of('import "fhub/kafka" kafka\nimport "std/io" io\n\nworkflow W {\n  [{a: 1}]\n}\n')
    action = organize_imports(analysis)
    assert action is not None
    assert applied(analysis, action.edits) == "workflow W {\n  [{a: 1}]\n}\n"


def test_organize_imports_drops_repeats_and_keeps_missing_modules() -> None:
    text = 'import "no/such" x\nimport "std/io" io\nimport "std/io" io\n\nworkflow W {\n  x.y\n    | io.print\n}\n'
    analysis = analysis_of(text)
    action = organize_imports(analysis)
    assert action is not None
    assert applied(analysis, action.edits).startswith('import "no/such" x\nimport "std/io" io\n\nworkflow')


def test_organize_imports_with_non_ascii_comments() -> None:
    text = ('import "std/io" io // für Ausgabe ✓\nimport "fhub/kafka" kafka // 日本\n\n'
            "workflow W {\n  <broker=b> kafka.consume\n    | io.print\n}\n")
    analysis = analysis_of(text)
    action = organize_imports(analysis)
    assert action is not None
    assert applied(analysis, action.edits).startswith(
        'import "fhub/kafka" kafka // 日本\nimport "std/io" io // für Ausgabe ✓\n\nworkflow')


# --- formatting ------------------------------------------------------------------------------------


def test_format_edits_are_minimal_and_reach_the_formatter_output() -> None:
    analysis = analysis_of(FIXABLE)
    edits = format_edits(analysis)
    assert applied(analysis, edits) == format_tree(analysis.tree).text
    assert len(edits) == 2  # the resource line and the `|` line; nothing else is touched
    assert all(e.span.end - e.span.start < 80 for e in edits)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_format_edits_of_the_examples(path) -> None:  # type: ignore[no-untyped-def]
    analysis = analysis_of(path.read_text(encoding="utf-8"))
    assert applied(analysis, format_edits(analysis)) == format_tree(analysis.tree).text


def test_no_formatting_with_syntax_errors() -> None:
    analysis = analysis_of("workflow W {\n  (from x\n")
    assert format_edits(analysis) == []
    assert format_range_edits(analysis, 0, 5) == []


def test_range_formatting_touches_only_the_declarations_in_the_range() -> None:
    analysis = analysis_of(FIXABLE)
    offset = at(analysis, "resource db")
    edits = format_range_edits(analysis, offset, offset + 3)
    text = applied(analysis, edits)
    assert 'resource db = pg.connection {\n  host: "x"\n  port: "5432"\n}\n' in text
    assert "  fetch\n  | io.print\n" in text  # the workflow is outside the range
    edits = format_range_edits(analysis, at(analysis, "| io.print"), len(analysis.tree.data))
    assert applied(analysis, edits) == FIXABLE.replace("\n  | io.print", "\n    | io.print")
    assert format_range_edits(analysis, at(analysis, "step fetch"), at(analysis, "step fetch") + 1) == []


def test_range_formatting_across_declarations_equals_whole_formatting() -> None:
    analysis = analysis_of(FIXABLE)
    assert applied(analysis, format_range_edits(analysis, 0, len(analysis.tree.data))) == \
        format_tree(analysis.tree).text


def test_range_formatting_with_non_ascii_and_indented_declarations() -> None:
    text = '// Zoë — 日本\n  workflow W {\n    [{ name: "Zoë" }]\n    | (derive {t = "日本"})\n  }\n'
    analysis = analysis_of(text)
    edits = format_range_edits(analysis, at(analysis, "日本\"}"), at(analysis, "日本\"}"))
    expected = '// Zoë — 日本\nworkflow W {\n  [{ name: "Zoë" }]\n    | (derive {t = "日本"})\n}\n'
    assert applied(analysis, edits) == expected
    assert format_range_edits(analysis, 0, 3) == []  # only the comment


def test_organize_imports_keeps_crlf_line_ends() -> None:
    rest = "\r\nworkflow W {\r\n  <broker=b> kafka.consume\r\n    | io.print\r\n}\r\n"
    analysis = analysis_of('import "std/io" io\r\n// kafka\r\nimport "fhub/kafka" kafka\r\n' + rest)
    action = organize_imports(analysis)
    assert action is not None
    assert applied(analysis, action.edits) == '// kafka\r\nimport "fhub/kafka" kafka\r\nimport "std/io" io\r\n' + rest
