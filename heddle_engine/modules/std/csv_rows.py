"""Reading a CSV file whose columns are declared (`schema`): every row must have every field.

Polars fills a row that has fewer fields than the file's columns with nulls, silently: a wrong table. Under
a declared schema the file is read with Arrow's CSV reader instead, which checks the number of fields of
every row; a row with too few (or too many) is not read into the table but reported: `read_csv` raises
`RowErrors`, its good rows go on and the bad ones — their line and text — go to the stage's handler.
`fill_missing: true` asks for Polars' filling instead.

The line numbers of bad rows are known only when the file is parsed on one thread: the first read uses
every core, and only a file that has bad rows is read again to number them.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv

# Arrow types its CSV reader converts text to; other declared types are read as text and cast by Polars.
_CONVERTED = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_date32,
              pa.types.is_timestamp, pa.types.is_time, pa.types.is_decimal, pa.types.is_string,
              pa.types.is_large_string)


class BadRow:
    """A row whose number of fields is not the file's number of columns."""

    def __init__(self, line: int | None, fields: int, expected: int, text: str) -> None:
        self.line, self.fields, self.expected, self.text = line, fields, expected, text

    def reason(self) -> str:
        where = f"line {self.line}" if self.line is not None else "a row"
        if self.fields < self.expected:
            return (f"{where} has {self.fields} field{'s' if self.fields != 1 else ''} where the file has "
                    f"{self.expected} columns (`fill_missing: true` fills the missing ones with nulls)")
        return f"{where} has {self.fields} fields where the file has {self.expected} columns"


def read_checked(path: Path, schema: dict[str, pl.DataType], *, separator: str, has_header: bool,
                 null_values: list[str] | None) -> tuple[pl.DataFrame, list[BadRow]]:
    """The rows of `path` that have every field, as a frame of the declared columns (not yet cast to the
    declared types that Arrow's reader does not convert), and the rows that do not."""
    arrow_types = pl.DataFrame(schema=schema).to_arrow(compat_level=pl.CompatLevel.oldest()).schema
    column_types = {f.name: f.type for f in arrow_types if any(check(f.type) for check in _CONVERTED)}
    convert = pa_csv.ConvertOptions(
        column_types={name: column_types.get(name, pa.large_string()) for name in schema},
        include_columns=list(schema), null_values=["", *(null_values or ())], strings_can_be_null=True,
        quoted_strings_can_be_null=True)
    read = pa_csv.ReadOptions(column_names=None if has_header else list(schema))
    table, bad = _read(path, read, separator, convert)
    if bad:  # read again on one thread: only then does Arrow say on which line each bad row is
        read = pa_csv.ReadOptions(column_names=read.column_names, use_threads=False)
        table, bad = _read(path, read, separator, convert)
    return pl.DataFrame(pl.from_arrow(table)), bad


def bad_rows_table(bad: list[BadRow]) -> pl.DataFrame:
    """The bad rows as the handler receives them: their line (1-based, the header included) and text."""
    return pl.DataFrame({"line": [b.line for b in bad], "text": [b.text for b in bad]},
                        schema={"line": pl.Int64(), "text": pl.String()})


def _read(path: Path, read: pa_csv.ReadOptions, separator: str,
          convert: pa_csv.ConvertOptions) -> tuple[pa.Table, list[BadRow]]:
    bad: list[BadRow] = []

    def keep_aside(row: pa_csv.InvalidRow) -> str:
        bad.append(BadRow(row.number, row.actual_columns, row.expected_columns, row.text))
        return "skip"

    parse = pa_csv.ParseOptions(delimiter=separator, invalid_row_handler=keep_aside)
    return pa_csv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert), bad
