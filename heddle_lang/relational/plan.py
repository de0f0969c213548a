"""Planning a block's SQL on empty Polars frames: the output schema, without touching data.

`polish_sql` first adapts what prqlc emits to what Polars SQL runs: `x LIKE CONCAT('F', '%')` (how
`text.starts_with "F"` and friends compile) becomes `x LIKE 'F%'` when every part is a literal, and
`BOOL_AND`/`BOOL_OR` (PRQL's `all`/`any`) become `MIN`/`MAX`.

Frames of open tables get the columns the block reads as `Null` columns (type unknown). If Polars
still misses a column (the RQ did not name it), it is added to an open table and planning retried.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

MAX_RETRIES = 16


@dataclass(frozen=True, slots=True)
class PlanError:
    kind: str  # the Polars exception class name
    message: str  # its first line


@dataclass(frozen=True, slots=True)
class Planned:
    schema: dict[str, pl.DataType] | None
    error: PlanError | None
    frames: dict[str, dict[str, pl.DataType]]  # what was planned on, with any columns added


# --- SQL polish ------------------------------------------------------------------------------------

_LITERAL = r"'(?:[^']|'')*'"
_LIKE_CONCAT = re.compile(rf"\b(LIKE|ILIKE)\s+CONCAT\(\s*({_LITERAL}(?:\s*,\s*{_LITERAL})*)\s*\)", re.IGNORECASE)
_SQL_LITERAL = re.compile(_LITERAL)


def _code_ranges(sql: str) -> list[tuple[int, int]]:
    """The ranges of `sql` outside string literals and quoted identifiers."""
    ranges: list[tuple[int, int]] = []
    i = start = 0
    n = len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            ranges.append((start, i))
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            i = start = j + 1
            continue
        i += 1
    ranges.append((start, n))
    return ranges


_BOOL_AGGREGATES = re.compile(r"\bBOOL_(AND|OR)\(", re.IGNORECASE)


def polish_sql(sql: str) -> str:
    """What prqlc emits, adapted to Polars SQL (outside string literals and quoted names):
    `LIKE CONCAT('F', '%')` → `LIKE 'F%'` (literal parts only); `BOOL_AND`/`BOOL_OR` (PRQL's `all`
    and `any`) → `MIN`/`MAX`, which Polars computes on booleans."""
    upper = sql.upper()
    if "BOOL_" in upper:
        sql = _outside_literals(sql, _BOOL_AGGREGATES, lambda m: "MIN(" if m.group(1).upper() == "AND" else "MAX(")
    if "CONCAT(" not in upper:
        return sql
    return _outside_literals(sql, _LIKE_CONCAT, _fold_like)


def _fold_like(match: re.Match[str]) -> str:
    parts = [m.group()[1:-1] for m in _SQL_LITERAL.finditer(match.group(2))]
    return f"{match.group(1)} '{''.join(parts)}'"


def _outside_literals(sql: str, pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]) -> str:
    out: list[str] = []
    last = 0
    code = _code_ranges(sql)
    for match in pattern.finditer(sql):
        if not any(a <= match.start() < b for a, b in code):
            continue
        out.append(sql[last : match.start()])
        out.append(replace(match))
        last = match.end()
    out.append(sql[last:])
    return "".join(out)


# --- planning ---------------------------------------------------------------------------------------

_MISSING = (
    re.compile(r'unable to find column "([^"]+)"'),
    re.compile(r"no column named '([^']+)' found in table '([^']*)'"),
    re.compile(r'column "([^"]+)" not found'),
)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def plan_sql(
    sql: str, frames: Mapping[str, Mapping[str, pl.DataType]], open_tables: tuple[str, ...] = ()
) -> Planned:
    """Plan `sql` over empty frames `{sql table name: {column: dtype}}`. Never raises."""
    schemas = {name: dict(columns) for name, columns in frames.items()}
    for _ in range(MAX_RETRIES + 1):
        try:
            context = pl.SQLContext({name: pl.LazyFrame(schema=cols) for name, cols in schemas.items()})
            result = context.execute(sql, eager=False).collect_schema()
            return Planned(dict(result), None, schemas)
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt | SystemExit | GeneratorExit):
                raise
            failure = PlanError(type(error).__name__, _first_line(error))
        if _retype_join_key(failure.message, schemas):
            continue
        missing = _missing_column(failure.message)
        target = _table_for(missing, open_tables, schemas) if missing else None
        if missing is None or target is None:
            return Planned(None, failure, schemas)
        schemas[target][missing[0]] = pl.Null()
    return Planned(None, failure, schemas)


_JOIN_KEYS = re.compile(r"join keys don't match - `([^`]+)`: (\w+) on \w+ does not match `([^`]+)`: (\w+)")


def _retype_join_key(message: str, schemas: dict[str, dict[str, pl.DataType]]) -> bool:
    """A join key of unknown type (`Null`) takes the type of the key it is compared with."""
    match = _JOIN_KEYS.search(message)
    if match is None:
        return False
    left, left_type, right, right_type = match.groups()
    if left_type == "null" and right_type != "null":
        unknown, known = left, right
    elif right_type == "null" and left_type != "null":
        unknown, known = right, left
    else:
        return False
    dtype = next((cols[known] for cols in schemas.values() if cols.get(known, pl.Null()) != pl.Null), None)
    targets = [cols for cols in schemas.values() if unknown in cols and cols[unknown] == pl.Null]
    if dtype is None or not targets:
        return False
    for cols in targets:
        cols[unknown] = dtype
    return True


def _missing_column(message: str) -> tuple[str, str] | None:
    for pattern in _MISSING:
        match = pattern.search(message)
        if match:
            return match.group(1), (match.group(2) if match.lastindex and match.lastindex > 1 else "")
    return None


def _table_for(
    missing: tuple[str, str], open_tables: tuple[str, ...], schemas: Mapping[str, Mapping[str, pl.DataType]]
) -> str | None:
    column, table = missing
    candidates = [t for t in open_tables if column not in schemas.get(t, {})]
    for name in candidates:
        if table and name.endswith(table):
            return name
    return candidates[0] if candidates else None
