"""PRQL's answer: the block's canonical PRQL compiled by prqlc for DuckDB and run by DuckDB on the same tables.

The canonical PRQL is what Heddle compiles (`BlockAnalysis.prql`: the user's text with Heddle's compact forms
spelt out); the prelude that declares each table's columns is the one Heddle prepends, so prqlc sees the same
query twice and only the engine differs. The SQL is prqlc's for DuckDB, generated from the RQ after
`using.restore_order` (prqlc 0.13 lists the columns left by `select !{T.key}` in a random order).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
import polars as pl
import prqlc
import pyarrow as pa

from heddle_lang.relational import analyze_block, sql_table_name
from heddle_lang.relational.compile import compile_prql
from heddle_lang.relational.prelude import build_prelude
from heddle_lang.types import Schema

OPTIONS = prqlc.CompileOptions(format=True, signature_comment=False, target="sql.duckdb")


@dataclass(frozen=True, slots=True)
class Reference:
    sql: str | None  # None when prqlc does not compile the query
    frame: pl.DataFrame | None  # DuckDB's result; None on an error
    error: str | None
    unnamed: tuple[int, ...] = ()  # output positions PRQL gives no name (each engine invents one)
    order: tuple[tuple[int, bool], ...] | None = None  # (output position, descending) of each sort key
    order_complete: bool = False  # every sort key is an output column


def schema_of(table: pa.Table) -> Schema:
    return Schema.of(dict(pl.from_arrow(table.schema.empty_table()).schema))  # type: ignore[union-attr]


class Database:
    """One DuckDB connection with the tables of a data set registered (as `__heddle_<name>`)."""

    def __init__(self, tables: Mapping[str, pa.Table]) -> None:
        self.tables = tables
        self.schemas = {name: schema_of(table) for name, table in tables.items()}
        self.connection = duckdb.connect()
        for name, table in tables.items():
            self.connection.register(sql_table_name(name), table)

    def close(self) -> None:
        self.connection.close()


def answer(query: str, tables: Mapping[str, pa.Table], database: Database | None = None) -> Reference:
    """PRQL's answer to `query` on `tables` (through `database`, made for them, when given)."""
    if database is None:
        database = Database(tables)
        try:
            return answer(query, tables, database)
        finally:
            database.close()
    schemas = database.schemas
    analysis = analyze_block(query, schemas, is_source=True)
    used = [name for name in analysis.tables if name in tables]
    text = build_prelude([(name, schemas[name]) for name in used]).text + analysis.prql
    compiled = compile_prql(text)  # prqlc's three stages, with `using.restore_order` on the RQ
    if compiled.sql is None or compiled.rq is None:
        reason = compiled.error.reason if compiled.error else "no SQL"
        return Reference(None, None, f"prqlc: {reason.splitlines()[0][:300] if reason else ''}")
    sql = prqlc.rq_to_sql(compiled.rq, OPTIONS)
    rq = json.loads(compiled.rq)
    unnamed, order, complete = _shape(rq)
    try:
        result = database.connection.sql(sql).arrow()
        table = result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    except Exception as error:
        return Reference(sql, None, f"duckdb: {type(error).__name__}: {str(error).splitlines()[0][:300]}",
                         unnamed, order, complete)
    return Reference(sql, _frame(table), None, unnamed, order, complete)


def _frame(table: pa.Table) -> pl.DataFrame:
    """DuckDB's table as Polars holds it; repeated names take the suffixes Heddle gives them (`id`, `id:1`)."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for name in table.column_names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.append(name if count == 0 else f"{name}:{count}")
    renamed = table.rename_columns(names)
    columns = []
    for field, column in zip(renamed.schema, renamed.columns, strict=True):
        if pa.types.is_interval(field.type):  # DuckDB's INTERVAL: months, days, nanoseconds
            columns.append(pa.array([_interval(v) for v in column.to_pylist()], type=pa.duration("us")))
        else:
            columns.append(column)
    return pl.from_arrow(pa.table(columns, names=names))  # type: ignore[return-value]


def _interval(value: object) -> object:
    if value is None:
        return None
    months, days, nanoseconds = value  # type: ignore[misc]
    if months:
        raise ValueError("an interval of months has no fixed duration")
    return (days * 86_400_000_000_000 + nanoseconds) // 1000


def _shape(rq: dict) -> tuple[tuple[int, ...], tuple[tuple[int, bool], ...] | None, bool]:
    """Unnamed output positions, and the output positions the result is sorted by (from the RQ)."""
    relation = rq["relation"]
    columns = relation["columns"]
    unnamed = tuple(i for i, c in enumerate(columns) if isinstance(c, dict) and c.get("Single") is None)
    pipeline = relation["kind"].get("Pipeline") if isinstance(relation["kind"], dict) else None
    if not pipeline:
        return unnamed, None, False
    sort: list[tuple[int, bool]] | None = None
    output: list[int] = []
    for transform in pipeline:
        (kind, value), = transform.items() if isinstance(transform, dict) else ((transform, None),)
        if kind == "Sort":
            sort = [(s["column"], s["direction"] == "Desc") for s in value]
        elif kind in ("Aggregate", "Append", "Loop") or (kind == "Take" and value["partition"]):
            sort = None
        elif kind == "Select":
            output = list(value)
    if not sort:
        return unnamed, None, False
    positions = tuple((output.index(cid), descending) for cid, descending in sort if cid in output)
    return unnamed, positions, len(positions) == len(sort)
