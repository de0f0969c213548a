"""`fhub/sqlite`: the embedded database, its typed queries, parameters bound as parameters, lookups."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import polars as pl
import pytest

from heddle.sdk import module_spec
from heddle_engine.events import NodeState
from heddle_engine.modules.fhub import sqlite
from heddle_engine.run_folder import running_in
from heddle_lang.types import Schema
from tests.engine.conftest import WriteFiles
from tests.engine.running import Recorder, run_file

SPEC = module_spec(sqlite.plugin, "fhub/sqlite")
SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, score REAL, joined TEXT);
INSERT INTO users VALUES (1, 'ada', 9.5, '2026-01-10'), (2, 'bob', NULL, '2025-12-01'), (3, 'cy', 7.0, '2026-02-01');
"""


def database(**config: object) -> sqlite.Database:
    return sqlite.connection(sqlite.ConnectionConfig(**config))  # type: ignore[arg-type]


def query(db: sqlite.Database, sql: str, **parameters: object) -> pl.DataFrame:
    config = sqlite.QueryConfig(query=sql).inject({"connection": db})
    return sqlite.query(config, **parameters).to_polars()


def test_spec_types_queries_with_sqlite_widths() -> None:
    connection = SPEC.resources["connection"]
    assert connection.kind == "sqlite.connection" and not connection.config.required
    step = SPEC.functions["query"]
    assert not step.takes_input and [s.key for s in step.resources] == ["connection"]
    assert step.infer is not None
    config = {"query": "SELECT CAST(id AS INTEGER) AS id, 1.5 AS x, 'a' AS s, name FROM users WHERE id = @id"}
    assert step.infer(config, None) == Schema.of({"id": pl.Int64(), "x": None, "s": pl.String(), "name": None})
    assert step.parameters_for(config) == ("id",)


def test_in_memory_database_from_init_sql_and_parameters_bound_not_interpolated() -> None:
    db = database(init=SCHEMA)
    frame = query(db, "SELECT id, name, score FROM users WHERE joined > @since ORDER BY id", since="2026-01-01")
    assert frame.to_dicts() == [{"id": 1, "name": "ada", "score": 9.5}, {"id": 3, "name": "cy", "score": 7.0}]
    hostile = query(db, "SELECT count(*) AS n FROM users WHERE name = @name", name="x' OR '1'='1")
    assert hostile["n"].to_list() == [0]  # a parameter, never SQL text
    dated = query(db, "SELECT name FROM users WHERE joined = @day", day=dt.date(2026, 1, 10))
    assert dated["name"].to_list() == ["ada"]
    db.close()


def test_typed_columns_are_cast_and_empty_results_keep_the_declared_types() -> None:
    db = database(init=SCHEMA)
    typed = query(db, "SELECT CAST(score AS INTEGER) AS score, name FROM users ORDER BY id")
    assert typed.schema == pl.Schema({"score": pl.Int64(), "name": pl.String()})
    assert typed["score"].to_list() == [9, None, 7]
    empty = query(db, "SELECT CAST(id AS INTEGER) AS id, name FROM users WHERE id < 0")
    assert empty.height == 0 and empty.schema["id"] == pl.Int64()


def test_file_database_and_script_are_relative_to_the_run_folder(tmp_path: Path) -> None:
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "schema.sql").write_text(SCHEMA)
    with running_in(tmp_path):
        db = database(path="db/app.sqlite", script="sql/schema.sql")
        assert query(db, "SELECT count(*) AS n FROM users")["n"].to_list() == [3]
        db.close()
    with sqlite3.connect(tmp_path / "db" / "app.sqlite") as check:
        assert check.execute("SELECT name FROM users WHERE id = 2").fetchone() == ("bob",)


WORKFLOW = '''import "std/io" io
import "fhub/sqlite" db

resource app = db.connection {
  init: """
    CREATE TABLE users (id INTEGER PRIMARY KEY, country TEXT);
    INSERT INTO users VALUES (1, 'FR'), (2, 'US'), (3, 'DE'), (4, 'FR');
  """
}

step country_of = <connection=app> db.query {
  query: "SELECT id AS user_id, country FROM users WHERE id = @user_id"
}

workflow Enrich {
  [
    { user_id: 1, amount: 10.0 },
    { user_id: 2, amount: 20.0 },
    { user_id: 1, amount: 30.0 },
    { user_id: 3, amount: 40.0 },
    { user_id: 9, amount: 50.0 },
  ]
    | (
        from input
        join country_of (==user_id)
        sort {amount}
      )
    | io.write_csv { path: "out/enriched.csv" }
}
'''


def test_a_joined_step_is_a_lookup_run_once_per_distinct_key_in_batches(write_files: WriteFiles,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    bindings: list[dict[str, object]] = []
    original = sqlite.Database.query

    def spy(self: sqlite.Database, sql: str, parameters: dict[str, object]):  # type: ignore[no-untyped-def]
        bindings.append(dict(parameters))
        return original(self, sql, parameters)

    monkeypatch.setattr(sqlite.Database, "query", spy)
    main = write_files({"main.he": WORKFLOW}) / "main.he"
    recorder = Recorder()
    result = run_file(main, observers=[recorder], lookup_batch=2)
    assert result.status == "succeeded", result.message
    # the query takes a batch of keys at once (see test_lookup_batches): one query per batch of 2 distinct keys
    assert bindings == [{"user_id": "[1, 2]"}, {"user_id": "[3, 9]"}]
    enriched = pl.read_csv(main.parent / "out" / "enriched.csv")
    assert enriched.to_dicts() == [
        {"user_id": 1, "amount": 10.0, "country": "FR"}, {"user_id": 2, "amount": 20.0, "country": "US"},
        {"user_id": 1, "amount": 30.0, "country": "FR"}, {"user_id": 3, "amount": 40.0, "country": "DE"},
    ]
    lookup = result.rows[("Enrich", "n2")]
    assert (lookup.input, lookup.output) == (4, 3)  # four distinct keys, three found
    assert recorder.states("Enrich", "n2") == [NodeState.PENDING, NodeState.RUNNING, NodeState.SUCCEEDED]


def test_a_lookup_without_matches_joins_nothing(write_files: WriteFiles) -> None:
    text = WORKFLOW.replace("{ user_id: 1, amount: 10.0 },", "{ user_id: 7, amount: 10.0 },")
    for user in ("2", "1", "3"):
        text = text.replace(f"{{ user_id: {user},", "{ user_id: 8,")
    main = write_files({"main.he": text}) / "main.he"
    result = run_file(main)
    assert result.status == "succeeded", result.message
    assert pl.read_csv(main.parent / "out" / "enriched.csv").height == 0
