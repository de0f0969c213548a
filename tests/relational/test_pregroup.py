"""An aggregation grouped by keys computed from dates, grouped by the dates first (`lowering/pregroup.py`), gives
the table of one aggregation, exactly, and DuckDB's: on random tables of repeated and null dates, no rows, one row;
and the queries it must not change keep one aggregation."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pyarrow as pa
import pytest

from heddle_lang.relational.lowering import frames
from tests.differential.compare import differences
from tests.differential.reference import answer
from tests.relational.lowered import lowered


def _tables(seed: int) -> dict[str, pa.Table]:
    chance = random.Random(seed)
    rows = chance.choice([0, 1, chance.randint(2, 80)])
    days = [dt.date(2009, 1, 1), dt.date(2009, 12, 31), dt.date(2010, 1, 1), dt.date(2011, 6, 15),
            dt.date(1, 1, 1), dt.date(9999, 12, 31), None]
    table = pa.table({
        "d": [chance.choice(days) for _ in range(rows)],
        "e": [chance.choice(days) for _ in range(rows)],
        "g": [chance.choice(["a", "b", None]) for _ in range(rows)],
        "n": [chance.choice([3, -7, 11, None, 2**40]) for _ in range(rows)],
        "b": [chance.choice([True, False, None]) for _ in range(rows)],
        "f": [chance.choice([1.5, -0.0, 0.0, None]) for _ in range(rows)],
    }, schema=pa.schema([("d", pa.date32()), ("e", pa.date32()), ("g", pa.string()), ("n", pa.int64()),
                         ("b", pa.bool_()), ("f", pa.float64())]))
    return {"t": table}


FIRST = [
    'from t | derive {y = (d | date.to_text "%Y")} | group y (aggregate {c = count this}) | sort y',
    'from t | derive {y = (d | date.to_text "%Y-%m"), z = (e | date.to_text "%d")} | group {y, z} (aggregate {'
    "c = count this, s = sum n, a = average n, lo = min g, hi = max n, al = all b, an = any b, sb = sum b}) "
    "| sort {y, z}",
    'from t | derive {y = (d | date.to_text "%Y"), z = (e | date.to_text "%m")} | group {z, y} (aggregate {'
    "lo = min d, hi = max e}) | sort {z, y}",
    'from t | derive {y = case [d == null => "none", true => (d | date.to_text "%Y")]} | group y (aggregate {'
    "c = count this}) | sort y",
    'from t | filter n != null | derive {y = (d | date.to_text "%m")} | group y (aggregate {c = count this}) '
    "| sort y",
]

ONE = [
    'from t | derive {y = (d | date.to_text "%Y")} | group y (aggregate {s = sum f}) | sort y',  # floating sums
    'from t | derive {y = (d | date.to_text "%Y")} | group y (aggregate {m = min f}) | sort y',  # -0.0 or 0.0
    'from t | derive {y = (d | date.to_text "%Y"), k = n * 2} | group y (aggregate {s = sum k}) | sort y',
    'from t | derive {y = (d | date.to_text "%Y"), h = g} | group {y, h} (aggregate {c = count this}) | sort {y, h}',
    'from t | derive {y = (d | date.to_text "%Y")} | group {y, g} (aggregate {c = count this}) | sort {y, g}',
    'from t | derive {y = (d | date.to_text "%Y")} | group y (aggregate {c = count_distinct g}) | sort y',
    "from t | group d (aggregate {c = count this}) | sort d",  # a plain column: nothing to compute per date
]


def _first(query: str, tables: dict[str, pa.Table]) -> bool:
    return lowered(query, tables).explain().count("AGGREGATE") == 2


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("query", FIRST + ONE)
def test_same_as_duckdb(seed: int, query: str) -> None:
    tables = _tables(seed)
    reference = answer(query, tables)
    assert reference.frame is not None, reference.error
    assert differences(lowered(query, tables).collect(), reference) == [], reference.sql


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("query", FIRST)
def test_same_as_one_aggregation(seed: int, query: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = _tables(seed)
    assert _first(query, tables)
    grouped = lowered(query, tables).collect()
    monkeypatch.setattr(frames, "dates_first", lambda *args: None)
    one = lowered(query, tables).collect()
    assert grouped.schema == one.schema
    assert grouped.rows() == one.rows()


@pytest.mark.parametrize("query", ONE)
def test_kept_one_aggregation(query: str) -> None:
    assert not _first(query, _tables(3))


def test_an_overflow_refused_as_by_one_aggregation(monkeypatch: pytest.MonkeyPatch) -> None:
    query = 'from t | derive {y = (d | date.to_text "%Y")} | group y (aggregate {s = sum n})'
    big = 2**62
    tables = {"t": pa.table({"d": pa.array([dt.date(2009, 1, i) for i in range(1, 5)], pa.date32()),
                             "n": [big] * 4})}
    assert _first(query, tables)
    with pytest.raises(pl.exceptions.InvalidOperationError):
        lowered(query, tables).collect()
    monkeypatch.setattr(frames, "dates_first", lambda *args: None)
    with pytest.raises(pl.exceptions.InvalidOperationError):
        lowered(query, tables).collect()
