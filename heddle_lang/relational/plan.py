"""Typing a block without touching data: its RQ lowered to Polars (`lowering`) over empty frames of the
tables' schemas, and `collect_schema()`.

Frames of open tables get the columns the block reads as `Null` columns (type unknown; `unknowns.settled` keeps
only the output types that do not depend on them). If Polars still misses a column (the RQ did not name it), it
is added to an open table and planning retried.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import polars as pl

from heddle_lang.records import record
from heddle_lang.relational import rq
from heddle_lang.relational.lowering import UnsupportedError, lazy_query
from heddle_lang.relational.lowering.errors import LoweringTypeError

MAX_RETRIES = 16


@record
class PlanError:
    kind: str  # the Polars exception class name, or "Unsupported"
    message: str  # its first line
    span: rq.Span = None  # where in the compiled text (for "Unsupported")


@record
class Planned:
    schema: dict[str, pl.DataType] | None
    error: PlanError | None
    frames: dict[str, dict[str, pl.DataType]]  # what was planned on, with any columns added


_MISSING = (
    re.compile(r'unable to find column "([^"]+)"'),
    re.compile(r"no column named '([^']+)' found in table '([^']*)'"),
    re.compile(r'column "([^"]+)" not found'),
)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def plan_query(query: rq.Query, frames: Mapping[str, Mapping[str, pl.DataType]], open_tables: tuple[str, ...] = (),
               unnamed: Sequence[str] = ()) -> Planned:
    """The output schema of `query` over empty frames `{table name: {column: dtype}}`. Never raises."""
    schemas = {name: dict(columns) for name, columns in frames.items()}
    failure: PlanError | None = None
    for _ in range(MAX_RETRIES + 1):
        try:
            inputs = {name: pl.LazyFrame(schema=cols) for name, cols in schemas.items()}
            result = lazy_query(query, inputs, unnamed).collect_schema()
            return Planned(dict(result), None, schemas)
        except UnsupportedError as unsupported:
            return Planned(None, PlanError("Unsupported", unsupported.message(), unsupported.span), schemas)
        except LoweringTypeError as mismatch:
            kind = "UnknownType" if mismatch.unknown else "TypeError"
            return Planned(None, PlanError(kind, str(mismatch), mismatch.span), schemas)
        except RecursionError:
            return Planned(None, PlanError("RecursionError", "the block is nested too deeply"), schemas)
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt | SystemExit | GeneratorExit):
                raise
            failure = PlanError(type(error).__name__, _first_line(error))
        missing = _missing_column(failure.message)
        target = _table_for(missing, open_tables, schemas) if missing else None
        if missing is None or target is None:
            return Planned(None, failure, schemas)
        schemas[target][missing[0]] = pl.Null()
    return Planned(None, failure, schemas)


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
    if column.startswith("#"):  # a column of the lowering, not of a table
        return None
    candidates = [t for t in open_tables if column not in schemas.get(t, {})]
    for name in candidates:
        if table and name.endswith(table):
            return name
    return candidates[0] if candidates else None
