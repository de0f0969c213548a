"""An aggregation begun before its join (`lowering/eager.py`) gives the table of the plain join, then the
aggregation, exactly, and DuckDB's: on random tables whose keys repeat on both sides (a right key matched by
several left rows, a left key by several right rows), are null on either side or missing from the other, with
no rows on either side; and the queries it must not change keep the plain join."""

from __future__ import annotations

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
    left_rows = chance.choice([0, 1, chance.randint(2, 60)])
    right_rows = chance.choice([0, chance.randint(1, 12)])
    keys = [1, 2, 2, 3, 4, None]
    left = pa.table({
        "k": [chance.choice(keys) for _ in range(left_rows)],
        "g": [chance.choice(["a", "b", None]) for _ in range(left_rows)],
        "n": [chance.choice([3, -7, 11, None, 2**40]) for _ in range(left_rows)],
        "b": [chance.choice([True, False, None]) for _ in range(left_rows)],
        "f": [chance.choice([1.5, -0.0, 0.0, None]) for _ in range(left_rows)],
        "id": list(range(left_rows)),
    }, schema=pa.schema([("k", pa.int64()), ("g", pa.string()), ("n", pa.int64()), ("b", pa.bool_()),
                         ("f", pa.float64()), ("id", pa.int64())]))
    right = pa.table({
        "k": [chance.choice(keys) for _ in range(right_rows)],
        "name": [chance.choice(["x", "y", "z", None]) for _ in range(right_rows)],
        "w": [chance.choice([5, -1, None]) for _ in range(right_rows)],
        "ok": [chance.choice([True, False, None]) for _ in range(right_rows)],
    }, schema=pa.schema([("k", pa.int64()), ("name", pa.string()), ("w", pa.int64()), ("ok", pa.bool_())]))
    return {"l": left, "r": right}


PUSHED = [
    "from l | join r (==k) | group r.name (aggregate {c = count this}) | sort name",
    "from l | join side:left r (==k) | group r.name (aggregate {c = count this, s = sum n, a = average n})"
    " | sort name",
    "from l | join r (==k) | group {r.name, l.g} (aggregate {s = sum n, lo = min n, hi = max id, al = all b,"
    " an = any b, sb = sum b}) | sort {name, g}",
    "from l | join r (==k) | group {l.k} (aggregate {c = count this, sw = sum w, aw = average w, mw = max w,"
    " d = count_distinct r.name, ok = all r.ok}) | sort k",
    "from l | join side:left r (==k) | filter r.name != null | group r.name (aggregate {c = count this,"
    " t = (sum n) + (sum w), m = (min n) * 2}) | sort name",
    "from l | join r (l.k == r.k && true) | aggregate {c = count this, s = sum n, w = sum w, lo = min r.name}",
    "from l | join r (l.k + 1 == r.k) | group r.name (aggregate {c = count this, s = sum n}) | sort name",
    "from l | join r (==k) | group l.id (aggregate {c = count this, s = sum w}) | sort id",  # no fewer rows
]

PLAIN = [
    "from l | join r (==k) | group r.name (aggregate {s = sum f}) | sort name",  # floating sums
    "from l | join r (==k) | group r.name (aggregate {m = min f}) | sort name",  # -0.0 or 0.0
    "from l | join r (==k) | group r.name (aggregate {s = sum (n + w)}) | sort name",  # both sides in one
    "from l | join side:right r (==k) | group r.name (aggregate {c = count this}) | sort name",
    "from l | join r (l.k == r.k && l.n > r.w) | group r.name (aggregate {c = count this}) | sort name",
    "from l | join r (==k) | filter n > 0 | group r.name (aggregate {c = count this}) | sort name",
    "from l | join r (==k) | derive x = w + 1 | group x (aggregate {c = count this}) | sort x",
    "from l | join r (==k) | group r.name (aggregate {c = stddev id}) | sort name",
    "from l | join r (==k) | group l.f (aggregate {c = count this}) | sort f",  # a floating key
]


def _pushed(query: str, tables: dict[str, pa.Table]) -> bool:
    return "#eager" in lowered(query, tables).explain()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("query", PUSHED + PLAIN)
def test_same_as_duckdb(seed: int, query: str) -> None:
    tables = _tables(seed)
    reference = answer(query, tables)
    assert reference.frame is not None, reference.error
    assert differences(lowered(query, tables).collect(), reference) == [], reference.sql


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("query", PUSHED)
def test_same_as_the_plain_join(seed: int, query: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = _tables(seed)
    assert _pushed(query, tables)
    pushed = lowered(query, tables).collect()
    monkeypatch.setattr(frames, "eager_join", lambda *args: None)
    plain = lowered(query, tables).collect()
    assert pushed.schema == plain.schema
    assert pushed.rows() == plain.rows()


@pytest.mark.parametrize("query", PLAIN)
def test_kept_plain(query: str) -> None:
    assert not _pushed(query, _tables(3))


def _outcome(query: str, tables: dict[str, pa.Table]) -> object:
    try:
        return lowered(query, tables).collect().rows()
    except pl.exceptions.PolarsError as error:
        return type(error).__name__


@pytest.mark.parametrize("query", [
    "from l | join r (==k) | group r.name (aggregate {s = sum n})",
    "from l | join r (==k) | group l.g (aggregate {s = sum w})",
])
def test_an_overflow_refused_as_by_the_plain_join(query: str, monkeypatch: pytest.MonkeyPatch) -> None:
    big = 2**62
    tables = {"l": pa.table({"k": [1] * 4, "g": ["a"] * 4, "n": [big] * 4, "b": [True] * 4, "f": [0.5] * 4,
                             "id": [1, 2, 3, 4]}),
              "r": pa.table({"k": [1, 1], "name": ["x", "x"], "w": [big, 1], "ok": [True, None]})}
    assert _pushed(query, tables)
    pushed = _outcome(query, tables)
    monkeypatch.setattr(frames, "eager_join", lambda *args: None)
    assert pushed == _outcome(query, tables) == "InvalidOperationError"
