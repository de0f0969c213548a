"""`fhub/postgresql`: a PostgreSQL connection and SQL queries typed offline from their text.

`query`'s result columns come from its SQL (see `heddle_engine.modules.fhub.sql`); `@name` parameters are
bound at run time (from the joining input's columns when the step is a lookup), never interpolated: each
`@name` becomes a placeholder of the driver, `psycopg` (install it with `pip install 'heddle[postgresql]'`),
which sends the values apart from the text. The connection opens when a query first needs it and runs one
query at a time. Result columns take the types the server reports, cast to the types the SQL declares.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import polars as pl

from heddle.core.resource import ResourceConfig, Secret
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin
from heddle_engine.modules.fhub.describing import ask_postgres, describe_hook
from heddle_engine.modules.fhub.settings import Settings
from heddle_engine.modules.fhub.sql import (
    config_parameters,
    parameter_spans,
    query_inference,
    query_schema,
    sql_parameters,
)
from heddle_engine.modules.fhub.sql_batch import batch_of, lookup_batches, rewritten

__all__ = ["Connection", "ConnectionConfig", "QueryConfig", "plugin", "sql_parameters"]

plugin = Plugin(namespace="postgresql")


class ConnectionConfig(ResourceConfig):
    host: str
    port: int = 5432
    database: str | None = None
    """Defaults to the user name, as libpq does."""
    user: str | None = None
    password: Annotated[str | None, Secret] = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = None
    connect_timeout: int | None = None
    """Seconds to wait for a connection."""


class Connection(Settings[ConnectionConfig]):
    """A PostgreSQL server, connected when a query first needs it; closed at the end of the run."""

    def __init__(self, config: ConnectionConfig) -> None:
        super().__init__(config)
        self._connection: Any = None
        self._lock = threading.Lock()

    def query(self, sql: str, parameters: Mapping[str, object]) -> tuple[list[str], list[int], list[tuple[Any, ...]]]:
        """Column names, their type OIDs, and the rows of one SELECT, `@name`s bound from `parameters`."""
        with self._lock:
            if self._connection is None:
                self._connection = _connect(self.config)
            with self._connection.cursor() as cursor:
                if parameters or parameter_spans(sql):
                    cursor.execute(placeholders(sql), dict(parameters))
                else:
                    cursor.execute(sql)
                description = cursor.description or []
                return [c.name for c in description], [c.type_code for c in description], cursor.fetchall()

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _connect(config: ConnectionConfig) -> Any:
    try:
        import psycopg
    except ImportError:
        raise ImportError("fhub/postgresql needs the psycopg driver: pip install 'heddle[postgresql]'") from None
    options = {"host": config.host, "port": config.port, "dbname": config.database, "user": config.user,
               "password": config.password, "sslmode": config.sslmode, "connect_timeout": config.connect_timeout}
    return psycopg.connect(autocommit=True, **{k: v for k, v in options.items() if v is not None})


def placeholders(sql: str) -> str:
    """The query for the driver: each `@name` becomes `%(name)s`, and every other `%` is doubled."""
    parts: list[str] = []
    last = 0
    for start, end, name in parameter_spans(sql):
        parts.append(sql[last:start].replace("%", "%%"))
        parts.append(f"%({name})s")
        last = end
    parts.append(sql[last:].replace("%", "%%"))
    return "".join(parts)


@plugin.resource(name="connection")
def connection(config: ConnectionConfig) -> Connection:
    """A PostgreSQL server to query."""
    return Connection(config)


class QueryConfig(StepConfig[ConnectionConfig]):
    query: str
    """One SELECT; `@name` marks a parameter."""


@plugin.step(name="query", resource="connection", infer=query_inference("postgres"), parameters=config_parameters,
             describe=describe_hook("postgresql", ask_postgres), lookup_batches=lookup_batches("postgres"))
def query(config: QueryConfig, **parameters: object) -> Table:
    """Run a SELECT; its result columns are read from the SQL before anything runs."""
    connection = config.resource
    if not isinstance(connection, Connection):
        raise TypeError(f"postgresql.query needs a postgresql.connection, not {type(connection).__name__}")
    sql = config.query
    batch = batch_of(parameters)
    if batch is not None:  # a lookup's keys, all at once: `= @key` becomes `= ANY(@key)`, an array parameter
        sql = rewritten(sql, batch[0], lambda: f"= ANY(@{batch[0]})")
        parameters = {**parameters, batch[0]: batch[1]}
    names, oids, rows = connection.query(sql, parameters)
    declared = query_schema(config.query, "postgres")
    columns = []
    for position, (name, oid) in enumerate(zip(names, oids, strict=True)):
        values = [_plain(row[position], oid) for row in rows]
        column = declared.get(name)
        wanted = column.dtype if column is not None and column.dtype is not None else _TYPES.get(oid)
        series = pl.Series(name, values, dtype=_TYPES.get(oid), strict=False)
        columns.append(series.cast(wanted) if wanted is not None and series.dtype != wanted else series)
    return Table.from_polars(pl.DataFrame(columns))


# PostgreSQL type OIDs → Polars types (others are read from the values)
_TYPES: dict[int, pl.DataType] = {
    16: pl.Boolean(), 17: pl.Binary(), 18: pl.String(), 19: pl.String(), 20: pl.Int64(), 21: pl.Int16(),
    23: pl.Int32(), 25: pl.String(), 114: pl.String(), 700: pl.Float32(), 701: pl.Float64(), 1042: pl.String(),
    1043: pl.String(), 1082: pl.Date(), 1083: pl.Time(), 1114: pl.Datetime("us"), 1184: pl.Datetime("us", "UTC"),
    1186: pl.Duration("us"), 2950: pl.String(), 3802: pl.String(),
    1000: pl.List(pl.Boolean()), 1005: pl.List(pl.Int16()), 1007: pl.List(pl.Int32()), 1009: pl.List(pl.String()),
    1015: pl.List(pl.String()), 1016: pl.List(pl.Int64()), 1021: pl.List(pl.Float32()), 1022: pl.List(pl.Float64()),
}


_JSON = frozenset({114, 3802})


def _plain(value: object, oid: int) -> object:
    """A value as Polars reads it: JSON as its text, UUIDs as text, aware timestamps in UTC."""
    if oid in _JSON and value is not None:
        return json.dumps(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    return value
