"""ClickHouse SQL for `fhub/clickhouse`: `@name` parameters bound as data, types both ways, table DDL.

A query's `@name`s never reach the server as text of the query. On a current server (and in the embedded
engine) each becomes a server-side parameter `{name:Type}`, its value sent apart from the query; on an old
server spoken to over the native protocol (which has no server-side parameters) the values travel as an
external table, one row, that the query reads with `(SELECT name FROM _heddle_parameters)`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import re
from collections.abc import Mapping, Sequence

import polars as pl
from sqlglot import exp
from sqlglot.errors import SqlglotError

from heddle_engine.modules.fhub.sql import sql_type
from heddle_engine.modules.fhub.sql_parameters import parameter_spans

PARAMETERS_TABLE = "_heddle_parameters"
_TIME_ZONE = re.compile(r"'([^']+)'\s*\)\s*$")


def parameter_type(value: object, *, legacy: bool = False) -> str:
    """The ClickHouse type a parameter value is sent as (`legacy`: an old server, without `Bool`)."""
    if value is None:
        return "Nullable(String)"
    if isinstance(value, bool):
        return "UInt8" if legacy else "Bool"
    if isinstance(value, int):
        return "UInt64" if value >= 2**63 else "Int64"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, decimal.Decimal):
        exponent = value.as_tuple().exponent
        scale = max(0, -int(exponent)) if isinstance(exponent, int) else 0
        return f"Decimal(38, {min(scale, 37)})"
    if isinstance(value, dt.datetime):
        if legacy:  # no DateTime64 before 20.1
            return "DateTime('UTC')" if value.tzinfo is not None else "DateTime"
        return "DateTime64(6, 'UTC')" if value.tzinfo is not None else "DateTime64(6)"
    if isinstance(value, dt.date):
        return "Date32" if not legacy else "Date"
    if isinstance(value, list | tuple):
        inner = next((parameter_type(v, legacy=legacy) for v in value if v is not None), "String")
        nullable = any(v is None for v in value) and not inner.startswith("Nullable(")
        return f"Array({f'Nullable({inner})' if nullable else inner})"
    return "String"  # text, and anything else as its text


def server_parameters(sql: str, values: Mapping[str, object]) -> tuple[str, dict[str, object]]:
    """The query with each `@name` as a server-side parameter `{name:Type}`, and the values to send."""
    parts: list[str] = []
    last = 0
    bound: dict[str, object] = {}
    for start, end, name in parameter_spans(sql):
        if name not in values:
            raise KeyError(f"the query refers to @{name}, which has no value")
        value = _plain(values[name])
        parts.append(sql[last:start])
        parts.append(f"{{{name}:{parameter_type(value)}}}")
        bound[name] = value
        last = end
    parts.append(sql[last:])
    return "".join(parts), bound


def external_parameters(sql: str, values: Mapping[str, object]) -> tuple[str, list[dict[str, object]]]:
    """For a server without server-side parameters: the query reading each `@name` from an external table, and
    those tables (`name`, `structure`, `data`): one row of every scalar value, and for a lookup's batch of
    keys (`Keys`) a table of its own with a row per key, which `IN @name` then reads whole."""
    from heddle.core.step import Keys

    parts: list[str] = []
    last = 0
    structure: dict[str, str] = {}
    row: dict[str, object] = {}
    tables: dict[str, dict[str, object]] = {}
    for start, end, name in parameter_spans(sql):
        if name not in values:
            raise KeyError(f"the query refers to @{name}, which has no value")
        value = values[name]
        parts.append(sql[last:start])
        if isinstance(value, Keys):
            table = f"{PARAMETERS_TABLE}_{name}"
            inner = parameter_type(list(value), legacy=True)[len("Array("):-1]
            tables[table] = {"name": table, "structure": [(name, inner)], "data": [{name: k} for k in value]}
            parts.append(f"(SELECT `{name}` FROM {table})")
        else:
            value = _plain(value)
            structure[name] = parameter_type(value, legacy=True)
            row[name] = value
            parts.append(f"(SELECT `{name}` FROM {PARAMETERS_TABLE})")
        last = end
    parts.append(sql[last:])
    if structure:
        tables[PARAMETERS_TABLE] = {"name": PARAMETERS_TABLE, "structure": list(structure.items()), "data": [row]}
    return "".join(parts), list(tables.values())


def describe_text(sql: str) -> str:
    """The query whose result types are to be described, every `@name` standing as a typeless NULL."""
    parts: list[str] = []
    last = 0
    for start, end, _ in parameter_spans(sql):
        parts.extend((sql[last:start], "NULL"))
        last = end
    parts.append(sql[last:])
    return f"DESCRIBE TABLE ({''.join(parts)})"


@functools.lru_cache(maxsize=1024)
def polars_type(ch_type: str) -> pl.DataType | None:
    """A ClickHouse type (as the server names it) → the Polars type its column is read as; None if unknown."""
    try:
        data_type = exp.DataType.build(ch_type, dialect="clickhouse")
    except (SqlglotError, ValueError):
        return None
    if data_type.this == exp.DataType.Type.NOTHING:
        return None
    dtype = sql_type(data_type)
    zone = _TIME_ZONE.search(ch_type) if isinstance(dtype, pl.Datetime) else None
    if isinstance(dtype, pl.Datetime) and zone is not None:
        return pl.Datetime(dtype.time_unit, zone.group(1))
    return dtype


def clickhouse_type(dtype: pl.DataType, *, legacy: bool = False, nullable: bool = True) -> str:
    """A Polars type → the ClickHouse column type a created table gives it (nullable: Polars columns may hold
    nulls; `legacy`: a server before 20.1, without DateTime64, Date32 or Bool)."""
    inner = _base_type(dtype, legacy)
    return inner if not nullable or inner.startswith(("Array(", "Map(", "Tuple(")) else f"Nullable({inner})"


def _base_type(dtype: pl.DataType, legacy: bool) -> str:
    if legacy and isinstance(dtype, pl.Datetime):
        return f"DateTime('{dtype.time_zone}')" if dtype.time_zone else "DateTime"
    if legacy and isinstance(dtype, pl.Date | pl.Boolean):
        return "Date" if isinstance(dtype, pl.Date) else "UInt8"
    simple = {pl.Int8: "Int8", pl.Int16: "Int16", pl.Int32: "Int32", pl.Int64: "Int64", pl.UInt8: "UInt8",
              pl.UInt16: "UInt16", pl.UInt32: "UInt32", pl.UInt64: "UInt64", pl.Float32: "Float32",
              pl.Float64: "Float64", pl.Boolean: "Bool", pl.String: "String", pl.Binary: "String",
              pl.Date: "Date32", pl.Categorical: "String", pl.Enum: "String", pl.Null: "String"}
    for kind, name in simple.items():
        if isinstance(dtype, kind):
            return name
    if isinstance(dtype, pl.Datetime):
        digits = {"ms": 3, "us": 6, "ns": 9}[dtype.time_unit]
        return f"DateTime64({digits}, '{dtype.time_zone}')" if dtype.time_zone else f"DateTime64({digits})"
    if isinstance(dtype, pl.Decimal):
        return f"Decimal({dtype.precision or 38}, {dtype.scale or 0})"
    if isinstance(dtype, pl.List | pl.Array):
        return f"Array({clickhouse_type(dtype.inner, legacy=legacy)})"
    if isinstance(dtype, pl.Struct):
        fields = ", ".join(f"{quote(f.name)} {clickhouse_type(f.dtype, legacy=legacy)}" for f in dtype.fields)
        return f"Tuple({fields})"
    raise TypeError(f"a column of type {dtype} has no ClickHouse counterpart here")


def create_table_sql(table: str, schema: Mapping[str, pl.DataType], order_by: Sequence[str] = (), *,
                     legacy: bool = False) -> str:
    """A MergeTree table for a frame of `schema`: every column nullable but those of the sorting key."""
    columns = ", ".join(f"{quote(name)} {clickhouse_type(dtype, legacy=legacy, nullable=name not in order_by)}"
                        for name, dtype in schema.items())
    order = f"({', '.join(quote(c) for c in order_by)})" if order_by else "tuple()"
    return f"CREATE TABLE IF NOT EXISTS {qualified(table)} ({columns}) ENGINE = MergeTree ORDER BY {order}"


def quote(identifier: str) -> str:
    return "`" + identifier.replace("\\", "\\\\").replace("`", "\\`") + "`"


def qualified(table: str) -> str:
    """`db.table` or `table`, each part quoted."""
    return ".".join(quote(part) for part in table.split(".", 1))


def _plain(value: object) -> object:
    """A value as the drivers send it: tuples as lists."""
    return list(value) if isinstance(value, tuple) else value


# Types that ClickHouse's Arrow output carries poorly (DateTime as seconds in a UInt32, an Enum as its code,
# wide integers as bytes): the query is wrapped to convert them on the server.
_AS_TEXT = ("Enum8", "Enum16", "UUID", "FixedString", "IPv4", "IPv6", "Int128", "Int256", "UInt128", "UInt256")


def arrow_friendly(sql: str, columns: list[tuple[str, str]]) -> str:
    """The query wrapped to convert on the server the columns ClickHouse's Arrow output carries poorly (none:
    the query as it is)."""
    converted: list[str] = []
    changed = False
    for name, ch_type in columns:
        base = _strip(ch_type)
        column = quote(name)
        if base.startswith("DateTime(") or base == "DateTime":
            zone = base[len("DateTime("):-1] if base.startswith("DateTime(") else ""
            converted.append(f"toDateTime64({column}, 0{', ' + zone if zone else ''}) AS {column}")
            changed = True
        elif base.startswith(_AS_TEXT):
            converted.append(f"toString({column}) AS {column}")
            changed = True
        else:
            converted.append(column)
    if not changed:
        return sql
    return f"SELECT {', '.join(converted)} FROM ({sql})"


def _strip(ch_type: str) -> str:
    """The type inside `Nullable(...)` / `LowCardinality(...)`."""
    for wrapper in ("Nullable(", "LowCardinality("):
        if ch_type.startswith(wrapper) and ch_type.endswith(")"):
            return _strip(ch_type[len(wrapper):-1])
    return ch_type


