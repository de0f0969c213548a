"""Relational pushdown into ClickHouse: what a real server received (its query log) and what the embedded
engine was sent, and the same table as without pushdown, on Debian's 18.16 server and on chdb."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from heddle_engine.describe import DESCRIBER
from heddle_engine.modules.fhub import clickhouse, clickhouse_client
from tests.engine.clickhouse_events import embedded_connection, events_program, server_connection
from tests.engine.clickhouse_servers import SERVER_PASSWORD, Server, clickhouse_server, received, server_available
from tests.engine.conftest import WriteFiles
from tests.engine.running import run_file

pytest.importorskip("chdb")
pytest.importorskip("clickhouse_connect")

QUERY = "SELECT id, name, level, score, note FROM events ORDER BY id"
SETUP = [
    "DROP TABLE IF EXISTS events",
    "CREATE TABLE events (id UInt64, name String, level Enum8('low' = 1, 'high' = 2), score Nullable(Float64), "
    "note Nullable(String)) ENGINE = MergeTree ORDER BY id",
    # INSERT ... SELECT: the native protocol waits for data blocks after an INSERT ... VALUES of 18.16
    "INSERT INTO events SELECT 1, 'ann', 'low', 0.5, 'x' UNION ALL SELECT 2, 'o''k\\\\x', 'low', NULL, NULL "
    "UNION ALL SELECT 3, 'cy', 'high', 2.5, 'y' UNION ALL SELECT 4, 'di', 'low', nan, NULL UNION ALL "
    "SELECT 5, 'ed', 'high', 7.0, 'z' UNION ALL SELECT 6, 'flo', 'low', 1.0, 'x' UNION ALL "
    "SELECT 7, 'gus', 'high', NULL, 'y'",
]

# what the block keeps, what must reach the database, and the same block's rows computed by the block alone
CASES = [
    ("from events\n    filter id > 2 && id != 5\n    select {id, level}\n    take 2",
     ["SELECT id, level FROM (" + QUERY + ") AS __heddle_src WHERE id > 2 AND id <> 5 LIMIT 2"]),
    ('from events\n    filter name == "o\'k\\\\x" || level == "high" || note == null\n    select {id}',
     ["(toString(name) = 'o''k\\\\x')", "(toString(level) = 'high')", "note IS NULL"]),
    # `in` is never followed by a pushed limit (an old server keeps nulls under `!(... in ...)`)
    ('from events\n    filter !(note | in ["x", "y"])\n    take 2', ["NOT (toString(note) IN ('x', 'y'))"]),
    # NaN is ordered otherwise by ClickHouse: a float comparison stays with the block
    ("from events\n    filter score > 1.0 && id < 7\n    select {id, score}", ["WHERE id < 7"]),
]


@pytest.fixture(autouse=True)
def described(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Types from the database at check time, as `heddle run` has them (ordered comparisons need them)."""
    monkeypatch.setenv("HEDDLE_DESCRIBE", "on")
    DESCRIBER.forget()
    yield
    DESCRIBER.forget()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    if not server_available():
        pytest.skip("needs a clickhouse-server binary (Debian: apt-get install clickhouse-server)")
    pytest.importorskip("clickhouse_driver")
    with clickhouse_server() as running:
        yield running


Target = tuple[str, Callable[[str], list[str]]]  # the connection's config, the queries it received


@pytest.fixture(params=["embedded", "server"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Target:
    if request.param == "server":
        running: Server = request.getfixturevalue("server")
        monkeypatch.setenv("CH_PASSWORD", SERVER_PASSWORD)
        config, connection = server_connection(running)
        fill(clickhouse.connection(config))
        before = Counter(received(running, "__heddle_src"))  # the log holds the module's earlier tests too

        def logged(text: str) -> list[str]:
            new = Counter(received(running, text)) - before
            return [q for q in new.elements() if not q.startswith("DESCRIBE")]

        return connection, logged
    sent: list[str] = []
    real = clickhouse_client.ConnectBackend.query

    def query(self: clickhouse_client.ConnectBackend, sql: str, parameters: object, columns: object) -> object:
        sent.append(sql)
        return real(self, sql, parameters, columns)  # type: ignore[arg-type]

    monkeypatch.setattr(clickhouse_client.ConnectBackend, "query", query)
    config, connection = embedded_connection("pushdown")
    fill(clickhouse.connection(config))
    return connection, lambda text: [q for q in sent if text in q]


def fill(db: clickhouse.Connection) -> None:
    try:
        for statement in SETUP:
            db.backend().command(statement)
    finally:
        db.close()


def run(folder: Path, text: str) -> pl.DataFrame:
    (folder / "main.he").write_text(text, encoding="utf-8")
    result = run_file(folder / "main.he")
    assert result.status == "succeeded", result.message
    return pl.read_csv(folder / "out.csv")


@pytest.mark.parametrize(("block", "expected"), CASES, ids=["limit", "text", "in", "nan"])
def test_pushed_to_clickhouse_and_the_same_table(target: Target, write_files: WriteFiles, block: str,
                                                 expected: list[str]) -> None:
    connection, queries = target
    folder = write_files({})
    pushed = run(folder, events_program(connection, QUERY, block))
    [sent] = queries("__heddle_src")
    for part in expected:
        assert part in sent, sent
    assert "score > " not in sent
    alone = run(folder, events_program(connection, QUERY, block, second_reader=True))  # a second reader: nothing pushed
    assert len(queries("__heddle_src")) == 1
    assert_frame_equal(pushed, alone)


def test_what_the_rows_are(target: Target, write_files: WriteFiles) -> None:
    connection, _ = target
    folder = write_files({})
    assert run(folder, events_program(connection, QUERY, CASES[0][0])).to_dicts() == [
        {"id": 3, "level": "high"}, {"id": 4, "level": "low"}]
    assert run(folder, events_program(connection, QUERY, CASES[1][0]))["id"].to_list() == [2, 3, 4, 5, 7]
    assert run(folder, events_program(connection, QUERY, CASES[2][0]))["id"].to_list() == [5]
