"""Faults and bad input at the connectors, on real servers: the database goes away mid-run (retried per the
policy, then the handler gets the payload; or back in time and the run succeeds), a hostile parameter value
arrives as data, an unreachable host is one clear error naming the resource and never its password."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import polars as pl
import pytest

from tests.engine.conftest import WriteFiles
from tests.engine.postgres_server import postgres_available, postgres_server, start_again
from tests.engine.running import run_file

psycopg = pytest.importorskip("psycopg")
HOSTILE = "'; DROP TABLE users; --"

CHAOS = '''
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin
from heddle.core.step import StepConfig

from tests.engine.postgres_server import start_again, stop

plugin = Plugin(namespace="chaos")


class Outage(StepConfig):
    port: int
    back_after: float = -1.0  # seconds; negative: the database stays down


@plugin.step(name="outage", passthrough=True)
def outage(config: Outage, input: Table) -> Table:
    """Stop the database the run is using (and start it again after a while)."""
    stop(config.port)
    if config.back_after >= 0:
        import threading, time
        threading.Thread(target=lambda: (time.sleep(config.back_after), start_again(config.port))).start()
    return input
'''

PROGRAM = '''import "fhub/postgresql" pg
import "chaos" chaos
import "std/io" io

resource db = pg.connection {{
  host: "127.0.0.1"
  port: {port}
  user: "postgres"
  database: "postgres"
}}

step country_of = <connection=db> pg.query {{
  query: "SELECT id AS user_id, country FROM users WHERE id = @user_id"
}}

step country_again = <connection=db> pg.query {{
  query: "SELECT id AS user_id, country FROM users WHERE id = @user_id"
  retry: RETRY
}}

handler lost {{
  *
    | io.write_csv {{ path: "out/lost.csv" }}
}}

workflow Enrich {{
  [{{ user_id: 1, amount: 10.5 }}, {{ user_id: 2, amount: 2.0 }}]
    | (from input join country_of (==user_id) sort {{user_id}})
    | io.write_csv {{ path: "out/before.csv" }}
    | chaos.outage {{ port: {port}, back_after: {back_after} }}
    | (from input select {{user_id, amount}} join country_again (==user_id) sort {{user_id}}) ? lost
    | io.write_csv {{ path: "out/enriched.csv" }}
}}
'''


@pytest.fixture
def server() -> Iterator[int]:
    if not postgres_available():
        pytest.skip("needs Debian's PostgreSQL 15 and root (to run it as the postgres user)")
    with postgres_server() as port:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                             autocommit=True) as connection:
            connection.execute("CREATE TABLE users (id integer PRIMARY KEY, country text)")
            connection.execute("INSERT INTO users VALUES (1, 'FR'), (2, %s)", [HOSTILE])
        yield port


def project(write_files: WriteFiles, port: int, back_after: float, retry: str) -> object:
    text = PROGRAM.format(port=port, back_after=back_after).replace("RETRY", retry)
    return write_files({"main.he": text, "chaos.py": CHAOS, "heddle.toml": '[modules]\n"chaos" = "chaos:plugin"\n'})


def test_the_database_goes_away_retries_then_the_handler_gets_the_payload(server: int,
                                                                        write_files: WriteFiles) -> None:
    root = project(write_files, server, -1.0, '{ attempts: 2, delay: "100ms" }')
    result = run_file(root / "main.he")  # type: ignore[operator]
    assert result.status == "succeeded", result.message  # the handler took the failure
    before = pl.read_csv(root / "out" / "before.csv")  # type: ignore[operator]
    assert before["country"].to_list() == ["FR", HOSTILE]  # a hostile value is data, stored and read back
    lost = pl.read_csv(root / "out" / "lost.csv")  # type: ignore[operator]
    assert sorted(lost["user_id"].to_list()) == [1, 2]  # every row reaches the handler: none is lost
    message = lost["error_msg"][0]
    assert message.startswith(f"resource `db` (PostgreSQL at 127.0.0.1:{server}): ")
    assert set(lost["attempt"].to_list()) == {2}
    assert not (root / "out" / "enriched.csv").exists()  # type: ignore[operator]
    start_again(server)


def test_the_database_comes_back_within_the_retries_and_the_run_succeeds(server: int,
                                                                         write_files: WriteFiles) -> None:
    root = project(write_files, server, 0.3, '{ attempts: 4, delay: "1s", backoff: "fixed" }')
    result = run_file(root / "main.he")  # type: ignore[operator]
    assert result.status == "succeeded", result.message
    lost = root / "out" / "lost.csv"  # type: ignore[operator]
    assert not lost.exists(), lost.read_text()
    enriched = pl.read_csv(root / "out" / "enriched.csv")  # type: ignore[operator]
    assert enriched.to_dicts() == [{"user_id": 1, "amount": 10.5, "country": "FR"},
                                   {"user_id": 2, "amount": 2.0, "country": HOSTILE}]


def test_a_hostile_value_arrives_as_data_in_postgresql(server: int) -> None:
    from heddle_engine.modules.fhub import postgresql

    db = postgresql.connection(postgresql.ConnectionConfig(host="127.0.0.1", port=server, user="postgres",
                                                           database="postgres"))
    try:
        config = postgresql.QueryConfig(query="SELECT id, country FROM users WHERE country = @c").inject(
            {"connection": db})
        assert postgresql.query(config, c=HOSTILE).to_polars().to_dicts() == [{"id": 2, "country": HOSTILE}]
        count = postgresql.QueryConfig(query="SELECT count(*) AS n FROM users").inject({"connection": db})
        assert postgresql.query(count).to_polars()["n"].to_list() == [2]
    finally:
        db.close()


def test_an_unreachable_postgresql_is_one_clear_error_without_the_password(write_files: WriteFiles,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.engine.clickhouse_servers import free_port

    monkeypatch.setenv("PG_PASSWORD", "hunter2-pg")
    port = free_port()
    main = write_files({"main.he": f'''import "fhub/postgresql" pg
import "std/io" io

resource pg_db = pg.connection {{
  host: "127.0.0.1"
  port: {port}
  user: "app"
  password: "env:PG_PASSWORD"
  connect_timeout: 2
}}

step users = <connection=pg_db> pg.query {{
  query: "SELECT 1 AS one"
}}

workflow W {{
  users
    | io.print
}}
'''}) / "main.he"
    started = time.perf_counter()
    result = run_file(main)
    assert time.perf_counter() - started < 30
    assert result.status == "failed" and result.error is not None
    message = result.error.message
    assert message.startswith(f"resource `pg_db` (PostgreSQL at 127.0.0.1:{port}): cannot connect: "), message
    assert "hunter2" not in message and "hunter2" not in result.error.stack_trace
    assert message.count("\n") == 0


def test_a_hostile_value_arrives_as_data_in_sqlite(write_files: WriteFiles) -> None:
    root = write_files({"main.he": f'''import "fhub/sqlite" db
import "std/io" io

resource app = db.connection {{
  init: "CREATE TABLE users (id INTEGER, name TEXT); INSERT INTO users VALUES (1, 'ada');"
}}

step named = <connection=app> db.query {{
  query: "SELECT id AS user_id, name FROM users WHERE name = @name"
}}

step everyone = <connection=app> db.query {{
  query: "SELECT count(*) AS n FROM users"
}}

workflow W {{
  [{{ name: "{HOSTILE}" }}, {{ name: "ada" }}]
    | (from input join named (==name))
    | io.write_csv {{ path: "out/found.csv" }}

  everyone
    | io.write_csv {{ path: "out/count.csv" }}
}}
'''})
    result = run_file(root / "main.he")
    assert result.status == "succeeded", result.message
    assert pl.read_csv(root / "out" / "found.csv").to_dicts() == [{"name": "ada", "user_id": 1}]
    assert pl.read_csv(root / "out" / "count.csv").to_dicts() == [{"n": 1}]


def test_threads_are_not_left_behind() -> None:
    time.sleep(0.5)  # the outage test's restarter has finished
    assert not [t for t in threading.enumerate() if t.name.startswith("heddle-describe")]
