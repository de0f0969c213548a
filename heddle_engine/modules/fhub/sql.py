"""Typing a SQL query offline (no database): its result columns and their types where the text says (its
`@name` parameters are `sql_parameters.py`'s). Shared by the SQL connectors.

Names: an alias, a column (`t.col` → `col`); PostgreSQL also names a bare function call after the function
and folds unquoted names to lower case, as the server does. Types: a `CAST`, a literal, `count(*)`;
anything else is known only when the query runs (dtype `None`). `SELECT *` is an open schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import polars as pl
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from heddle_lang.catalog import InferenceError
from heddle_lang.types import Column, Schema

Node = Any  # a sqlglot expression (its base class moved between versions)

T = exp.DataType.Type
_TYPE_NAMES: dict[str, pl.DataType] = {
    "TINYINT": pl.Int8(), "SMALLINT": pl.Int16(), "INT": pl.Int32(), "BIGINT": pl.Int64(),
    "UTINYINT": pl.UInt8(), "USMALLINT": pl.UInt16(), "UINT": pl.UInt32(), "UBIGINT": pl.UInt64(),
    "FLOAT": pl.Float32(), "DOUBLE": pl.Float64(), "BOOLEAN": pl.Boolean(),
    "DATE": pl.Date(), "DATE32": pl.Date(), "TIME": pl.Time(), "INTERVAL": pl.Duration("us"),
    "TIMESTAMP": pl.Datetime("us"), "TIMESTAMPTZ": pl.Datetime("us", "UTC"),
    "DATETIME": pl.Datetime("ms"),  # ClickHouse's, in seconds: read as milliseconds
    "BINARY": pl.Binary(), "VARBINARY": pl.Binary(), "BLOB": pl.Binary(),
    **dict.fromkeys(("TEXT", "VARCHAR", "CHAR", "NCHAR", "NVARCHAR", "BPCHAR", "FIXEDSTRING", "UUID", "JSON",
                     "JSONB", "ENUM", "ENUM8", "ENUM16", "NAME"), pl.String()),
}
# by enum member; a member this sqlglot version lacks is skipped
_TYPES: dict[object, pl.DataType] = {getattr(T, n): d for n, d in _TYPE_NAMES.items() if hasattr(T, n)}
_LISTS = {getattr(T, n) for n in ("ARRAY", "LIST") if hasattr(T, n)}


def query_schema(query: str, dialect: str) -> Schema:
    """The result schema of one SELECT (or WITH ... SELECT, UNION ...); raises `InferenceError`."""
    try:
        statements = [s for s in sqlglot.parse(query, read=dialect) if s is not None]
    except ParseError as error:
        detail = error.errors[0] if error.errors else {}
        description = str(detail.get("description", error)).split(" but got ", 1)[0]
        where = f" (line {detail['line']}, column {detail['col']})" if "line" in detail else ""
        raise InferenceError(f"the SQL does not parse: {description}{where}") from None
    except TokenError as error:
        raise InferenceError(f"the SQL does not parse: {error}") from None
    if len(statements) != 1:
        raise InferenceError(f"the query must be one SQL statement, not {len(statements)}")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise InferenceError(f"the query must be a SELECT, not {statement.key.upper()}: only a SELECT has a "
                             "result schema")
    selects = statement.selects
    if not selects:
        raise InferenceError("the query selects no column")
    typed = isinstance(statement, exp.Select)  # a UNION's column types depend on every branch
    columns: list[Column] = []
    star = False
    for position, select in enumerate(selects, start=1):
        if isinstance(select, exp.Star) or (isinstance(select, exp.Column) and isinstance(select.this, exp.Star)):
            star = True
            continue
        name = _column_name(select, dialect, position)
        if any(c.name == name for c in columns):
            raise InferenceError(f"the query returns two columns named `{name}`: give one an alias (`AS name`)")
        columns.append(Column(name, _column_type(select.unalias(), dialect) if typed else None))
    return Schema(tuple(columns), open=star)


def query_inference(dialect: str) -> Callable[[Mapping[str, object], Schema | None], Schema]:
    """An inference hook for a step whose config holds a `query` in `dialect`."""

    def infer(config: Mapping[str, object], input_schema: Schema | None) -> Schema:
        query = config.get("query")
        if not isinstance(query, str):
            return Schema.unknown()  # a missing or mistyped `query` is reported as a config error
        return query_schema(query, dialect)

    return infer


def _column_name(select: Node, dialect: str, position: int) -> str:
    if isinstance(select, exp.Alias | exp.Column):
        identifier = select.args.get("alias") if isinstance(select, exp.Alias) else select.this
        if isinstance(identifier, exp.Identifier):
            return _fold(identifier, dialect)
    if dialect == "postgres":
        inner = select.this if isinstance(select, exp.Cast) else select
        if isinstance(inner, exp.Column) and isinstance(inner.this, exp.Identifier):
            return _fold(inner.this, dialect)
        if isinstance(inner, exp.Anonymous):
            return str(inner.name).lower()
        if isinstance(inner, exp.Func):
            return inner.sql_name().lower()
        return "?column?"
    raise InferenceError(f"column {position} of the query (`{select.sql(dialect)}`) has no name known before it "
                         "runs: give it one with `AS name`")


def _fold(identifier: exp.Identifier, dialect: str) -> str:
    name = str(identifier.this)
    return name.lower() if dialect == "postgres" and not identifier.quoted else name


def _column_type(expression: Node, dialect: str) -> pl.DataType | None:
    if isinstance(expression, exp.Cast):  # also TryCast and `x::type`
        return sql_type(expression.to)
    if isinstance(expression, exp.Boolean):
        return pl.Boolean()
    if isinstance(expression, exp.Count):
        return pl.UInt64() if dialect == "clickhouse" else pl.Int64()
    negative = isinstance(expression, exp.Neg)
    literal = expression.this if negative else expression
    if isinstance(literal, exp.Literal):
        return _literal_type(literal, negative, dialect)
    return None


def _literal_type(literal: exp.Literal, negative: bool, dialect: str) -> pl.DataType | None:
    if literal.is_string:
        return pl.String()
    text = str(literal.this)
    if not text.isdigit():
        # ClickHouse reads `1.5` as Float64; PostgreSQL as numeric, whose precision the server decides
        return pl.Float64() if dialect == "clickhouse" else None
    value = -int(text) if negative else int(text)
    if dialect == "clickhouse":  # the smallest type that holds it, unsigned when it is not negative
        signed = (pl.Int8(), pl.Int16(), pl.Int32(), pl.Int64())
        unsigned = (pl.UInt8(), pl.UInt16(), pl.UInt32(), pl.UInt64())
        for bits, (s, u) in zip((8, 16, 32, 64), zip(signed, unsigned, strict=True), strict=True):
            if 0 <= value < 2**bits:
                return u
            if -(2 ** (bits - 1)) <= value < 0:
                return s
        return None
    return pl.Int32() if -(2**31) <= value < 2**31 else pl.Int64() if -(2**63) <= value < 2**63 else None


def sql_type(data_type: exp.DataType) -> pl.DataType | None:
    """A SQL type (as sqlglot reads it) → the Polars dtype a connector produces; None when unknown."""
    kind = data_type.this
    params = [p.this for p in data_type.expressions if isinstance(p, exp.DataTypeParam)]
    nested = [t for t in data_type.expressions if isinstance(t, exp.DataType)]
    if kind in _LISTS:
        inner = sql_type(nested[0]) if nested else None
        return pl.List(inner if inner is not None else pl.Null())
    if kind == getattr(T, "LOWCARDINALITY", None):
        return sql_type(nested[0]) if nested else None
    if kind == T.DECIMAL:
        numbers = [int(p.this) for p in params if isinstance(p, exp.Literal) and str(p.this).isdigit()]
        return pl.Decimal(numbers[0], numbers[1] if len(numbers) > 1 else 0) if numbers else None
    if kind == getattr(T, "DATETIME64", None):
        digits = int(params[0].this) if params and isinstance(params[0], exp.Literal) else 3
        return pl.Datetime("ms" if digits <= 3 else "us" if digits <= 6 else "ns")
    return _TYPES.get(kind)
