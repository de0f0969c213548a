"""What of a block a database step may run itself (`heddle_lang.relational.pushdown`)."""

from __future__ import annotations

import polars as pl

from heddle_lang.relational import analyze_block
from heddle_lang.relational.pushdown import Pushed, columns_read, push
from heddle_lang.types import Schema

USERS = Schema.of({"id": pl.Int64(), "name": pl.String(), "score": pl.Float64(), "city": None})
QUERY = "SELECT id, name, score, city FROM users"


def pushed(block: str, dialect: str = "postgres", schema: Schema = USERS) -> Pushed | None:
    analysis = analyze_block(block, {"users": schema}, is_source=True)
    assert analysis.program is not None, analysis.diagnostics
    return push(analysis.program, "users", schema, dialect, QUERY)


def outer(result: Pushed | None) -> str:
    assert result is not None
    assert result.sql.startswith(f"WITH __heddle_src AS ({QUERY}) ")
    return result.sql.split(") ", 1)[1]


def test_filters_projection_and_limit() -> None:
    result = pushed("from users | filter score > 0.5 && id != 3 | select {id} | take 10")
    assert outer(result) == "SELECT id, score FROM __heddle_src WHERE score > 0.5 AND id <> 3 LIMIT 10"
    assert result is not None and result.columns == ("id", "score") and result.filters == 2


def test_a_term_that_is_not_pushed_stays_with_the_block_and_stops_the_limit() -> None:
    text = outer(pushed("from users | filter score > 0.5 && id * 2 > 4 | take 3"))
    assert text == "SELECT id, name, score, city FROM __heddle_src WHERE score > 0.5"


def test_text_equality_is_pushed_but_no_limit_after_it() -> None:
    assert outer(pushed('from users | filter name == "ann" | take 1 | select {id}')) == (
        "SELECT id, name FROM __heddle_src WHERE name = 'ann'")
    # text is never ordered by the database: collations differ
    assert outer(pushed('from users | filter name > "b" | select {id}')) == "SELECT id, name FROM __heddle_src"


def test_a_column_of_unknown_type_compares_as_its_literal_says() -> None:
    assert "WHERE city = 'Oslo'" in outer(pushed('from users | filter city == "Oslo"'))
    assert "WHERE city > 3" in outer(pushed("from users | filter city > 3"))


def clickhouse(block: str, schema: Schema = USERS) -> str:
    """The outer part of the query pushed to ClickHouse (the step's query as a subquery)."""
    result = pushed(block, "clickhouse", schema)
    assert result is not None
    head, sep, tail = result.sql.partition(f" FROM ({QUERY}) AS __heddle_src")
    assert sep, result.sql
    return head + " FROM __heddle_src" + tail


def test_clickhouse_orders_nan_otherwise() -> None:
    text = clickhouse("from users | filter score > 0.5 && id > 2")
    assert "score >" not in text and "id > 2" in text


def test_clickhouse_gets_a_subquery_and_text_as_the_block_sees_it() -> None:
    assert clickhouse(r"""from users | filter id > 2 && name == "it's a\\b\n" | select {id} | take 2""") == (
        "SELECT id, name FROM __heddle_src WHERE id > 2 AND (toString(name) = 'it''s a\\\\b\\x0A')")
    assert clickhouse('from users | filter (name | in ["a", null]) || !(id | in [1, 2]) | take 3') == (
        "SELECT id, name, score, city FROM __heddle_src WHERE (toString(name) IN ('a', NULL)) OR NOT id IN (1, 2)")
    # `true` is unknown to old servers, whose booleans are UInt8: pushed only on a column typed boolean
    flags = Schema.of({"id": pl.Int64(), "flag": pl.Boolean(), "other": None})
    assert "flag = true" in clickhouse("from users | filter flag == true", flags)
    assert "WHERE" not in clickhouse("from users | filter other == true | select {id}", flags)
    # a limit after exact integer comparisons
    assert clickhouse("from users | filter id >= 3 | take 5 | select {id}").endswith("WHERE id >= 3 LIMIT 5")


def test_clickhouse_refuses_names_it_would_read_otherwise() -> None:
    odd = Schema.of({"id": pl.Int64(), "a`b": pl.Int64()})
    assert pushed("from users | filter id > 1 | select {id}", "clickhouse", odd) is None


def test_numbers_of_another_kind_only_where_doubles_are_exact() -> None:
    assert "WHERE score = 3 AND id = 2.5" in outer(pushed("from users | filter score == 3 && id == 2.5"))
    assert "WHERE" not in outer(pushed("from users | filter id == 9007199254740992.0 | select {id}"))
    assert "WHERE" not in outer(pushed("from users | filter score > 9007199254740993 | select {id}"))
    assert "WHERE id = 9007199254740993" in outer(pushed("from users | filter id == 9007199254740993 | select {id}"))
    single = Schema.of({"id": pl.Int64(), "ratio": pl.Float32(), "note": pl.String()})
    assert "WHERE" not in outer(pushed("from users | filter ratio == 1.1 | select {id}", schema=single))


def test_nothing_to_push() -> None:
    assert pushed("from users") is None  # every column, every row
    assert pushed("from users | sort score | take 3") is None  # a limit after a sort stays with the block
    assert outer(pushed("from users | sort score | take 3 | select {id}")) == "SELECT id, score FROM __heddle_src"


def test_a_table_read_twice_gets_its_projection_only() -> None:
    text = outer(pushed("from users | join u2 = users (this.id == that.id) | select {users.id, u2.name}"))
    assert "WHERE" not in text and "LIMIT" not in text


def test_columns_read() -> None:
    analysis = analyze_block("from users | filter score > 1 | select {id}", {"users": USERS}, is_source=True)
    assert analysis.program is not None
    assert columns_read(analysis.program, "users") == {"id", "score"}
    assert columns_read(analysis.program, "other") is None
    open_schema = analyze_block("from users | filter score > 1", {"users": Schema.unknown()}, is_source=True)
    assert open_schema.program is not None
    assert columns_read(open_schema.program, "users") is None


def test_columns_read_through_let_relations() -> None:
    """A column a `let` relation only passes on, and nobody reads further on, is not read."""
    block = ("let cheap = (from users | filter score < 1)\n"
             "let named = (from users | select {id, name})\n"
             "from cheap | join named (==id) | aggregate {n = count this, m = max named.name}")
    analysis = analyze_block(block, {"users": USERS}, is_source=True)
    assert analysis.program is not None, analysis.diagnostics
    assert columns_read(analysis.program, "users") == {"id", "score", "name"}
    counted = analyze_block("let cheap = (from users | filter score < 1)\nfrom cheap | aggregate {n = count this}",
                            {"users": USERS}, is_source=True)
    assert counted.program is not None
    assert columns_read(counted.program, "users") == {"score"}
    appended = analyze_block("let a = (from users | select {id, city})\nfrom users | select {id, name} | append a",
                             {"users": USERS}, is_source=True)
    assert appended.program is not None
    # `append` stacks by position: every column either side selects, and only those
    assert columns_read(appended.program, "users") == {"id", "name", "city"}
