"""`fhub/postgresql`: a PostgreSQL connection and SQL queries typed offline from their text.

`query`'s result columns come from its SQL (see `heddle_engine.modules.fhub.sql`); `@name` parameters are
bound at run time (from the joining input's columns when the step is a lookup), never interpolated: each
`@name` becomes a placeholder of the driver, `psycopg` (install it with `pip install 'heddle-lang[postgresql]'`),
which sends the values apart from the text. The connection opens when a query first needs it and runs one
query at a time. Result columns take the types the server reports, cast to the types the SQL declares.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

import polars as pl

from heddle.core.resource import ResourceConfig, Secret
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin
from heddle_engine.modules.fhub.describing import ask_postgres, describe_hook
from heddle_engine.modules.fhub.results import cast_to
from heddle_engine.modules.fhub.settings import Settings
from heddle_engine.modules.fhub.sql import query_inference, query_schema
from heddle_engine.modules.fhub.sql_batch import batch_of, lookup_batches, rewritten
from heddle_engine.modules.fhub.sql_parameters import config_parameters, parameter_spans, sql_parameters
from heddle_lang.types import Schema

if TYPE_CHECKING:
    import pyarrow as pa

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
    """A PostgreSQL server, connected when a query first needs it; closed at the end of the run.

    Rows come as Arrow straight from the server through ADBC; a second connection (psycopg) asks the
    server, once per query text, the types of the parameters a text value is given for."""

    def __init__(self, config: ConnectionConfig) -> None:
        super().__init__(config)
        self._arrow: Any = None
        self._psycopg: Any = None
        self._parameter_types: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def query(self, sql: str, parameters: Mapping[str, object]) -> pa.Table:
        """The rows of one SELECT as Arrow, `@name`s bound from `parameters` as the server's own parameters."""
        text, names = positional(sql)
        values = tuple(parameters[name] for name in names)
        with self._lock:
            if self._arrow is None:
                self._arrow = _connect_arrow(self.config, self.resource_name)
            if any(isinstance(v, str) for v in values):
                text = self._typed(text, values)
            try:
                with self._arrow.cursor() as cursor:
                    cursor.execute(text, parameters=values or None)
                    return normalised(cursor.fetch_arrow_table())
            except Exception as error:
                self._drop()  # a lost connection is not reused: a retry connects again
                raise _error(self.config, self.resource_name, error) from error

    def _typed(self, text: str, values: tuple[object, ...]) -> str:
        """A text value where the server wants another type (a date, a number) is sent as text and converted by
        the server: `$n` becomes `CAST(CAST($n AS text) AS <its type>)`."""
        types = self._parameter_types.get(text)
        if types is None:
            if self._psycopg is None:
                self._psycopg = _connect(self.config)
            types = self._parameter_types[text] = parameter_types(self._psycopg, text)
        for number in sorted(range(1, len(values) + 1), reverse=True):  # $12 before $1
            wanted = types[number - 1] if number <= len(types) else "text"
            if isinstance(values[number - 1], str) and wanted not in _TEXT_TYPES:
                text = re.sub(rf"\${number}(?!\d)", f"CAST(CAST(${number} AS text) AS {wanted})", text)
        return text

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        for handle in (self._arrow, self._psycopg):
            if handle is not None:
                with contextlib.suppress(Exception):
                    handle.close()
        self._arrow = self._psycopg = None


class QueryError(Exception):
    """PostgreSQL refused a query (its message)."""


def _error(config: ConnectionConfig, name: str | None, error: Exception) -> Exception:
    """A driver's error as one line naming the connection (never its password): a `ConnectionError` when the
    server could not be reached or went away (`retry: { on: ["ConnectionError"] }` retries those), else a
    `QueryError`."""
    text = " ".join(str(error).split())
    if config.password:
        text = text.replace(config.password, "***")
    named = f"resource `{name}` (PostgreSQL at {config.host}:{config.port})" if name else \
        f"PostgreSQL at {config.host}:{config.port}"
    lost = type(error).__name__ in ("OperationalError", "InterfaceError") or isinstance(error, OSError)
    lost = lost or any(w in text.lower() for w in ("connection", "terminat", "server closed", "could not send"))
    return ConnectionError(f"{named}: {text}") if lost else QueryError(f"{named}: {text}")


_TEXT_TYPES = frozenset({"text", "character varying", "character", "name", "unknown", "json", "jsonb"})


