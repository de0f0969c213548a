"""The `describe` hooks of the SQL connectors: a query's result columns as PostgreSQL, ClickHouse or SQLite
describe them, asked at check time through `heddle_engine.describe` (cached per connection and query text,
bounded in time, in the background in an editor). Nothing is executed: PostgreSQL prepares the statement,
ClickHouse answers `DESCRIBE`, SQLite prepares a temporary view over it.

A connection's secret written `env:NAME` is read from the environment of the process that checks.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path

import polars as pl

from heddle_engine.describe import DESCRIBER, QueryRefused
from heddle_engine.modules.fhub.sql_parameters import parameter_spans
from heddle_engine.run_folder import resolve_path
from heddle_lang.catalog import DescribeHook
from heddle_lang.types import Column, Schema

CONNECT_TIMEOUT = 3  # seconds
STATEMENT_TIMEOUT = 5  # seconds

Ask = Callable[[Mapping[str, object], str], Schema]


def describe_hook(kind: str, ask: Ask, identity: Callable[[Mapping[str, object]], Hashable | None] | None = None,
                  key: str = "connection", *, local: bool = False) -> DescribeHook:
    """A step's `describe` hook: the query of its config asked of the resource injected under `key`. `local`: the
    database is files on this machine, which `ask` opens (no server is asked)."""

    def describe(config: Mapping[str, object], resources: Mapping[str, Mapping[str, object]]) -> Schema | None:
        query = config.get("query")
        resource = resources.get(key)
        if not isinstance(query, str) or resource is None:
            return None
        connection = identity(resource) if identity is not None else _identity(resource)
        if connection is None:
            return None
        return DESCRIBER.describe((kind, connection), query, lambda: ask(resource, query), local=local)

    return describe


def _identity(config: Mapping[str, object]) -> Hashable:
    return tuple(sorted((k, repr(v)) for k, v in config.items()))


def secret(value: object) -> str | None:
    """A config value, `env:NAME` read from the environment."""
    if isinstance(value, str) and value.startswith("env:"):
        return os.environ.get(value.removeprefix("env:"))
    return value if isinstance(value, str) else None


def _positional(sql: str, placeholder: Callable[[int], str]) -> str:
    """Each `@name` as a positional placeholder (the same name, the same number)."""
    numbers: dict[str, int] = {}
    parts: list[str] = []
    last = 0
    for start, end, name in parameter_spans(sql):
        number = numbers.setdefault(name, len(numbers) + 1)
        parts.extend((sql[last:start], placeholder(number)))
        last = end
    parts.append(sql[last:])
    return "".join(parts)


# --- PostgreSQL ---------------------------------------------------------------------------------------


def ask_postgres(config: Mapping[str, object], query: str) -> Schema:
    import psycopg

    from heddle_engine.modules.fhub.postgresql import _TYPES

    options = {"host": config.get("host"), "port": config.get("port"), "dbname": config.get("database"),
               "user": config.get("user"), "password": secret(config.get("password")),
               "sslmode": config.get("sslmode"), "connect_timeout": CONNECT_TIMEOUT,
               "options": f"-c statement_timeout={STATEMENT_TIMEOUT * 1000}"}
    with psycopg.connect(autocommit=True, **{k: v for k, v in options.items() if v is not None}) as connection:
        pgconn = connection.pgconn
        text = _positional(query, lambda n: f"${n}").encode()
        result = pgconn.prepare(b"", text)
        if result.status != psycopg.pq.ExecStatus.COMMAND_OK:
            raise QueryRefused(_pg_message(result))
        described = pgconn.describe_prepared(b"")
        if described.status != psycopg.pq.ExecStatus.COMMAND_OK:
            raise QueryRefused(_pg_message(described))
        columns = [Column(described.fname(i).decode(), _TYPES.get(described.ftype(i)))
                   for i in range(described.nfields)]
    return Schema(tuple(columns))


def _pg_message(result: object) -> str:
    message = getattr(result, "error_message", b"")
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return " ".join(text.replace("ERROR:", "").split())


# --- ClickHouse ---------------------------------------------------------------------------------------


def clickhouse_identity(config: Mapping[str, object]) -> Hashable | None:
    """An embedded engine is described only when waiting (a command line's check, in the process that will run
    it): an editor must not hold the folder a run needs."""
    if config.get("path") is not None and DESCRIBER.background:
        return None
    return _identity(config)


def ask_clickhouse(config: Mapping[str, object], query: str) -> Schema:
    from heddle_engine.modules.fhub.clickhouse import ClickHouseError, Connection, ConnectionConfig
    from heddle_engine.modules.fhub.clickhouse_sql import polars_type

    values = {k: v for k, v in config.items() if k in ("host", "port", "database", "user", "secure", "protocol",
                                                       "path")}
    connection = Connection(ConnectionConfig(**values, password=secret(config.get("password")),
                                             connect_timeout=float(CONNECT_TIMEOUT),
                                             query_timeout=float(STATEMENT_TIMEOUT)))
    try:
        columns = connection.describe(query)
    except ClickHouseError as error:
        raise QueryRefused(str(error).split(": ", 1)[-1]) from None
    finally:
        connection.close()
    return Schema(tuple(Column(name, polars_type(ch_type)) for name, ch_type in columns))


# --- SQLite -------------------------------------------------------------------------------------------


def sqlite_identity(config: Mapping[str, object]) -> Hashable | None:
    """The file and its modification time (a changed database is asked again); an in-memory database by the
    scripts that make it."""
    path = config.get("path", ":memory:")
    if not isinstance(path, str):
        return None
    if path == ":memory:":
        script = config.get("script")
        stamp = _stamp(resolve_path(script)) if isinstance(script, str) else None
        return ("memory", repr(script), stamp, repr(config.get("init")))
    target = resolve_path(path)
    stamp = _stamp(target)
    return (str(target), stamp) if stamp is not None else None  # a file that does not exist yet: nothing to ask


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def ask_sqlite(config: Mapping[str, object], query: str) -> Schema:
    path = config.get("path", ":memory:")
    if path == ":memory:":
        database = sqlite3.connect(":memory:")
        database.set_authorizer(_no_attach)
        script, init = config.get("script"), config.get("init")
        _bounded(database)
        if isinstance(script, str):
            database.executescript(resolve_path(script).read_text(encoding="utf-8"))
        if isinstance(init, str):
            database.executescript(init)
    else:
        database = sqlite3.connect(f"{resolve_path(str(path)).as_uri()}?mode=ro", uri=True)
        _bounded(database)
    try:
        text = _positional(query, lambda n: "NULL")
        try:  # a view is only prepared, never run; its columns carry the tables' declared types
            database.execute(f"CREATE TEMP VIEW heddle_describe AS {text}")
            rows = database.execute("PRAGMA temp.table_info(heddle_describe)").fetchall()
        except sqlite3.Error as error:
            raise QueryRefused(str(error)) from None
    finally:
        database.close()
    return Schema(tuple(Column(str(row[1]), _sqlite_type(str(row[2]))) for row in rows))


_ATTACH = getattr(sqlite3, "SQLITE_ATTACH", 24)


def _no_attach(action: int, *args: object) -> int:
    return sqlite3.SQLITE_DENY if action == _ATTACH else sqlite3.SQLITE_OK


def _bounded(database: sqlite3.Connection) -> None:
    import time

    deadline = time.monotonic() + STATEMENT_TIMEOUT
    database.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)


_AFFINITY = re.compile(r"INT|CHAR|CLOB|TEXT|BLOB|REAL|FLOA|DOUB", re.IGNORECASE)
_BY_AFFINITY: dict[str, pl.DataType] = {"INT": pl.Int64(), "CHAR": pl.String(), "CLOB": pl.String(),
                                        "TEXT": pl.String(), "BLOB": pl.Binary(), "REAL": pl.Float64(),
                                        "FLOA": pl.Float64(), "DOUB": pl.Float64()}


def _sqlite_type(declared: str) -> pl.DataType | None:
    """A declared column type → what the connector reads its values as, by SQLite's affinity rules (integers in
    64 bits, reals as doubles); other declarations (DATE, NUMERIC, ...) hold any value: unknown."""
    found = _AFFINITY.search(declared)
    return _BY_AFFINITY[found.group(0).upper()] if found is not None else None
