"""Query steps typed by asking their database at check time (`heddle_engine.describe`), here SQLite: always
reachable. PostgreSQL's and ClickHouse's are tested beside their servers."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from heddle_engine.catalog import load_catalog
from heddle_engine.describe import DESCRIBER, Describer, QueryRefused
from heddle_engine.run_folder import running_in
from heddle_lang.ide.hover import hover
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse
from heddle_lang.types import Schema
from tests.engine.conftest import WriteFiles

PROGRAM = '''import "fhub/sqlite" db
import "std/io" io

resource app = db.connection {
  path: "app.db"
}

step users = <connection=app> db.query {
  query: "SELECT id, name, score * 2 AS doubled, CAST(score AS REAL) AS score FROM users WHERE id > @low"
}

workflow W {
  users
    | io.print
}
'''


@pytest.fixture(autouse=True)
def fresh_describer(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HEDDLE_DESCRIBE", "on")
    DESCRIBER.forget()
    DESCRIBER.configure(background=False, timeout=5.0)
    yield
    DESCRIBER.forget()


@pytest.fixture
def project(write_files: WriteFiles) -> Path:
    root = write_files({"main.he": PROGRAM, "heddle.toml": ""})
    with sqlite3.connect(root / "app.db") as connection:
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, score NUMERIC)")
    return root


def analysis_of(root: Path, text: str = PROGRAM):  # type: ignore[no-untyped-def]
    with running_in(root):
        return analyze(parse(text), load_catalog(root / "main.he"))


def test_a_query_is_typed_by_its_database(project: Path) -> None:
    analysis = analysis_of(project)
    node = next(n for n in analysis.plan.workflows[0].nodes if n.label == "users")
    # id and name from the table's declarations; `score * 2` unknown to both; the CAST from the query's text
    assert [(c.name, str(c.dtype) if c.dtype else None) for c in node.output.columns] == [
        ("id", "Int64"), ("name", "String"), ("doubled", None), ("score", "Float64")]
    shown = hover(analysis, PROGRAM.encode().index(b"users\n    | io.print"))
    assert shown is not None and "| `name` | String |" in shown.markdown


def test_a_refused_query_is_a_warning_and_the_offline_typing_stands(project: Path) -> None:
    text = PROGRAM.replace("FROM users", "FROM userz")
    analysis = analysis_of(project, text)
    refused = [d for d in analysis.diagnostics if d.code == "HE5008"]
    assert [d.message for d in refused] == ["the database of `users` refuses its query: no such table: userz"]
    assert not any(d.is_error for d in analysis.diagnostics)
    node = next(n for n in analysis.plan.workflows[0].nodes if n.label == "users")
    assert node.output.names == ["id", "name", "doubled", "score"]


def test_the_database_file_is_only_read(project: Path) -> None:
    before = (project / "app.db").read_bytes()
    analysis_of(project, PROGRAM.replace("SELECT id", "SELECT id FROM users; DROP TABLE users; SELECT id"))
    assert (project / "app.db").read_bytes() == before


def test_a_database_that_does_not_exist_yet_is_not_asked(write_files: WriteFiles) -> None:
    root = write_files({"main.he": PROGRAM, "heddle.toml": ""})
    analysis = analysis_of(root)
    assert not (root / "app.db").exists()
    node = next(n for n in analysis.plan.workflows[0].nodes if n.label == "users")
    assert [c.dtype for c in node.output.columns][:2] == [None, None]


def test_background_answers_come_later_and_call_the_listeners() -> None:
    describer = Describer()
    describer.configure(background=True)
    release = threading.Event()
    heard = threading.Event()
    describer.listen(heard.set)
    schema = Schema.of({"id": None})

    def ask() -> Schema:
        release.wait(5)
        return schema

    started = time.perf_counter()
    assert describer.describe("db", "SELECT id", ask) is None  # never waits
    assert time.perf_counter() - started < 0.5
    release.set()
    assert heard.wait(5)
    assert describer.describe("db", "SELECT id", ask) == schema


def test_waiting_is_bounded_and_an_unreachable_connection_is_left_alone() -> None:
    describer = Describer()
    describer.configure(timeout=0.2)
    calls: list[str] = []

    def slow() -> Schema:
        calls.append("slow")
        time.sleep(1)
        raise ConnectionError("unreachable")

    started = time.perf_counter()
    assert describer.describe("down", "SELECT 1", slow) is None
    assert time.perf_counter() - started < 0.8
    time.sleep(1.2)
    assert describer.describe("down", "SELECT 2", slow) is None  # not asked again for a while
    assert calls == ["slow"]

    def refuse() -> Schema:
        raise QueryRefused("no such table: t")

    with pytest.raises(Exception, match="no such table: t"):
        describer.describe("up", "SELECT * FROM t", refuse)