def _connect_arrow(config: ConnectionConfig, name: str | None) -> Any:
    try:
        import adbc_driver_postgresql.dbapi as adbc
    except ImportError:
        raise ImportError("fhub/postgresql needs the ADBC PostgreSQL driver: pip install 'heddle-lang[postgresql]'") \
            from None
    import urllib.parse

    user = urllib.parse.quote(config.user or "", safe="")
    password = f":{urllib.parse.quote(config.password, safe='')}" if config.password else ""
    auth = f"{user}{password}@" if user or password else ""
    options = {"sslmode": config.sslmode, "connect_timeout": config.connect_timeout}
    query = urllib.parse.urlencode({k: v for k, v in options.items() if v is not None})
    database = urllib.parse.quote(config.database or config.user or "", safe="")
    uri = f"postgresql://{auth}{config.host}:{config.port}/{database}" + (f"?{query}" if query else "")
    try:
        return adbc.connect(uri, autocommit=True)
    except Exception as error:
        named = f"resource `{name}` (PostgreSQL at {config.host}:{config.port})" if name else \
            f"PostgreSQL at {config.host}:{config.port}"
        text = " ".join(str(error).split())
        for secret in (config.password, urllib.parse.quote(config.password or "", safe="")):
            text = text.replace(secret, "***") if secret else text
        raise ConnectionError(f"{named}: cannot connect: {text}") from None


def parameter_types(connection: Any, text: str) -> list[str]:
    """The types the server gives the `$n` parameters of a query (it prepares the query, runs nothing)."""
    import psycopg

    pgconn = connection.pgconn
    result = pgconn.prepare(b"", text.encode())
    if result.status != psycopg.pq.ExecStatus.COMMAND_OK:
        return []
    described = pgconn.describe_prepared(b"")
    oids = [described.param_type(i) for i in range(described.nparams)]
    if not oids:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT format_type(oid, NULL) FROM unnest(%s::oid[]) WITH ORDINALITY AS t(oid, n) ORDER BY n",
                       [oids])
        return [str(row[0]) for row in cursor.fetchall()]


def positional(sql: str) -> tuple[str, list[str]]:
    """The query with each `@name` as `$n` (a name keeps its number), and the names in number order."""
    numbers: dict[str, int] = {}
    parts: list[str] = []
    last = 0
    for start, end, name in parameter_spans(sql):
        number = numbers.setdefault(name, len(numbers) + 1)
        parts.extend((sql[last:start], f"${number}"))
        last = end
    parts.append(sql[last:])
    return "".join(parts), list(numbers)


def normalised(table: pa.Table) -> pa.Table:
    """PostgreSQL's types ADBC returns as Arrow extensions, as plain Arrow: JSON as its text, a UUID as its text,
    a numeric with a declared precision as a decimal (else as its exact text)."""
    import pyarrow as pa

    columns = [_plain_column(f, c) if isinstance(f.type, pa.BaseExtensionType) else c
               for f, c in zip(table.schema, table.columns, strict=True)]
    changed = any(c is not o for c, o in zip(columns, table.columns, strict=True))
    return pa.table(columns, names=table.column_names) if changed else table


def _plain_column(field: pa.Field, column: pa.ChunkedArray) -> pa.ChunkedArray:
    import pyarrow as pa

    storage = pa.chunked_array([chunk.storage for chunk in column.chunks], type=field.type.storage_type)
    name = field.type.extension_name
    if name == "arrow.uuid":
        return pa.chunked_array([pa.array([None if b is None else str(uuid.UUID(bytes=b)) for b in
                                           storage.to_pylist()], pa.string())])
    metadata = field.metadata or {}
    if metadata.get(b"POSTGRESQL:type") == b"numeric" and b"POSTGRESQL:typmod" in metadata:
        typmod = int(metadata[b"POSTGRESQL:typmod"]) - 4
        if typmod >= 0:
            with contextlib.suppress(pa.ArrowException):
                return storage.cast(pa.decimal128((typmod >> 16) & 0xFFFF, typmod & 0xFFFF))
    return storage


def _connect(config: ConnectionConfig) -> Any:
    try:
        import psycopg
    except ImportError:
        raise ImportError("fhub/postgresql needs the psycopg driver: pip install 'heddle-lang[postgresql]'") from None
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
             describe=describe_hook("postgresql", ask_postgres), lookup_batches=lookup_batches("postgres"),
             pushdown="postgres")
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
    return cast_to(connection.query(sql, parameters), {c.name: c.dtype for c in _declared(config.query).columns})


@functools.lru_cache(maxsize=256)
def _declared(query: str) -> Schema:
    return query_schema(query, "postgres")



# PostgreSQL type OIDs → Polars types (others are read from the values)
_TYPES: dict[int, pl.DataType] = {
    16: pl.Boolean(), 17: pl.Binary(), 18: pl.String(), 19: pl.String(), 20: pl.Int64(), 21: pl.Int16(),
    23: pl.Int32(), 25: pl.String(), 114: pl.String(), 700: pl.Float32(), 701: pl.Float64(), 1042: pl.String(),
    1043: pl.String(), 1082: pl.Date(), 1083: pl.Time(), 1114: pl.Datetime("us"), 1184: pl.Datetime("us", "UTC"),
    1186: pl.Duration("us"), 2950: pl.String(), 3802: pl.String(),
    1000: pl.List(pl.Boolean()), 1005: pl.List(pl.Int16()), 1007: pl.List(pl.Int32()), 1009: pl.List(pl.String()),
    1015: pl.List(pl.String()), 1016: pl.List(pl.Int64()), 1021: pl.List(pl.Float32()), 1022: pl.List(pl.Float64()),
}
