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


def test_clickhouse_orders_nan_otherwise() -> None:
    text = outer(pushed("from users | filter score > 0.5 && id > 2", dialect="clickhouse"))
    assert "score >" not in text and "id > 2" in text


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
