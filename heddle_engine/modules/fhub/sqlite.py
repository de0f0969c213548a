"""`fhub/sqlite`: an embedded SQLite database (Python's `sqlite3`, no server) and SQL queries typed offline.

```heddle
import "fhub/sqlite" db

resource app = db.connection {
  path: "data/app.db"
  script: "data/schema.sql"
}

step fetch_users = <connection=app> db.query {
  query: "SELECT id, name FROM users WHERE last_login > @since"
}
```

The connection opens when a step first needs it; `script` (a `.sql` file) and then `init` (SQL text)
run once when it opens, so a workflow can create and fill the tables it reads. Paths are relative to the
folder of the `.he` file; `path` defaults to `:memory:`, a database that lives as long as the run.

`query`'s result columns come from its SQL (`heddle_engine.modules.fhub.sql`, SQLite's widths: integers
are Int64, reals Float64); `@name` parameters are bound as SQLite parameters, never put into the text.
The result is a table whose column types follow the values SQLite returns, cast to the types the SQL
declares where it declares them. A project can let this module stand in for a PostgreSQL server in its
`heddle.toml`: `"database/postgresql" = "fhub/sqlite"`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sqlite3
import threading
from collections.abc import Mapping
from typing import Annotated

import polars as pl

from heddle.core.config import FilePath
from heddle.core.resource import Resource, ResourceConfig
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin
from heddle_engine.modules.fhub.describing import ask_sqlite, describe_hook, sqlite_identity
from heddle_engine.modules.fhub.sql_batch import batch_of, lookup_batches, plain_parameters, rewritten
from heddle_engine.modules.fhub.sql_parameters import config_parameters
from heddle_engine.run_folder import resolve_path
from heddle_lang.types import Column, Schema

__all__ = ["ConnectionConfig", "Database", "QueryConfig", "plugin"]

plugin = Plugin(namespace="sqlite")
MEMORY = ":memory:"


class ConnectionConfig(ResourceConfig):
    path: Annotated[str, FilePath] = MEMORY
    """The database file, relative to the `.he` file's folder; `:memory:` (the default) lives as long as the run."""
    script: Annotated[str | None, FilePath] = None
    """A `.sql` file to run when the connection opens (relative to the `.he` file's folder)."""
    init: str | None = None
    """SQL to run when the connection opens, after `script`: e.g. `CREATE TABLE ...; INSERT ...`."""


class Database(Resource):
    """One SQLite connection, shared by the steps it is injected into (one query at a time)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()

    def query(self, sql: str, parameters: Mapping[str, object]) -> tuple[list[str], list[tuple[object, ...]]]:
        """Column names and rows of one SELECT, `@name`s bound from `parameters`."""
        bound = {name: _sqlite_value(value) for name, value in parameters.items()}
        with self._lock:
            cursor = self._connection.execute(sql, bound)
            try:
                names = [d[0] for d in cursor.description or ()]
                return names, cursor.fetchall()
            finally:
                cursor.close()

    def close(self) -> None:
        with self._lock:
            self._connection.close()


@plugin.resource(name="connection")
def connection(config: ConnectionConfig) -> Database:
    """A SQLite database: a file, or one in memory for the run."""
    target = config.path if config.path == MEMORY else str(resolve_path(config.path))
    if target != MEMORY:
        resolve_path(config.path).parent.mkdir(parents=True, exist_ok=True)
    handle = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
    try:
        if config.script is not None:
            handle.executescript(resolve_path(config.script).read_text(encoding="utf-8"))
        if config.init is not None:
            handle.executescript(config.init)
    except BaseException:
        handle.close()
        raise
    return Database(handle)


class QueryConfig(StepConfig[ConnectionConfig]):
    query: str
    """One SELECT; `@name` marks a parameter."""


def sqlite_schema(config: Mapping[str, object], input_schema: Schema | None) -> Schema:
    """The query's result columns; SQLite stores every integer in 64 bits and every real as a double."""
    query = config.get("query")
    if not isinstance(query, str):
        return Schema.unknown()  # a missing or mistyped `query` is reported as a config error
    from heddle_engine.modules.fhub.sql import query_schema  # sqlglot: asked only when SQLite left a type unknown

    schema = query_schema(query, "sqlite")
    return Schema(tuple(Column(c.name, _widened(c.dtype)) for c in schema.columns), schema.open)


@plugin.step(name="query", resource="connection", placement="driver", infer=sqlite_schema, parameters=config_parameters,
             describe=describe_hook("sqlite", ask_sqlite, sqlite_identity, local=True),
             lookup_batches=lookup_batches("sqlite"), pushdown="sqlite")
def query(config: QueryConfig, **parameters: object) -> Table:
    """Run a SELECT on the injected database; its result columns are read from the SQL before running."""
    database = config.resource
    if not isinstance(database, Database):
        raise TypeError(f"sqlite.query needs a sqlite.connection, not {type(database).__name__}")
    sql = config.query
    batch = batch_of(parameters)
    if batch is not None:  # a lookup's keys, all at once, as one JSON text the query unpacks
        name, keys = batch
        sql = rewritten(sql, name, lambda: f"IN (SELECT value FROM json_each(@{name}))")
        parameters = {**parameters, name: json.dumps([_sqlite_value(k) for k in keys], default=str)}
    names, rows = database.query(sql, parameters)
    # the types the text gives (a CAST, a literal): none in the plainest form, read without sqlglot
    declared = Schema.unknown() if plain_parameters(config.query) is not None else sqlite_schema(config.to_dict(), None)
    columns = []
    for position, name in enumerate(names):
        column = declared.get(name)
        dtype = column.dtype if column is not None else None
        values = [row[position] for row in rows]
        series = pl.Series(name, values, dtype=dtype if not values else None, strict=False)
        columns.append(series.cast(dtype) if dtype is not None and values else series)
    return Table.from_polars(pl.DataFrame(columns))


def _widened(dtype: pl.DataType | None) -> pl.DataType | None:
    if dtype is not None and dtype.is_integer():
        return pl.Int64()
    if dtype is not None and dtype.is_float():
        return pl.Float64()
    return dtype


def _sqlite_value(value: object) -> object:
    """A parameter as SQLite stores it: dates and times as ISO text, decimals as text, booleans as 0/1."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    return value
