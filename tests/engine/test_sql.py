"""SQL queries typed offline: result columns, types the text gives, `@name` parameters, readable failures."""

from __future__ import annotations

import polars as pl
import pytest

from heddle_engine.modules.fhub.sql import query_inference, query_schema
from heddle_engine.modules.fhub.sql_parameters import config_parameters, sql_parameters
from heddle_lang.catalog import InferenceError
from heddle_lang.types import Column, Schema

FRAUD = "SELECT id AS user_id, country FROM users WHERE id = @user_id"
RISK = "SELECT user_id, velocity_score FROM risk_metrics WHERE user_id = @user_id"
USERS = "SELECT id, name, email FROM users WHERE status = 'active' and last_login > @timestamp"


@pytest.mark.parametrize("dialect", ["postgres", "clickhouse"])
def test_the_seeds_queries(dialect: str) -> None:
    assert query_schema(FRAUD, dialect) == Schema.of({"user_id": None, "country": None})
    assert query_schema(RISK, dialect) == Schema.of({"user_id": None, "velocity_score": None})
    assert query_schema(USERS, dialect) == Schema.of({"id": None, "name": None, "email": None})


def test_the_seeds_parameters() -> None:
    assert sql_parameters(FRAUD) == ["user_id"]
    assert sql_parameters(USERS) == ["timestamp"]
    assert config_parameters({"query": FRAUD}) == ["user_id"]
    assert config_parameters({}) == []


def test_parameters_in_order_without_duplicates_strings_comments_or_session_variables() -> None:
    query = """SELECT '@not_a_param', "@nor_this" FROM t -- @comment
               WHERE a = @first AND b = @second AND c = @first AND d = @@version /* @hidden */
               AND e = 'it''s @quoted' AND f = @select"""
    assert sql_parameters(query) == ["first", "second", "select"]


def test_parameters_of_text_that_does_not_tokenize() -> None:
    assert sql_parameters("SELECT a FROM t WHERE a = @x AND b = 'unterminated") == ["x"]


def test_names_and_types_the_text_gives() -> None:
    query = """SELECT t.col, CAST(a AS BIGINT) AS big, b::text AS label, 1 AS one, 2.5 AS half, 'x' AS letter,
                      true AS yes, NULL AS nothing, count(*) AS n, upper(name) AS shout, c::numeric(10, 2) AS money,
                      d::timestamptz AS at, e::int[] AS ids
               FROM t"""
    assert query_schema(query, "postgres").columns == (
        Column("col"), Column("big", pl.Int64()), Column("label", pl.String()), Column("one", pl.Int32()),
        Column("half"), Column("letter", pl.String()), Column("yes", pl.Boolean()), Column("nothing"),
        Column("n", pl.Int64()), Column("shout"), Column("money", pl.Decimal(10, 2)),
        Column("at", pl.Datetime("us", "UTC")), Column("ids", pl.List(pl.Int32())),
    )


def test_clickhouse_types() -> None:
    query = """SELECT CAST(a AS Nullable(String)) AS s, CAST(b AS LowCardinality(String)) AS lc,
                      CAST(c AS Array(UInt8)) AS bytes, CAST(d AS DateTime64(3)) AS at, 1 AS one, -300 AS neg,
                      1.5 AS f, count() AS n
               FROM t"""
    assert query_schema(query, "clickhouse").columns == (
        Column("s", pl.String()), Column("lc", pl.String()), Column("bytes", pl.List(pl.UInt8())),
        Column("at", pl.Datetime("ms")), Column("one", pl.UInt8()), Column("neg", pl.Int16()),
        Column("f", pl.Float64()), Column("n", pl.UInt64()),
    )


def test_postgres_names_like_the_server() -> None:
    query = 'SELECT Id, "Quoted", upper(name), count(*), x::int, 1 FROM t'
    assert query_schema(query, "postgres").names == ["id", "Quoted", "upper", "count", "x", "?column?"]


def test_clickhouse_needs_an_alias_for_computed_columns() -> None:
    with pytest.raises(InferenceError, match=r"column 2 of the query \(`upper\(name\)`\) has no name .* `AS name`"):
        query_schema("SELECT id, upper(name) FROM t", "clickhouse")


def test_star_is_an_open_schema() -> None:
    assert query_schema("SELECT * FROM users", "postgres") == Schema.unknown()
    assert query_schema("SELECT u.*, 1 AS one FROM users u", "postgres") == Schema(
        (Column("one", pl.Int32()),), open=True)


def test_union_and_with() -> None:
    assert query_schema("SELECT 1 AS a UNION ALL SELECT 2.5", "postgres") == Schema.of({"a": None})
    assert query_schema("WITH c AS (SELECT 1 AS a) SELECT a, 2 AS b FROM c", "postgres") == Schema.of(
        {"a": None, "b": pl.Int32()})


@pytest.mark.parametrize(("query", "message"), [
    ("SELECT a FROM", r"the SQL does not parse: Expected table name \(line 1, column 13\)"),
    ("SELECT a FROM t WHERE b = 'open", "the SQL does not parse"),
    ("INSERT INTO t VALUES (1)", "must be a SELECT, not INSERT"),
    ("SELECT 1 AS a; SELECT 2 AS b", "one SQL statement, not 2"),
    ("", "one SQL statement, not 0"),
    ("SELECT a.id, b.id FROM a JOIN b ON a.x = b.x", "two columns named `id`"),
])
def test_readable_failures(query: str, message: str) -> None:
    with pytest.raises(InferenceError, match=message):
        query_schema(query, "postgres")


def test_the_hook_leaves_a_missing_query_to_the_config_check() -> None:
    infer = query_inference("postgres")
    assert infer({}, None) == Schema.unknown()
    assert infer({"query": 42}, None) == Schema.unknown()
    assert infer({"query": FRAUD}, None).names == ["user_id", "country"]
