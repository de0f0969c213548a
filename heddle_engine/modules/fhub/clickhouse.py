"""`fhub/clickhouse`: ClickHouse — a server, or embedded in the process — queried and written as Arrow.

```heddle
import "fhub/clickhouse" ch

resource ch_db = ch.connection {
  host: "ch.internal"
  password: "env:CH_PASSWORD"
}

resource local_ch = ch.connection {
  path: "data/ch"
}

step fetch_risk_profile = <connection=ch_db> ch.query {
  query: "SELECT user_id, velocity_score FROM risk_metrics WHERE user_id = @user_id"
}
```

`host` reaches a server through the official `clickhouse-connect` client (HTTP, or HTTPS with `secure`);
`protocol: "native"` speaks the native protocol through `clickhouse-driver` instead, for servers older than
`clickhouse-connect` supports. `path` is a local folder served by chdb, ClickHouse's engine in this process
(one folder per process): the same steps give the same results. Install with `pip install 'heddle-lang[clickhouse]'`.

`query`'s `@name`s are bound as data, never put into the SQL's text (see `clickhouse_sql`); as a lookup
(`join fetch_risk_profile (==user_id)`) it is asked once per batch of distinct keys. Its result columns are
read from the SQL before running, and from the server when it can be reached; at run time they take the
types the server reports. A relational block that alone reads a `query` step sends it its filters, projection
and limit (`pushdown="clickhouse"`, in SQL every server from 18.16 on runs: see
`heddle_lang.relational.pushdown`). `insert` writes its input into a table, created with the input's columns if
`create` and it does not exist, and passes the input on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Annotated, Literal

import polars as pl

from heddle.core.resource import ResourceConfig, Secret
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin
from heddle_engine.modules.fhub.clickhouse_client import Backend, ConnectBackend, NativeBackend, open_embedded
from heddle_engine.modules.fhub.clickhouse_sql import create_table_sql, polars_type
from heddle_engine.modules.fhub.describing import ask_clickhouse, clickhouse_identity, describe_hook
from heddle_engine.modules.fhub.results import cast_to
from heddle_engine.modules.fhub.settings import Settings
from heddle_engine.modules.fhub.sql import query_inference
from heddle_engine.modules.fhub.sql_batch import batch_of, lookup_batches, rewritten
from heddle_engine.modules.fhub.sql_parameters import config_parameters, sql_parameters
from heddle_engine.run_folder import resolve_path

__all__ = ["Connection", "ConnectionConfig", "InsertConfig", "QueryConfig", "plugin", "sql_parameters"]

plugin = Plugin(namespace="clickhouse")


class ConnectionConfig(ResourceConfig):
    host: str | None = None
    """The server; leave it out and give `path` for the embedded engine."""
    port: int | None = None
    """Defaults to the protocol's: 8123 (HTTP), 8443 (HTTPS), 9000 (native), 9440 (native with TLS)."""
    database: str = "default"
    user: str = "default"
    password: Annotated[str | None, Secret] = None
    secure: bool = False
    """Connect over TLS (HTTPS)."""
    protocol: Literal["http", "native"] = "http"
    """`native`: the native TCP protocol (`clickhouse-driver`), for servers too old for `clickhouse-connect`."""
    path: str | None = None
    """A local folder served by chdb (ClickHouse in this process), relative to the `.he` file's folder. When
    given, the connection is embedded and the server keys are not used (a profile can run a program written
    for a server on a local folder)."""
    connect_timeout: float = 10.0
    """Seconds to wait for the server to answer a connection."""
    query_timeout: float = 300.0
    """Seconds a query may take."""


