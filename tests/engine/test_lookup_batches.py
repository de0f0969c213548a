"""Lookups asked once per batch of distinct keys (`@plugin.step(lookup_batches=...)`), and which queries can be."""

from __future__ import annotations

import random
import sqlite3

import polars as pl
import pytest

from heddle_engine.modules.fhub import sqlite
from heddle_engine.modules.fhub.sql_batch import batchable, parsed_batchable, plainly_batchable, rewritten
from tests.engine.conftest import WriteFiles
from tests.engine.running import run_file


@pytest.mark.parametrize("query", [
    "SELECT id AS user_id, country FROM users WHERE id = @user_id",
    "SELECT u.id AS user_id, r.score FROM users u JOIN risk r ON r.id = u.id WHERE u.id = @user_id AND r.score > 1",
    "SELECT id FROM users WHERE (active AND id = @user_id)",
])
def test_batchable(query: str) -> None:
    assert batchable(query, "postgres") == "user_id"


@pytest.mark.parametrize("query", [
    "SELECT count(*) AS n FROM users WHERE id = @user_id",  # combines rows
    "SELECT DISTINCT country FROM users WHERE id = @user_id",
    "SELECT id FROM users WHERE id = @user_id LIMIT 1",
    "SELECT id FROM users WHERE id = @user_id OR vip",  # not a conjunct
    "SELECT id FROM users WHERE id > @user_id",
    "SELECT @user_id AS id FROM users WHERE id = @user_id",
    "SELECT id FROM users WHERE @user_id = id",
    "SELECT id FROM users WHERE a = @a AND b = @b",  # two keys
    "SELECT id FROM users WHERE id = @user_id UNION SELECT id FROM admins WHERE id = @user_id",
    "SELECT id FROM users WHERE id IN (SELECT id FROM t WHERE k = @user_id)",
])
def test_not_batchable(query: str) -> None:
    assert batchable(query, "postgres") is None


def test_rewritten() -> None:
    assert rewritten("SELECT a FROM t WHERE b = 1 AND id =@k", "k", lambda: "IN @k") == (
        "SELECT a FROM t WHERE b = 1 AND id IN @k")


def test_a_lookup_asks_sqlite_once_per_batch(write_files: WriteFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_files({"main.he": '''import "fhub/sqlite" db
import "std/io" io

resource app = db.connection {
  path: "app.db"
}

step country_of = <connection=app> db.query {
  query: "SELECT id AS user_id, country FROM users WHERE id = @user_id"
}

workflow Enrich {
  [{ user_id: 1, amount: 1.0 }, { user_id: 2, amount: 2.0 }, { user_id: 1, amount: 3.0 }, { user_id: 9, amount: 4.0 }]
    | (from input join country_of (==user_id) sort {amount})
    | io.write_csv { path: "out.csv" }
}
'''})
    with sqlite3.connect(root / "app.db") as connection:
        connection.execute("CREATE TABLE users (id INTEGER, country TEXT)")
        rows = [(1, "FR"), (2, "US"), (3, "'; DROP TABLE users; --")]
        connection.executemany("INSERT INTO users VALUES (?, ?)", rows)
    asked: list[str] = []
    original = sqlite.Database.query

    def counting(self: sqlite.Database, sql: str, parameters: object) -> object:
        asked.append(sql)
        return original(self, sql, parameters)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite.Database, "query", counting)
    result = run_file(root / "main.he")
    assert result.status == "succeeded", result.message
    assert len(asked) == 1 and "json_each" in asked[0]  # 3 distinct keys, one query
    assert pl.read_csv(root / "out.csv").to_dicts() == [
        {"user_id": 1, "amount": 1.0, "country": "FR"}, {"user_id": 2, "amount": 2.0, "country": "US"},
        {"user_id": 1, "amount": 3.0, "country": "FR"}]


def test_a_lookup_that_cannot_be_batched_asks_once_per_key(write_files: WriteFiles,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_files({"main.he": '''import "fhub/sqlite" db
import "std/io" io

resource app = db.connection {
  init: "CREATE TABLE orders (user_id INTEGER, total REAL); INSERT INTO orders VALUES (1, 2.5), (1, 4.0), (2, 1.0);"
}

step spent = <connection=app> db.query {
  query: "SELECT user_id, sum(total) AS spent FROM orders WHERE user_id = @user_id GROUP BY user_id"
}

workflow Spent {
  [{ user_id: 1 }, { user_id: 2 }]
    | (from input join spent (==user_id) sort {user_id})
    | io.write_csv { path: "out.csv" }
}
'''})
    asked: list[str] = []
    original = sqlite.Database.query

    def counting(self: sqlite.Database, sql: str, parameters: object) -> object:
        asked.append(sql)
        return original(self, sql, parameters)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite.Database, "query", counting)
    result = run_file(root / "main.he")
    assert result.status == "succeeded", result.message
    assert len(asked) == 2
    assert pl.read_csv(root / "out.csv").to_dicts() == [{"user_id": 1, "spent": 6.5}, {"user_id": 2, "spent": 1.0}]


PIECES = ["SELECT", "FROM", "WHERE", "AND", "OR", "AS", "*", ",", ".", "=", "<>", ">", "@k", "@j", "id", "t", "u",
          "name", "1", "2.5", "'a''b'", "count", "(", ")", "DISTINCT", "LIMIT", "GROUP", "BY", "NOT", "FINAL", "-",
          "ORDER", "IN", "IS", "NULL", "@@v", ";", "JOIN", "ON"]


def _plain_shape(rng: random.Random) -> str:
    """Mostly the plainest form, sometimes with a piece that leaves it."""
    columns = rng.choice(["*", "id", "t.id", "id AS k", "id, name", "t.id AS key, name"])
    table = rng.choice(["t", "t u", "t AS u"])
    conditions = [rng.choice(["id = @k", "t.id = @k", "name = 'x'", "n > 1", "a <> b", "id = @k", "u.id = @k"])
                  for _ in range(rng.randint(1, 3))]
    query = f"SELECT {columns} FROM {table} WHERE {' AND '.join(conditions)}"
    if rng.random() < 0.5:
        words = query.split(" ")
        words.insert(rng.randrange(len(words) + 1), rng.choice(PIECES))
        query = " ".join(words)
    return query


@pytest.mark.parametrize("dialect", ["postgres", "sqlite", "clickhouse"])
def test_the_plain_form_answers_as_the_parser_does(dialect: str) -> None:
    """`plainly_batchable` reads a query without sqlglot: where it answers, sqlglot's reading answers the same."""
    rng = random.Random(17)
    answered = 0
    for _ in range(1500):
        query = _plain_shape(rng) if rng.random() < 0.7 else " ".join(rng.choice(PIECES) for _ in range(9))
        plain = plainly_batchable(query)
        if plain is not None:
            answered += 1
            assert parsed_batchable(query, dialect, plain) == plain, query
    assert answered > 300  # the plain form is the common one


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_the_plain_form_is_untyped_by_its_text(dialect: str) -> None:
    """A query of the plain form gets no column type from its text (sqlite.query skips sqlglot for it)."""
    from heddle_engine.modules.fhub.sql import query_schema
    from heddle_engine.modules.fhub.sql_batch import plain_parameters

    rng = random.Random(5)
    seen = 0
    for _ in range(400):
        query = _plain_shape(rng)
        if plain_parameters(query) is not None:
            seen += 1
            assert all(c.dtype is None for c in query_schema(query, dialect).columns), query
    assert seen > 100
