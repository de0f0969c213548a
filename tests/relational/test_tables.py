"""`referenced_tables`: `from`/`join` names with exact character offsets, skipping strings and comments."""

from __future__ import annotations

from heddle_lang.relational import TableRef, referenced_tables


def names(query: str) -> list[tuple[str, str, str]]:
    return [(r.name, r.kind, query[r.offset : r.offset + r.length]) for r in referenced_tables(query)]


def test_from_and_join() -> None:
    query = "from input join users where input.id = users.id"
    assert referenced_tables(query) == [TableRef("input", 5, 5, "from"), TableRef("users", 16, 5, "join")]


def test_aliases_and_named_arguments() -> None:
    query = "from i = input\njoin side:left u = users (==id)\njoin side:inner fetch_user_data (==user_id)"
    assert names(query) == [
        ("input", "from", "input"), ("users", "join", "users"), ("fetch_user_data", "join", "fetch_user_data"),
    ]


def test_strings_comments_and_fields_are_skipped() -> None:
    query = 'from input # join nothing\nderive {s = "from users", from_x = 1}\nselect {x.from}\njoin ok (==id)'
    assert names(query) == [("input", "from", "input"), ("ok", "join", "ok")]


def test_nested_pipelines_and_backticks() -> None:
    query = "from a join (from b | select {id}) (==id) join `odd name` (==id)"
    assert names(query) == [("a", "from", "a"), ("b", "from", "b"), ("odd name", "join", "odd name")]


def test_offsets_are_characters() -> None:
    query = 'derive {x = "日本語"}\nfrom café'
    [ref] = referenced_tables(query)
    assert query[ref.offset : ref.end] == "café"


def test_incomplete_text() -> None:
    assert referenced_tables("from") == []
    assert referenced_tables("join side:") == []
    assert referenced_tables('from "unterminated') == []
