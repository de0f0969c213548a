"""Minimal inputs found by fuzzing (`test_fuzz.py` with other seeds, `test_incremental.py`) that once
broke a property of the front end, kept so the bugs stay fixed.
"""

from __future__ import annotations

from heddle_lang.check import check_tree
from heddle_lang.formatter import format_text
from heddle_lang.syntax import parse
from tests.syntax.test_incremental import assert_same_tree, diagnostics

# --- formatting: fmt(fmt(x)) == fmt(x) and parse(fmt(x)).ast == parse(x).ast ---------------------


def assert_formats_stably(text: str) -> None:
    first = format_text(text)
    assert first.text is not None, "the input has syntax errors: not a formatter case"
    second = format_text(first.text)
    assert second.errors == (), f"the formatted text {first.text!r} no longer parses"
    assert second.text == first.text, f"not idempotent: {first.text!r} formats to {second.text!r}"
    assert parse(first.text).ast == parse(text).ast, f"formatting to {first.text!r} changed the AST"


def test_block_comment_before_a_declaration_on_the_same_line() -> None:
    # Found as '/**/import""'. AST: Import(doc=None) becomes Import(doc='legacy').
    assert_formats_stably('/* legacy */ import "std/io" io\n')


def test_comment_inside_a_function_name() -> None:
    # Found as 'workflow r{j//\n.e}'. First run: 'workflow W {\n    // the broker\n      kafka.produce\n}\n';
    # second run: 'workflow W {\n  // the broker\n  kafka.produce\n}\n'.
    assert_formats_stably("workflow W {\n  kafka // the broker\n    .produce\n}\n")


def test_line_comments_separated_by_a_lone_carriage_return() -> None:
    # Found as '//\r//\nstep f=g.q<n=r>{}workflow r{}'. First run: '// a\n  // b\n...', second: '// a\n// b\n...';
    # the doc comment of the import changes too.
    assert_formats_stably('// a\r// b\nimport "std/io" io\n')


def test_prql_comment_closed_after_a_lone_carriage_return() -> None:
    # Found as 'handler o{(()#\r)}'. Formatted: 'workflow W {\n  (from a # c)\n}\n', which does not parse.
    assert_formats_stably("workflow W {\n  (from a # c\r)\n}\n")


# --- incremental parsing: SyntaxTree.edit(...) equals a fresh parse() ----------------------------


def test_incremental_error_recovery_matches_a_fresh_parse() -> None:
    # Found as 'handler e{}workflow l{o:step p}' with `handler ` deleted.
    text = "handler e {\n}\nworkflow w {\n  o: step p\n}\n"
    after = parse(text).edit(0, len("handler "), "")
    fresh = parse(text[len("handler "):])
    assert_same_tree(after, fresh)


def test_incremental_diagnostic_messages_match_a_fresh_parse() -> None:
    # Found as '[{"":""},' with '[{}]' inserted after '[{'. Typing the missing space of `stepfetch`:
    # incremental: "unexpected `db` in step `fetch`"; fresh: "... (expected `<` or a name)".
    text = "stepfetch = db pg.query\n"
    after = parse(text).edit(4, 4, " ")
    fresh = parse("step fetch = db pg.query\n")
    assert_same_tree(after, fresh)
    assert diagnostics(after) == diagnostics(fresh)
    assert check_tree(after) == check_tree(fresh)
