"""The data the differential corpus runs on: the real chinook database and four edge-case versions of it.

Every data set has chinook's eleven tables with the same columns and types, so every corpus query runs on
each of them:

  chinook   the real data (`chinook.py`)
  empty     no rows at all
  nulls     five rows per table, every value null (keys included)
  unicode   text from many scripts: accents, CJK, right-to-left, emoji, combining marks, zero-width and
            empty strings; keys that join
  extremes  the limits of each type: Int64's minimum and maximum, ±0.0, the largest and smallest doubles,
            infinity and NaN, dates far from today; keys that join
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import pyarrow as pa

from tests.differential.chinook import chinook_tables

KINDS = ("chinook", "empty", "nulls", "unicode", "extremes")
ROWS = 6

_UNICODE_TEXT = [
    "Ação São José", "東京 — 北京", "שלום עולם", "emoji 🎸🥁 🇧🇷", "e\u0301 combining", "", "zero\u200bwidth",
    "ÅÄÖ åäö ß", "Ελληνικά", "Привет", "a%b_c", "line\nbreak",
]
_EXTREME_INTS = [-(2**63), 2**63 - 1, 0, -1, 1, 2**53 + 1]
_EXTREME_FLOATS = [1.7976931348623157e308, -1.7976931348623157e308, 5e-324, -0.0, math.inf, math.nan]
_EXTREME_DATES = [dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(1970, 1, 1), dt.date(2000, 2, 29),
                  dt.date(1969, 12, 31), dt.date(2038, 1, 19)]
_EXTREME_STAMPS = [
    dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999), dt.datetime(1970, 1, 1),
    dt.datetime(2000, 2, 29, 12, 30), dt.datetime(1969, 12, 31, 23, 59, 59), dt.datetime(2038, 1, 19, 3, 14, 7),
]
_EXTREME_TEXT = ["", " ", "x" * 300, "   padded   ", "UPPER lower", "'quote\" and \\ backslash"]


def _is_key(column: str) -> bool:
    return column.endswith("_id") or column == "reports_to"


def _values(kind: str, column: str, dtype: pa.DataType, rows: int) -> list[object]:
    if _is_key(column):
        # 1..rows-1 and a null: joins find partners, and a null key never matches
        return [None if i == rows - 1 else (i % (rows - 1)) + 1 for i in range(rows)]
    pick: Callable[[int], object]
    if pa.types.is_integer(dtype):
        pick = (lambda i: _EXTREME_INTS[i % len(_EXTREME_INTS)]) if kind == "extremes" else (lambda i: i * 7 - 3)
    elif pa.types.is_floating(dtype):
        pick = (lambda i: _EXTREME_FLOATS[i % len(_EXTREME_FLOATS)]) if kind == "extremes" else (lambda i: i * 1.25)
    elif pa.types.is_string(dtype):
        text = _EXTREME_TEXT if kind == "extremes" else _UNICODE_TEXT
        offset = sum(map(ord, column))
        pick = lambda i: text[(i + offset) % len(text)]  # noqa: E731
    elif pa.types.is_date(dtype):
        pick = (lambda i: _EXTREME_DATES[i % len(_EXTREME_DATES)]) if kind == "extremes" else (
            lambda i: dt.date(2020, 1, 1) + dt.timedelta(days=37 * i))
    elif pa.types.is_timestamp(dtype):
        pick = (lambda i: _EXTREME_STAMPS[i % len(_EXTREME_STAMPS)]) if kind == "extremes" else (
            lambda i: dt.datetime(2020, 1, 1, 8) + dt.timedelta(hours=29 * i))
    else:
        raise TypeError(f"no edge values for {dtype}")
    return [pick(i) for i in range(rows)]


def _edge(kind: str, schema: pa.Schema) -> pa.Table:
    if kind == "empty":
        return schema.empty_table()
    if kind == "nulls":
        return pa.table({f.name: pa.nulls(ROWS - 1, type=f.type) for f in schema}, schema=schema)
    return pa.table({f.name: pa.array(_values(kind, f.name, f.type, ROWS), type=f.type) for f in schema},
                    schema=schema)


def dataset(kind: str) -> dict[str, pa.Table]:
    """The tables of data set `kind` (one of `KINDS`)."""
    real = chinook_tables()
    if kind == "chinook":
        return real
    if kind not in KINDS:
        raise KeyError(kind)
    return {name: _edge(kind, table.schema) for name, table in real.items()}
