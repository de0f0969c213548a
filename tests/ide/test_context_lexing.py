"""The forgiving token view completion reads: byte offsets, relational blocks as one token."""

from __future__ import annotations

from heddle_lang.ide.context import Cursor, lex, never_raises


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in lex(text.encode())]


def test_tokens_and_byte_offsets() -> None:
    tokens = lex('// é\nstep s = pg.query <c=d> { q: "ü" }'.encode())
    assert [t.kind for t in tokens][:4] == ["comment", "ident", "ident", "punct"]
    step = tokens[1]
    assert (step.start, step.end) == (len("// é\n".encode()), len("// é\nstep".encode()))
    string = next(t for t in tokens if t.kind == "string")
    assert string.text == '"ü"' and string.closed


def test_a_relational_block_is_one_token_even_with_parentheses_in_strings_and_comments() -> None:
    assert kinds('| (from x filter a == ")" # (\n select b)\n| y') == [
        ("punct", "|"), ("punct", "("), ("prql", 'from x filter a == ")" # (\n select b'), ("punct", ")"),
        ("punct", "|"), ("ident", "y"),
    ]


def test_an_unclosed_block_stops_before_a_declaration_or_closing_brace_in_column_0() -> None:
    tokens = lex(b"workflow W {\n  x\n    | (from input\n}\nstep s = a.b")
    block = next(t for t in tokens if t.kind == "prql")
    assert block.text == "from input\n" and not block.closed
    assert [t.text for t in tokens[-7:]] == ["}", "step", "s", "=", "a", ".", "b"]


def test_unterminated_strings_and_comments() -> None:
    string = lex(b'import "fhub/ka\nstep')[1]
    assert string.kind == "string" and not string.closed and string.text == '"fhub/ka'
    comment = lex(b"/* open")[0]
    assert comment.kind == "comment" and not comment.closed


def test_cursor_word_and_containing_token() -> None:
    data = "x = «é» kafka.pro".encode()
    cursor = Cursor(data, len(data))
    assert data[cursor.word().start : cursor.word().end] == b"pro"
    inside = Cursor(b'import "fh"', 9)
    token = inside.containing()
    assert token is not None and token.kind == "string"


def test_never_raises_answers_the_default() -> None:
    @never_raises(list)
    def broken(n: int) -> list[int]:
        raise ValueError(n)

    assert broken(1) == []


def test_a_cursor_lexes_only_the_declaration_it_is_in() -> None:
    text = (b'import "std/io" io\n\nstep a = io.print {}\n\nworkflow W {\n  [{ id: 1 }]\n    | a\n}\n\n'
            b'step b = io.print {}\n')
    inside = text.index(b"| a") + 2
    cursor = Cursor(text, inside)
    assert cursor.tokens[0].text == "workflow" and cursor.tokens[-1].text == "}"
    assert Cursor(text, 0).tokens[-1].text == "io"  # the import line alone
    spanning = Cursor(text, 0, until=len(text))
    assert [t.text for t in spanning.tokens] == [t.text for t in lex(text)]


def test_an_unclosed_multiline_string_stops_at_the_next_declaration() -> None:
    text = b'step s = io.print { q: """open\nworkflow W {\n}\n'
    cursor = Cursor(text, text.index(b"open"))
    assert cursor.tokens[-1].kind == "mstring" and not cursor.tokens[-1].closed
    assert cursor.tokens[-1].end <= text.index(b"workflow")
