"""Comparing Heddle's table with PRQL's (DuckDB's): names, order, rows, nulls and types.

- Columns: the same names in the same order; a column PRQL leaves unnamed (each engine invents a name) is
  compared by position only.
- Types: the same family (`family`): integers of any width; floating point and decimals; text; booleans;
  dates; timestamps; times; durations. A column of nulls only (`Null`) stands for any type.
- Rows: the same rows with the same nulls. Floating point values are equal within a relative 1e-9 (sums in
  another order), NaN equals NaN. When the query sorts, the sort keys come in the same order (rows with
  equal keys in any order); when a key is not an output column, the rows come in the same order.
"""

from __future__ import annotations

import decimal
import math
from collections import Counter
from collections.abc import Sequence

import polars as pl

from tests.differential.reference import Reference


def family(dtype: pl.DataType) -> str:
    if dtype == pl.Null:
        return "null"
    if dtype.is_integer() or (isinstance(dtype, pl.Decimal) and (dtype.scale or 0) == 0):
        return "integer"
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        return "float"
    if dtype in (pl.String, pl.Categorical, pl.Enum):
        return "text"
    if isinstance(dtype, pl.Datetime):
        return f"timestamp{'+tz' if dtype.time_zone else ''}"
    if isinstance(dtype, pl.Duration):
        return "duration"
    return str(dtype.base_type()).lower()


def _value(value: object) -> object:
    """A value made comparable: decimals as floats, integral floats as they are."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _close(a: object, b: object) -> bool:
    a, b = _value(a), _value(b)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            return False
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        if math.isinf(fa) or math.isinf(fb):
            return fa == fb
        return math.isclose(fa, fb, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _number_key(value: float) -> object:
    if math.isnan(value):
        return "nan"
    if math.isinf(value) or abs(value) >= 1e12:
        return float(f"{value:.9e}")
    if value == int(value):
        return int(value)
    return round(value, 6)


def _key(row: Sequence[object]) -> tuple[object, ...]:
    """A hashable, float-tolerant key for counting rows (numbers compare by value: types are checked apart)."""
    out: list[tuple[str, object]] = []
    for raw in row:
        value = _value(raw)
        if isinstance(value, bool) or value is None or not isinstance(value, int | float):
            out.append((type(value).__name__, value))
        elif isinstance(value, int) and abs(value) >= 2**53:
            out.append(("number", value))
        else:
            out.append(("number", _number_key(float(value))))
    return tuple(out)


def _comparable(frame: pl.DataFrame) -> pl.DataFrame:
    """Temporal values as integers (days, microseconds): Python's datetime cannot hold year 10000."""
    casts = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            casts.append(pl.col(name).dt.replace_time_zone(None).cast(pl.Datetime("us")).cast(pl.Int64))
        elif isinstance(dtype, pl.Duration):
            casts.append(pl.col(name).cast(pl.Duration("us")).cast(pl.Int64))
        elif dtype in (pl.Date, pl.Time):
            casts.append(pl.col(name).to_physical().cast(pl.Int64) // (1000 if dtype == pl.Time else 1))
    return frame.with_columns(casts) if casts else frame


def _in_order(rows: list[tuple[object, ...]], keys: tuple[tuple[int, bool], ...]) -> int | None:
    """The first row out of order for `keys` ((position, descending), nulls last); floats within the
    tolerance of `_close` are ties. None when the rows are in order."""
    for index in range(1, len(rows)):
        previous, current = rows[index - 1], rows[index]
        for position, descending in keys:
            a, b = _value(previous[position]), _value(current[position])
            if a is None or b is None:
                if a is None and b is not None:
                    return index  # a null before a value
                if a is None and b is None:
                    continue
                break  # a value before a null: in order
            if _close(a, b):
                if a == b:
                    continue
                break  # equal within the tolerance: any order
            try:
                wrong = a < b if descending else a > b  # type: ignore[operator]
            except TypeError:
                break
            if (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
                wrong = (isinstance(a, float) and math.isnan(a)) != descending
            if wrong:
                return index
            break
    return None


def differences(heddle: pl.DataFrame, reference: Reference) -> list[str]:
    """What differs between Heddle's table and PRQL's; empty when they are the same table."""
    expected = reference.frame
    assert expected is not None
    problems: list[str] = []
    if heddle.width != expected.width:
        return [f"columns: heddle {heddle.columns}, PRQL {expected.columns}"]
    for position, (mine, theirs) in enumerate(zip(heddle.columns, expected.columns, strict=True)):
        if mine != theirs and position not in reference.unnamed:
            problems.append(f"column {position + 1}: heddle names it `{mine}`, PRQL `{theirs}`")
        a, b = heddle.dtypes[position], expected.dtypes[position]
        if "null" not in (family(a), family(b)) and family(a) != family(b):
            problems.append(f"column `{theirs}`: heddle {a}, PRQL {b}")
    if heddle.height != expected.height:
        problems.append(f"rows: heddle {heddle.height}, PRQL {expected.height}")
        return problems
    mine_rows = _comparable(heddle).rows()
    their_rows = _comparable(expected).rows()
    if Counter(map(_key, mine_rows)) != Counter(map(_key, their_rows)):
        unmatched = Counter(map(_key, their_rows)) - Counter(map(_key, mine_rows))
        example = next(iter(unmatched))
        extra = Counter(map(_key, mine_rows)) - Counter(map(_key, their_rows))
        problems.append(f"rows differ: PRQL has {[v for _, v in example]}"
                        + (f", heddle has {[v for _, v in next(iter(extra))]}" if extra else ""))
        return problems
    if reference.order is not None and reference.order_complete:
        wrong = _in_order(mine_rows, reference.order)
        if wrong is not None:
            problems.append(f"order: row {wrong + 1} {list(mine_rows[wrong])} comes after "
                            f"{list(mine_rows[wrong - 1])}, against the query's sort")
    elif reference.order is not None:
        for index, (x, y) in enumerate(zip(mine_rows, their_rows, strict=True)):
            if not all(_close(a, b) for a, b in zip(x, y, strict=True)):
                problems.append(f"order: row {index + 1} is {list(x)} in heddle, {list(y)} in PRQL")
                break
    return problems
