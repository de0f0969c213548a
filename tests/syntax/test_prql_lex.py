"""Strings and comments inside PRQL text, as the grammar's scanner sees them."""

from __future__ import annotations

from heddle_lang.syntax.prql_lex import lines_inside_strings, pieces, string_end


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


def test_strings_end_where_the_grammar_scanner_ends_them() -> None:
    # An unclosed string stops at the line end, and a backslash does not carry it over the line break.
    assert string_end('"abc\\\ndef"', 0, raw=False) == 5
    assert string_end(b'"abc\\\ndef"', 0, raw=False) == 5
    assert string_end('"a\\"b"', 0, raw=False) == 6
    assert string_end(b"'''x\n''' y", 0, raw=False) == 8
    assert string_end('r"C:\\"', 1, raw=True) == 6
