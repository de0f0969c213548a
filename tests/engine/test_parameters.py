"""Workflow parameters: found in the SQL of steps, typed by its casts, converted from text, reported."""

from __future__ import annotations

import datetime as dt
import decimal
import re

import polars as pl
import pytest

from heddle_engine.catalog import load_catalog
from heddle_engine.execute import lower, prepare
from heddle_engine.execute.functions import Functions
from heddle_engine.execute.parameters import bind_parameters, convert, workflow_parameters
from tests.engine.conftest import WriteFiles
from tests.engine.running import checked_plan

TEXT = '''import "std/io" io
import "fhub/sqlite" db

resource app = db.connection {
  init: "CREATE TABLE t (id INTEGER, day TEXT, name TEXT)"
}

step rows = <connection=app> db.query {
  query: "SELECT id, name FROM t WHERE day > CAST(@since AS DATE) AND id < @limit::int AND name <> @name"
}

workflow W {
  rows
    | io.print
}
'''


@pytest.mark.parametrize(("text", "dtype", "value"), [
    ("2026-01-01", pl.Date(), dt.date(2026, 1, 1)),
    ("2026-01-01T10:30:00", pl.Datetime("us"), dt.datetime(2026, 1, 1, 10, 30)),
    ("-42", pl.Int64(), -42), ("2.5", pl.Float64(), 2.5), ("1.10", pl.Decimal(10, 2), decimal.Decimal("1.10")),
    ("yes", pl.Boolean(), True), ("F", pl.Boolean(), False), ("12:00", pl.Time(), dt.time(12, 0)),
    ("anything", None, "anything"), ("42", None, "42"), ("x", pl.String(), "x"),
])
def test_convert(text: str, dtype: pl.DataType | None, value: object) -> None:
    assert convert(text, dtype) == value


@pytest.mark.parametrize(("text", "dtype", "reason"), [
    ("4.2", pl.Int32(), "is not an integer"), ("soon", pl.Date(), "is not a date (YYYY-MM-DD)"),
    ("maybe", pl.Boolean(), "is not true or false"), ("x", pl.Float64(), "is not a number"),
])
def test_convert_refuses(text: str, dtype: pl.DataType, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        convert(text, dtype)


def test_parameters_are_typed_by_their_casts_and_located_where_written(write_files: WriteFiles) -> None:
    main = write_files({"main.he": TEXT}) / "main.he"
    plan = lower(checked_plan(main), "W", Functions(load_catalog(main)))
    found = workflow_parameters(plan, TEXT)
    assert [(p.name, p.dtype, p.steps) for p in found] == [("since", pl.Date(), ("rows",)),
                                                          ("limit", pl.Int32(), ("rows",)), ("name", None, ("rows",))]
    assert found[0].span is not None
    start = found[0].span.start
    assert TEXT.encode()[start:found[0].span.end] == b"@since"
    values, errors = bind_parameters(found, {"since": "2026-01-01", "limit": "10", "name": "ada"})
    assert errors == [] and values == {"since": dt.date(2026, 1, 1), "limit": 10, "name": "ada"}


def test_missing_mistyped_and_unknown_parameters_are_all_reported(write_files: WriteFiles) -> None:
    main = write_files({"main.he": TEXT}) / "main.he"
    _, _, problems = prepare(checked_plan(main), "W", load_catalog(main), source=TEXT,
                             parameters={"since": "last week", "name": "ada", "limt": "3"})
    assert [(p.code, p.message) for p in problems] == [
        ("HR1003", "the workflow parameter `@since` is Date (its SQL casts it), but `last week` is not a date "
                   "(YYYY-MM-DD)"),
        ("HR1001", "the workflow parameter `@limit` (used by `rows`) has no value: pass `--param limit=VALUE`"),
        ("HR1002", "`--param limt=...` names no parameter of this workflow (its parameters: `since`, `limit`, "
                   "`name`)"),
    ]