class Connection(Settings[ConnectionConfig]):
    """A ClickHouse connection, opened when a step first needs it and closed at the end of the run."""

    def __init__(self, config: ConnectionConfig) -> None:
        super().__init__(config)
        if config.host is None and config.path is None:
            raise ValueError("a ClickHouse connection needs `host` (a server) or `path` (the embedded engine)")
        self._backend: Backend | None = None
        self._types: dict[str, list[tuple[str, str]]] = {}  # query text -> its result columns, as described
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        config = self.config
        if config.path is not None:
            return f"embedded ClickHouse in {config.path}"
        return f"ClickHouse at {config.host}:{self.port}"

    @property
    def port(self) -> int:
        config = self.config
        if config.port is not None:
            return config.port
        if config.protocol == "native":
            return 9440 if config.secure else 9000
        return 8443 if config.secure else 8123

    def backend(self) -> Backend:
        with self._lock:
            if self._backend is None:
                try:
                    self._backend = self._open()
                except Exception as error:
                    raise ConnectionError(f"{self.named()}: cannot connect: {_first_line(error)}") from error
            return self._backend

    def named(self) -> str:
        """`resource ch_db (ClickHouse at host:port)`, for messages (never the password)."""
        return f"resource `{self.resource_name}` ({self.where})" if self.resource_name else self.where

    def query(self, sql: str, parameters: Mapping[str, object]) -> Table:
        """The rows of one SELECT, `@name`s bound as data, typed as the server describes the columns. A lookup's
        batch of keys (`Keys`) is asked at once, `= @key` becoming `IN @key` (an old server, whose `IN` wants
        the types to match exactly, is asked once per key)."""
        sql = _statement(sql)
        backend = self.backend()
        batch = batch_of(parameters)
        if batch is not None and backend.legacy:
            frames = [self.query(sql, {**parameters, batch[0]: key}).to_polars() for key in batch[1]]
            if not frames:
                return Table.from_polars(self.query(sql, {**parameters, batch[0]: None}).to_polars().clear())
            return Table.from_polars(pl.concat(frames))
        if batch is not None:
            sql = rewritten(sql, batch[0], lambda: f"IN @{batch[0]}")
        columns = self.describe(sql)
        try:
            data = backend.query(sql, parameters, columns)
        except Exception as error:
            raise _error(self.named(), error) from error
        return cast_to(data, {name: polars_type(ch_type) for name, ch_type in columns})

    def describe(self, sql: str) -> list[tuple[str, str]]:
        """The result columns of a query (name, ClickHouse type), asked of the server once per query text."""
        sql = _statement(sql)
        with self._lock:
            known = self._types.get(sql)
        if known is not None:
            return known
        try:
            columns = self.backend().describe(sql)
        except (ConnectionError, ImportError):
            raise
        except Exception as error:
            raise _error(self.named(), error) from error
        with self._lock:
            self._types[sql] = columns
        return columns

    def insert(self, table: str, frame: pl.DataFrame, *, create: bool, order_by: list[str]) -> None:
        backend = self.backend()
        try:
            if create:
                backend.command(create_table_sql(table, dict(frame.schema), order_by, legacy=backend.legacy))
            if frame.height:
                backend.insert(table, frame.to_arrow())
        except Exception as error:
            raise _error(self.named(), error) from error

    def close(self) -> None:
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    def _open(self) -> Backend:
        config = self.config
        if config.path is not None:
            return open_embedded(str(resolve_path(config.path)), config.database)
        if config.protocol == "native":
            try:
                from clickhouse_driver import Client
            except ImportError:
                raise ImportError("`protocol: \"native\"` needs clickhouse-driver: "
                                  "pip install 'heddle-lang[clickhouse-native]'") from None
            client = Client(host=config.host, port=self.port, database=config.database, user=config.user,
                            password=config.password or "", secure=config.secure,
                            connect_timeout=config.connect_timeout, send_receive_timeout=config.query_timeout)
            client.execute("SELECT 1")
            return NativeBackend(client, self.where)
        # clickhouse-connect logs a failed request ("Unexpected Http Driver Exception", on stderr when nothing
        # configures logging) before it raises; the error reaches the user as Heddle reports it, once
        logging.getLogger("clickhouse_connect").setLevel(logging.ERROR)
        try:
            import clickhouse_connect
        except ImportError:
            raise ImportError("fhub/clickhouse needs clickhouse-connect: pip install 'heddle-lang[clickhouse]'") \
                from None
        client = clickhouse_connect.get_client(
            host=config.host, port=self.port, username=config.user, password=config.password or "",
            database=config.database, secure=config.secure, connect_timeout=config.connect_timeout,
            send_receive_timeout=config.query_timeout, autogenerate_session_id=False)
        return ConnectBackend(client, self.where)


@plugin.resource(name="connection")
def connection(config: ConnectionConfig) -> Connection:
    """A ClickHouse server (`host`), or the embedded engine on a local folder (`path`)."""
    return Connection(config)


class QueryConfig(StepConfig[ConnectionConfig]):
    query: str
    """One SELECT; `@name` marks a parameter."""


def _connection(config: StepConfig[ConnectionConfig], step: str) -> Connection:
    found = config.resource
    if not isinstance(found, Connection):
        raise TypeError(f"clickhouse.{step} needs a clickhouse.connection, not {type(found).__name__}")
    return found


@plugin.step(name="query", resource="connection", infer=query_inference("clickhouse"), parameters=config_parameters,
             describe=describe_hook("clickhouse", ask_clickhouse, clickhouse_identity),
             lookup_batches=lookup_batches("clickhouse"), pushdown="clickhouse")
def query(config: QueryConfig, **parameters: object) -> Table:
    """Run a SELECT; its result columns are read from the SQL (and the server) before anything runs."""
    return _connection(config, "query").query(config.query, parameters)


class InsertConfig(StepConfig[ConnectionConfig]):
    table: str
    """The table to write, `name` or `database.name`."""
    create: bool = True
    """Create the table when it does not exist, with the input's columns (a MergeTree)."""
    order_by: list[str] | None = None
    """The sorting key of a created table (none: `tuple()`)."""


@plugin.step(name="insert", resource="connection", passthrough=True)
def insert(config: InsertConfig, input: Table) -> Table:
    """Write the input's rows into a table, and pass the input on."""
    _connection(config, "insert").insert(config.table, input.to_polars(), create=config.create,
                                         order_by=list(config.order_by or ()))
    return input


def _statement(sql: str) -> str:
    return sql.strip().rstrip(";").rstrip()


def _first_line(error: BaseException) -> str:
    """A driver's message on one line, without the server's stack trace."""
    text = str(error).split("Stack trace:", 1)[0]
    text = " ".join(text.split()) or type(error).__name__
    return text if len(text) <= 500 else text[:497] + "..."


class ClickHouseError(Exception):
    """ClickHouse refused a statement (its message, without the server's stack trace)."""


_NETWORK_ERRORS = frozenset({"OperationalError", "NetworkError", "SocketTimeoutError",
                             "UnexpectedPacketFromServerError"})


def _error(named: str, error: Exception) -> Exception:
    """A driver's error as one line naming the connection: a `ConnectionError` when the server could not be
    reached or went away (so `retry: { on: ["ConnectionError"] }` retries it), else a `ClickHouseError`."""
    message = f"{named}: {_first_line(error)}"
    if isinstance(error, OSError) or type(error).__name__ in _NETWORK_ERRORS:
        return ConnectionError(message)
    return ClickHouseError(message)
