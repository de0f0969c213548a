"""Dates, times, timestamps and intervals as PRQL's SQL computes them (DuckDB's rules).

- Literals: `@2020-01-02` a date, `@10:30` a time, `@2020-01-02T10:30` a timestamp (an offset or `Z` after
  it is ignored, as DuckDB's `TIMESTAMP '…'` does), `3days` an interval.
- Arithmetic: a date or timestamp plus or minus an interval is a timestamp; months and years move by the
  calendar (the 31st plus one month is the last day of the next month); date - date is a number of days,
  timestamp - timestamp an interval.
- `date.to_text FORMAT x`: PRQL formats are chrono's; prqlc accepts a set of them and DuckDB prints `%f`
  as six digits of microseconds.
- `date.trunc UNIT x` is a timestamp; `date.diff UNIT a b` counts the unit's boundaries between the two
  (weeks are whole weeks of days).
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

# unit of an interval literal -> (Polars duration argument, calendar months per unit)
_FIXED = {
    "weeks": "weeks", "days": "days", "hours": "hours", "minutes": "minutes", "seconds": "seconds",
    "milliseconds": "milliseconds", "microseconds": "microseconds",
}
_MONTHS = {"years": 12, "months": 1}
_TZ = re.compile(r"(Z|[+-]\d{2}(:?\d{2})?)$")


class DateError(ValueError):
    """A literal or argument the lowering cannot reproduce exactly (the message names it)."""


def date_literal(text: str) -> pl.Expr:
    try:
        return pl.lit(dt.date.fromisoformat(text))
    except ValueError:
        raise DateError(f"the date `@{text}`") from None


def time_literal(text: str) -> pl.Expr:
    try:
        return pl.lit(dt.time.fromisoformat(text), pl.Time)
    except ValueError:
        raise DateError(f"the time `@{text}`") from None


def timestamp_literal(text: str) -> pl.Expr:
    wall = _TZ.sub("", text)
    try:
        return pl.lit(dt.datetime.fromisoformat(wall), pl.Datetime("us"))
    except ValueError:
        raise DateError(f"the timestamp `@{text}`") from None


def interval_value(n: int, unit: str) -> pl.Expr:
    """An interval literal as a value (a duration): only units of fixed length."""
    if unit in _FIXED:
        return pl.lit(dt.timedelta(**{_FIXED[unit]: n}), pl.Duration("us"))
    raise DateError(f"an interval of {unit} as a value (it has no fixed length)")


def is_temporal(dtype: pl.DataType) -> bool:
    return dtype == pl.Date or isinstance(dtype, pl.Datetime)


def as_timestamp(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    return expr.cast(pl.Datetime("us")) if dtype == pl.Date else expr


def shift(value: pl.Expr, dtype: pl.DataType, n: int, unit: str) -> pl.Expr:
    """`value ± n unit` (n negative to subtract): a timestamp."""
    stamp = as_timestamp(value, dtype)
    if unit in _MONTHS:
        return stamp.dt.offset_by(f"{n * _MONTHS[unit]}mo")
    if unit in _FIXED:
        return stamp + pl.lit(dt.timedelta(**{_FIXED[unit]: n}), pl.Duration("us"))
    raise DateError(f"an interval of {unit}")


# --- formatting ------------------------------------------------------------------------------------


def chrono_format(prql_format: str) -> str:
    """A PRQL (chrono) date format as chrono spells DuckDB's output: `%f` is six digits of
    microseconds. prqlc has already rejected the specifiers it does not translate."""
    out: list[str] = []
    i = 0
    while i < len(prql_format):
        ch = prql_format[i]
        if ch == "%" and i + 1 < len(prql_format):
            spec = prql_format[i + 1]
            if spec == "-" and i + 2 < len(prql_format):
                out.append(prql_format[i : i + 3])
                i += 3
                continue
            out.append("%6f" if spec == "f" else prql_format[i : i + 2])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def to_text(value: pl.Expr, dtype: pl.DataType, prql_format: str) -> pl.Expr:
    if not is_temporal(dtype) and dtype != pl.Null:
        raise DateError(f"`date.to_text` of a {dtype} value")
    return as_timestamp(value, dtype).cast(pl.Datetime("us")).dt.to_string(chrono_format(prql_format))


# --- truncating and differences --------------------------------------------------------------------

_TRUNC = {
    "year": "1y", "quarter": "1q", "month": "1mo", "week": "1w", "day": "1d", "hour": "1h", "minute": "1m",
    "second": "1s", "millisecond": "1ms", "microsecond": "1us",
}
_UNIT_US = {"hour": 3_600_000_000, "minute": 60_000_000, "second": 1_000_000, "millisecond": 1000,
            "microsecond": 1}


def unit_name(unit: str) -> str:
    name = unit.strip().strip("'\"").lower()
    return name[:-1] if name.endswith("s") and name[:-1] in _TRUNC else name


def trunc(value: pl.Expr, dtype: pl.DataType, unit: str) -> pl.Expr:
    name = unit_name(unit)
    if name not in _TRUNC:
        raise DateError(f"`date.trunc` to `{unit}`")
    return as_timestamp(value, dtype).cast(pl.Datetime("us")).dt.truncate(_TRUNC[name])


def diff(unit: str, start: pl.Expr, start_type: pl.DataType, end: pl.Expr, end_type: pl.DataType) -> pl.Expr:
    name = unit_name(unit)
    a = as_timestamp(start, start_type).cast(pl.Datetime("us"))
    b = as_timestamp(end, end_type).cast(pl.Datetime("us"))
    if name == "year":
        return (b.dt.year() - a.dt.year()).cast(pl.Int64)
    if name == "quarter":
        return ((b.dt.year() * 4 + b.dt.quarter()) - (a.dt.year() * 4 + a.dt.quarter())).cast(pl.Int64)
    if name == "month":
        return ((b.dt.year().cast(pl.Int64) * 12 + b.dt.month()) - (a.dt.year().cast(pl.Int64) * 12 + a.dt.month()))
    days = (b.dt.date() - a.dt.date()).dt.total_days().cast(pl.Int64)
    if name == "day":
        return days
    if name == "week":
        return pl.when(days >= 0).then(days // 7).otherwise(-((-days) // 7))
    if name in _UNIT_US:
        size = _UNIT_US[name]
        epoch_a = a.dt.epoch("us").cast(pl.Int64)
        epoch_b = b.dt.epoch("us").cast(pl.Int64)
        return epoch_b // size - epoch_a // size
    raise DateError(f"`date.diff` in `{unit}`")
