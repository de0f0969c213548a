"""Relational pushdown on the embedded database: what SQLite itself received (its trace), and the same
table as without pushdown."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from heddle_engine.catalog import load_catalog
from heddle_engine.execute.functions import Functions
from heddle_engine.execute.lower import lower
from heddle_engine.modules.fhub import sqlite as fhub_sqlite
from tests.engine.conftest import WriteFiles
from tests.engine.running import checked_plan, run_file

SCHEMA = """CREATE TABLE users (id INTEGER, name TEXT, age INTEGER, city TEXT);
INSERT INTO users VALUES (1, 'ann', 25, 'Oslo'), (2, 'bob', 41, 'Rome'), (3, 'cy', 37, 'Oslo'),
  (4, 'di', 52, NULL), (5, 'ed', NULL, 'Lima'), (6, 'flo', 33, 'Oslo');
"""


def program(block: str, *, second_reader: bool = False) -> str:
    other = "\n  users\n    | io.print\n" if second_reader else ""
    return f'''import "std/io" io
import "fhub/sqlite" db

resource store = db.connection {{
  script: "schema.sql"
}}

step users = <connection=store> db.query {{
  query: "SELECT id, name, age, city FROM users"
}}

workflow W {{
  (
{block}
  )
    | io.write_csv {{ path: "out.csv" }}
{other}}}
'''


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement the engine's SQLite connections run, as SQLite reports it."""
    seen: list[str] = []
    real = sqlite3.connect

    def connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        connection = real(*args, **kwargs)  # type: ignore[arg-type]
        connection.set_trace_callback(seen.append)
        return connection

    monkeypatch.setattr(fhub_sqlite.sqlite3, "connect", connect)
    yield seen


def run(folder: Path) -> pl.DataFrame:
    result = run_file(folder / "main.he")
    assert result.status == "succeeded", result.message
    return pl.read_csv(folder / "out.csv")


def queries(statements: list[str]) -> list[str]:
    return [s for s in statements if "__heddle_src" in s or s.startswith("SELECT id, name, age, city")]


def test_filters_projection_and_limit_reach_the_database(write_files: WriteFiles, statements: list[str]) -> None:
    block = "    from users\n    filter age > 30 && age != 52\n    select {id, name}\n    take 2"
    folder = write_files({"main.he": program(block), "schema.sql": SCHEMA})
    assert run(folder).to_dicts() == [{"id": 2, "name": "bob"}, {"id": 3, "name": "cy"}]
    [received] = queries(statements)
    assert received.startswith("WITH __heddle_src AS (SELECT id, name, age, city FROM users) ")
    outer = received.split(") ", 1)[1]
    assert "city" not in outer  # not fetched: the block does not read it
    assert "WHERE age > 30 AND age <> 52" in outer and outer.endswith("LIMIT 2")


def test_the_same_table_as_without_pushdown(write_files: WriteFiles, statements: list[str]) -> None:
    """A second reader of the step turns pushdown off: both runs give the same rows."""
    block = ('    from users\n    filter (age | in 30..45) || city == "Lima"\n    filter name != "cy"\n'
             "    derive {decade = age // 10}\n    select {id, decade}")
    pushed = write_files({"main.he": program(block), "schema.sql": SCHEMA})
    first = run(pushed)
    assert any("WHERE" in q for q in queries(statements))
    statements.clear()
    (pushed / "main.he").write_text(program(block, second_reader=True), encoding="utf-8")
    second = run(pushed)
    assert not any("__heddle_src" in q for q in statements)
    assert first.sort("id").to_dicts() == second.sort("id").to_dicts()
    assert first.sort("id")["id"].to_list() == [2, 5, 6]


def test_text_equality_is_pushed_but_not_a_limit_after_it(write_files: WriteFiles, statements: list[str]) -> None:
    block = '    from users\n    filter city == "Oslo"\n    take 1'
    folder = write_files({"main.he": program(block), "schema.sql": SCHEMA})
    assert run(folder)["name"].to_list() == ["ann"]
    [received] = queries(statements)
    assert "WHERE city = 'Oslo'" in received and "LIMIT" not in received


def test_what_is_not_pushed(write_files: WriteFiles) -> None:
    cases = {
        # a sort before the limit (the database orders text and nulls its own way)
        "    from users\n    sort name\n    take 2": "LIMIT",
        # a computed comparison (arithmetic may overflow or divide otherwise there)
        "    from users\n    filter age * 2 > 60": "WHERE",
        # text ordered by a collation
        '    from users\n    filter name > "c"': "WHERE",
    }
    for block, absent in cases.items():
        folder = write_files({"main.he": program(block), "schema.sql": SCHEMA})
        plan = checked_plan(folder / "main.he")
        lowered = lower(plan, "W", Functions(load_catalog(folder / "main.he")))
        pushdowns = lowered.workflow.pushdowns
        assert all(absent not in p.pushed.sql.split(") ", 1)[1] for p in pushdowns.values()), block


def test_the_exec_plan_shows_the_pushed_query(write_files: WriteFiles) -> None:
    block = "    from users\n    filter age >= 40\n    select {name}"
    folder = write_files({"main.he": program(block), "schema.sql": SCHEMA})
    plan = checked_plan(folder / "main.he")
    lowered = lower(plan, "W", Functions(load_catalog(folder / "main.he")))
    text = lowered.explain()
    assert "pushdown from n2: columns name, age; 1 filter term" in text
    assert "SELECT name, age FROM __heddle_src WHERE age >= 40" in text
