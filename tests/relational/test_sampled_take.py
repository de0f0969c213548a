"""Rows dropped before a sort that a `take` of the first rows follows (`firsts.sampled_first`): the bound is
read from a sample of the rows (made small here, so that tables of a few dozen rows hold rows outside it).
The same table as sorting every row, and DuckDB's where the order leaves no ties; with nulls, NaN and -0.0,
ties of the first key, no rows, one row, and ranges past the end."""

from __future__ import annotations

import datetime
import random

import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

from heddle_lang.relational.lowering import firsts, frames
from tests.differential.compare import differences
from tests.differential.reference import answer
from tests.relational.lowered import lowered

_DAY = datetime.date(2024, 1, 1)


def _table(seed: int, rows: int | None = None) -> pa.Table:
    chance = random.Random(seed)
    if rows is None:
        rows = chance.choice([0, 1, chance.randint(2, 90), chance.randint(2, 90)])
    return pa.table({
        "g": [chance.choice([1, 2, 3, None]) for _ in range(rows)],
        "x": [chance.choice([5, 1, 1, 3, 8, None]) for _ in range(rows)],
        "s": [chance.choice(["p", "q", "é", "", None]) for _ in range(rows)],
        "f": [chance.choice([0.5, -0.0, 0.0, float("nan"), float("-inf"), None]) for _ in range(rows)],
        "d": [chance.choice([_DAY, _DAY + datetime.timedelta(days=40), None]) for _ in range(rows)],
        "b": [chance.choice([True, False, None]) for _ in range(rows)],
        "id": list(range(rows)),
    }, schema=pa.schema([("g", pa.int64()), ("x", pa.int64()), ("s", pa.string()), ("f", pa.float64()),
                         ("d", pa.date32()), ("b", pa.bool_()), ("id", pa.int64())]))


# orders with no ties (the last key is `id`): DuckDB's answer is the only one
EXACT = [
    "from t | sort {x, id} | take 5",
    "from t | sort {-x, id} | take 3..6",
    "from t | sort {s, -id} | take 2..4",
    "from t | sort {-s, id} | take 1",
    "from t | sort {f, id} | take 5",
    "from t | sort {-f, id} | take 2..7",
    "from t | sort {-d, id} | take 3",
    "from t | sort {b, -id} | take 4",
    "from t | sort id | take 6..8",
    "from t | sort {-id} | take 8",
    "from t | filter x != 3 | sort {-f, id} | select {id, f} | take 3",
    "from t | derive {y = x * 2} | sort {y, id} | take 2..5",
    "from t | group g (aggregate {n = count this}) | sort {-n, g} | take 2",
    "from t | sort {x, id} | join side:left u (==g) | take 4",  # sorted again after the join
    "from t | sort {x, id} | take 5..3",
    "from t | sort {x, id} | take 200..300",
    "from t | sort {x, id} | take 95",  # past the sample
]

TIES = [
    "from t | sort x | take 4",
    "from t | sort {-s} | take 2..5",
    "from t | sort {f} | take 6",
    "from t | sort {-b} | take 3",
]


def _tables(seed: int, rows: int | None = None) -> dict[str, pa.Table]:
    return {"t": _table(seed, rows), "u": pa.table({"g": [1, 2, 2, 5], "name": ["a", "b", "c", "d"]})}


@pytest.fixture(autouse=True)
def _small_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(firsts, "_SAMPLE", 8)


def _bounded(plan: str) -> bool:
    return "top_k" in plan or "bottom_k" in plan


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("query", EXACT)
def test_same_as_duckdb(seed: int, query: str) -> None:
    tables = _tables(seed)
    reference = answer(query, tables)
    assert reference.frame is not None, reference.error
    assert differences(lowered(query, tables).collect(), reference) == [], reference.sql


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("query", EXACT + TIES)
def test_same_as_sorting_every_row(seed: int, query: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = _tables(seed)
    bounded = lowered(query, tables)
    monkeypatch.setattr(frames, "sampled_first", lambda *args: None)
    every = lowered(query, tables)
    assert not _bounded(every.explain())
    assert_frame_equal(bounded.collect(), every.collect(), check_exact=True)  # NaN equal to NaN


@pytest.mark.parametrize("query", [q for q in EXACT + TIES if "take 5..3" not in q
                                   and "take 200" not in q and "take 95" not in q])
def test_bound_read_from_a_sample(query: str) -> None:
    assert _bounded(lowered(query, _tables(1)).explain())


@pytest.mark.parametrize("query", ["from t | sort {x, id} | take 9",  # more rows than the sample holds
                                   "from t | sort {x, id} | take 4..",
                                   "from t | sort {x, id} | derive {n = row_number this} | take 4"])
def test_no_bound(query: str) -> None:
    assert not _bounded(lowered(query, _tables(1)).explain())


@pytest.mark.parametrize("order", ["ascending", "descending", "random"])
def test_large_frame_in_an_order_the_sample_misreads(order: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows sorted against the take's order: the sample's bound keeps most of them, the answer stays."""
    monkeypatch.setattr(firsts, "_SAMPLE", 1_000)
    values = list(range(50_000))
    if order == "descending":
        values.reverse()
    elif order == "random":
        random.Random(3).shuffle(values)
    middle = [None if i % 7 == 0 else v % 900 for i, v in enumerate(values)]
    tables = {"t": pa.table({"x": middle, "id": values})}
    for query in ["from t | sort {x, -id} | take 10..20", "from t | sort {-x, id} | take 30",
                  "from t | sort x | take 5"]:
        bounded = lowered(query, tables).collect()
        monkeypatch.setattr(frames, "sampled_first", lambda *args: None)
        every = lowered(query, tables).collect()
        monkeypatch.undo()
        monkeypatch.setattr(firsts, "_SAMPLE", 1_000)
        assert_frame_equal(bounded, every, check_exact=True)
