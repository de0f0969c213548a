"""`std/io`: read and write files (CSV, Parquet, Arrow IPC, JSON) and print tables.

Readers are sources: their output is unknown unless the config declares it with `schema` (column types as
Polars spells them, e.g. `{ id: "Int64", name: "String" }`) or names the `columns` to keep. Writers and
printers are sinks that pass their input through, so a pipeline may go on after them. Readers are lazy scans
(a relational block reading one scans only the columns and rows it keeps); a writer given the lazy query of
the blocks before it writes it as it streams (`sink_csv`, `sink_parquet`, `sink_ipc`, `sink_ndjson`), never
holding it in memory, into a file beside the target that is renamed into place once whole.

A relative `path` is relative to the folder of the `.he` file being run (not to the current directory).
`read_json` reads one JSON array, or JSON lines with `lines: true`; `write_json` writes either way.

`read_csv` under a declared `schema` checks that every row has every field: a row with too few (or too many)
goes to the stage's handler with its line and text, unless `fill_missing: true` (`csv_rows.py`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Literal, TextIO, TypeVar

import polars as pl

from heddle.core.config import FilePath
from heddle.core.step import StepConfig
from heddle.core.table import RowErrors, Table
from heddle.sdk.plugin import Plugin
from heddle_engine.modules.declared import declared_schema, polars_schema
from heddle_engine.run_folder import resolve_path
from heddle_lang.catalog import InferenceError
from heddle_lang.types import Schema

plugin = Plugin(namespace="io")
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


# --- printing --------------------------------------------------------------------------------------


class PrintConfig(StepConfig[None]):
    rows: int | None = None
    """Show at most this many rows (all by default)."""


@plugin.step(name="print", placement="driver", passthrough=True)
def print_table(config: PrintConfig, input: Table) -> Table:
    """Print the table to standard output and pass it on."""
    _show(input, config.rows, sys.stdout)
    return input


@plugin.step(name="stderr", placement="driver", passthrough=True)
def print_stderr(config: PrintConfig, input: Table) -> Table:
    """Print the table to standard error and pass it on (in a handler: the failed rows and the error)."""
    _show(input, config.rows, sys.stderr)
    return input


def _show(table: Table, rows: int | None, stream: TextIO) -> None:
    with pl.Config(tbl_rows=rows if rows is not None else -1, tbl_cols=-1, fmt_str_lengths=120):
        print(table.to_polars(), file=stream, flush=True)


# --- reading ---------------------------------------------------------------------------------------


class ReadConfig(StepConfig[None]):
    path: Annotated[str, FilePath]
    """The file to read (relative to the `.he` file's folder; inside the project unless `heddle.toml` allows
    its folder)."""
    columns: list[str] | None = None
    """Keep only these columns, in this order."""
    schema: dict[str, str] | None = None
    """The file's columns and their types (`{ id: "Int64", name: "String" }`): checked before running."""


class ReadCsvConfig(ReadConfig):
    separator: str = ","
    has_header: bool = True
    null_values: list[str] | None = None
    """Strings read as null."""
    fill_missing: bool = False
    """Under a declared `schema`: fill the missing fields of a row that has too few with nulls. By default such
    a row is an error row: it goes to the stage's handler with its line and text."""


class ReadParquetConfig(ReadConfig):
    pass


class ReadIpcConfig(ReadConfig):
    pass


class ReadJsonConfig(ReadConfig):
    lines: bool = False
    """Newline-delimited JSON (one object per line) instead of one JSON array."""


def reader_schema(config: Mapping[str, object], input_schema: Schema | None) -> Schema:
    declared = declared_schema(config)
    columns = config.get("columns")
    keep = [c for c in columns if isinstance(c, str)] if isinstance(columns, list) else None
    if declared is None:
        return Schema.of(dict.fromkeys(keep)) if keep else Schema.unknown()
    if keep is None:
        return declared
    missing = [c for c in keep if c not in declared]
    if missing:
        raise InferenceError(f"`columns` names {', '.join(f'`{c}`' for c in missing)}, which `schema` does not "
                             f"declare (it has {', '.join(declared.names)})")
    return Schema(tuple(c for name in keep for c in declared.columns if c.name == name))


def csv_schema(config: Mapping[str, object], input_schema: Schema | None) -> Schema:
    """A reader's schema; a CSV file has only flat columns: a nested type cannot be read from it."""
    schema = reader_schema(config, input_schema)
    nested = [c for c in schema.columns if c.dtype is not None and c.dtype.is_nested()]
    if nested:
        listed = ", ".join(f"`{c.name}` is {c.dtype}" for c in nested)
        raise InferenceError(f"a CSV file has only flat columns (text, numbers, dates...): {listed}")
    return schema


@plugin.step(name="read_csv", placement="driver", infer=csv_schema)
def read_csv(config: ReadCsvConfig) -> Table:
    """Read a CSV file. Under a declared `schema`, a row with too few or too many fields goes to the handler
    (its line and text), unless `fill_missing: true` fills missing fields with nulls."""
    schema = polars_schema(config.schema)
    if schema and not config.fill_missing:
        # pyarrow's CSV reader, imported here: checking a program that reads CSV needs no pyarrow
        from heddle_engine.modules.std.csv_rows import bad_rows_table, read_checked

        frame, bad = read_checked(resolve_path(config.path), schema, separator=config.separator,
                                  has_header=config.has_header, null_values=config.null_values)
        good = Table.from_polars(_conform(frame, config))
        if bad:
            raise RowErrors(good, Table.from_polars(bad_rows_table(bad)), [row.reason() for row in bad])
        return good
    frame = pl.scan_csv(
        resolve_path(config.path), separator=config.separator, has_header=config.has_header,
        null_values=config.null_values,
        schema_overrides=schema if config.has_header else None,
        new_columns=list(schema) if schema and not config.has_header else None,
    )
    return _scan(frame, config)


