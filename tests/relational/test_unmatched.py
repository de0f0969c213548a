"""A left join whose rows are next kept only where a right key column is null (PRQL's `remove`, and the same written
by hand) runs as an anti join (`joins.join(unmatched=True)`): the same table as the left join and its filter, and
DuckDB's, on random tables whose keys repeat, are null on either side, or are missing from the other; the joins that
keep the left join are left alone."""

from __future__ import annotations

import random

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
    texts = ["a", "b", "é", None]
    left = pa.table({"k": [chance.choice(keys) for _ in range(left_rows)],
                     "s": [chance.choice(texts) for _ in range(left_rows)],
                     "id": list(range(left_rows))},
                    schema=pa.schema([("k", pa.int64()), ("s", pa.string()), ("id", pa.int64())]))
    right = pa.table({"k": [chance.choice(keys) for _ in range(right_rows)],
                      "s": [chance.choice(texts) for _ in range(right_rows)],
                      "w": [chance.choice([5, None]) for _ in range(right_rows)]},
                     schema=pa.schema([("k", pa.int64()), ("s", pa.string()), ("w", pa.int64())]))
    return {"l": left, "r": right}


ANTI = [
    "from l | select {k} | remove (from r | select {k}) | sort k",
    "from l | select {s} | remove (from r | select {s}) | group s (take 1) | sort s",
    "from l | join side:left r (==k) | filter r.k == null | select {l.id, r.w, r.s} | sort id",
    "from l | join side:left r (==k) | filter null == r.k | select {l.id, l.s, r.k} | sort id",
]

KEPT = [
    "from l | select {k, s} | remove (from r | select {k, s}) | sort {k, s}",  # prqlc tests each key for null
    "from l | join side:left r (==k) | filter r.w == null | select {l.id, r.w} | sort id",  # w may be null itself
    "from l | join side:left r (==k) | filter r.k != null | select {l.id} | sort id",
    "from l | join r (==k) | filter r.k == null | select {l.id} | sort id",
]


def _anti(query: str, tables: dict[str, pa.Table]) -> bool:
    return "ANTI JOIN" in lowered(query, tables).explain()


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("query", ANTI + KEPT)
def test_same_as_duckdb(seed: int, query: str) -> None:
    tables = _tables(seed)
    reference = answer(query, tables)
    assert reference.frame is not None, reference.error
    assert differences(lowered(query, tables).collect(), reference) == [], reference.sql


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("query", ANTI)
def test_same_as_the_left_join(seed: int, query: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = _tables(seed)
    assert _anti(query, tables)
    anti = lowered(query, tables).collect()
    monkeypatch.setattr(frames, "_unmatched_only", lambda *args: False)
    plain = lowered(query, tables).collect()
    assert anti.schema == plain.schema
    assert anti.rows() == plain.rows()


@pytest.mark.parametrize("query", KEPT)
def test_kept_a_left_join(query: str) -> None:
    assert not _anti(query, _tables(3))
