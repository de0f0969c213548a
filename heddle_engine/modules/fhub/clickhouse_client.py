"""The three ways `fhub/clickhouse` reaches ClickHouse, behind one small interface.

- `http` (the default): a server's HTTP interface through the official `clickhouse-connect` client; results
  come as Arrow, parameters are server-side parameters.
- embedded (`path:`): the same client over `chdb`, the ClickHouse engine in this process, its databases in a
  local folder. The same SQL, the same steps, the same results. One folder per process (chdb's rule).
- `native`: the native TCP protocol through `clickhouse-driver`, for servers too old for `clickhouse-connect`
  (before server-side parameters existed): parameters travel as an external table.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl

if TYPE_CHECKING:
    import pyarrow as pa

from heddle_engine.modules.fhub.clickhouse_sql import (
    arrow_friendly,
    describe_text,
    external_parameters,
    polars_type,
    qualified,
    quote,
    server_parameters,
)


class Backend(Protocol):
    where: str  # for messages: "ClickHouse at host:port", "embedded ClickHouse in data/ch"
    legacy: bool  # a server before 20.1 (no DateTime64, Date32, Bool)

    def query(self, sql: str, parameters: Mapping[str, object], columns: list[tuple[str, str]]) -> pa.Table:
        """The rows of `sql`, whose result `columns` (name, ClickHouse type) were described before."""
        ...

    def describe(self, sql: str) -> list[tuple[str, str]]: ...

    def command(self, sql: str) -> None: ...

    def insert(self, table: str, data: pa.Table) -> None: ...

    def close(self) -> None: ...


class ConnectBackend:
    """`clickhouse-connect`: a server over HTTP(S), or chdb in this process (`interface="chdb"`)."""

    legacy = False

    def __init__(self, client: Any, where: str) -> None:
        self.client = client
        self.where = where

    def query(self, sql: str, parameters: Mapping[str, object], columns: list[tuple[str, str]]) -> pa.Table:
        text, bound = server_parameters(arrow_friendly(sql, columns), parameters)
        return self.client.query_arrow(text, parameters=bound or None, use_strings=True)

    def describe(self, sql: str) -> list[tuple[str, str]]:
        return [(str(row[0]), str(row[1])) for row in self.client.query(describe_text(sql)).result_rows]

    def command(self, sql: str) -> None:
        self.client.command(sql)

    def insert(self, table: str, data: pa.Table) -> None:
        database, _, name = table.rpartition(".")
        self.client.insert_arrow(name, data, database=database or None)

    def close(self) -> None:
        self.client.close()


class NativeBackend:
    """`clickhouse-driver` over the native protocol; results are built into Arrow from the server's types."""

    def __init__(self, client: Any, where: str) -> None:
        self.client = client
        self.where = where
        self._lock = threading.Lock()  # one query at a time on a native connection
        self.legacy = client.connection.server_info.version_major < 20

    def query(self, sql: str, parameters: Mapping[str, object], columns: list[tuple[str, str]]) -> pa.Table:
        text, external = external_parameters(sql, parameters)
        with self._lock:
            rows, columns = self.client.execute(text, external_tables=external or None, with_column_types=True,
                                                columnar=True)
        series = []
        for position, (name, ch_type) in enumerate(columns):
            values = list(rows[position]) if rows else []
            series.append(pl.Series(name, values, dtype=polars_type(ch_type), strict=False))
        return pl.DataFrame(series).to_arrow()

    def describe(self, sql: str) -> list[tuple[str, str]]:
        with self._lock:
            return [(str(r[0]), str(r[1])) for r in self.client.execute(describe_text(sql))]

    def command(self, sql: str) -> None:
        with self._lock:
            self.client.execute(sql)

    def insert(self, table: str, data: pa.Table) -> None:
        frame = pl.from_arrow(data)
        assert isinstance(frame, pl.DataFrame)
        columns = ", ".join(quote(c) for c in frame.columns)
        with self._lock:
            self.client.execute(f"INSERT INTO {qualified(table)} ({columns}) VALUES", frame.rows())

    def close(self) -> None:
        self.client.disconnect()


_EMBEDDED_LOCK = threading.Lock()


def open_embedded(folder: str, database: str) -> ConnectBackend:
    """A chdb client on `folder` (created if missing), `database` created if missing. chdb serves one folder
    per process: its message says so when a second one is asked for."""
    try:
        import clickhouse_connect
    except ImportError:
        raise ImportError("fhub/clickhouse needs clickhouse-connect and chdb for `path`: pip install "
                          "'heddle-lang[clickhouse]'") from None
    with _EMBEDDED_LOCK:
        client = clickhouse_connect.get_client(interface="chdb", path=folder)
        if database != "default":
            client.command(f"CREATE DATABASE IF NOT EXISTS {quote(database)}")
            client.close()
            client = clickhouse_connect.get_client(interface="chdb", path=folder, database=database)
    return ConnectBackend(client, f"embedded ClickHouse in {folder}")
