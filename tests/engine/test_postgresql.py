"""`fhub/postgresql` against a real PostgreSQL server, started for these tests (Debian's PostgreSQL 15).

Skipped where the server's binaries, the `postgres` user or the `psycopg` driver are missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pytest

from heddle_engine.modules.fhub import postgresql
from tests.engine.conftest import WriteFiles
from tests.engine.postgres_server import postgres_available, postgres_server
from tests.engine.running import run_file

psycopg = pytest.importorskip("psycopg")


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    if not postgres_available():
        pytest.skip("needs Debian's PostgreSQL 15 and root (to run it as the postgres user)")
    with postgres_server() as port:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                             autocommit=True) as connection:
            connection.execute("CREATE TABLE users (id integer PRIMARY KEY, name text, country text, "
                               "joined date, tags text[], extra jsonb, score numeric(5, 2))")
            connection.execute("INSERT INTO users VALUES (1, 'ada', 'FR', '2026-01-10', '{a,b}', '{\"k\": 1}', 9.5), "
                               "(2, 'bob', 'US', '2025-12-01', '{}', NULL, NULL), "
                               "(3, 'cy%', 'DE', '2026-02-01', NULL, '[1, 2]', 7.25)")
        yield port


def connection(port: int) -> postgresql.Connection:
    return postgresql.connection(postgresql.ConnectionConfig(host="127.0.0.1", port=port, user="postgres",
                                                             database="postgres"))


def query(db: postgresql.Connection, sql: str, **parameters: object) -> pl.DataFrame:
    return postgresql.query(postgresql.QueryConfig(query=sql).inject({"connection": db}), **parameters).to_polars()


def test_placeholders_leave_strings_and_comments_alone() -> None:
    assert postgresql.placeholders("SELECT '@x%' AS s WHERE id = @id AND n LIKE 'a%' -- @c") == (
        "SELECT '@x%%' AS s WHERE id = %(id)s AND n LIKE 'a%%' -- @c")


def test_parameters_are_bound_and_types_come_from_the_server(server: int) -> None:
    db = connection(server)
    try:
        frame = query(db, "SELECT id, name, joined, tags, extra, score FROM users WHERE joined > @since ORDER BY id",
                      since="2026-01-01")
        assert frame.schema["id"] == pl.Int32() and frame.schema["joined"] == pl.Date()
        assert frame.schema["tags"] == pl.List(pl.String())
        assert frame.select("id", "name", "extra").to_dicts() == [
            {"id": 1, "name": "ada", "extra": '{"k": 1}'}, {"id": 3, "name": "cy%", "extra": "[1, 2]"}]
        assert frame["score"].cast(pl.Float64).to_list() == [9.5, 7.25]
        hostile = query(db, "SELECT count(*) AS n FROM users WHERE name = @name OR name LIKE 'cy%'",
                        name="x' OR '1'='1")
        assert hostile.to_dicts() == [{"n": 1}]  # the value is a parameter; the `%` of the text stays a `%`
        typed = query(db, "SELECT CAST(id AS bigint) AS id FROM users WHERE id < 0")
        assert typed.height == 0 and typed.schema["id"] == pl.Int64()
    finally:
        db.close()


def test_a_workflow_looks_users_up_on_the_server(server: int, write_files: WriteFiles) -> None:
    text = f'''import "std/io" io
import "fhub/postgresql" pg

resource db = pg.connection {{
  host: "127.0.0.1"
  port: {server}
  user: "postgres"
  database: "postgres"
}}

step country_of = <connection=db> pg.query {{
  query: "SELECT id AS user_id, country FROM users WHERE id = @user_id"
}}

workflow Enrich {{
  [{{ user_id: 1, amount: 10.5 }}, {{ user_id: 3, amount: 2.0 }}, {{ user_id: 7, amount: 1.0 }}]
    | (from input join country_of (==user_id) sort {{user_id}})
    | io.write_csv {{ path: "out/enriched.csv" }}
}}
'''
    main = write_files({"main.he": text}) / "main.he"
    result = run_file(main)
    assert result.status == "succeeded", result.message
    assert pl.read_csv(main.parent / "out" / "enriched.csv").to_dicts() == [
        {"user_id": 1, "amount": 10.5, "country": "FR"}, {"user_id": 3, "amount": 2.0, "country": "DE"}]


def test_the_server_types_a_query_at_check_time(server: int, write_files: WriteFiles,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from heddle_engine.catalog import load_catalog
    from heddle_engine.describe import DESCRIBER
    from heddle_lang.semantic import analyze
    from heddle_lang.syntax import parse

    monkeypatch.setenv("HEDDLE_DESCRIBE", "on")
    DESCRIBER.forget()
    DESCRIBER.configure(background=False, timeout=10.0)
    text = f'''import "std/io" io
import "fhub/postgresql" pg

resource db = pg.connection {{
  host: "127.0.0.1"
  port: {server}
  user: "postgres"
  database: "postgres"
}}

step users = <connection=db> pg.query {{
  query: "SELECT id, name, joined, tags, score FROM users WHERE id = @id"
}}

step broken = <connection=db> pg.query {{
  query: "SELECT id FROM userz"
}}

workflow W {{
  users
    | io.print

  broken
    | io.print
}}
'''
    main = write_files({"main.he": text}) / "main.he"
    analysis = analyze(parse(text), load_catalog(main))
    nodes = {n.label: n for n in analysis.plan.workflows[0].nodes}
    assert [(c.name, str(c.dtype)) for c in nodes["users"].output.columns] == [
        ("id", "Int32"), ("name", "String"), ("joined", "Date"), ("tags", "List(String)"), ("score", "None")]
    assert [d.message for d in analysis.diagnostics if d.code == "HE5008"] == [
        'the database of `broken` refuses its query: relation "userz" does not exist LINE 1: SELECT id FROM userz ^']
    DESCRIBER.forget()


def test_a_block_pushes_filters_and_projection_to_the_server(server: int, write_files: WriteFiles) -> None:
    from tests.engine.postgres_server import log, log_statements

    log_statements(server)
    text = f'''import "std/io" io
import "fhub/postgresql" pg

resource db = pg.connection {{
  host: "127.0.0.1"
  port: {server}
  user: "postgres"
  database: "postgres"
}}

step people = <connection=db> pg.query {{
  query: "SELECT id, name, country, joined FROM users"
}}

workflow Recent {{
  (
    from people
    filter id >= 2 && country != "US"
    select {{id, name}}
  )
    | io.write_csv {{ path: "out/recent.csv" }}
}}
'''
    main = write_files({"main.he": text}) / "main.he"
    result = run_file(main)
    assert result.status == "succeeded", result.message
    assert pl.read_csv(main.parent / "out" / "recent.csv").to_dicts() == [{"id": 3, "name": "cy%"}]
    pushed = ("WITH __heddle_src AS (SELECT id, name, country, joined FROM users) "
              "SELECT id, name, country FROM __heddle_src WHERE id >= 2 AND country <> 'US'")  # no `joined`
    # logged as `statement: ...` or `execute <unnamed>: ...`; the connector reads rows with COPY (...) TO STDOUT
    received = [line for line in log(server).splitlines() if "__heddle_src" in line and "LOG:" in line]
    assert len(received) == 1 and pushed in received[0], received
