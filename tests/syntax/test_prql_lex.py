"""Strings and comments inside PRQL text, as the grammar's scanner sees them."""

from __future__ import annotations

from heddle_lang.syntax.prql_lex import lines_inside_strings, pieces


def kinds(text: str) -> list[tuple[str, str]]:
    return [(p.kind, text[p.start : p.end]) for p in pieces(text)]


def test_strings_comments_and_code() -> None:
    assert kinds('from t # a ) comment\nfilter x == "a)b"') == [
        ("code", "from t "), ("comment", "# a ) comment"), ("code", "\nfilter x == "), ("string", '"a)b"'),
    ]


def test_escapes_and_raw_strings() -> None:
    assert kinds(r'derive {a = "q\"q", b = r"C:\"}') == [
        ("code", "derive {a = "), ("string", r'"q\"q"'), ("code", ", b = r"), ("string", r'"C:\"'), ("code", "}"),
    ]
    # `for"...` is not a raw string: the `r` belongs to a word.
    assert kinds(r'for"a\"b"')[1] == ("string", r'"a\"b"')


def test_lines_inside_triple_quoted_strings() -> None:
    text = 'derive {\n  s = """one\ntwo\nthree"""\n}'
    assert lines_inside_strings(text) == {2, 3}
    assert lines_inside_strings("from t\nselect {a}") == set()
