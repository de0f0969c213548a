"""`fhub/clickhouse` on ClickHouse's engine in the process (chdb, the reference for results) and on a real
server started for these tests (Debian's 18.16 over the native protocol: see `clickhouse_servers`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import polars as pl
import pytest

from heddle.core.step import Keys
from heddle_engine.modules.fhub import clickhouse
from tests.engine.clickhouse_servers import (
    SERVER_PASSWORD,
    Server,
    clickhouse_server,
    embedded_folder,
    free_port,
    server_available,
)
from tests.engine.conftest import WriteFiles
from tests.engine.running import run_file

pytest.importorskip("chdb")
pytest.importorskip("clickhouse_connect")

HOSTILE = "'; DROP TABLE users; --"
SETUP = [
    "CREATE TABLE IF NOT EXISTS users (id UInt64, name String, seen DateTime('UTC'), level Enum8('low' = 1, "
    "'high' = 2), score Nullable(Decimal(9, 2)), tags Array(String)) ENGINE = MergeTree ORDER BY id",
    # INSERT ... SELECT: the native protocol waits for data blocks after an INSERT ... VALUES of 18.16
    "INSERT INTO users SELECT 1, 'ada', toDateTime('2026-01-10 08:00:00', 'UTC'), 'low', toDecimal32(9.5, 2), "
    "['a', 'b'] UNION ALL SELECT 2, 'bob', toDateTime('2026-02-01 09:30:00', 'UTC'), 'high', NULL, [] UNION ALL "
    "SELECT 3, '''; DROP TABLE users; --', toDateTime('2026-03-01 00:00:00', 'UTC'), 'low', toDecimal32(1.25, 2), "
    "['x']",
]


def embedded(database: str) -> clickhouse.Connection:
    return clickhouse.connection(clickhouse.ConnectionConfig(path=str(embedded_folder()), database=database))


def run_query(db: clickhouse.Connection, sql: str, **parameters: object) -> pl.DataFrame:
    config = clickhouse.QueryConfig(query=sql).inject({"connection": db})
    return clickhouse.query(config, **parameters).to_polars()


def filled(db: clickhouse.Connection) -> clickhouse.Connection:
    backend = db.backend()
    backend.command("DROP TABLE IF EXISTS users")
    for statement in SETUP:
        backend.command(statement)
    return db


QUERIES: list[tuple[str, dict[str, object]]] = [
    ("SELECT id, name, seen, level, score, tags FROM users WHERE id >= @low ORDER BY id", {"low": 2}),
    ("SELECT name FROM users WHERE name = @name", {"name": HOSTILE}),
    ("SELECT count() AS n FROM users WHERE name = @name", {"name": "x' OR '1'='1"}),
    ("SELECT id FROM users WHERE seen > @since ORDER BY id", {"since": dt.datetime(2026, 1, 31)}),
    ("SELECT id, name FROM users WHERE id = @ids ORDER BY id", {"ids": Keys([1, 3, 9])}),  # a lookup batch
]


def test_embedded_results_are_typed_as_the_server_describes_them() -> None:
    db = filled(embedded("typed"))
    try:
        frame = run_query(db, *[QUERIES[0][0]], **QUERIES[0][1])
        assert frame.schema == pl.Schema({"id": pl.UInt64(), "name": pl.String(), "seen": pl.Datetime("ms", "UTC"),
                                          "level": pl.String(), "score": pl.Decimal(9, 2),
                                          "tags": pl.List(pl.String())})
        assert frame.select("id", "level").to_dicts() == [{"id": 2, "level": "high"}, {"id": 3, "level": "low"}]
        assert frame["seen"].to_list()[0] == dt.datetime(2026, 2, 1, 9, 30, tzinfo=dt.UTC)
        assert db.describe("SELECT id, name FROM users WHERE id = @id") == [("id", "UInt64"), ("name", "String")]
    finally:
        db.close()


def test_a_hostile_parameter_arrives_as_data() -> None:
    db = filled(embedded("hostile"))
    try:
        assert run_query(db, *[QUERIES[1][0]], **QUERIES[1][1]).to_dicts() == [{"name": HOSTILE}]
        assert run_query(db, *[QUERIES[2][0]], **QUERIES[2][1]).to_dicts() == [{"n": 0}]
        assert run_query(db, "SELECT count() AS n FROM users").to_dicts() == [{"n": 3}]  # the table is still there
    finally:
        db.close()


def test_a_workflow_looks_up_in_clickhouse_and_inserts_creating_the_table(write_files: WriteFiles) -> None:
    filled(embedded("flow")).close()
    folder = embedded_folder()
    main = write_files({"main.he": f'''import "fhub/clickhouse" ch

resource ch_db = ch.connection {{
  path: "{folder}"
  database: "flow"
}}

step profile = <connection=ch_db> ch.query {{
  query: "SELECT id AS user_id, name, level FROM users WHERE id = @user_id"
}}

workflow Enrich {{
  [{{ user_id: 1, amount: 10.5 }}, {{ user_id: 3, amount: 2.0 }}, {{ user_id: 7, amount: 1.0 }}]
    | (from input join profile (==user_id) sort {{user_id}})
    | <connection=ch_db> ch.insert {{ table: "audits", order_by: ["user_id"] }}
}}
'''}) / "main.he"
    for _ in range(2):  # the table is created by the first run, appended to by the second
        result = run_file(main)
        assert result.status == "succeeded", result.message
    db = embedded("flow")
    try:
        rows = run_query(db, "SELECT user_id, amount, name, level FROM audits ORDER BY user_id, amount")
        assert rows.to_dicts() == [{"user_id": 1, "amount": 10.5, "name": "ada", "level": "low"}] * 2 + [
            {"user_id": 3, "amount": 2.0, "name": HOSTILE, "level": "low"}] * 2
    finally:
        db.close()


def test_a_connection_needs_host_or_path() -> None:
    with pytest.raises(ValueError, match=r"needs `host` .* or `path`"):
        clickhouse.connection(clickhouse.ConnectionConfig())
    both = clickhouse.connection(clickhouse.ConnectionConfig(host="ch.internal", path="data/ch"))
    assert both.where == "embedded ClickHouse in data/ch"  # a profile's `path` wins


def test_an_unreachable_server_is_one_clear_error_naming_the_resource(write_files: WriteFiles,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("CH_PASSWORD", "hunter2-not-shown")
    port = free_port()
    main = write_files({"main.he": f'''import "fhub/clickhouse" ch
import "std/io" io

resource ch_db = ch.connection {{
  host: "127.0.0.1"
  port: {port}
  password: "env:CH_PASSWORD"
  connect_timeout: 2.0
}}

step risk = <connection=ch_db> ch.query {{
  query: "SELECT 1 AS one"
}}

workflow W {{
  risk
    | io.print
}}
'''}) / "main.he"
    result = run_file(main)
    assert result.status == "failed"
    assert result.error is not None
    message = result.error.message
    assert message.startswith(f"resource `ch_db` (ClickHouse at 127.0.0.1:{port}): cannot connect:"), message
    assert "hunter2" not in message and "hunter2" not in result.error.stack_trace
    # the driver's own log line ("Unexpected Http Driver Exception") would reach stderr besides the error
    assert [r.getMessage() for r in caplog.records if r.name.startswith("clickhouse_connect")] == []


# --- a real server ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    if not server_available():
        pytest.skip("needs a clickhouse-server binary (Debian: apt-get install clickhouse-server)")
    pytest.importorskip("clickhouse_driver")
    with clickhouse_server() as running:
        yield running


def native(server: Server) -> clickhouse.Connection:
    return clickhouse.connection(clickhouse.ConnectionConfig(
        host="127.0.0.1", port=server.native_port, protocol="native", user="heddle", password=SERVER_PASSWORD))


def test_the_server_gives_the_results_chdb_gives(server: Server) -> None:
    db = native(server)
    reference = filled(embedded("reference"))
    try:
        db.backend().command("DROP TABLE IF EXISTS users")
        for statement in SETUP:
            db.backend().command(statement)
        for sql, parameters in QUERIES:
            got, want = run_query(db, sql, **parameters), run_query(reference, sql, **parameters)
            assert got.schema == want.schema, sql
            assert got.equals(want), sql
    finally:
        db.close()
        reference.close()


def test_insert_creates_the_table_on_the_server(server: Server) -> None:
    db = native(server)
    try:
        frame = pl.DataFrame({"user_id": [1, 2], "audit": ["ok", HOSTILE], "at": [dt.datetime(2026, 1, 1)] * 2})
        config = clickhouse.InsertConfig(table="audits_native", order_by=[]).inject({"connection": db})
        clickhouse.insert(config, clickhouse.Table.from_polars(frame))
        back = run_query(db, "SELECT user_id, audit, at FROM audits_native ORDER BY user_id")
        assert back.to_dicts() == frame.to_dicts()
    finally:
        db.close()


def test_clickhouse_connect_refuses_a_server_this_old_with_a_clear_error(server: Server) -> None:
    db = clickhouse.connection(clickhouse.ConnectionConfig(host="127.0.0.1", port=server.http_port))
    db.resource_name = "ch_db"
    with pytest.raises(ConnectionError, match=rf"resource `ch_db` \(ClickHouse at 127.0.0.1:{server.http_port}\): "):
        run_query(db, "SELECT 1 AS one")


@pytest.fixture
def describing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDDLE_DESCRIBE", "on")


def _checked_types(text: str, main_folder: WriteFiles) -> tuple[dict[str, list[tuple[str, str]]], list[str]]:
    from heddle_engine.catalog import load_catalog
    from heddle_engine.describe import DESCRIBER
    from heddle_lang.semantic import analyze
    from heddle_lang.syntax import parse

    DESCRIBER.forget()
    DESCRIBER.configure(background=False, timeout=20.0)
    main = main_folder({"main.he": text}) / "main.he"
    try:
        analysis = analyze(parse(text), load_catalog(main))
    finally:
        DESCRIBER.forget()
    types = {n.label: [(c.name, str(c.dtype)) for c in n.output.columns] for n in analysis.plan.workflows[0].nodes}
    return types, [d.message for d in analysis.diagnostics if d.code == "HE5008"]


DESCRIBED = '''import "fhub/clickhouse" ch
import "std/io" io

resource ch_db = ch.connection {
CONNECTION
}

step risk = <connection=ch_db> ch.query {
  query: "SELECT id AS user_id, seen, level, score, length(tags) AS n FROM users WHERE id = @user_id"
}

step broken = <connection=ch_db> ch.query {
  query: "SELECT nope FROM users"
}

workflow W {
  risk
    | io.print

  broken
    | io.print
}
'''


def test_the_embedded_engine_types_a_query_at_check_time(write_files: WriteFiles, describing: None) -> None:
    filled(embedded("described")).close()
    connection = f'  path: "{embedded_folder()}"\n  database: "described"'
    types, refused = _checked_types(DESCRIBED.replace("CONNECTION", connection), write_files)
    assert types["risk"] == [("user_id", "UInt64"), ("seen", "Datetime(time_unit='ms', time_zone='UTC')"),
                             ("level", "String"), ("score", "Decimal(precision=9, scale=2)"), ("n", "UInt64")]
    assert len(refused) == 1 and refused[0].startswith("the database of `broken` refuses its query: Code: 47.")


def test_the_server_types_a_query_at_check_time(server: Server, write_files: WriteFiles, describing: None) -> None:
    db = native(server)
    db.backend().command("DROP TABLE IF EXISTS users")
    for statement in SETUP:
        db.backend().command(statement)
    db.close()
    connection = (f'  host: "127.0.0.1"\n  port: {server.native_port}\n  protocol: "native"\n  user: "heddle"\n'
                  f'  password: "{SERVER_PASSWORD}"')
    types, refused = _checked_types(DESCRIBED.replace("CONNECTION", connection), write_files)
    assert types["risk"][0] == ("user_id", "UInt64") and types["risk"][-1] == ("n", "UInt64")
    assert refused == ["the database of `broken` refuses its query: Code: 47. DB::Exception: Unknown identifier: nope."]
