"""A join that only a take of the first rows reads joins the columns read before the take and each side's row
numbers; the take gathers the other columns by those numbers (`lowering/joins.py`, `Late`). The answers are
DuckDB's on random tables (keys repeated on both sides, null, missing from the other side; no rows on either
side), for every side, a condition with a filter, a filter and sorts reading either side, a left side whose
rows come in no fixed order (an aggregation) and a self join; a take with no sort gives rows of the join."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from tests.differential.compare import differences
from tests.differential.reference import answer
from tests.relational.lowered import lowered


def _tables(seed: int) -> dict[str, pa.Table]:
    chance = random.Random(seed)
    left_rows = chance.choice([0, 1, chance.randint(2, 60)])
    right_rows = chance.choice([0, chance.randint(1, 25)])
    keys = [1, 2, 2, 3, 4, None]
    left = pa.table({
        "k": [chance.choice(keys) for _ in range(left_rows)],
        "g": [chance.choice(["a", "b", "ü", None]) for _ in range(left_rows)],
        "n": [chance.choice([3, -7, 11, None]) for _ in range(left_rows)],
        "id": list(range(left_rows)),
    }, schema=pa.schema([("k", pa.int64()), ("g", pa.string()), ("n", pa.int64()), ("id", pa.int64())]))
    right = pa.table({
        "k": [chance.choice(keys) for _ in range(right_rows)],
        "name": [chance.choice(["x", "y", "z", None]) for _ in range(right_rows)],
        "w": [chance.choice([5, -1, None]) for _ in range(right_rows)],
        "rid": list(range(right_rows)),
    }, schema=pa.schema([("k", pa.int64()), ("name", pa.string()), ("w", pa.int64()), ("rid", pa.int64())]))
    return {"l": left, "r": right}


LATE = [
    "from l | join r (==k) | sort {l.id, r.rid} | take 5",
    "from l | join side:left r (==k) | sort {l.id, r.rid} | take 7",
    "from l | join side:right r (==k) | sort {r.rid, l.id} | take 7",
    "from l | join side:full r (==k) | sort {l.id, r.rid} | take 4..9",
    "from l | join r (==k) | filter r.name != null | sort {-l.id, r.rid} | take 6",
    "from l | join r (l.k == r.k && l.n > r.w) | sort {l.id, r.rid} | take 5",
    "from l | join side:left r (l.k == r.k && l.n > r.w) | select {l.id, r.rid, r.name, l.g} | sort {id, rid}"
    " | take 5",
    "from l | select {id, k, g} | join r (==k) | select {id, name, rid} | sort {rid, id} | take 3 | select {name, id}",
    "from l | group k (aggregate {c = count this, low = min g}) | join r (==k) | sort {k, r.rid} | take 3",
    "from a = l | join b = l (a.k == b.k) | select {a.id, a.g, b.n} | sort {id, n} | take 8",
]

PLAIN = [
    "from l | join r (==k) | sort {l.id, r.rid}",  # no take
    "from l | join r (==k) | derive x = w + n | sort {l.id, r.rid} | take 5",  # a compute before the take
    "from l | join r (==k) | group r.name (aggregate {c = count this}) | sort name | take 2",
    "from l | join r (==k) | sort {l.id, r.rid} | take 3..",  # no last row
    "from l | join r (==k) | sort {l.k, l.id, r.rid} | select {l.k, l.id, r.rid} | take 4",  # nothing else to gather
]


def _late(query: str, tables: dict[str, pa.Table]) -> bool:
    return "#late." in lowered(query, tables).explain()


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("query", LATE + PLAIN)
def test_same_as_duckdb(seed: int, query: str) -> None:
    tables = _tables(seed)
    reference = answer(query, tables)
    assert reference.frame is not None, reference.error
    assert differences(lowered(query, tables).collect(), reference) == [], reference.sql


@pytest.mark.parametrize("query", LATE)
def test_gathered_after_the_take(query: str) -> None:
    assert _late(query, _tables(3))


@pytest.mark.parametrize("query", PLAIN)
def test_joined_whole(query: str) -> None:
    assert not _late(query, _tables(3))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("side", ["inner", "left", "full"])
def test_a_take_with_no_sort_gives_rows_of_the_join(seed: int, side: str) -> None:
    tables = _tables(seed)
    query = f"from l | join side:{side} r (==k) | take 4"
    assert _late(query, tables)
    rows = lowered(query, tables).collect().rows()
    every = lowered(f"from l | join side:{side} r (==k)", tables).collect().rows()
    assert len(rows) == min(4, len(every))
    assert all(row in every for row in rows)