@plugin.step(name="read_parquet", placement="driver", infer=reader_schema)
def read_parquet(config: ReadParquetConfig) -> Table:
    """Read a Parquet file."""
    path = resolve_path(config.path)
    whole = config.schema is None and config.columns is None
    return _scan(pl.scan_parquet(path), config, parquet=str(path) if whole else None)


@plugin.step(name="read_ipc", placement="driver", infer=reader_schema)
def read_ipc(config: ReadIpcConfig) -> Table:
    """Read an Arrow IPC file (Feather v2), memory-mapped."""
    return _scan(pl.scan_ipc(resolve_path(config.path)), config)


@plugin.step(name="read_json", placement="driver", infer=reader_schema)
def read_json(config: ReadJsonConfig) -> Table:
    """Read a JSON file: an array of objects, or one object per line with `lines: true`."""
    path = resolve_path(config.path)
    if config.lines:
        return _scan(pl.scan_ndjson(path), config)
    return Table.from_polars(_conform(pl.read_json(path), config))


def _scan(frame: pl.LazyFrame, config: ReadConfig, *, parquet: str | None = None) -> Table:
    """The file as a table not read yet (`Table.scan`): a relational block that reads it makes the scan part of
    its query, so only the columns and rows it keeps are read. Its schema is read now (a missing or malformed
    file fails here, in this step)."""
    frame = _conform(frame, config)
    frame.collect_schema()
    return Table.scan(frame, parquet=parquet)


def _conform(frame: Frame, config: ReadConfig) -> Frame:
    """The frame as the plan typed it: the declared columns, cast to their declared types."""
    schema = polars_schema(config.schema)
    if schema is not None:
        frame = frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
    return frame.select(config.columns) if config.columns is not None else frame


# --- writing ---------------------------------------------------------------------------------------


class WriteConfig(StepConfig[None]):
    path: Annotated[str, FilePath]
    """The file to write, relative to the `.he` file's folder (its folder is created); an existing file is
    replaced. Inside the project unless `heddle.toml` allows its folder."""


class WriteCsvConfig(WriteConfig):
    separator: str = ","
    include_header: bool = True


class WriteParquetConfig(WriteConfig):
    compression: Literal["zstd", "snappy", "gzip", "lz4", "uncompressed"] = "zstd"


class WriteIpcConfig(WriteConfig):
    compression: Literal["zstd", "lz4", "uncompressed"] = "uncompressed"


class WriteJsonConfig(WriteConfig):
    lines: bool = False
    """Newline-delimited JSON (one object per line) instead of one JSON array."""


@plugin.step(name="write_csv", placement="driver", passthrough=True, sink=True)
def write_csv(config: WriteCsvConfig, input: Table) -> Table:
    """Write the table to a CSV file and pass it on."""
    target = _target(config.path)
    query = input.pending_query()
    if query is None:
        input.to_polars().write_csv(target, separator=config.separator, include_header=config.include_header)
        return input
    schema = query.collect_schema()
    _sunk(target, lambda path: input.sink(query.sink_csv(path, separator=config.separator,
                                                         include_header=config.include_header, lazy=True)))
    return Table.scan(pl.scan_csv(target, separator=config.separator, has_header=config.include_header,
                                  schema=schema))


@plugin.step(name="write_parquet", placement="driver", passthrough=True, sink=True)
def write_parquet(config: WriteParquetConfig, input: Table) -> Table:
    """Write the table to a Parquet file and pass it on."""
    target = _target(config.path)
    query = input.pending_query()
    if query is None:
        input.to_polars().write_parquet(target, compression=config.compression)
        return input
    _sunk(target, lambda path: input.sink(query.sink_parquet(path, compression=config.compression, lazy=True)))
    return Table.scan(pl.scan_parquet(target), parquet=str(target))


@plugin.step(name="write_ipc", placement="driver", passthrough=True, sink=True)
def write_ipc(config: WriteIpcConfig, input: Table) -> Table:
    """Write the table to an Arrow IPC file (Feather v2) and pass it on."""
    target = _target(config.path)
    compression = None if config.compression == "uncompressed" else config.compression
    query = input.pending_query()
    if query is None:
        input.to_polars().write_ipc(target, compression=compression or "uncompressed")
        return input
    _sunk(target, lambda path: input.sink(query.sink_ipc(path, compression=compression, lazy=True)))
    return Table.scan(pl.scan_ipc(target))


@plugin.step(name="write_json", placement="driver", passthrough=True, sink=True)
def write_json(config: WriteJsonConfig, input: Table) -> Table:
    """Write the table to a JSON file (an array of objects, or one per line with `lines: true`) and pass it on."""
    target = _target(config.path)
    query = input.pending_query()
    if query is not None and config.lines:
        schema = query.collect_schema()
        _sunk(target, lambda path: input.sink(query.sink_ndjson(path, lazy=True)))
        return Table.scan(pl.scan_ndjson(target, schema=schema))
    frame = input.to_polars()
    if config.lines:
        frame.write_ndjson(target)
    else:
        frame.write_json(target)
    return input


def _target(path: str) -> Path:
    target = resolve_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _sunk(target: Path, sink: Callable[[Path], object]) -> None:
    """Write a streaming query's rows beside `target`, then put the file in its place: a query that fails
    half-way (its data, the disk) leaves no half-written file, and an existing one is replaced whole."""
    partial = target.with_name(f".{target.stem}.{os.getpid()}.partial{target.suffix}")
    try:
        sink(partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
